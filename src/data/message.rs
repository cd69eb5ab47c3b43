//! Rows of `messages`: history pages, send, soft delete and read marks (edits are in
//! [`super::edit`], search in [`super::search`]).
//!
//! Every function takes the caller and enforces membership in its query or right before it: a
//! caller who is not a participant sees `MessageNotFound` (no existence leak) on message routes.

use chrono::{DateTime, Utc};
use entity::message::{self, Status};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::{DataError, Page, conversation::get_conversation_for};

/// The columns of [`message::Model`], for SQL written by hand: `*` would also carry
/// `search_vector` (the stored full-text document, read only by search) to the server.
pub(super) const COLUMNS: &str =
    "id, conversation_id, sender_id, content, status, created_at, edited_at, client_message_id";

/// The message `sender` sent with idempotency key `client_message_id`, if any, and whether
/// `content` is what that send carried (contract §6.2).
pub async fn find_message_by_client_id<C: ConnectionTrait>(
    db: &C,
    sender: Uuid,
    client_message_id: &str,
    content: &str,
) -> Result<Option<(MessageInConversation, bool)>, DataError> {
    /// The message row, its participants, and whether the content matches the first send.
    #[derive(FromQueryResult)]
    struct Earlier {
        #[sea_orm(nested)]
        message: MessageInConversation,
        same_content: Option<bool>,
    }
    let earlier = Earlier::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"SELECT m.id, m.conversation_id, m.sender_id, m.content, m.status, m.created_at,
                  m.edited_at, m.client_message_id, c.p1_id, c.p2_id,
                  (m.sent_content_md5 = md5($3)) AS same_content
           FROM messages m JOIN conversations c ON c.id = m.conversation_id
           WHERE m.sender_id = $1 AND m.client_message_id = $2"#,
        [sender.into(), client_message_id.into(), content.into()],
    ))
    .one(db)
    .await?;
    Ok(earlier.map(|e| (e.message, e.same_content.unwrap_or(false))))
}

/// Where a history page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest messages.
    Latest,
    /// Messages older than this message (by `(created_at, id)`), newest first.
    BeforeMessage(Uuid),
    /// Messages older than this instant, newest first.
    BeforeTime(DateTime<Utc>),
    /// Messages newer than this message, oldest first (catch-up after a reconnect).
    AfterMessage(Uuid),
}

/// A message with the participants of its conversation (who must hear about changes to it).
#[derive(Debug, Clone, FromQueryResult)]
pub struct MessageInConversation {
    /// Message id.
    pub id: Uuid,
    /// Conversation id.
    pub conversation_id: Uuid,
    /// Sender.
    pub sender_id: Uuid,
    /// Stored content (blank it on the wire when deleted).
    pub content: String,
    /// Where the message is in its life.
    pub status: Status,
    /// Send time.
    pub created_at: DateTime<Utc>,
    /// Last edit.
    pub edited_at: Option<DateTime<Utc>>,
    /// The sender's idempotency key, if any.
    pub client_message_id: Option<String>,
    /// First participant.
    pub p1_id: Uuid,
    /// Second participant.
    pub p2_id: Uuid,
}

impl MessageInConversation {
    /// The message row alone.
    pub fn message(&self) -> message::Model {
        message::Model {
            id: self.id,
            conversation_id: self.conversation_id,
            sender_id: self.sender_id,
            content: self.content.clone(),
            status: self.status,
            created_at: self.created_at,
            edited_at: self.edited_at,
            client_message_id: self.client_message_id.clone(),
        }
    }

    /// Both participants.
    pub fn participants(&self) -> [Uuid; 2] {
        [self.p1_id, self.p2_id]
    }

    pub(super) fn is_participant(&self, user: Uuid) -> bool {
        self.p1_id == user || self.p2_id == user
    }
}

/// What a delete did.
#[derive(Debug)]
pub enum DeleteOutcome {
    /// The message is now deleted.
    Deleted(MessageInConversation),
    /// It was deleted before.
    AlreadyDeleted,
}

/// What a read mark did.
#[derive(Debug)]
pub enum ReadOutcome {
    /// These messages (the target and earlier unread ones from the same sender) are now read.
    Marked {
        /// The message that was read.
        message: MessageInConversation,
        /// Every message marked, oldest first.
        message_ids: Vec<Uuid>,
        /// When.
        read_at: DateTime<Utc>,
    },
    /// It was read before.
    AlreadyRead,
}

/// The message with its conversation's participants, if it exists.
pub async fn find_message_in_conversation<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<MessageInConversation>, DataError> {
    Ok(
        MessageInConversation::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            r#"SELECT m.id, m.conversation_id, m.sender_id, m.content, m.status, m.created_at,
                  m.edited_at, m.client_message_id, c.p1_id, c.p2_id
           FROM messages m JOIN conversations c ON c.id = m.conversation_id
           WHERE m.id = $1"#,
            [id.into()],
        ))
        .one(db)
        .await?,
    )
}

/// A page of a conversation's history (deleted messages left out). Newest first, except after a
/// cursor with [`Cursor::AfterMessage`], which reads forward, oldest first.
pub async fn list_messages<C: ConnectionTrait>(
    db: &C,
    conversation_id: Uuid,
    caller: Uuid,
    page: Page,
    cursor: Cursor,
) -> Result<Vec<message::Model>, DataError> {
    get_conversation_for(db, conversation_id, caller).await?;
    let mut values: Vec<Value> = vec![conversation_id.into()];
    let (condition, order) = match cursor {
        Cursor::Latest => (String::new(), "DESC"),
        Cursor::BeforeTime(at) => {
            values.push(at.into());
            ("AND created_at < $2".to_owned(), "DESC")
        }
        Cursor::BeforeMessage(id) | Cursor::AfterMessage(id) => {
            let anchor = message::Entity::find_by_id(id)
                .one(db)
                .await?
                .filter(|m| m.conversation_id == conversation_id)
                .ok_or(DataError::UnknownCursor)?;
            values.push(anchor.created_at.into());
            values.push(anchor.id.into());
            // Row comparison: `id` breaks ties between equal timestamps, so paging is stable
            // however many messages share a millisecond.
            if matches!(cursor, Cursor::AfterMessage(_)) {
                ("AND (created_at, id) > ($2, $3)".to_owned(), "ASC")
            } else {
                ("AND (created_at, id) < ($2, $3)".to_owned(), "DESC")
            }
        }
    };
    let n = values.len();
    values.push(i64::try_from(page.limit).unwrap_or(100).into());
    values.push(i64::try_from(page.offset()).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT {COLUMNS} FROM messages
         WHERE conversation_id = $1 AND status <> '{deleted}' {condition}
         ORDER BY created_at {order}, id {order}
         LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2,
        deleted = Status::Deleted.as_sql(),
    );
    Ok(message::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .all(db)
        .await?)
}

/// Stores one message outside the group commit: the insert and the conversation's `updated_at`
/// bump in one statement, only if the sender is a participant. It stores no durable event: the
/// server sends through `message_writer`; this serves tools and the index-use test.
pub async fn create_message<C: ConnectionTrait>(
    db: &C,
    conversation_id: Uuid,
    sender: Uuid,
    content: &str,
) -> Result<MessageInConversation, DataError> {
    let now = super::now();
    let sent = MessageInConversation::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            r#"WITH conversation AS (
               UPDATE conversations SET updated_at = greatest(updated_at, $4)
               WHERE id = $2 AND (p1_id = $3 OR p2_id = $3) AND {}
               RETURNING p1_id, p2_id
           ), message AS (
               INSERT INTO messages (id, conversation_id, sender_id, content, status, created_at)
               SELECT $1, $2, $3, $5, $6, $4 FROM conversation
               RETURNING {COLUMNS}
           )
           SELECT message.*, conversation.p1_id, conversation.p2_id
           FROM message, conversation"#,
            super::block::not_blocked_sql("p1_id", "p2_id")
        ),
        [
            Uuid::now_v7().into(),
            conversation_id.into(),
            sender.into(),
            now.into(),
            content.into(),
            Status::Sent.into(),
        ],
    ))
    .one(db)
    .await?;
    match sent {
        Some(sent) => Ok(sent),
        // Nothing written: tell a missing conversation from a stranger's, and from a block.
        None => {
            let conversation = get_conversation_for(db, conversation_id, sender).await?;
            if super::block::is_blocked_between(db, conversation.p1_id, conversation.p2_id).await? {
                return Err(DataError::Blocked);
            }
            Err(DataError::NotParticipant)
        }
    }
}

/// The message, if `caller` is its sender (deleted or not: callers decide).
pub(super) async fn get_own_live_message<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<MessageInConversation, DataError> {
    find_message_in_conversation(db, id)
        .await?
        .filter(|m| m.sender_id == caller && m.is_participant(caller))
        .ok_or(DataError::MessageNotFound)
}

/// Soft-deletes a message (sender only). The content stays in the row but leaves every list and
/// search; `edited_at` is untouched.
pub async fn delete_message<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<DeleteOutcome, DataError> {
    let mut found = get_own_live_message(db, id, caller).await?;
    if found.status == Status::Deleted {
        return Ok(DeleteOutcome::AlreadyDeleted);
    }
    let updated = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE messages SET status = $2 WHERE id = $1 AND status <> $2",
            [id.into(), Status::Deleted.into()],
        ))
        .await?;
    if updated.rows_affected() == 0 {
        return Ok(DeleteOutcome::AlreadyDeleted);
    }
    found.status = Status::Deleted;
    Ok(DeleteOutcome::Deleted(found))
}

/// Marks a message read (recipient only), with every earlier unread message from the same sender
/// in the conversation.
pub async fn mark_message_read<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    caller: Uuid,
) -> Result<ReadOutcome, DataError> {
    let found = find_message_in_conversation(db, id)
        .await?
        .filter(|m| {
            m.is_participant(caller) && m.sender_id != caller && m.status != Status::Deleted
        })
        .ok_or(DataError::MessageNotFound)?;
    if found.status == Status::Read {
        return Ok(ReadOutcome::AlreadyRead);
    }
    #[derive(FromQueryResult)]
    struct Marked {
        id: Uuid,
    }
    let marked = Marked::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        // Locked in id order, as receipts lock them (see `data::delivery`): no deadlock with a
        // receipt or another read mark over the same messages.
        r#"WITH targets AS (
               SELECT id FROM messages
               WHERE conversation_id = $1 AND sender_id = $2 AND unread
                 AND (created_at, id) <= ($3, $4)
               ORDER BY id
               FOR NO KEY UPDATE
           )
           UPDATE messages m SET status = $5
           FROM targets t WHERE m.id = t.id
           RETURNING m.id"#,
        [
            found.conversation_id.into(),
            found.sender_id.into(),
            found.created_at.into(),
            found.id.into(),
            Status::Read.into(),
        ],
    ))
    .all(db)
    .await?;
    if marked.is_empty() {
        return Ok(ReadOutcome::AlreadyRead);
    }
    // UUID v7 ids sort by creation time.
    let mut message_ids: Vec<Uuid> = marked.into_iter().map(|m| m.id).collect();
    message_ids.sort_unstable();
    Ok(ReadOutcome::Marked {
        message: found,
        message_ids,
        read_at: super::now(),
    })
}
