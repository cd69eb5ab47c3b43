//! Every Socket.IO event of the contract (§5) as a type: what the server sends ([`ServerEvent`])
//! and what clients send ([`ClientEvent`]), with their wire names defined once.
//!
//! Server events keep the original's positional arguments: [`ServerEvent::args`] serializes as a
//! tuple, which socketioxide sends as separate arguments, so one `emit` call serializes an event
//! once for all its recipients. Client events arrive as a list of raw JSON arguments and are decoded
//! one argument at a time, so a bad argument is answered with its own code even when it is not
//! valid UTF-8 JSON text (a lone surrogate such as `"\ud800"`).

use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize, Serializer, ser::SerializeTuple};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::{
    dto::{Conversation, Message, Timestamp},
    error_code::ErrorCode,
    event_kind::{ClientEventKind, ServerEventKind},
};

/// `message_edited`'s argument.
#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase")]
#[oai(rename_all = "camelCase")]
pub struct MessageEdited {
    /// The message.
    pub message_id: Uuid,
    /// Its new content.
    pub content: String,
    /// When it was edited.
    pub edited_at: Timestamp,
    /// Its conversation.
    pub conversation_id: Uuid,
}

/// `message_deleted`'s argument.
#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase")]
#[oai(rename_all = "camelCase")]
pub struct MessageDeleted {
    /// The message.
    pub message_id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
}

/// `message_read`'s argument.
#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase")]
#[oai(rename_all = "camelCase")]
pub struct MessageRead {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Who read the messages (the recipient).
    pub reader_id: Uuid,
    /// Every message newly marked read, oldest first.
    pub message_ids: Vec<Uuid>,
    /// When.
    pub read_at: Timestamp,
}

/// `message_delivered`'s argument (contract §6.3).
#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase")]
#[oai(rename_all = "camelCase")]
pub struct MessageDelivered {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Whose device has the messages (the recipient).
    pub recipient_id: Uuid,
    /// Every message newly marked delivered, oldest first.
    pub message_ids: Vec<Uuid>,
    /// When.
    pub delivered_at: Timestamp,
}

/// `conversation_deleted`'s argument.
#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase")]
#[oai(rename_all = "camelCase")]
pub struct ConversationDeleted {
    /// The conversation.
    pub conversation_id: Uuid,
}

/// A user's presence, as `user_status_changed` and `update_status` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum PresenceStatus {
    /// At least one socket connected and not set offline.
    Online,
    /// No socket left, or set offline.
    Offline,
}

/// The `error` event's argument: `{message, code}`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEvent {
    /// For humans.
    pub message: &'static str,
    /// The contract's code.
    pub code: ErrorCode,
}

/// Every event the server sends (contract §5).
#[derive(Debug, Clone)]
pub enum ServerEvent {
    /// `new_message(Message)`: a message was sent.
    NewMessage(Message),
    /// `message_edited({messageId, content, editedAt, conversationId})`.
    MessageEdited(MessageEdited),
    /// `message_deleted({messageId, conversationId})`.
    MessageDeleted(MessageDeleted),
    /// `message_read({conversationId, readerId, messageIds, readAt})`.
    MessageRead(MessageRead),
    /// `message_delivered({conversationId, recipientId, messageIds, deliveredAt})`.
    MessageDelivered(MessageDelivered),
    /// `conversation_created(Conversation)`: opened with the recipient.
    ConversationCreated(Conversation),
    /// `conversation_deleted({conversationId})`.
    ConversationDeleted(ConversationDeleted),
    /// `user_status_changed(userId, "online" | "offline")`.
    UserStatusChanged {
        /// Who.
        user_id: Uuid,
        /// Online or offline.
        status: PresenceStatus,
    },
    /// `user_typing(userId, isTyping, conversationId)`: to the other participant only.
    UserTyping {
        /// Who.
        user_id: Uuid,
        /// Typing or stopped.
        is_typing: bool,
        /// Where.
        conversation_id: Uuid,
    },
    /// `error({message, code})`: to the socket whose event was refused.
    Error(ErrorEvent),
}

impl ServerEvent {
    /// `new_message`'s wire name: the one event sent with an acknowledgement request to the
    /// recipient (contract §6.3).
    pub const NEW_MESSAGE: &'static str = ServerEventKind::NewMessage.name();

    /// Which event it is, without its payload.
    pub const fn kind(&self) -> ServerEventKind {
        match self {
            Self::NewMessage(_) => ServerEventKind::NewMessage,
            Self::MessageEdited(_) => ServerEventKind::MessageEdited,
            Self::MessageDeleted(_) => ServerEventKind::MessageDeleted,
            Self::MessageRead(_) => ServerEventKind::MessageRead,
            Self::MessageDelivered(_) => ServerEventKind::MessageDelivered,
            Self::ConversationCreated(_) => ServerEventKind::ConversationCreated,
            Self::ConversationDeleted(_) => ServerEventKind::ConversationDeleted,
            Self::UserStatusChanged { .. } => ServerEventKind::UserStatusChanged,
            Self::UserTyping { .. } => ServerEventKind::UserTyping,
            Self::Error(_) => ServerEventKind::Error,
        }
    }

    /// The wire name.
    pub const fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Whether the event is durable (contract §6.1): stored per recipient with a cursor, replayed
    /// and synced. `user_status_changed`, `user_typing` and `error` are ephemeral.
    pub const fn is_durable(&self) -> bool {
        self.kind().is_durable()
    }

    /// The message a durable event is about, if any (a replay blanks it when deleted since).
    pub fn message_id(&self) -> Option<Uuid> {
        match self {
            Self::NewMessage(message) => Some(message.id),
            Self::MessageEdited(edited) => Some(edited.message_id),
            Self::MessageDeleted(deleted) => Some(deleted.message_id),
            _ => None,
        }
    }

    /// The positional arguments, serialized as a tuple (socketioxide sends each element as one
    /// argument).
    pub fn args(&self) -> EventArgs<'_> {
        EventArgs(self)
    }

    /// An `error` event with `code`.
    pub fn error(code: ErrorCode, message: &'static str) -> Self {
        Self::Error(ErrorEvent { message, code })
    }
}

/// The trailing argument of a live durable event: `{cursor}` (contract §6.1).
#[derive(Debug, Clone, Serialize, Deserialize, Object)]
pub struct CursorArg {
    /// The event's cursor: opaque, at most 64 characters, increasing in the order the user
    /// receives events. Keep the last one and pass it as `auth.since` when reconnecting.
    pub cursor: String,
}

/// The arguments of a [`ServerEvent`], serialized as a tuple.
#[derive(Debug, Clone, Copy)]
pub struct EventArgs<'a>(&'a ServerEvent);

impl Serialize for EventArgs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn one<S: Serializer, T: Serialize>(serializer: S, arg: &T) -> Result<S::Ok, S::Error> {
            let mut tuple = serializer.serialize_tuple(1)?;
            tuple.serialize_element(arg)?;
            tuple.end()
        }
        match self.0 {
            ServerEvent::NewMessage(message) => one(serializer, message),
            ServerEvent::MessageEdited(edited) => one(serializer, edited),
            ServerEvent::MessageDeleted(deleted) => one(serializer, deleted),
            ServerEvent::MessageRead(read) => one(serializer, read),
            ServerEvent::MessageDelivered(delivered) => one(serializer, delivered),
            ServerEvent::ConversationCreated(conversation) => one(serializer, conversation),
            ServerEvent::ConversationDeleted(deleted) => one(serializer, deleted),
            ServerEvent::Error(error) => one(serializer, error),
            ServerEvent::UserStatusChanged { user_id, status } => {
                (user_id, status).serialize(serializer)
            }
            ServerEvent::UserTyping {
                user_id,
                is_typing,
                conversation_id,
            } => (user_id, is_typing, conversation_id).serialize(serializer),
        }
    }
}

/// An event's arguments as raw JSON, however many there are, each decoded on its own later.
///
/// socketioxide deserializes a tuple type from all of an event's arguments (any other type from the
/// first only), so this reads them as a tuple of any length. `RawValue` checks only the JSON
/// structure, so an argument that is not a valid string (a lone surrogate) fails alone, when it is
/// decoded, instead of failing the whole event.
#[derive(Debug, Default)]
pub struct RawArgs(pub Vec<Box<RawValue>>);

/// More arguments than any client event takes; the rest are ignored.
const MAX_ARGS: usize = 8;

impl<'de> Deserialize<'de> for RawArgs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> serde::de::Visitor<'de> for ArgsVisitor {
            type Value = RawArgs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("event arguments")
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> Result<RawArgs, S::Error> {
                let mut args = Vec::new();
                while let Some(arg) = seq.next_element::<Box<RawValue>>()? {
                    args.push(arg);
                }
                Ok(RawArgs(args))
            }
        }
        deserializer.deserialize_tuple(MAX_ARGS, ArgsVisitor)
    }
}

impl RawArgs {
    /// Decodes argument `index` as `T`; a missing or undecodable argument is `code`.
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        index: usize,
        code: ErrorCode,
    ) -> Result<T, ErrorCode> {
        let raw = self.0.get(index).ok_or(code)?;
        serde_json::from_str(raw.get()).map_err(|_| code)
    }
}

/// Every event a client sends (contract §5), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// `update_status(status)`.
    UpdateStatus(PresenceStatus),
    /// `typing(conversationId, isTyping)`.
    Typing {
        /// The conversation (the caller must be a participant).
        conversation_id: Uuid,
        /// Typing or stopped.
        is_typing: bool,
    },
}

/// The wire names of client events.
impl ClientEvent {
    /// `update_status`.
    pub const UPDATE_STATUS: &'static str = ClientEventKind::UpdateStatus.name();
    /// `typing`.
    pub const TYPING: &'static str = ClientEventKind::Typing.name();
    /// Every client event name.
    pub const NAMES: [&'static str; 2] = [Self::UPDATE_STATUS, Self::TYPING];

    /// Which event it is, without its arguments.
    pub const fn kind(&self) -> ClientEventKind {
        match self {
            Self::UpdateStatus(_) => ClientEventKind::UpdateStatus,
            Self::Typing { .. } => ClientEventKind::Typing,
        }
    }

    /// Decodes the arguments of the client event `name`: `None` when `name` is not a client
    /// event; the error is the code of the argument at fault, with a message for humans.
    pub fn decode(name: &str, args: &RawArgs) -> Option<Result<Self, (ErrorCode, &'static str)>> {
        let decoded = match name {
            Self::UPDATE_STATUS => args
                .decode::<PresenceStatus>(0, ErrorCode::InvalidStatus)
                .map(Self::UpdateStatus)
                .map_err(|code| (code, "Invalid status. Must be 'online' or 'offline'")),
            Self::TYPING => args
                .decode::<Uuid>(0, ErrorCode::InvalidChatId)
                .map_err(|code| (code, "Chat ID is required"))
                .and_then(|conversation_id| {
                    let is_typing = args
                        .decode::<bool>(1, ErrorCode::InvalidTypingStatus)
                        .map_err(|code| (code, "isTyping must be a boolean"))?;
                    Ok(Self::Typing {
                        conversation_id,
                        is_typing,
                    })
                }),
            _ => return None,
        };
        Some(decoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> RawArgs {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn positional_events_serialize_as_argument_lists() {
        let user_id = Uuid::nil();
        let event = ServerEvent::UserStatusChanged {
            user_id,
            status: PresenceStatus::Online,
        };
        assert_eq!(
            serde_json::to_value(event.args()).unwrap(),
            serde_json::json!([user_id, "online"])
        );
        let event = ServerEvent::error(ErrorCode::RateLimited, "slow down");
        assert_eq!(
            serde_json::to_value(event.args()).unwrap(),
            serde_json::json!([{"message": "slow down", "code": "RATE_LIMITED"}])
        );
    }

    #[test]
    fn each_bad_argument_gets_its_own_code() {
        let id = Uuid::now_v7();
        let ok = ClientEvent::decode("typing", &raw(&format!("[\"{id}\", true]")))
            .unwrap()
            .unwrap();
        assert_eq!(
            ok,
            ClientEvent::Typing {
                conversation_id: id,
                is_typing: true
            }
        );
        let bad_flag = ClientEvent::decode("typing", &raw(&format!("[\"{id}\", \"\\ud800\"]")));
        assert_eq!(
            bad_flag.unwrap().unwrap_err().0,
            ErrorCode::InvalidTypingStatus
        );
        let bad_id = ClientEvent::decode("typing", &raw("[\"\\ud800\", true]"));
        assert_eq!(bad_id.unwrap().unwrap_err().0, ErrorCode::InvalidChatId);
        let missing = ClientEvent::decode("typing", &raw(&format!("[\"{id}\"]")));
        assert_eq!(
            missing.unwrap().unwrap_err().0,
            ErrorCode::InvalidTypingStatus
        );
        let status = ClientEvent::decode("update_status", &raw("[\"away\"]"));
        assert_eq!(status.unwrap().unwrap_err().0, ErrorCode::InvalidStatus);
        assert!(ClientEvent::decode("unknown", &raw("[]")).is_none());
    }
}
