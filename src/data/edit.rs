//! Edits and edit history (contract §3): an edit keeps the content it replaces in
//! `message_versions`, in the same statement that changes the message, so the history is complete
//! whatever runs concurrently.

use chrono::{DateTime, Utc};
use entity::message::Status;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use uuid::Uuid;

use super::{
    DataError,
    message::{MessageInConversation, find_message_in_conversation, get_own_live_message},
};

/// What an edit did.
#[derive(Debug)]
pub enum EditOutcome {
    /// The content changed.
    Edited(MessageInConversation),
    /// The content was already this; nothing was written.
    Unchanged(MessageInConversation),
}

/// One version of a message's content.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Version {
    /// The content of that version.
    pub content: String,
    /// When it was first shown: the send time for the original, the edit time after that.
    pub created_at: DateTime<Utc>,
}

/// Edits a message's content (sender only, not when deleted). Errors:
/// [`DataError::MessageNotFound`] for a stranger's, someone else's or a deleted message.
pub async fn update_message_content<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
    content: &str,
) -> Result<EditOutcome, DataError> {
    let mut found = get_own_live_message(db, id, caller).await?;
    if found.status == Status::Deleted {
        return Err(DataError::MessageNotFound);
    }
    if found.content == content {
        return Ok(EditOutcome::Unchanged(found));
    }
    #[derive(FromQueryResult)]
    struct Edited {
        edited_at: DateTime<Utc>,
    }
    // The row is locked and read in the statement that saves it as a version, so two concurrent
    // edits each save what the other left. Edit times strictly increase (a version's time is
    // its key), even for two edits within one millisecond.
    let edited = Edited::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"WITH previous AS (
               SELECT id, content, coalesce(edited_at, created_at) AS shown_at
               FROM messages WHERE id = $3 AND status <> $4
               FOR UPDATE
           ), saved AS (
               INSERT INTO message_versions (message_id, created_at, content)
               SELECT id, shown_at, content FROM previous
           )
           UPDATE messages m
           SET content = $1, edited_at = greatest($2, p.shown_at + interval '1 millisecond')
           FROM previous p WHERE m.id = p.id
           RETURNING m.edited_at"#,
        [
            content.into(),
            super::now().into(),
            id.into(),
            Status::Deleted.into(),
        ],
    ))
    .one(db)
    .await?
    // Deleted in the meantime.
    .ok_or(DataError::MessageNotFound)?;
    found.content = content.to_owned();
    found.edited_at = Some(edited.edited_at);
    Ok(EditOutcome::Edited(found))
}

/// Every version of a message's content, the original first and the current one last (contract
/// §3, `GET /messages/:id/history`). Participants only; a deleted message has no history. Errors:
/// [`DataError::MessageNotFound`].
pub async fn message_history<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<Vec<Version>, DataError> {
    let message = find_message_in_conversation(db, id)
        .await?
        .filter(|m| m.is_participant(caller) && m.status != Status::Deleted)
        .ok_or(DataError::MessageNotFound)?;
    let mut versions = Version::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT content, created_at FROM message_versions WHERE message_id = $1 ORDER BY created_at",
        [id.into()],
    ))
    .all(db)
    .await?;
    versions.push(Version {
        created_at: message.edited_at.unwrap_or(message.created_at),
        content: message.content,
    });
    Ok(versions)
}
