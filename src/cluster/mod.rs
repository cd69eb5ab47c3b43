//! Several instances as one server (contract §7), over one Redis.
//!
//! - [`link`]: the instance's Redis connection: reconnecting, time-limited, never blocking.
//! - [`driver`]: socketioxide's Redis adapter (`socketioxide-redis`) runs on it, so room emits
//!   (typing, presence) and disconnects reach sockets on every instance.
//! - [`bus`]: Confab's own channel for what needs Confab's code on the receiving side: durable
//!   events (delivered in cursor order per socket). Session ends reach every instance through
//!   PostgreSQL instead (`data::session_change`), so they need no Redis.
//! - [`presence`]: who is online on which instance, in keys that expire when an instance dies.
//!
//! PostgreSQL stays the source of truth: Redis carries only what is live, and anything lost on the
//! way is read back from the database (`socket::stream`). Without `REDIS_URL` none of this runs and
//! the adapter acts as a local one.

pub mod bus;
pub mod driver;
pub mod link;
pub mod presence;

use uuid::Uuid;

/// The multi-instance handles of a server with `REDIS_URL` set.
#[derive(Clone)]
pub struct Cluster {
    /// The event and session bus.
    pub bus: bus::Bus,
    /// Presence across instances.
    pub presence: presence::PresenceStore,
}

impl Cluster {
    /// This instance's id (fresh at every start).
    pub fn instance(&self) -> Uuid {
        self.bus.instance()
    }

    /// The Redis link.
    pub fn link(&self) -> &link::RedisLink {
        self.bus.link()
    }
}
