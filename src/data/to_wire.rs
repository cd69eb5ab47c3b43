//! Rows as the contract's shapes (§1.2): the one place a stored row becomes a wire type, so the
//! rules of what leaves the server (a deleted message's content, another user's e-mail) live once.

use entity::{message, user};
use uuid::Uuid;

use super::{conversation::ConversationSummary, message::MessageInConversation};
use crate::wire::{Conversation, Message, MessageStatus, User};

impl From<message::Status> for MessageStatus {
    fn from(status: message::Status) -> Self {
        match status {
            message::Status::Sent => Self::Sent,
            message::Status::Delivered => Self::Delivered,
            message::Status::Read => Self::Read,
            message::Status::Deleted => Self::Deleted,
        }
    }
}

impl From<message::Model> for Message {
    fn from(model: message::Model) -> Self {
        let status = MessageStatus::from(model.status);
        Self {
            id: model.id,
            // A deleted message's content stays in the row but never leaves the server.
            content: if status == MessageStatus::Deleted {
                String::new()
            } else {
                model.content
            },
            sender: model.sender_id,
            conversation: model.conversation_id,
            status,
            created_at: model.created_at.into(),
            edited_at: model.edited_at.map(Into::into),
            client_message_id: model.client_message_id,
        }
    }
}

impl From<&MessageInConversation> for Message {
    fn from(found: &MessageInConversation) -> Self {
        found.message().into()
    }
}

impl From<ConversationSummary> for Conversation {
    fn from(summary: ConversationSummary) -> Self {
        let model = summary.conversation;
        Self {
            id: model.id,
            p1: model.p1_id,
            p2: model.p2_id,
            created_at: model.created_at.into(),
            updated_at: model.updated_at.into(),
            last_message: summary.last_message.map(Into::into),
            unread_count: u64::try_from(summary.unread_count).unwrap_or_default(),
        }
    }
}

impl User {
    /// The wire shape of `model` as `viewer` may see it: the e-mail address only for the user
    /// themself (contract §1.2).
    pub fn for_viewer(model: user::Model, viewer: Uuid) -> Self {
        Self {
            email: if model.id == viewer {
                model.email
            } else {
                None
            },
            id: model.id,
            username: model.username,
            name: model.name,
            avatar: model.avatar,
            created_at: model.created_at.into(),
        }
    }
}
