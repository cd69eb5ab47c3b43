//! Delivery receipts (contract §6.3): `sent` → `delivered` when a device of the recipient has the
//! message, never backwards from `read`. Each marking stores `message_delivered` for both
//! participants in the same transaction, listing every message it newly marked.
//!
//! Receipts and read marks for the same messages can run at once (the acknowledgement batch,
//! `/sync`, the PUT, a second device, another instance), so every statement that changes the
//! status of several messages locks them first, in id order (`ORDER BY id FOR NO KEY UPDATE`):
//! two such transactions then queue behind each other instead of deadlocking. A row whose status
//! changed while waiting is re-checked against the `WHERE` and left out. Deleting a conversation
//! or a user cascades over its messages in index order instead; a deadlock with a receipt there
//! (rare: both must touch the same messages at once) is rolled back by PostgreSQL, and
//! [`mark_delivered`] runs again (a request meeting it answers `503`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::message::Status;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement, TransactionTrait,
};
use uuid::Uuid;

use super::{
    DataError,
    event::{self, StoredEvent},
    message::find_message_in_conversation,
};
use crate::wire::{ServerEvent, event::MessageDelivered};

#[derive(FromQueryResult)]
struct Marked {
    id: Uuid,
    conversation_id: Uuid,
    recipient: Uuid,
    p1_id: Uuid,
    p2_id: Uuid,
}

/// Stores one `message_delivered` per (conversation, recipient) for `marked`, oldest id first.
async fn store_events<C: ConnectionTrait>(
    txn: &C,
    marked: Vec<Marked>,
    at: DateTime<Utc>,
) -> Result<Vec<StoredEvent>, DataError> {
    let mut groups: BTreeMap<(Uuid, Uuid), ([Uuid; 2], Vec<Uuid>)> = BTreeMap::new();
    for m in marked {
        groups
            .entry((m.conversation_id, m.recipient))
            .or_insert_with(|| ([m.p1_id, m.p2_id], vec![]))
            .1
            .push(m.id);
    }
    let mut events = vec![];
    for ((conversation_id, recipient_id), (participants, mut message_ids)) in groups {
        // UUID v7 ids sort by creation time.
        message_ids.sort_unstable();
        let e = ServerEvent::MessageDelivered(MessageDelivered {
            conversation_id,
            recipient_id,
            message_ids,
            delivered_at: at.into(),
        });
        events.extend(participants.into_iter().map(|user| (user, e.clone())));
    }
    event::append(txn, &events).await
}

/// Marks messages delivered to their recipients: `receipts` are (recipient, message id) pairs
/// (acknowledgements, `/sync` answers). Pairs whose message is not `sent`, or whose user is not
/// its recipient, change nothing. One transaction for the whole batch.
///
/// Run once more when PostgreSQL rolls it back to break a lock conflict ([`super::is_rolled_back`]):
/// the acknowledgement batch and `/sync` would otherwise drop the marks, or fail a page read fine.
pub async fn mark_delivered(
    db: &DatabaseConnection,
    receipts: &[(Uuid, Uuid)],
) -> Result<Vec<StoredEvent>, DataError> {
    match mark_delivered_once(db, receipts).await {
        Err(DataError::Db(e)) if super::is_rolled_back(&e) => {
            mark_delivered_once(db, receipts).await
        }
        other => other,
    }
}

async fn mark_delivered_once(
    db: &DatabaseConnection,
    receipts: &[(Uuid, Uuid)],
) -> Result<Vec<StoredEvent>, DataError> {
    if receipts.is_empty() {
        return Ok(vec![]);
    }
    let recipients: Vec<Uuid> = receipts.iter().map(|r| r.0).collect();
    let ids: Vec<Uuid> = receipts.iter().map(|r| r.1).collect();
    let txn = db.begin().await?;
    let marked = Marked::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"WITH targets AS (
               SELECT m.id, t.recipient, c.p1_id, c.p2_id
               FROM (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[]) AS t(recipient, id)) t
               JOIN messages m ON m.id = t.id
               JOIN conversations c ON c.id = m.conversation_id
               WHERE m.status = $4 AND m.sender_id <> t.recipient
                 AND (c.p1_id = t.recipient OR c.p2_id = t.recipient)
               ORDER BY m.id
               FOR NO KEY UPDATE OF m
           )
           UPDATE messages m SET status = $3
           FROM targets t
           WHERE m.id = t.id
           RETURNING m.id, m.conversation_id, t.recipient, t.p1_id, t.p2_id"#,
        [
            recipients.into(),
            ids.into(),
            Status::Delivered.into(),
            Status::Sent.into(),
        ],
    ))
    .all(&txn)
    .await?;
    let events = store_events(&txn, marked, super::now()).await?;
    txn.commit().await?;
    Ok(events)
}

/// `PUT /messages/:id/delivered`: marks the message and every earlier `sent` message from the other
/// participant in its conversation delivered (recipient only, like a read mark: the sender and
/// strangers get `MessageNotFound`). Returns the events of what it newly marked.
pub async fn mark_delivered_up_to(
    db: &DatabaseConnection,
    id: Uuid,
    caller: Uuid,
) -> Result<Vec<StoredEvent>, DataError> {
    let found = find_message_in_conversation(db, id)
        .await?
        .filter(|m| {
            (m.p1_id == caller || m.p2_id == caller)
                && m.sender_id != caller
                && m.status != Status::Deleted
        })
        .ok_or(DataError::MessageNotFound)?;
    let txn = db.begin().await?;
    let marked = Marked::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"WITH targets AS (
               SELECT id FROM messages
               WHERE conversation_id = $1 AND sender_id = $2 AND status = $6
                 AND (created_at, id) <= ($3, $4)
               ORDER BY id
               FOR NO KEY UPDATE
           )
           UPDATE messages m SET status = $5
           FROM targets t, conversations c
           WHERE m.id = t.id AND c.id = m.conversation_id
           RETURNING m.id, m.conversation_id, $7::uuid AS recipient, c.p1_id, c.p2_id"#,
        [
            found.conversation_id.into(),
            found.sender_id.into(),
            found.created_at.into(),
            found.id.into(),
            Status::Delivered.into(),
            Status::Sent.into(),
            caller.into(),
        ],
    ))
    .all(&txn)
    .await?;
    let events = store_events(&txn, marked, super::now()).await?;
    txn.commit().await?;
    Ok(events)
}
