//! Server → client events: their wire names live here, once, and [`Realtime`] is the one typed
//! handle through which HTTP handlers emit them (after their database commit).

use serde_json::{Value, json};
use socketioxide::SocketIo;
use uuid::Uuid;

/// Every event the server sends, with its payload.
#[derive(Debug, Clone)]
pub enum ServerEvent {
    /// A message was sent (the REST `Message` shape).
    NewMessage(Value),
    /// A message's content changed.
    MessageEdited {
        /// The message.
        message_id: Uuid,
        /// The new content.
        content: String,
        /// RFC 3339 edit time.
        edited_at: String,
        /// Its conversation.
        conversation_id: Uuid,
    },
    /// A message was deleted.
    MessageDeleted {
        /// The message.
        message_id: Uuid,
        /// Its conversation.
        conversation_id: Uuid,
    },
    /// Messages were read by the recipient.
    MessageRead {
        /// The conversation.
        conversation_id: Uuid,
        /// Who read them.
        reader_id: Uuid,
        /// Every message marked read.
        message_ids: Vec<Uuid>,
        /// When.
        read_at: String,
    },
    /// A conversation was opened with the recipient (the REST `Conversation` shape).
    ConversationCreated(Value),
    /// A conversation was deleted by the other participant.
    ConversationDeleted {
        /// The conversation.
        conversation_id: Uuid,
    },
    /// A user went online or offline.
    UserStatusChanged {
        /// Who.
        user_id: Uuid,
        /// `online` or `offline`.
        online: bool,
    },
    /// The other participant is typing (or stopped).
    UserTyping {
        /// Who.
        user_id: Uuid,
        /// Typing or not.
        is_typing: bool,
        /// Where.
        conversation_id: Uuid,
    },
}

impl ServerEvent {
    /// The wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NewMessage(_) => "new_message",
            Self::MessageEdited { .. } => "message_edited",
            Self::MessageDeleted { .. } => "message_deleted",
            Self::MessageRead { .. } => "message_read",
            Self::ConversationCreated(_) => "conversation_created",
            Self::ConversationDeleted { .. } => "conversation_deleted",
            Self::UserStatusChanged { .. } => "user_status_changed",
            Self::UserTyping { .. } => "user_typing",
        }
    }

    /// The positional arguments, as the original sent them.
    pub fn args(&self) -> Vec<Value> {
        match self {
            Self::NewMessage(message) => vec![message.clone()],
            Self::MessageEdited {
                message_id,
                content,
                edited_at,
                conversation_id,
            } => vec![json!({
                "messageId": message_id,
                "content": content,
                "editedAt": edited_at,
                "conversationId": conversation_id,
            })],
            Self::MessageDeleted {
                message_id,
                conversation_id,
            } => vec![json!({ "messageId": message_id, "conversationId": conversation_id })],
            Self::MessageRead {
                conversation_id,
                reader_id,
                message_ids,
                read_at,
            } => vec![json!({
                "conversationId": conversation_id,
                "readerId": reader_id,
                "messageIds": message_ids,
                "readAt": read_at,
            })],
            Self::ConversationCreated(conversation) => vec![conversation.clone()],
            Self::ConversationDeleted { conversation_id } => {
                vec![json!({ "conversationId": conversation_id })]
            }
            Self::UserStatusChanged { user_id, online } => vec![
                json!(user_id),
                json!(if *online { "online" } else { "offline" }),
            ],
            Self::UserTyping {
                user_id,
                is_typing,
                conversation_id,
            } => vec![json!(user_id), json!(is_typing), json!(conversation_id)],
        }
    }
}

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
        let args = event.args();
        // socketioxide sends a tuple's elements as separate positional arguments.
        let result = match args.as_slice() {
            [one] => self.io.to(rooms).emit(event.name(), one).await,
            [a, b] => self.io.to(rooms).emit(event.name(), &(a, b)).await,
            [a, b, c] => self.io.to(rooms).emit(event.name(), &(a, b, c)).await,
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(event = event.name(), error = %e, "could not emit");
        }
    }
}
