//! Rows of `conversations`, and the membership rule every conversation and message operation
//! goes through.

use entity::{conversation, message};
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryResult, Statement, Value,
};
use uuid::Uuid;

use super::{DataError, Page};

/// Whether `user` takes part in `conversation`.
pub fn is_participant(conversation: &conversation::Model, user: Uuid) -> bool {
    conversation.p1_id == user || conversation.p2_id == user
}

/// The other participant.
pub fn other_participant(conversation: &conversation::Model, user: Uuid) -> Uuid {
    if conversation.p1_id == user {
        conversation.p2_id
    } else {
        conversation.p1_id
    }
}

/// The conversation, if it exists (no membership check).
pub async fn find_conversation<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<conversation::Model>, DataError> {
    Ok(conversation::Entity::find_by_id(id).one(db).await?)
}

/// The conversation, if `caller` is one of its participants.
pub async fn get_conversation_for<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<conversation::Model, DataError> {
    let conversation = find_conversation(db, id)
        .await?
        .ok_or(DataError::ConversationNotFound)?;
    if !is_participant(&conversation, caller) {
        return Err(DataError::NotParticipant);
    }
    Ok(conversation)
}

/// Everyone who shares a conversation with `user` and neither blocks nor is blocked by them: who
/// hears about their presence (contract §3, §5).
pub async fn list_peer_ids<C: ConnectionTrait>(db: &C, user: Uuid) -> Result<Vec<Uuid>, DataError> {
    #[derive(sea_orm::FromQueryResult)]
    struct Peer {
        peer: Uuid,
    }
    let peers = Peer::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            r#"SELECT peer FROM (
                   SELECT p2_id AS peer FROM conversations WHERE p1_id = $1
                   UNION SELECT p1_id FROM conversations WHERE p2_id = $1
               ) peers
               WHERE {}"#,
            super::block::not_blocked_sql("$1", "peers.peer")
        ),
        [user.into()],
    ))
    .all(db)
    .await?;
    Ok(peers.into_iter().map(|p| p.peer).collect())
}

/// A conversation as one participant sees it (contract §1.2): the row, its newest message that is
/// not deleted, and how many of the other participant's messages the viewer has not read.
#[derive(Debug, Clone)]
pub struct ConversationSummary {
    /// The row.
    pub conversation: conversation::Model,
    /// The newest message that is not deleted, if any.
    pub last_message: Option<message::Model>,
    /// The other participant's messages that are `sent` or `delivered`.
    pub unread_count: i64,
}

/// Reads a row of [`SUMMARY_SQL`] by its column names. Written out rather than derived: the
/// derive's `nested(prefix = "last_")` formats a new `String` for every prefixed column of every
/// row, which with the derive's other per-column work was a quarter of the server's CPU for a list
/// of 100 conversations (perf, BENCHMARKS.md, milestone 2, fourth session).
impl FromQueryResult for ConversationSummary {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        let last_message = match row.try_get::<Option<Uuid>>("", "last_id")? {
            None => None,
            Some(id) => Some(message::Model {
                id,
                conversation_id: row.try_get("", "last_conversation_id")?,
                sender_id: row.try_get("", "last_sender_id")?,
                content: row.try_get("", "last_content")?,
                status: row.try_get("", "last_status")?,
                created_at: row.try_get("", "last_created_at")?,
                edited_at: row.try_get("", "last_edited_at")?,
                client_message_id: row.try_get("", "last_client_message_id")?,
            }),
        };
        Ok(Self {
            conversation: conversation::Model::from_query_result(row, "")?,
            last_message,
            unread_count: row.try_get("", "unread_count")?,
        })
    }
}

impl ConversationSummary {
    /// The summary of a conversation just opened: no messages yet.
    pub fn new_conversation(conversation: conversation::Model) -> Self {
        Self {
            conversation,
            last_message: None,
            unread_count: 0,
        }
    }
}

/// The summary query for viewer `$1`; callers add the `WHERE` (and order and paging). One query
/// for any number of conversations: the last message is one step down
/// `messages_conversation_created_idx` per conversation, the unread count an index-only count on
/// the partial `messages_unread_idx` over the generated `unread` column (migrations
/// `index_unread_messages`, `status_updates_in_place`).
const SUMMARY_SQL: &str = r#"
SELECT c.*,
       l.id AS last_id, l.conversation_id AS last_conversation_id, l.sender_id AS last_sender_id,
       l.content AS last_content, l.status AS last_status, l.created_at AS last_created_at,
       l.edited_at AS last_edited_at, l.client_message_id AS last_client_message_id,
       (SELECT count(*) FROM messages u
        WHERE u.conversation_id = c.id
          AND u.sender_id = CASE WHEN c.p1_id = $1 THEN c.p2_id ELSE c.p1_id END
          AND u.unread) AS unread_count
FROM conversations c
LEFT JOIN LATERAL (
    SELECT m.id, m.conversation_id, m.sender_id, m.content, m.status, m.created_at, m.edited_at,
           m.client_message_id
    FROM messages m
    WHERE m.conversation_id = c.id AND m.status <> $2
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT 1
) l ON true
"#;

/// The first parameters of [`SUMMARY_SQL`].
fn summary_params(viewer: Uuid) -> Vec<Value> {
    use message::Status;
    vec![viewer.into(), Status::Deleted.into()]
}

/// The caller's conversations, most recently active first, summarised for them.
pub async fn list_conversations<C: ConnectionTrait>(
    db: &C,
    caller: Uuid,
    page: Page,
) -> Result<Vec<ConversationSummary>, DataError> {
    let mut params = summary_params(caller);
    params.extend([
        i64::try_from(page.offset()).unwrap_or(i64::MAX).into(),
        i64::try_from(page.limit).unwrap_or(i64::MAX).into(),
    ]);
    Ok(
        ConversationSummary::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "{SUMMARY_SQL} WHERE c.p1_id = $1 OR c.p2_id = $1 \
             ORDER BY c.updated_at DESC, c.id DESC OFFSET $3 LIMIT $4"
            ),
            params,
        ))
        .all(db)
        .await?,
    )
}

/// The conversation summarised for `caller`, if they are one of its participants.
pub async fn get_conversation_summary<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<ConversationSummary, DataError> {
    let mut params = summary_params(caller);
    params.push(id.into());
    let summary = ConversationSummary::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("{SUMMARY_SQL} WHERE c.id = $3"),
        params,
    ))
    .one(db)
    .await?
    .ok_or(DataError::ConversationNotFound)?;
    if !is_participant(&summary.conversation, caller) {
        return Err(DataError::NotParticipant);
    }
    Ok(summary)
}

/// Opens a conversation between `caller` and `other`. The unique index on the unordered pair
/// decides races: of concurrent creates exactly one inserts, the rest get
/// [`DataError::ConversationExists`] with the winner's id.
pub async fn create_conversation<C: ConnectionTrait>(
    db: &C,
    caller: Uuid,
    other: Uuid,
) -> Result<conversation::Model, DataError> {
    if caller == other {
        return Err(DataError::SelfConversation);
    }
    if super::user::find_user(db, other).await?.is_none() {
        return Err(DataError::UserNotFound);
    }
    if super::block::is_blocked_between(db, caller, other).await? {
        return Err(DataError::Blocked);
    }
    let now = super::now();
    let inserted = conversation::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"INSERT INTO conversations (id, p1_id, p2_id, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $4)
               ON CONFLICT ((least(p1_id, p2_id)), (greatest(p1_id, p2_id))) DO NOTHING
               RETURNING *"#,
            [
                Uuid::now_v7().into(),
                caller.into(),
                other.into(),
                now.into(),
            ],
        ))
        .one(db)
        .await;
    match inserted {
        Ok(Some(conversation)) => Ok(conversation),
        Ok(None) => {
            let existing = conversation::Entity::find()
                .from_raw_sql(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    r#"SELECT * FROM conversations
                       WHERE least(p1_id, p2_id) = least($1::uuid, $2::uuid)
                         AND greatest(p1_id, p2_id) = greatest($1::uuid, $2::uuid)"#,
                    [caller.into(), other.into()],
                ))
                .one(db)
                .await?
                .ok_or(DataError::Db(sea_orm::DbErr::RecordNotFound(
                    "conversation vanished after a conflict".into(),
                )))?;
            Err(DataError::ConversationExists(existing.id))
        }
        // The other user was deleted between the check and the insert.
        Err(e) if is_foreign_key_violation(&e) => Err(DataError::UserNotFound),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a conversation (and its messages) for both participants; returns it.
pub async fn delete_conversation<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<conversation::Model, DataError> {
    let conversation = get_conversation_for(db, id, caller).await?;
    conversation::Entity::delete_by_id(id).exec(db).await?;
    Ok(conversation)
}

fn is_foreign_key_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
    )
}
