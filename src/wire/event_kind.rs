//! The kinds of realtime events without their payloads: wire name, durability, recipients and
//! meaning, each stated once.
//!
//! [`ServerEvent::kind`](super::event::ServerEvent::kind) and
//! [`ClientEvent::kind`](super::event::ClientEvent::kind) are exhaustive matches, and the AsyncAPI
//! document (`/asyncapi.json`) iterates every kind (strum's `EnumIter`) with another exhaustive
//! match for the argument shapes. So an event added to the enums does not compile until its kind
//! exists, and once it exists it is in the document.

use strum::EnumIter;

use super::error_code::ErrorCode;

/// Which event the server sends, without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter)]
pub enum ServerEventKind {
    /// `new_message`.
    NewMessage,
    /// `message_edited`.
    MessageEdited,
    /// `message_deleted`.
    MessageDeleted,
    /// `message_read`.
    MessageRead,
    /// `message_delivered`.
    MessageDelivered,
    /// `conversation_created`.
    ConversationCreated,
    /// `conversation_deleted`.
    ConversationDeleted,
    /// `user_status_changed`.
    UserStatusChanged,
    /// `user_typing`.
    UserTyping,
    /// `error`.
    Error,
}

/// Who receives durable events: the acting user's other devices too (clients de-duplicate by id).
const BOTH_PARTICIPANTS: &str = "Every socket of both participants of the conversation, the acting \
     user's other devices included (clients de-duplicate by id).";

impl ServerEventKind {
    /// The wire name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NewMessage => "new_message",
            Self::MessageEdited => "message_edited",
            Self::MessageDeleted => "message_deleted",
            Self::MessageRead => "message_read",
            Self::MessageDelivered => "message_delivered",
            Self::ConversationCreated => "conversation_created",
            Self::ConversationDeleted => "conversation_deleted",
            Self::UserStatusChanged => "user_status_changed",
            Self::UserTyping => "user_typing",
            Self::Error => "error",
        }
    }

    /// Whether the event is durable (contract §6.1): stored per recipient with a cursor, sent with
    /// a trailing `{cursor}` argument, replayed and synced. The others are ephemeral.
    pub const fn is_durable(self) -> bool {
        !matches!(
            self,
            Self::UserStatusChanged | Self::UserTyping | Self::Error
        )
    }

    /// Whether the recipient's sockets are asked for an acknowledgement (contract §6.3).
    pub const fn asks_acknowledgement(self) -> bool {
        matches!(self, Self::NewMessage)
    }

    /// Who receives it.
    pub const fn recipients(self) -> &'static str {
        match self {
            Self::NewMessage
            | Self::MessageEdited
            | Self::MessageDeleted
            | Self::MessageRead
            | Self::MessageDelivered
            | Self::ConversationCreated
            | Self::ConversationDeleted => BOTH_PARTICIPANTS,
            Self::UserStatusChanged => {
                "Users who share a conversation with `userId` (and no block between them); right \
                 after connecting, a socket also gets one `online` for each such user online then. \
                 When two users start sharing presence (a conversation created, a block lifted), \
                 each gets the other's `online` if they are online; when they stop (a block, the \
                 conversation deleted), each gets the other's `offline`."
            }
            Self::UserTyping => {
                "The other participant of the conversation (not relayed while either blocks the \
                 other)."
            }
            Self::Error => "The socket whose event or handshake `since` was refused.",
        }
    }

    /// When it is sent, in a sentence or two.
    pub const fn summary(self) -> &'static str {
        match self {
            Self::NewMessage => {
                "A message was sent. The recipient's sockets are asked for an acknowledgement: \
                 calling the callback marks the message `delivered`."
            }
            Self::MessageEdited => "A message's content was edited by its sender.",
            Self::MessageDeleted => "A message was deleted by its sender (soft delete).",
            Self::MessageRead => {
                "The recipient read messages: every message newly marked `read`, oldest first."
            }
            Self::MessageDelivered => {
                "Messages reached a device of the recipient: every message newly marked \
                 `delivered`, oldest first."
            }
            Self::ConversationCreated => "A conversation was opened between two users.",
            Self::ConversationDeleted => "A conversation was deleted, for both participants.",
            Self::UserStatusChanged => {
                "A user came online (first socket) or went offline (last socket gone, after a \
                 short grace, or `update_status`)."
            }
            Self::UserTyping => {
                "A user started or stopped typing. `false` is also sent on the typer's behalf when \
                 they send a message there, when their last socket goes, and 10 s after their last \
                 `typing true`."
            }
            Self::Error => "A client event, or the handshake's `since`, was refused.",
        }
    }
}

/// Which event a client sends, without its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter)]
pub enum ClientEventKind {
    /// `update_status`.
    UpdateStatus,
    /// `typing`.
    Typing,
}

impl ClientEventKind {
    /// The wire name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::UpdateStatus => "update_status",
            Self::Typing => "typing",
        }
    }

    /// What the server does with it.
    pub const fn summary(self) -> &'static str {
        match self {
            Self::UpdateStatus => {
                "Sets the caller's presence; `offline` hides them while their sockets stay \
                 connected."
            }
            Self::Typing => {
                "Tells the other participant the caller is typing (or stopped); refresh it while \
                 typing, it expires after 10 s."
            }
        }
    }

    /// The codes an `error` event answers it with when an argument is wrong.
    pub const fn errors(self) -> &'static [ErrorCode] {
        match self {
            Self::UpdateStatus => &[ErrorCode::InvalidStatus, ErrorCode::RateLimited],
            Self::Typing => &[
                ErrorCode::InvalidChatId,
                ErrorCode::InvalidTypingStatus,
                ErrorCode::RateLimited,
            ],
        }
    }
}
