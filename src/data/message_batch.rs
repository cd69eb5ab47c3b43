//! The group-commit statement: one batch of sends, stored with their events in one statement.
//!
//! Idempotency keys (contract §6.2) ride in the same statement: within a batch only the first
//! send of a (sender, key) pair is considered; a key the sender already used is not inserted
//! again (checked against the partial unique index, and `ON CONFLICT DO NOTHING` for a race with
//! another instance's batch). Requests that get no row back are sorted out by the writer.

use sea_orm::{DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

use super::{
    event::{NUMBER_AND_INSERT_SQL, StoredEvent},
    message::MessageInConversation,
    message_writer::{SendRequest, SentMessage},
};
use crate::wire::{Message, MessageStatus, ServerEvent, StoredArgs};

/// A row of [`BATCH_SQL`]: one stored event (two per message, one per participant) with its
/// message. Rows come straight from the numbering step: joining them back to the messages in SQL
/// made the statement quadratic in the batch size (nested loops over CTE scans).
#[derive(FromQueryResult)]
struct BatchRow {
    id: Uuid,
    conversation_id: Uuid,
    sender_id: Uuid,
    content: String,
    created_at: chrono::DateTime<chrono::Utc>,
    p1_id: Uuid,
    p2_id: Uuid,
    user_id: Uuid,
    seq: i64,
    event_args: String,
    client_message_id: Option<String>,
}

/// Groups the event rows by message, in batch order.
fn into_sent(rows: Vec<BatchRow>) -> Vec<SentMessage> {
    let mut sent: Vec<SentMessage> = Vec::with_capacity(rows.len() / 2);
    let mut index: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    for row in rows {
        let event = StoredEvent {
            user_id: row.user_id,
            seq: u64::try_from(row.seq).unwrap_or_default(),
            name: ServerEvent::NEW_MESSAGE.to_owned(),
            args: StoredArgs::from_stored(row.event_args),
        };
        if let Some(&i) = index.get(&row.id) {
            sent[i].events.push(event);
            continue;
        }
        index.insert(row.id, sent.len());
        sent.push(SentMessage {
            events: vec![event],
            message: MessageInConversation {
                id: row.id,
                conversation_id: row.conversation_id,
                sender_id: row.sender_id,
                content: row.content,
                status: entity::message::Status::Sent,
                created_at: row.created_at,
                edited_at: None,
                client_message_id: row.client_message_id,
                p1_id: row.p1_id,
                p2_id: row.p2_id,
            },
        });
    }
    sent
}

/// Writes `batch` (with the pre-chosen message `ids`); returns the messages stored.
pub(super) async fn write_batch(
    db: &DatabaseConnection,
    batch: &[SendRequest],
    ids: &[Uuid],
) -> Result<Vec<SentMessage>, DbErr> {
    let now = super::now();
    let conversations: Vec<Uuid> = batch.iter().map(|r| r.conversation_id).collect();
    let senders: Vec<Uuid> = batch.iter().map(|r| r.sender).collect();
    let contents: Vec<String> = batch.iter().map(|r| r.content.clone()).collect();
    // '' for none: sea-orm binds no arrays of optional text.
    let client_ids: Vec<String> = batch
        .iter()
        .map(|r| r.client_message_id.clone().unwrap_or_default())
        .collect();
    // Each message's `new_message` arguments, built from the wire type before the statement (the
    // id and time are chosen here), so the event rows ride in the same statement.
    let mut event_args = Vec::with_capacity(batch.len());
    for (request, id) in batch.iter().zip(ids) {
        let event = ServerEvent::NewMessage(Message {
            id: *id,
            content: request.content.clone(),
            sender: request.sender,
            conversation: request.conversation_id,
            status: MessageStatus::Sent,
            created_at: now.into(),
            edited_at: None,
            client_message_id: request.client_message_id.clone(),
        });
        debug_assert_eq!(event.name(), ServerEvent::NEW_MESSAGE);
        event_args.push(super::event::columns(&event)?.1);
    }
    let rows = BatchRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        BATCH_SQL.as_str(),
        [
            ids.to_vec().into(),
            conversations.into(),
            senders.into(),
            contents.into(),
            now.into(),
            entity::message::Status::Sent.into(),
            event_args.into(),
            ServerEvent::NEW_MESSAGE.into(),
            client_ids.into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(into_sent(rows))
}

/// One statement, so one transaction: keep the first send of each idempotency key not used
/// before, whose sender takes part in its conversation and where neither participant blocks the
/// other (contract §3), insert those messages, bump their
/// conversations, and store each message's `new_message` event for both participants (numbered
/// by [`NUMBER_AND_INSERT_SQL`]; within the batch, in arrival order).
static BATCH_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        r#"
WITH input AS (
    SELECT t.id, t.conversation_id, t.sender_id, t.content, t.event_args, t.ord,
           NULLIF(t.client_id, '') AS client_id
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $7::text[], $9::text[])
        WITH ORDINALITY AS t(id, conversation_id, sender_id, content, event_args, client_id, ord)
), first_sends AS (
    SELECT DISTINCT ON (sender_id, coalesce(client_id, id::text)) *
    FROM input ORDER BY sender_id, coalesce(client_id, id::text), ord
), fresh AS (
    SELECT f.* FROM first_sends f
    WHERE f.client_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM messages m WHERE m.sender_id = f.sender_id AND m.client_message_id = f.client_id
    )
), candidates AS (
    SELECT f.id, f.conversation_id, f.sender_id, f.content, f.event_args, f.ord, f.client_id,
           c.p1_id, c.p2_id
    FROM fresh f JOIN conversations c ON c.id = f.conversation_id
    WHERE (c.p1_id = f.sender_id OR c.p2_id = f.sender_id) AND {not_blocked}
), inserted AS (
    INSERT INTO messages (id, conversation_id, sender_id, content, status, created_at,
                          client_message_id, sent_content_md5)
    SELECT id, conversation_id, sender_id, content, $6, $5, client_id,
           CASE WHEN client_id IS NULL THEN NULL ELSE md5(content) END
    FROM candidates
    ON CONFLICT (sender_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
    RETURNING id
), allowed AS (
    SELECT c.* FROM candidates c JOIN inserted i USING (id)
), touched AS (
    UPDATE conversations SET updated_at = greatest(updated_at, $5)
    WHERE id IN (SELECT conversation_id FROM allowed)
), event_input AS (
    SELECT u.user_id, $8::text AS name, a.event_args AS args, a.id AS message_id,
           a.ord * 2 + u.k AS ord, a.conversation_id, a.sender_id, a.content, a.p1_id, a.p2_id,
           a.client_id
    FROM allowed a CROSS JOIN LATERAL (VALUES (a.p1_id, 0), (a.p2_id, 1)) AS u(user_id, k)
), {NUMBER_AND_INSERT_SQL}
SELECT message_id AS id, conversation_id, sender_id, content, $5::timestamptz AS created_at,
       p1_id, p2_id, user_id, seq, args AS event_args, client_id AS client_message_id
FROM numbered ORDER BY ord
"#,
        not_blocked = super::block::not_blocked_sql("c.p1_id", "c.p2_id"),
    )
});
