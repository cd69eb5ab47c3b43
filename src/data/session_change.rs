//! Sessions that stopped being valid: the notices PostgreSQL sends when one is revoked, rotated or
//! deleted (`LISTEN`), and the batched check of many sessions at once.
//!
//! The notices come from a trigger on `sessions` (migration `m20261201_000001`), in the
//! transaction that changes the row, so every instance on the database hears of every change on
//! commit, whichever code (or operator) made it, with or without Redis.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::session;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, RuntimeErr,
    sqlx::postgres::{PgListener, PgPool, PgPoolOptions},
};
use uuid::Uuid;

/// The channel the trigger notifies.
pub const CHANNEL: &str = "confab_session_changes";

/// Sessions looked up per query by [`list_session_changes`] (well under PostgreSQL's 65,535
/// parameters per statement).
const CHECK_CHUNK: usize = 5_000;

/// What happened to a session; the sockets holding it must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionChange {
    /// Logged out or revoked: refuse it, disconnect its sockets.
    Revoked(Uuid),
    /// The row is gone (its user was deleted): refuse it, disconnect its sockets.
    Deleted(Uuid),
    /// A refresh replaced `old` by `new`: refuse `old`, move its sockets to `new`.
    Rotated {
        /// The rotated session.
        old: Uuid,
        /// Its successor.
        new: Uuid,
        /// When the successor expires.
        expires_at: DateTime<Utc>,
    },
}

impl SessionChange {
    /// Reads a notice's payload (`revoked <id>`, `deleted <id>`, `rotated <old> <new> <ms>`).
    pub fn parse(payload: &str) -> Option<Self> {
        let mut words = payload.split(' ');
        let change = match words.next()? {
            "revoked" => Self::Revoked(words.next()?.parse().ok()?),
            "deleted" => Self::Deleted(words.next()?.parse().ok()?),
            "rotated" => Self::Rotated {
                old: words.next()?.parse().ok()?,
                new: words.next()?.parse().ok()?,
                expires_at: DateTime::from_timestamp_millis(words.next()?.parse().ok()?)?,
            },
            _ => return None,
        };
        words.next().is_none().then_some(change)
    }

    /// The session that stopped being valid.
    pub fn ended(&self) -> Uuid {
        match *self {
            Self::Revoked(id) | Self::Deleted(id) => id,
            Self::Rotated { old, .. } => old,
        }
    }
}

/// The connection pool of the listener: one connection, apart from the application's pool so a
/// `LISTEN` held for the life of the server does not take a connection from requests. Connects
/// lazily; a database that is down is retried by [`listen_session_changes`]'s caller.
pub fn listener_pool(url: &str, acquire_timeout: Duration) -> Result<PgPool, DbErr> {
    PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(acquire_timeout)
        // Held for good: never recycled under the listener.
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy(url)
        .map_err(sqlx_error)
}

/// Starts listening to session changes on a connection of `pool`.
pub async fn listen_session_changes(pool: &PgPool) -> Result<SessionChanges, DbErr> {
    let mut listener = PgListener::connect_with(pool).await.map_err(sqlx_error)?;
    listener.listen(CHANNEL).await.map_err(sqlx_error)?;
    Ok(SessionChanges { listener })
}

/// Session changes as PostgreSQL announces them.
pub struct SessionChanges {
    listener: PgListener,
}

impl SessionChanges {
    /// The next change. `Ok(None)`: the connection was lost and has been opened again (and the
    /// channel listened to again), so changes committed in between were missed. An error: the
    /// connection is lost and could not be opened again (or failed otherwise); drop this and
    /// listen again later.
    pub async fn next(&mut self) -> Result<Option<SessionChange>, DbErr> {
        loop {
            let Some(notice) = self.listener.try_recv().await.map_err(sqlx_error)? else {
                return Ok(None);
            };
            match SessionChange::parse(notice.payload()) {
                Some(change) => return Ok(Some(change)),
                None => tracing::warn!(
                    payload = notice.payload(),
                    "unreadable session change notice ignored"
                ),
            }
        }
    }
}

/// What happened to those of `ids` that are no longer valid, read in a few queries whatever their
/// number (for checking every socket's session at once): a session rotated into a live successor
/// is [`SessionChange::Rotated`], one that is gone [`SessionChange::Deleted`], any other revoked
/// one [`SessionChange::Revoked`]. Expiry is not reported (sockets know their sessions' expiry).
pub async fn list_session_changes<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<Vec<SessionChange>, DbErr> {
    let mut found: HashMap<Uuid, session::Model> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHECK_CHUNK) {
        for row in session::Entity::find()
            .filter(session::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            found.insert(row.id, row);
        }
    }
    // The successors of rotated sessions, in one more query (rotations are rare).
    let successor_ids: Vec<Uuid> = found
        .values()
        .filter(|row| row.revoked_at.is_some())
        .filter_map(|row| row.replaced_by)
        .collect();
    let mut successors: HashMap<Uuid, session::Model> = HashMap::new();
    for chunk in successor_ids.chunks(CHECK_CHUNK) {
        for row in session::Entity::find()
            .filter(session::Column::Id.is_in(chunk.iter().copied()))
            .filter(session::Column::RevokedAt.is_null())
            .all(db)
            .await?
        {
            successors.insert(row.id, row);
        }
    }
    let mut changes = Vec::new();
    for &id in ids {
        let Some(row) = found.get(&id) else {
            changes.push(SessionChange::Deleted(id));
            continue;
        };
        if row.revoked_at.is_none() {
            continue;
        }
        match row.replaced_by.and_then(|new| successors.get(&new)) {
            Some(successor) => changes.push(SessionChange::Rotated {
                old: id,
                new: successor.id,
                expires_at: successor.expires_at,
            }),
            None => changes.push(SessionChange::Revoked(id)),
        }
    }
    Ok(changes)
}

fn sqlx_error(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_read_and_garbage_is_refused() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(
            SessionChange::parse(&format!("revoked {a}")),
            Some(SessionChange::Revoked(a))
        );
        assert_eq!(
            SessionChange::parse(&format!("deleted {a}")),
            Some(SessionChange::Deleted(a))
        );
        assert_eq!(
            SessionChange::parse(&format!("rotated {a} {b} 1700000000123")),
            Some(SessionChange::Rotated {
                old: a,
                new: b,
                expires_at: DateTime::from_timestamp_millis(1_700_000_000_123).unwrap(),
            })
        );
        for garbage in [
            "",
            "revoked",
            "revoked x",
            &format!("revoked {a} extra"),
            &format!("rotated {a} {b}"),
            &format!("ended {a}"),
        ] {
            assert_eq!(SessionChange::parse(garbage), None, "{garbage}");
        }
    }
}
