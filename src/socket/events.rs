//! [`Realtime`]: the one typed handle through which HTTP handlers and the socket layer emit
//! [`ServerEvent`]s (after their database commit). The events themselves are defined in
//! [`crate::wire::event`].

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use sea_orm::DatabaseConnection;

use super::{
    Adapter, SocketRef, delivery::Receipts, handshake::SocketSession, stream::SocketStream,
    typing::Typing,
};
use crate::{
    cluster::bus::{Bus, BusMessage},
    data::event::StoredEvent,
    wire::ServerEvent,
};

type SocketIo = socketioxide::SocketIo<Adapter>;
type Operators = socketioxide::operators::BroadcastOperators<Adapter>;

/// The room of a user's sockets (all their tabs and devices).
pub fn user_room(user: Uuid) -> String {
    user.to_string()
}

/// The room of the sockets of one session (so a logout can end exactly them).
pub fn session_room(session: Uuid) -> String {
    format!("session:{session}")
}

/// Emits [`ServerEvent`]s to users' rooms, on every instance when Redis joins them (contract §7).
///
/// Once the server is closing, the namespace is gone: events are then dropped (clients recover them
/// over REST) instead of reaching socketioxide, whose default-namespace shortcuts panic after
/// `close()`.
#[derive(Clone)]
pub struct Realtime {
    io: SocketIo,
    db: DatabaseConnection,
    receipts: Receipts,
    closing: Arc<AtomicBool>,
    /// The other instances, when `REDIS_URL` is set.
    bus: Option<Bus>,
    typing: Arc<Typing>,
}

impl Realtime {
    /// Wraps the Socket.IO server; `db` fills gaps in sockets' event streams, `receipts` takes
    /// the recipients' acknowledgements of `new_message`, `bus` reaches the other instances.
    pub fn new(
        io: SocketIo,
        db: DatabaseConnection,
        receipts: Receipts,
        bus: Option<Bus>,
        typing: Typing,
    ) -> Self {
        Self {
            io,
            db,
            receipts,
            closing: Arc::new(AtomicBool::new(false)),
            bus,
            typing: Arc::new(typing),
        }
    }

    /// The typing indicators relayed by this instance.
    pub fn typing(&self) -> &Typing {
        &self.typing
    }

    /// The database the event streams are read from.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Where acknowledgements of `new_message` go.
    pub fn receipts(&self) -> &Receipts {
        &self.receipts
    }

    /// Delivers durable events, already committed, to every socket of their recipients: here at
    /// once, and on the other instances through the bus, where [`Realtime::deliver_local`] runs.
    pub async fn deliver(&self, events: &[StoredEvent]) {
        if events.is_empty() {
            return;
        }
        if let Some(bus) = &self.bus {
            bus.publish(BusMessage::Events {
                events: events.to_vec(),
            });
        }
        self.deliver_local(events).await;
    }

    /// Delivers durable events to the recipients' sockets on this instance, each socket in its
    /// own cursor order (see `socket::stream`), and stops the typing indicator of each message's
    /// sender (contract §5).
    pub async fn deliver_local(&self, events: &[StoredEvent]) {
        for event in events {
            if let Some((sender, conversation)) = event.sent_message() {
                self.typing.message_sent(self, sender, conversation).await;
            }
        }
        let Some(root) = self.root() else {
            tracing::debug!("server closing; live events dropped (clients replay them)");
            return;
        };
        for event in events {
            for socket in root.clone().to(user_room(event.user_id)).sockets() {
                if let Some(stream) = socket.extensions.get::<SocketStream>() {
                    stream.deliver(&socket, self, event).await;
                }
            }
        }
    }

    /// Fills every local socket's stream up to the newest stored event (after a Redis outage,
    /// events from other instances may have been lost on the way).
    pub async fn catch_up_local(&self) {
        for socket in self.sockets() {
            if let Some(stream) = socket.extensions.get::<SocketStream>() {
                stream.catch_up(&socket, self).await;
            }
        }
    }

    /// Whether the server is shutting down (new Engine.IO handshakes are refused meanwhile).
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Refuses new connections at the transport, then closes every socket's transport, so clients
    /// reconnect (to another instance, or to this one once it is back) instead of being refused by
    /// a namespace that no longer exists (contract §4, shutdown).
    pub async fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.io.close().await;
    }

    /// Every socket on this instance (none once closing).
    pub fn sockets(&self) -> Vec<SocketRef> {
        self.root().map(|ns| ns.sockets()).unwrap_or_default()
    }

    /// The default namespace's operators, unless the server is closing.
    fn root(&self) -> Option<Operators> {
        if self.is_closing() {
            return None;
        }
        self.io.of("/")
    }

    /// The default namespace's operators for an emit to rooms: through the adapter to every
    /// instance when Redis is configured, else local (nothing to encode for an adapter).
    fn rooms_everywhere(&self) -> Option<Operators> {
        let root = self.root()?;
        Some(if self.bus.is_some() {
            root
        } else {
            root.local()
        })
    }

    /// Disconnects the sockets of a session on this instance (logout). The other instances learn
    /// of the revocation from PostgreSQL (`socket::session_watch`), and so does this one a moment
    /// later, when there is nothing left to do.
    pub async fn disconnect_session(&self, session: Uuid) {
        let Some(root) = self.root() else { return };
        if let Err(e) = root.local().to(session_room(session)).disconnect().await {
            tracing::warn!(error = %e, "could not disconnect a session's sockets");
        }
    }

    /// Moves this instance's sockets of a rotated session to its successor, which expires at
    /// `expires_at`, so a refresh does not cut the page's live connection. Other instances do the
    /// same with theirs when PostgreSQL tells them of the rotation.
    pub fn rebind_session(&self, old: Uuid, new: Uuid, expires_at: DateTime<Utc>) {
        let Some(root) = self.root() else { return };
        for socket in root.local().to(session_room(old)).sockets() {
            if let Some(mut session) = socket.extensions.get::<SocketSession>() {
                session.session_id = new;
                session.expires_at = expires_at;
                socket.extensions.insert(session);
            }
            socket.leave(session_room(old));
            socket.join(session_room(new));
        }
    }

    /// Sends an ephemeral `event` (typing, presence) to every socket of each user in `users`, on
    /// every instance. Durable events go through [`Realtime::deliver`].
    pub async fn emit(&self, users: &[Uuid], event: ServerEvent) {
        if users.is_empty() {
            return;
        }
        let Some(root) = self.rooms_everywhere() else {
            tracing::debug!(event = event.name(), "server closing; live event dropped");
            return;
        };
        let rooms: Vec<String> = users.iter().map(|u| user_room(*u)).collect();
        // Serialized once for every recipient; the arguments are a tuple, sent positionally.
        let result = root.to(rooms).emit(event.name(), &event.args()).await;
        if let Err(e) = result {
            tracing::warn!(event = event.name(), error = %e, "could not emit");
        }
    }
}
