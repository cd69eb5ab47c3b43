//! [`Realtime`]: the one typed handle through which HTTP handlers and the socket layer emit
//! [`ServerEvent`]s (after their database commit). The events themselves are defined in
//! [`crate::wire::event`].

use socketioxide::SocketIo;
use uuid::Uuid;

use crate::wire::ServerEvent;

/// The room of a user's sockets (all their tabs and devices).
pub fn user_room(user: Uuid) -> String {
    user.to_string()
}

/// The room of the sockets of one session (so a logout can end exactly them).
pub fn session_room(session: Uuid) -> String {
    format!("session:{session}")
}

/// Emits [`ServerEvent`]s to users' rooms.
#[derive(Clone)]
pub struct Realtime {
    io: SocketIo,
}

impl Realtime {
    /// Wraps the Socket.IO server.
    pub fn new(io: SocketIo) -> Self {
        Self { io }
    }

    /// Disconnects every socket of a session (logout), on this instance at once; other
    /// instances' session sweepers follow.
    pub async fn disconnect_session(&self, session: Uuid) {
        if let Err(e) = self.io.to(session_room(session)).disconnect().await {
            tracing::warn!(error = %e, "could not disconnect a session's sockets");
        }
    }

    /// Moves the sockets of a rotated session to its successor, so a refresh does not cut the
    /// page's live connection.
    pub fn rebind_session(&self, old: Uuid, new: Uuid, token: &str) {
        for socket in self.io.to(session_room(old)).sockets() {
            if let Some(mut session) = socket.extensions.get::<super::handshake::SocketSession>() {
                session.session_id = new;
                session.token = token.to_owned();
                socket.extensions.insert(session);
            }
            socket.leave(session_room(old));
            socket.join(session_room(new));
        }
    }

    /// Sends `event` to every socket of each user in `users`.
    pub async fn emit(&self, users: &[Uuid], event: ServerEvent) {
        if users.is_empty() {
            return;
        }
        let rooms: Vec<String> = users.iter().map(|u| user_room(*u)).collect();
        // Serialized once for every recipient; the arguments are a tuple, sent positionally.
        let result = self.io.to(rooms).emit(event.name(), &event.args()).await;
        if let Err(e) = result {
            tracing::warn!(event = event.name(), error = %e, "could not emit");
        }
    }
}
