//! Group commit for sent messages.
//!
//! A durable commit costs an fsync (a few hundred per second from one connection), so one commit
//! per message caps the send rate far below what the rest of the server can do. Sends are handed to
//! one writer task instead, which takes everything that queued up while its previous batch was
//! committing and writes it as one statement: every message of the batch, and the `updated_at` bump
//! of each conversation, in one transaction with one fsync. No delay is added: a lone send is
//! written at once, and batches form only under load. `synchronous_commit` stays on; each request is
//! answered only after its batch committed.
//!
//! The same statement stores each message's `new_message` event for both participants, numbered in
//! their event streams (`data::event`), so the durable stream costs no extra round trip.
//!
//! A failed batch is split in halves and retried, so a bad row fails exactly its own request; when
//! the database is unreachable, the whole batch fails at once.

use std::collections::HashMap;

use sea_orm::{DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    DataError,
    conversation::get_conversation_for,
    event::{NUMBER_AND_INSERT_SQL, StoredEvent},
    message::MessageInConversation,
};
use crate::wire::{Message, MessageStatus, ServerEvent};

/// Most messages written in one statement.
const MAX_BATCH: usize = 512;

/// Sends waiting for the writer; beyond this, senders wait for room (back-pressure).
const QUEUE_DEPTH: usize = 8192;

struct SendRequest {
    conversation_id: Uuid,
    sender: Uuid,
    content: String,
    reply: oneshot::Sender<Result<SentMessage, DataError>>,
}

/// A stored message and its `new_message` events (one per participant), to emit after commit.
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// The message with its conversation's participants.
    pub message: MessageInConversation,
    /// The durable events, numbered in each participant's stream.
    pub events: Vec<StoredEvent>,
}

/// The handle handlers send messages through.
#[derive(Clone)]
pub struct MessageWriter {
    queue: mpsc::Sender<SendRequest>,
}

impl MessageWriter {
    /// Starts the writer task over `db`, owned by `tasks`. On shutdown it stops taking new
    /// messages and writes those already queued before it returns.
    pub fn start(db: DatabaseConnection, tasks: &mut crate::background::BackgroundTasks) -> Self {
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        tasks.spawn("message writer", run(db, requests, tasks.shutdown_token()));
        Self { queue }
    }

    /// Stores a message (the sender must be a participant) and bumps its conversation, durably;
    /// returns it with the conversation's participants.
    pub async fn send(
        &self,
        conversation_id: Uuid,
        sender: Uuid,
        content: String,
    ) -> Result<SentMessage, DataError> {
        let (reply, answer) = oneshot::channel();
        let request = SendRequest {
            conversation_id,
            sender,
            content,
            reply,
        };
        let stopped = || DataError::Db(DbErr::Custom("the message writer has stopped".into()));
        self.queue.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(
    db: DatabaseConnection,
    mut requests: mpsc::Receiver<SendRequest>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = tokio::select! {
            biased;
            received = requests.recv_many(&mut batch, MAX_BATCH) => received,
            () = shutdown.cancelled(), if !requests.is_closed() => {
                // Refuse new sends; what is queued is still written (recv_many drains it).
                requests.close();
                continue;
            }
        };
        if received == 0 {
            break;
        }
        write(&db, std::mem::take(&mut batch)).await;
    }
}

/// Writes `batch` in one statement. When the statement fails, the database is unreachable (every
/// request is answered with that error at once: no retry that would hold them for another
/// connection timeout each), or one of the rows is bad: then each half is written on its own, so
/// a bad row is isolated in about 2·log2(batch) statements and never slows the others for long.
async fn write(db: &DatabaseConnection, batch: Vec<SendRequest>) {
    let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
    match write_batch(db, &batch, &ids).await {
        Ok(written) => answer(db, batch.into_iter().zip(ids), written).await,
        Err(e) if batch.len() == 1 || super::is_unavailable(&e) => {
            if !super::is_unavailable(&e) {
                tracing::error!(error = %e, "a message could not be stored");
            }
            let error = e;
            for request in batch {
                let _ = request
                    .reply
                    .send(Err(DataError::Db(shared_db_error(&error))));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, messages = batch.len(), "batch failed; writing its halves separately");
            let mut first = batch;
            let second = first.split_off(first.len() / 2);
            Box::pin(write(db, first)).await;
            Box::pin(write(db, second)).await;
        }
    }
}

/// One error for every request of a failed batch. `DbErr` is not `Clone`; connection errors keep
/// their kind (so they still answer `503`), anything else becomes a custom error with the text.
fn shared_db_error(err: &DbErr) -> DbErr {
    match err {
        DbErr::ConnectionAcquire(e) => DbErr::ConnectionAcquire(match e {
            sea_orm::ConnAcquireErr::Timeout => sea_orm::ConnAcquireErr::Timeout,
            sea_orm::ConnAcquireErr::ConnectionClosed => sea_orm::ConnAcquireErr::ConnectionClosed,
        }),
        DbErr::Conn(e) => DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())),
        other => DbErr::Custom(other.to_string()),
    }
}

/// Answers each request with its row; a request without one was refused by the membership rule,
/// and learns why (missing conversation or not a participant).
async fn answer(
    db: &DatabaseConnection,
    batch: impl Iterator<Item = (SendRequest, Uuid)>,
    written: Vec<SentMessage>,
) {
    let mut written: HashMap<Uuid, SentMessage> =
        written.into_iter().map(|m| (m.message.id, m)).collect();
    for (request, id) in batch {
        let result = match written.remove(&id) {
            Some(message) => Ok(message),
            None => Err(
                get_conversation_for(db, request.conversation_id, request.sender)
                    .await
                    .err()
                    .unwrap_or(DataError::NotParticipant),
            ),
        };
        let _ = request.reply.send(result);
    }
}

/// A row of [`BATCH_SQL`]: a stored message, its participants and their events' numbers.
#[derive(FromQueryResult)]
struct BatchRow {
    id: Uuid,
    conversation_id: Uuid,
    sender_id: Uuid,
    content: String,
    created_at: chrono::DateTime<chrono::Utc>,
    p1_id: Uuid,
    p2_id: Uuid,
    p1_seq: i64,
    p2_seq: i64,
    event_args: String,
}

impl BatchRow {
    fn into_sent(self) -> SentMessage {
        let args: Vec<serde_json::Value> =
            serde_json::from_str(&self.event_args).unwrap_or_default();
        let event = |user_id, seq: i64| StoredEvent {
            user_id,
            seq: u64::try_from(seq).unwrap_or_default(),
            name: NEW_MESSAGE.to_owned(),
            args: args.clone(),
        };
        SentMessage {
            events: vec![
                event(self.p1_id, self.p1_seq),
                event(self.p2_id, self.p2_seq),
            ],
            message: MessageInConversation {
                id: self.id,
                conversation_id: self.conversation_id,
                sender_id: self.sender_id,
                content: self.content,
                status: entity::message::Status::Sent,
                created_at: self.created_at,
                edited_at: None,
                p1_id: self.p1_id,
                p2_id: self.p2_id,
            },
        }
    }
}

/// The wire name of the events the batch stores.
const NEW_MESSAGE: &str = "new_message";

async fn write_batch(
    db: &DatabaseConnection,
    batch: &[SendRequest],
    ids: &[Uuid],
) -> Result<Vec<SentMessage>, DbErr> {
    let now = super::now();
    let conversations: Vec<Uuid> = batch.iter().map(|r| r.conversation_id).collect();
    let senders: Vec<Uuid> = batch.iter().map(|r| r.sender).collect();
    let contents: Vec<String> = batch.iter().map(|r| r.content.clone()).collect();
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
        });
        debug_assert_eq!(event.name(), NEW_MESSAGE);
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
            NEW_MESSAGE.into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(BatchRow::into_sent).collect())
}

/// One statement, so one transaction: keep the messages whose sender takes part in their
/// conversation, bump those conversations, insert the messages, and store each message's
/// `new_message` event for both participants (numbered by [`NUMBER_AND_INSERT_SQL`]; within the
/// batch, in arrival order).
static BATCH_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        r#"
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $7::text[])
        WITH ORDINALITY AS t(id, conversation_id, sender_id, content, event_args, ord)
), allowed AS (
    SELECT i.id, i.conversation_id, i.sender_id, i.content, i.event_args, i.ord, c.p1_id, c.p2_id
    FROM input i JOIN conversations c ON c.id = i.conversation_id
    WHERE c.p1_id = i.sender_id OR c.p2_id = i.sender_id
), touched AS (
    UPDATE conversations SET updated_at = greatest(updated_at, $5)
    WHERE id IN (SELECT conversation_id FROM allowed)
), inserted AS (
    INSERT INTO messages (id, conversation_id, sender_id, content, status, created_at)
    SELECT id, conversation_id, sender_id, content, $6, $5 FROM allowed
), event_input AS (
    SELECT u.user_id, $8::text AS name, a.event_args AS args, a.id AS message_id,
           a.ord * 2 + u.k AS ord
    FROM allowed a CROSS JOIN LATERAL (VALUES (a.p1_id, 0), (a.p2_id, 1)) AS u(user_id, k)
), {NUMBER_AND_INSERT_SQL}
SELECT a.id, a.conversation_id, a.sender_id, a.content, $5::timestamptz AS created_at,
       a.p1_id, a.p2_id, n1.seq AS p1_seq, n2.seq AS p2_seq, a.event_args
FROM allowed a
JOIN numbered n1 ON n1.message_id = a.id AND n1.user_id = a.p1_id
JOIN numbered n2 ON n2.message_id = a.id AND n2.user_id = a.p2_id
"#
    )
});
