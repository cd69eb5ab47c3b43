//! Examples of the shared shapes, shown in the OpenAPI document (`#[oai(example)]`) and the AsyncAPI
//! document: one conversation between Alice and Bob, so the ids agree from one example to the next.

use chrono::{TimeZone, Utc};
use poem_openapi::types::Example;
use serde_json::json;
use uuid::{Uuid, uuid};

use super::dto::{
    Ack, Conversation, Message, MessageStatus, MessageVersion, SyncEvent, SyncPage, Timestamp, User,
};

/// Alice, who signs in and sends.
pub const ALICE: Uuid = uuid!("0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b");
/// Bob, whom she writes to.
pub const BOB: Uuid = uuid!("0193a1b3-0d1e-7f2a-9b3c-4d5e6f7a8b9c");
/// Their conversation.
pub const CONVERSATION: Uuid = uuid!("0193a1b4-2e3f-7a4b-8c5d-6e7f8a9b0c1d");
/// Alice's first message in it.
pub const MESSAGE: Uuid = uuid!("0193a1b5-4f5a-7b6c-9d7e-8f9a0b1c2d3e");

/// A fixed instant, `2026-11-29T12:00:00.000Z` plus `seconds`.
fn at(seconds: u32) -> Timestamp {
    Timestamp(
        Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, seconds)
            .single()
            .unwrap_or_default(),
    )
}

impl Example for Ack {
    fn example() -> Self {
        Ack::new("Message marked as read")
    }
}

impl Example for User {
    fn example() -> Self {
        User {
            id: ALICE,
            email: Some("alice@example.com".into()),
            username: "alice".into(),
            name: Some("Alice Liddell".into()),
            avatar: Some("https://avatars.githubusercontent.com/u/583231".into()),
            created_at: at(0),
        }
    }
}

impl Example for Conversation {
    fn example() -> Self {
        Conversation {
            id: CONVERSATION,
            p1: ALICE,
            p2: BOB,
            created_at: at(5),
            updated_at: at(12),
            last_message: Some(Message::example()),
            unread_count: 1,
        }
    }
}

impl Example for MessageVersion {
    fn example() -> Self {
        MessageVersion {
            content: "Hi Bob! Lunch at noon?".into(),
            created_at: at(12),
        }
    }
}

impl Example for Message {
    fn example() -> Self {
        Message {
            id: MESSAGE,
            content: "Hi Bob! Lunch at **noon**?".into(),
            sender: ALICE,
            conversation: CONVERSATION,
            status: MessageStatus::Sent,
            created_at: at(12),
            edited_at: None,
            client_message_id: Some("0193a1b5-4f5a-7b6c-9d7e-000000000001".into()),
        }
    }
}

impl Example for SyncEvent {
    fn example() -> Self {
        SyncEvent {
            cursor: "42-9b0c1d2e".into(),
            event: "new_message".into(),
            args: super::StoredArgs::of(&[
                serde_json::to_value(Message::example()).unwrap_or(json!({}))
            ]),
        }
    }
}

impl Example for SyncPage {
    fn example() -> Self {
        SyncPage {
            events: vec![SyncEvent::example()],
            cursor: "42-9b0c1d2e".into(),
            has_more: false,
        }
    }
}
