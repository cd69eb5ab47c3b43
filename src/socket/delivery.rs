//! Delivery acknowledgements (contract §6.3): `new_message` reaches the recipient's sockets with an
//! acknowledgement request; each acknowledgement is queued here and written in batches, the way
//! sends are, so thousands of acknowledgements a second are a few transactions, not thousands.

use sea_orm::DatabaseConnection;
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::events::Realtime;

/// Most acknowledgements written in one transaction.
const MAX_BATCH: usize = 4096;

/// How long acknowledgements are gathered after the first of a batch arrives (counted from its
/// arrival: one that waited while the previous batch was written is not held a full period more). Each batch is a
/// transaction that also takes the row locks of its users' event sequences, which the send path
/// needs too: gathering for a moment makes a few transactions a second instead of hundreds, and
/// fewer, larger `message_delivered` events, at the cost of marking a message up to this much
/// later (contract target: delivered within 100 ms of the send).
const GATHER: std::time::Duration = std::time::Duration::from_millis(40);

/// Acknowledgements waiting to be written; beyond this, acknowledging waits for room.
const QUEUE_DEPTH: usize = 16_384;

/// An acknowledgement waiting to be written.
struct Acknowledged {
    recipient: Uuid,
    message: Uuid,
    /// When it arrived.
    at: Instant,
}

/// The handle acknowledgements are recorded through.
#[derive(Clone)]
pub struct Receipts {
    queue: mpsc::Sender<Acknowledged>,
}

/// The receiving end, for [`run`].
pub struct ReceiptQueue(mpsc::Receiver<Acknowledged>);

impl Receipts {
    /// A handle and its queue.
    pub fn channel() -> (Self, ReceiptQueue) {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        (Self { queue }, ReceiptQueue(rx))
    }

    /// Records that `recipient` has `message` (an acknowledgement arrived).
    pub async fn record(&self, recipient: Uuid, message: Uuid) {
        let acknowledged = Acknowledged {
            recipient,
            message,
            at: Instant::now(),
        };
        if self.queue.send(acknowledged).await.is_err() {
            tracing::debug!("delivery receipts stopped; acknowledgement dropped");
        }
    }
}

/// Writes queued acknowledgements in batches and delivers the resulting `message_delivered`
/// events, until shutdown (what is queued then is still written).
pub async fn run(
    db: DatabaseConnection,
    realtime: Realtime,
    ReceiptQueue(mut queue): ReceiptQueue,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = tokio::select! {
            biased;
            received = queue.recv_many(&mut batch, MAX_BATCH) => received,
            () = shutdown.cancelled(), if !queue.is_closed() => {
                queue.close();
                continue;
            }
        };
        if received == 0 {
            return;
        }
        if !shutdown.is_cancelled() {
            // The queue is first in, first out: the batch's first acknowledgement is its oldest.
            let until = batch.first().map_or_else(Instant::now, |a| a.at) + GATHER;
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = shutdown.cancelled() => {}
            }
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(receipt) => batch.push(receipt),
                    Err(_) => break,
                }
            }
        }
        let receipts: Vec<(Uuid, Uuid)> = batch.iter().map(|a| (a.recipient, a.message)).collect();
        match crate::data::delivery::mark_delivered(&db, &receipts).await {
            Ok(events) => realtime.deliver(&events).await,
            // The messages stay `sent`; a later acknowledgement, `/sync` or the PUT marks them.
            Err(e) => {
                tracing::warn!(error = %e, receipts = batch.len(), "could not store delivery receipts")
            }
        }
        batch.clear();
    }
}
