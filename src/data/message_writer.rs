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

use super::{
    DataError,
    conversation::get_conversation_for,
    message::{MessageInConversation, create_message},
};

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
    /// Starts the writer task over `db`.
    pub fn start(db: DatabaseConnection) -> Self {
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(db, requests));
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

async fn run(db: DatabaseConnection, mut requests: mpsc::Receiver<SendRequest>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while requests.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
        match write_batch(&db, &batch, &ids).await {
            Ok(written) => answer(&db, batch.drain(..).zip(ids), written).await,
            Err(e) => {
                tracing::warn!(error = %e, messages = batch.len(), "batch failed; writing its messages one by one");
                for request in batch.drain(..) {
                    let result = create_message(
                        &db,
                        request.conversation_id,
                        request.sender,
                        &request.content,
                    )
                    .await;
                    let _ = request.reply.send(result);
                }
            }
        }
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
