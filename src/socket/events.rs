//! [`Realtime`]: the one typed handle through which HTTP handlers and the socket layer emit
//! [`ServerEvent`]s (after their database commit). The events themselves are defined in
//! [`crate::wire::event`].

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use socketioxide::SocketIo;
use uuid::Uuid;

use sea_orm::DatabaseConnection;

use super::{delivery::Receipts, stream::SocketStream};
use crate::{data::event::StoredEvent, wire::ServerEvent};

/// The room of a user's sockets (all their tabs and devices).
pub fn user_room(user: Uuid) -> String {
    user.to_string()
}

/// The room of the sockets of one session (so a logout can end exactly them).
pub fn session_room(session: Uuid) -> String {
    format!("session:{session}")
}

/// Emits [`ServerEvent`]s to users' rooms.
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
}

impl Realtime {
    /// Wraps the Socket.IO server; `db` fills gaps in sockets' event streams, `receipts` takes
    /// the recipients' acknowledgements of `new_message`.
    pub fn new(io: SocketIo, db: DatabaseConnection, receipts: Receipts) -> Self {
        Self {
            io,
            db,
            receipts,
            closing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The database the event streams are read from.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Where acknowledgements of `new_message` go.
    pub fn receipts(&self) -> &Receipts {
        &self.receipts
    }

    /// Delivers durable events, already committed, to every socket of their recipients on this
    /// instance, each socket in its own cursor order (see `socket::stream`).
    pub async fn deliver(&self, events: &[StoredEvent]) {
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
    pub fn sockets(&self) -> Vec<socketioxide::extract::SocketRef> {
        self.root().map(|ns| ns.sockets()).unwrap_or_default()
    }

    /// The default namespace's operators, unless the server is closing.
    fn root(&self) -> Option<socketioxide::operators::BroadcastOperators> {
        if self.is_closing() {
            return None;
        }
        self.io.of("/")
    }

    /// Disconnects every socket of a session (logout), on this instance at once; other
    /// instances' session sweepers follow.
    pub async fn disconnect_session(&self, session: Uuid) {
        let Some(root) = self.root() else { return };
        if let Err(e) = root.to(session_room(session)).disconnect().await {
            tracing::warn!(error = %e, "could not disconnect a session's sockets");
        }
    }

    /// Moves the sockets of a rotated session to its successor, so a refresh does not cut the
    /// page's live connection.
    pub fn rebind_session(&self, old: Uuid, new: Uuid, token: &str) {
        let Some(root) = self.root() else { return };
        for socket in root.to(session_room(old)).sockets() {
            if let Some(mut session) = socket.extensions.get::<super::handshake::SocketSession>() {
                session.session_id = new;
                session.token = token.to_owned();
                socket.extensions.insert(session);
            }
            socket.leave(session_room(old));
            socket.join(session_room(new));
        }
    }

    /// Sends an ephemeral `event` (typing, presence) to every socket of each user in `users`.
    /// Durable events go through [`Realtime::deliver`].
    pub async fn emit(&self, users: &[Uuid], event: ServerEvent) {
        if users.is_empty() {
            return;
        }
        let Some(root) = self.root() else {
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
