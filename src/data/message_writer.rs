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
//! A failed batch is retried one message at a time, so a failure fails exactly the requests it
//! belongs to.

use std::collections::HashMap;

use sea_orm::{DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{DataError, conversation::get_conversation_for, message::MessageInConversation};

/// Most messages written in one statement.
const MAX_BATCH: usize = 512;

/// Sends waiting for the writer; beyond this, senders wait for room (back-pressure).
const QUEUE_DEPTH: usize = 8192;

struct SendRequest {
    conversation_id: Uuid,
    sender: Uuid,
    content: String,
    reply: oneshot::Sender<Result<MessageInConversation, DataError>>,
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
    ) -> Result<MessageInConversation, DataError> {
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
    written: Vec<MessageInConversation>,
) {
    let mut written: HashMap<Uuid, MessageInConversation> =
        written.into_iter().map(|m| (m.id, m)).collect();
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

async fn write_batch(
    db: &DatabaseConnection,
    batch: &[SendRequest],
    ids: &[Uuid],
) -> Result<Vec<MessageInConversation>, DbErr> {
    let conversations: Vec<Uuid> = batch.iter().map(|r| r.conversation_id).collect();
    let senders: Vec<Uuid> = batch.iter().map(|r| r.sender).collect();
    let contents: Vec<String> = batch.iter().map(|r| r.content.clone()).collect();
    MessageInConversation::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        BATCH_SQL,
        [
            ids.to_vec().into(),
            conversations.into(),
            senders.into(),
            contents.into(),
            super::now().into(),
            entity::message::Status::Sent.into(),
        ],
    ))
    .all(db)
    .await
}

/// One statement, so one transaction: keep the messages whose sender takes part in their
/// conversation, bump those conversations, insert the messages.
const BATCH_SQL: &str = r#"
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[])
        AS t(id, conversation_id, sender_id, content)
), allowed AS (
    SELECT i.id, i.conversation_id, i.sender_id, i.content, c.p1_id, c.p2_id
    FROM input i JOIN conversations c ON c.id = i.conversation_id
    WHERE c.p1_id = i.sender_id OR c.p2_id = i.sender_id
), touched AS (
    UPDATE conversations SET updated_at = greatest(updated_at, $5)
    WHERE id IN (SELECT conversation_id FROM allowed)
), inserted AS (
    INSERT INTO messages (id, conversation_id, sender_id, content, status, created_at)
    SELECT id, conversation_id, sender_id, content, $6, $5 FROM allowed
)
SELECT id, conversation_id, sender_id, content, $6::text AS status,
       $5::timestamptz AS created_at, NULL::timestamptz AS edited_at, p1_id, p2_id
FROM allowed
"#;
