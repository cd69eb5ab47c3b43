//! The shapes shared by REST responses and Socket.IO events (contract §1.2): one definition each,
//! described for the OpenAPI document (poem-openapi) and serialized for sockets (serde).
//!
//! Rows become these shapes in `data::to_wire`; nothing here knows the database.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::{
    Enum, Object,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

/// A timestamp on the wire: RFC 3339 UTC with milliseconds and `Z` (`2026-01-02T03:04:05.678Z`),
/// as the original's `Date.toISOString()` wrote them (contract §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The wire text.
    pub fn to_wire(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Parses RFC 3339 text in any offset.
    pub fn parse(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| Self(t.with_timezone(&Utc)))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_wire())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp"))
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.to_wire()))
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => {
                Self::parse(&s).ok_or_else(|| ParseError::custom("expected an RFC 3339 timestamp"))
            }
            other => Err(ParseError::expected_type(other)),
        }
    }
}

/// A plain acknowledgement: `{success: true, message}`.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(example)]
pub struct Ack {
    /// Always `true`.
    pub success: bool,
    /// What happened.
    pub message: String,
}

impl Ack {
    /// A successful acknowledgement with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            success: true,
            message: message.into(),
        }
    }
}

/// A user (§1.2). `email` is shown only to the user themself, and is `null` for everyone else.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// UUID v7.
    pub id: Uuid,
    /// The caller's own address (`/auth/me`); `null` for other users.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Unique username.
    pub username: String,
    /// Display name.
    #[oai(nullable)]
    pub name: Option<String>,
    /// Avatar URL.
    #[oai(nullable)]
    pub avatar: Option<String>,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// One version of a message's content (§3, `GET /messages/:id/history`).
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MessageVersion {
    /// The content of this version.
    pub content: String,
    /// When it was first shown: the send time for the original, the edit's `editedAt` after.
    pub created_at: Timestamp,
}

/// A 1:1 conversation (§1.2).
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// UUID v7.
    pub id: Uuid,
    /// The participant who opened it.
    pub p1: Uuid,
    /// The other participant.
    pub p2: Uuid,
    /// When it was opened.
    pub created_at: Timestamp,
    /// Time of the last message, or of creation.
    pub updated_at: Timestamp,
    /// The newest message that is not deleted; `null` when there is none (§1.2).
    #[oai(nullable)]
    pub last_message: Option<Message>,
    /// Messages from the other participant, not deleted, that the caller has not read (§1.2).
    /// In `conversation_created` it is 0: a new conversation has no messages.
    pub unread_count: u64,
}

/// Where a message is in its life (§1.2, §3): `sent` → `delivered` → `read`, or `deleted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Stored.
    Sent,
    /// Reached a device of the recipient.
    Delivered,
    /// Read by the recipient.
    Read,
    /// Deleted by the sender; content blanked.
    Deleted,
}

/// A message (§1.2).
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// UUID v7.
    pub id: Uuid,
    /// The text (empty once deleted).
    pub content: String,
    /// Who sent it.
    pub sender: Uuid,
    /// Its conversation.
    pub conversation: Uuid,
    /// `sent`, `delivered`, `read` or `deleted`.
    pub status: MessageStatus,
    /// Send time.
    pub created_at: Timestamp,
    /// Last edit, or `null`.
    #[oai(nullable)]
    pub edited_at: Option<Timestamp>,
    /// The idempotency key the sender sent it with, or `null` (contract §6.2): an optimistic UI
    /// matches the `new_message` it receives to the bubble it drew before the answer.
    #[oai(nullable)]
    pub client_message_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = Timestamp::parse("2026-01-02T03:04:05.678912+00:00").unwrap();
        assert_eq!(t.to_wire(), "2026-01-02T03:04:05.678Z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-01-02T03:04:05.678Z\""
        );
    }

    #[test]
    fn serde_and_openapi_agree_on_a_message() {
        let message = Message {
            id: Uuid::now_v7(),
            content: "hi".into(),
            sender: Uuid::now_v7(),
            conversation: Uuid::now_v7(),
            status: MessageStatus::Sent,
            created_at: Timestamp(Utc::now()),
            edited_at: None,
            client_message_id: None,
        };
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            message.to_json().unwrap()
        );
    }
}

/// One durable event in a `/sync` answer (contract §6.1).
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(example)]
pub struct SyncEvent {
    /// The event's cursor.
    pub cursor: String,
    /// The event name, e.g. `new_message`.
    pub event: String,
    /// Its arguments as sent over Socket.IO, without the trailing cursor object.
    pub args: super::StoredArgs,
}

/// `GET /sync`'s answer: `{events, cursor, hasMore}`.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[oai(example)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SyncPage {
    /// Events after `since`, oldest first.
    pub events: Vec<SyncEvent>,
    /// The last returned event's cursor (`since` when none; the newest cursor without `since`).
    pub cursor: String,
    /// Whether more events wait after `cursor`.
    pub has_more: bool,
}
