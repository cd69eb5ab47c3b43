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
//! Two writers run side by side, each with its own connection, so one commits (waiting for the WAL
//! flush, a third of a writer's time at 2,000 msg/s) while the other executes. A conversation
//! always goes to the same writer, so its messages still commit in the order they were sent. The
//! writers share only the rows of the users' event sequences, which each statement locks in user
//! order: they may wait for each other there, never deadlock.
//!
//! The same statement stores each message's `new_message` event for both participants, numbered in
//! their event streams (`data::event`), so the durable stream costs no extra round trip.
//!
//! A failed batch is split in halves and retried, so a bad row fails exactly its own request; when
//! the database is unreachable, the whole batch fails at once.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    DataError, conversation::get_conversation_for, event::StoredEvent,
    message::MessageInConversation, message_batch::write_batch,
};

/// Most messages written in one statement.
const MAX_BATCH: usize = 512;

/// Writers running side by side (see the module docs).
const WRITERS: usize = 2;

/// Sends waiting for the writer; beyond this, senders wait for room (back-pressure).
const QUEUE_DEPTH: usize = 8192;

/// One send waiting for the writer.
pub(super) struct SendRequest {
    pub(super) conversation_id: Uuid,
    pub(super) sender: Uuid,
    pub(super) content: String,
    /// The idempotency key (contract §6.2), already validated.
    pub(super) client_message_id: Option<String>,
    reply: oneshot::Sender<Result<SendOutcome, DataError>>,
}

/// A stored message and its `new_message` events (one per participant), to emit after commit.
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// The message with its conversation's participants.
    pub message: MessageInConversation,
    /// The durable events, numbered in each participant's stream.
    pub events: Vec<StoredEvent>,
}

/// What a send did.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// Stored now (`201`); its events are to be delivered.
    Created(SentMessage),
    /// A retry of an earlier send with the same idempotency key (`200`): nothing stored, nothing
    /// to emit; the stored message as it is now.
    Existing(MessageInConversation),
}

/// The handle handlers send messages through.
#[derive(Clone)]
pub struct MessageWriter {
    /// One queue per writer.
    queues: Vec<mpsc::Sender<SendRequest>>,
    /// Messages stored since the start (by every writer).
    written: Arc<AtomicU64>,
}

impl MessageWriter {
    /// Starts the writer tasks over `db`, owned by `tasks`. On shutdown they stop taking new
    /// messages and write those already queued before they return.
    pub fn start(db: DatabaseConnection, tasks: &mut crate::background::BackgroundTasks) -> Self {
        let written = Arc::new(AtomicU64::new(0));
        let queues = (0..WRITERS)
            .map(|_| {
                let (queue, requests) = mpsc::channel(QUEUE_DEPTH / WRITERS);
                let writer = run(
                    db.clone(),
                    requests,
                    written.clone(),
                    tasks.shutdown_token(),
                );
                tasks.spawn("message writer", writer);
                queue
            })
            .collect();
        Self { queues, written }
    }

    /// How many messages this instance has stored since it started.
    pub fn messages_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The queue of the writer that owns `conversation` (UUID v7 ends in random bits).
    fn queue_for(&self, conversation: Uuid) -> &mpsc::Sender<SendRequest> {
        let shard = (conversation.as_u128() % self.queues.len() as u128) as usize;
        &self.queues[shard]
    }

    /// Stores a message (the sender must be a participant) and bumps its conversation, durably;
    /// returns it with the conversation's participants. With a `client_message_id` the sender
    /// used before, nothing is stored and the earlier message is returned, or
    /// `IdempotencyConflict` when the key came with another conversation or content.
    pub async fn send(
        &self,
        conversation_id: Uuid,
        sender: Uuid,
        content: String,
        client_message_id: Option<String>,
    ) -> Result<SendOutcome, DataError> {
        let (reply, answer) = oneshot::channel();
        let request = SendRequest {
            conversation_id,
            sender,
            content,
            client_message_id,
            reply,
        };
        let stopped = || DataError::Db(DbErr::Custom("the message writer has stopped".into()));
        self.queue_for(conversation_id)
            .send(request)
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(
    db: DatabaseConnection,
    mut requests: mpsc::Receiver<SendRequest>,
    written: Arc<AtomicU64>,
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
        write(&db, std::mem::take(&mut batch), &written).await;
    }
}

/// Writes `batch` in one statement. When the statement fails, the database is unreachable (every
/// request is answered with that error at once: no retry that would hold them for another
/// connection timeout each), or one of the rows is bad: then each half is written on its own, so
/// a bad row is isolated in about 2·log2(batch) statements and never slows the others for long.
async fn write(db: &DatabaseConnection, batch: Vec<SendRequest>, count: &AtomicU64) {
    let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
    match write_batch(db, &batch, &ids).await {
        Ok(written) => {
            count.fetch_add(written.len() as u64, Ordering::Relaxed);
            answer(db, batch.into_iter().zip(ids), written).await;
        }
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
            Box::pin(write(db, first, count)).await;
            Box::pin(write(db, second, count)).await;
        }
    }
}

/// One error for every request of a failed batch. `DbErr` is not `Clone`; an unreachable
/// database, or a transaction it rolled back to break a lock conflict, becomes a connection error
/// (so every request answers `503`, as `From<DbErr> for ApiError` does for both), anything else a
/// custom error with the text.
fn shared_db_error(err: &DbErr) -> DbErr {
    match err {
        DbErr::ConnectionAcquire(e) => DbErr::ConnectionAcquire(match e {
            sea_orm::ConnAcquireErr::Timeout => sea_orm::ConnAcquireErr::Timeout,
            sea_orm::ConnAcquireErr::ConnectionClosed => sea_orm::ConnAcquireErr::ConnectionClosed,
        }),
        _ if super::is_unavailable(err) || super::is_rolled_back(err) => {
            DbErr::Conn(sea_orm::RuntimeErr::Internal(err.to_string()))
        }
        other => DbErr::Custom(other.to_string()),
    }
}

/// Answers each request with its row. A request without one was either a repeat of an earlier
/// send with its idempotency key (answered with that message, or a conflict), or refused by the
/// membership rule or a block (and learns why: missing conversation, not a participant, blocked).
async fn answer(
    db: &DatabaseConnection,
    batch: impl Iterator<Item = (SendRequest, Uuid)>,
    written: Vec<SentMessage>,
) {
    let mut written: HashMap<Uuid, SentMessage> =
        written.into_iter().map(|m| (m.message.id, m)).collect();
    for (request, id) in batch {
        let result = match written.remove(&id) {
            Some(message) => Ok(SendOutcome::Created(message)),
            None => not_written(db, &request).await,
        };
        let _ = request.reply.send(result);
    }
}

async fn not_written(
    db: &DatabaseConnection,
    request: &SendRequest,
) -> Result<SendOutcome, DataError> {
    if let Some(key) = &request.client_message_id {
        let earlier =
            super::message::find_message_by_client_id(db, request.sender, key, &request.content)
                .await?;
        if let Some((message, same_content)) = earlier {
            return if same_content && message.conversation_id == request.conversation_id {
                Ok(SendOutcome::Existing(message))
            } else {
                Err(DataError::IdempotencyConflict)
            };
        }
    }
    let conversation = get_conversation_for(db, request.conversation_id, request.sender).await?;
    if super::block::is_blocked_between(db, conversation.p1_id, conversation.p2_id).await? {
        return Err(DataError::Blocked);
    }
    // A participant, not blocked, and still nothing written: the conversation went away (or the
    // block was lifted) while the batch ran. Refuse rather than guess; a retry sorts it out.
    Err(DataError::NotParticipant)
}
