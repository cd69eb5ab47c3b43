//! The data layer: the only code that builds queries or opens transactions.
//!
//! Functions here take a connection and plain values, enforce the domain's rules (membership,
//! ownership) inside their queries, and return domain errors, never HTTP types.

pub mod block;
pub mod conversation;
pub mod delivery;
pub mod durable;
pub mod edit;
pub mod event;
pub mod job;
pub mod message;
pub mod message_batch;
pub mod message_writer;
pub mod oauth_state;
pub mod search;
pub mod session;
pub mod session_change;
pub mod to_wire;
pub mod user;

use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, Utc};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, RuntimeErr};
use uuid::Uuid;

/// What a data operation can refuse, besides the database failing.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// No such conversation.
    #[error("conversation not found")]
    ConversationNotFound,
    /// The caller is not a participant of the conversation.
    #[error("not a participant of the conversation")]
    NotParticipant,
    /// No such user.
    #[error("user not found")]
    UserNotFound,
    /// No such message, or not one the caller may act on (no existence leak).
    #[error("message not found")]
    MessageNotFound,
    /// A conversation between the two users exists already.
    #[error("conversation exists")]
    ConversationExists(Uuid),
    /// A conversation with oneself.
    #[error("cannot open a conversation with yourself")]
    SelfConversation,
    /// Blocking oneself.
    #[error("cannot block yourself")]
    SelfBlock,
    /// One of the two users blocks the other (contract §3).
    #[error("one of the users blocks the other")]
    Blocked,
    /// A `before`/`after` message id that is not in the conversation.
    #[error("the cursor message is not in this conversation")]
    UnknownCursor,
    /// An idempotency key reused with another conversation or other content.
    #[error("the idempotency key was used for another message")]
    IdempotencyConflict,
    /// A `since` that is not a cursor of the caller's stream.
    #[error("not a cursor of this user's event stream")]
    InvalidCursor,
    /// A `since` whose next event was pruned.
    #[error("the cursor is older than the event retention")]
    CursorExpired,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Paging by page number.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// 1-based page number.
    pub page: u64,
    /// Rows per page (1..=100, checked at the edge).
    pub limit: u64,
}

impl Page {
    /// Rows to skip, at most `i64::MAX`: PostgreSQL's `OFFSET` is a `bigint` (and sea-query
    /// refuses larger values by panicking), while a page past the last one is simply empty.
    pub fn offset(self) -> u64 {
        self.page
            .saturating_sub(1)
            .saturating_mul(self.limit)
            .min(i64::MAX as u64)
    }
}

/// The current time at the wire's precision (milliseconds), so a timestamp read back from the
/// API names exactly the stored value (cursors by timestamp are then exact).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(chrono::Duration::milliseconds(1))
        .unwrap_or(now)
}

/// How long a request waits for a database connection before it answers `503` (contract §4: every
/// request that needs the database answers within 5 s; a send may wait behind one batch that is
/// itself waiting, so twice this stays under 5 s).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens the connection pool. Statement logging is off: sqlx logs every statement at INFO, with
/// parameters that may hold personal data.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false);
    Database::connect(options).await
}

/// Whether `err` means the database could not be reached (the request may be retried), as
/// opposed to a statement that failed: no connection could be had, or the one in use was lost
/// mid-statement (the server stopped or restarted, the socket broke).
pub fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            connection_lost(e)
        }
        _ => false,
    }
}

/// Whether PostgreSQL rolled the transaction back to let a concurrent one proceed: SQLSTATE
/// `40P01` (a deadlock broken) or `40001` (a serialization conflict). Nothing was written, and
/// running it again normally succeeds. (The rest of class 40 leaves the outcome unknown.)
pub fn is_rolled_back(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(&**e, sea_orm::sqlx::Error::Database(db)
                if db.code().is_some_and(|c| c == "40P01" || c == "40001"))
        }
        _ => false,
    }
}

/// sqlx errors that say the connection went away rather than the statement failing: I/O on the
/// socket, a closed pool, or the server's SQLSTATE classes 08 (connection exception) and 57P
/// (operator intervention: shutdown, crash, not accepting connections yet).
fn connection_lost(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_) | Error::PoolClosed | Error::PoolTimedOut | Error::WorkerCrashed => true,
        Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// Runs a trivial query and returns how long it took.
pub async fn ping(db: &DatabaseConnection) -> Result<Duration, DbErr> {
    let started = Instant::now();
    db.execute_unprepared("SELECT 1").await?;
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, sqlx};

    use super::is_unavailable;

    fn query_error(err: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
    }

    #[test]
    fn a_connection_lost_mid_statement_is_unavailability_not_a_failed_statement() {
        let broken = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_unavailable(&query_error(sqlx::Error::Io(broken))));
        assert!(is_unavailable(&query_error(sqlx::Error::PoolClosed)));
        assert!(is_unavailable(&DbErr::ConnectionAcquire(
            ConnAcquireErr::Timeout
        )));
        assert!(!is_unavailable(&query_error(sqlx::Error::RowNotFound)));
        assert!(!is_unavailable(&DbErr::Custom("a bad row".into())));
    }

    /// A database error with only a SQLSTATE, as PostgreSQL reports one.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for Sqlstate {}

    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    #[test]
    fn only_a_broken_deadlock_or_serialization_conflict_counts_as_rolled_back() {
        let rolled_back = |code| {
            super::is_rolled_back(&query_error(sqlx::Error::Database(Box::new(Sqlstate(
                code,
            )))))
        };
        assert!(rolled_back("40P01"), "deadlock detected");
        assert!(rolled_back("40001"), "serialization failure");
        assert!(
            !rolled_back("40003"),
            "statement completion unknown: maybe written"
        );
        assert!(
            !rolled_back("23505"),
            "a unique violation is the statement's own failure"
        );
    }
}
