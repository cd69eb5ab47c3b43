//! Confab's own channel between instances, beside the adapter's: what must reach every instance
//! and be acted on there by Confab's code, not just forwarded to sockets.
//!
//! - **Durable events** travel here, not through the adapter's room broadcast: the adapter would
//!   hand them straight to the sockets, skipping each socket's cursor bookkeeping
//!   (`socket::stream`). Every instance delivers them to its own sockets through that bookkeeping,
//!   so a remote socket still gets each event once and in cursor order, and a message lost between
//!   instances is read back from PostgreSQL as a gap.
//!
//! Session ends and rotations do not travel here: PostgreSQL announces them to every instance
//! (`data::session_change`), with or without Redis.

use serde::{Deserialize, Serialize};
use socketioxide_redis::drivers::{ChanItem, MessageStream};
use uuid::Uuid;

use super::link::RedisLink;
use crate::data::event::StoredEvent;

/// The channel every instance publishes to and listens on.
const CHANNEL: &str = "confab#bus";

/// Incoming messages waiting to be handled; a burst beyond this is dropped (and recovered from the
/// database for events).
const BUFFER: usize = 8192;

/// What one instance tells the others.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BusMessage {
    /// Durable events, committed, for delivery to the recipients' sockets.
    Events {
        /// In the order they were delivered on the publishing instance.
        events: Vec<StoredEvent>,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    from: Uuid,
    message: BusMessage,
}

/// This instance's end of the bus. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    link: RedisLink,
    instance: Uuid,
}

impl Bus {
    /// The bus over `link`; `instance` tells this instance's own messages apart.
    pub fn new(link: RedisLink, instance: Uuid) -> Self {
        Self { link, instance }
    }

    /// The link underneath (health, presence).
    pub fn link(&self) -> &RedisLink {
        &self.link
    }

    /// This instance's id.
    pub fn instance(&self) -> Uuid {
        self.instance
    }

    /// Tells the other instances; never waits (see [`RedisLink::publish`]).
    pub fn publish(&self, message: BusMessage) {
        let envelope = Envelope {
            from: self.instance,
            message,
        };
        match serde_json::to_vec(&envelope) {
            Ok(bytes) => self.link.publish(CHANNEL.to_owned(), bytes),
            Err(e) => tracing::error!(error = %e, "could not encode a bus message"),
        }
    }

    /// Listens to the bus.
    pub async fn subscribe(&self) -> Inbox {
        Inbox {
            stream: self.link.subscribe(CHANNEL.to_owned(), BUFFER).await,
            instance: self.instance,
        }
    }
}

/// Messages from the other instances.
pub struct Inbox {
    stream: MessageStream<ChanItem>,
    instance: Uuid,
}

impl Inbox {
    /// The next message from another instance; `None` once the link is gone.
    pub async fn next(&mut self) -> Option<BusMessage> {
        use futures_util::StreamExt;
        loop {
            let (_, bytes) = self.stream.next().await?;
            match serde_json::from_slice::<Envelope>(&bytes) {
                Ok(envelope) if envelope.from == self.instance => continue,
                Ok(envelope) => return Some(envelope.message),
                Err(e) => tracing::warn!(error = %e, "undecodable bus message ignored"),
            }
        }
    }
}
