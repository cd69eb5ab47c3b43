//! Messages: history pages, send, edit, soft delete, read marks.

use entity::message;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::ToJSON,
};
use uuid::Uuid;

use super::{Tag, page, types::Ack, types::Timestamp};
use crate::{
    data::{
        self,
        message::{Cursor, DELETED, DeleteOutcome, EditOutcome, ReadOutcome},
    },
    error::{ApiError, ErrorDoc, ErrorSet, Failure, Location, authenticated_and},
    session::auth::Auth,
    socket::events::ServerEvent,
    state::AppState,
};

/// Longest message, in Unicode scalar values after trimming.
pub const MAX_CONTENT_CHARS: usize = 2000;

/// Message content: trimmed, 1 to 2000 Unicode scalar values (send and edit alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

impl MessageContent {
    /// Trims and checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ApiError::InvalidContent("Message content cannot be empty"));
        }
        if trimmed.chars().count() > MAX_CONTENT_CHARS {
            return Err(ApiError::InvalidContent(
                "Message content cannot be longer than 2000 characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The content.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The content, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Stored.
    Sent,
    /// Reached the recipient (reserved; not set by this server yet).
    Delivered,
    /// Read by the recipient.
    Read,
    /// Deleted by the sender; content blanked.
    Deleted,
}

impl MessageStatus {
    fn from_db(status: &str) -> Self {
        match status {
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            DELETED => Self::Deleted,
            _ => Self::Sent,
        }
    }
}

/// A message.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
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
    pub edited_at: Option<Timestamp>,
}

impl From<message::Model> for Message {
    fn from(model: message::Model) -> Self {
        let status = MessageStatus::from_db(&model.status);
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
        }
    }
}

/// The body of send and edit: `{"content": string}`.
///
/// Parsed by hand rather than derived: poem-openapi's `String` accepts numbers and booleans
/// (`{"content":123}` would be stored as `"123"`), and its errors do not name the field, while the
/// contract wants wrong types refused with `<field>: <reason>`.
#[derive(Debug, Clone)]
pub struct MessageContentRequest {
    /// 1 to 2000 characters after trimming.
    pub content: String,
}

impl poem_openapi::types::Type for MessageContentRequest {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "MessageContentRequest".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        poem_openapi::registry::MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        use poem_openapi::registry::MetaSchema;
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some("The text of a message."),
            required: vec!["content"],
            properties: vec![(
                "content",
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new(MetaSchema {
                    description: Some("1 to 2000 characters after trimming."),
                    ..MetaSchema::new("string")
                })),
            )],
            ..MetaSchema::new("object")
        });
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

impl poem_openapi::types::ParseFromJSON for MessageContentRequest {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        use poem_openapi::types::ParseError;
        use serde_json::Value;
        // Messages read "<field>: <reason>"; the error edge turns them into the contract's text.
        match value {
            Some(Value::Object(mut fields)) => match fields.remove("content") {
                Some(Value::String(content)) => Ok(Self { content }),
                None | Some(Value::Null) => Err(ParseError::custom("content: is required")),
                Some(other) => Err(ParseError::custom(format!(
                    "content: must be a string, found {}",
                    json_kind(&other)
                ))),
            },
            Some(other) => Err(ParseError::custom(format!(
                "root: must be an object, found {}",
                json_kind(&other)
            ))),
            None => Err(ParseError::custom("root: a JSON body is required")),
        }
    }
}

impl poem_openapi::types::ToJSON for MessageContentRequest {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "content": self.content }))
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// What an edit returns.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct EditedMessage {
    /// The message.
    pub id: Uuid,
    /// Its content now.
    pub content: String,
    /// Its last edit time.
    pub edited_at: Option<Timestamp>,
}

/// The body of `PATCH /messages/:id`.
#[derive(Debug, Clone, Object)]
pub struct EditMessageResult {
    /// Always `true`.
    pub success: bool,
    /// `Message edited successfully` or `Message content is unchanged`.
    pub message: String,
    /// The message's content and edit time.
    pub data: EditedMessage,
}

/// The message area of the API.
pub struct MessageApi {
    state: AppState,
}

impl MessageApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// Errors of `GET /conversations/:id/messages`.
pub struct ListErrors;
impl ErrorSet for ListErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[
            page::PAGE_ERROR,
            ErrorDoc {
                status: 400,
                code: "SCHEMA_VALIDATION_ERROR",
                when: "`before`/`after` is malformed or names a message of another conversation, or both are given",
            },
            ErrorDoc {
                status: 403,
                code: "FORBIDDEN",
                when: "the caller is not a participant",
            },
            ErrorDoc {
                status: 404,
                code: "CONVERSATION_NOT_FOUND",
                when: "no such conversation",
            },
        ])
    }
}

/// Errors of `POST /conversations/:id/messages`.
pub struct SendErrors;
impl ErrorSet for SendErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[
            ErrorDoc {
                status: 400,
                code: "INVALID_CONTENT",
                when: "empty after trimming, or over 2000 characters",
            },
            ErrorDoc {
                status: 400,
                code: "SCHEMA_VALIDATION_ERROR",
                when: "`content` is missing or not a string",
            },
            ErrorDoc {
                status: 400,
                code: "INVALID_JSON",
                when: "the body is not JSON",
            },
            ErrorDoc {
                status: 403,
                code: "FORBIDDEN",
                when: "the caller is not a participant",
            },
            ErrorDoc {
                status: 404,
                code: "CONVERSATION_NOT_FOUND",
                when: "no such conversation",
            },
            ErrorDoc {
                status: 413,
                code: "BODY_TOO_LARGE",
                when: "the body is over 1 MiB",
            },
            ErrorDoc {
                status: 415,
                code: "UNSUPPORTED_MEDIA_TYPE",
                when: "the body is not `application/json`",
            },
        ])
    }
}

/// Errors of `PATCH /messages/:id`.
pub struct EditErrors;
impl ErrorSet for EditErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[
            ErrorDoc {
                status: 400,
                code: "INVALID_CONTENT",
                when: "empty after trimming, or over 2000 characters",
            },
            ErrorDoc {
                status: 400,
                code: "SCHEMA_VALIDATION_ERROR",
                when: "`content` is missing or not a string",
            },
            ErrorDoc {
                status: 404,
                code: "MESSAGE_NOT_FOUND",
                when: "no such message, not the caller's, or deleted",
            },
        ])
    }
}

/// Errors of `DELETE /messages/:id` and `PUT /messages/:id/read`.
pub struct MessageErrors;
impl ErrorSet for MessageErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[
            ErrorDoc {
                status: 400,
                code: "SCHEMA_VALIDATION_ERROR",
                when: "`id` is not a UUID",
            },
            ErrorDoc {
                status: 404,
                code: "MESSAGE_NOT_FOUND",
                when: "no such message, or not one the caller may act on",
            },
        ])
    }
}

/// `200 Message[]`.
#[derive(ApiResponse)]
pub enum ListMessagesResponse {
    /// A page of history (`[]` when empty).
    #[oai(status = 200)]
    Ok(Json<Vec<Message>>),
}

/// `201 Message`.
#[derive(ApiResponse)]
pub enum SendMessageResponse {
    /// Stored and committed; both participants' sockets get `new_message`.
    #[oai(status = 201)]
    Created(Json<Message>),
}

/// `200` edit result.
#[derive(ApiResponse)]
pub enum EditMessageResponse {
    /// Edited (both participants get `message_edited`), or unchanged.
    #[oai(status = 200)]
    Ok(Json<EditMessageResult>),
}

/// `200 Ack`.
#[derive(ApiResponse)]
pub enum AckResponse {
    /// Done.
    #[oai(status = 200)]
    Ok(Json<Ack>),
}

/// Parses `before` (a message id or an RFC 3339 timestamp) and `after` (a message id).
fn cursor(before: Option<String>, after: Option<Uuid>) -> Result<Cursor, ApiError> {
    let invalid = |reason: &str| ApiError::Validation {
        location: Location::Querystring,
        field: "before".into(),
        reason: reason.into(),
    };
    match (before, after) {
        (Some(_), Some(_)) => Err(invalid("give `before` or `after`, not both")),
        (None, Some(after)) => Ok(Cursor::AfterMessage(after)),
        (None, None) => Ok(Cursor::Latest),
        (Some(before), None) => {
            if let Ok(id) = Uuid::parse_str(&before) {
                return Ok(Cursor::BeforeMessage(id));
            }
            chrono::DateTime::parse_from_rfc3339(&before)
                .map(|t| Cursor::BeforeTime(t.with_timezone(&chrono::Utc)))
                .map_err(|_| invalid("must be a message id or an RFC 3339 timestamp"))
        }
    }
}

#[OpenApi(tag = "Tag::Messages")]
impl MessageApi {
    /// Read a conversation's history
    ///
    /// Newest first, deleted messages left out. `before` (a message id or a timestamp) pages
    /// backwards, stable under concurrent sends; `after` (a message id) returns what came after
    /// it, oldest first, for catching up after a reconnect.
    #[oai(
        path = "/conversations/:id/messages",
        method = "get",
        operation_id = "listMessages"
    )]
    async fn list_messages(
        &self,
        auth: Auth,
        /// The conversation.
        id: Path<Uuid>,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Messages per page, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Only messages older than this message id or RFC 3339 timestamp.
        before: Query<Option<String>>,
        /// Only messages newer than this message id (oldest first).
        after: Query<Option<Uuid>>,
    ) -> Result<ListMessagesResponse, Failure<ListErrors>> {
        let cursor = cursor(before.0, after.0)?;
        let page = page::Page::from_query(page.0, limit.0, 50);
        let rows = data::message::list_messages(&self.state.db, id.0, auth.0.user_id, page, cursor)
            .await?;
        Ok(ListMessagesResponse::Ok(Json(
            rows.into_iter().map(Into::into).collect(),
        )))
    }

    /// Send a message
    #[oai(
        path = "/conversations/:id/messages",
        method = "post",
        operation_id = "sendMessage"
    )]
    async fn send_message(
        &self,
        auth: Auth,
        /// The conversation.
        id: Path<Uuid>,
        body: Json<MessageContentRequest>,
    ) -> Result<SendMessageResponse, Failure<SendErrors>> {
        let content = MessageContent::parse(&body.0.content)?;
        let sent = self
            .state
            .messages
            .send(id.0, auth.0.user_id, content.into_string())
            .await?;
        let message = Message::from(sent.message());
        let payload = message.to_json().unwrap_or_default();
        self.state
            .realtime
            .emit(&sent.participants(), ServerEvent::NewMessage(payload))
            .await;
        Ok(SendMessageResponse::Created(Json(message)))
    }

    /// Edit a message
    ///
    /// Only the sender, and not once deleted. Content equal to the stored one answers `200`
    /// with `Message content is unchanged` and the stored `editedAt`.
    #[oai(path = "/messages/:id", method = "patch", operation_id = "editMessage")]
    async fn edit_message(
        &self,
        auth: Auth,
        /// The message.
        id: Path<Uuid>,
        body: Json<MessageContentRequest>,
    ) -> Result<EditMessageResponse, Failure<EditErrors>> {
        let content = MessageContent::parse(&body.0.content)?;
        let outcome = data::message::update_message_content(
            &self.state.db,
            id.0,
            auth.0.user_id,
            content.as_str(),
        )
        .await
        .map_err(not_found_as_message)?;
        let (text, m, changed) = match outcome {
            EditOutcome::Edited(m) => ("Message edited successfully", m, true),
            EditOutcome::Unchanged(m) => ("Message content is unchanged", m, false),
        };
        let edited_at = m.edited_at.map(Timestamp::from);
        if changed {
            let event = ServerEvent::MessageEdited {
                message_id: m.id,
                content: m.content.clone(),
                edited_at: edited_at.map(Timestamp::to_wire).unwrap_or_default(),
                conversation_id: m.conversation_id,
            };
            self.state.realtime.emit(&m.participants(), event).await;
        }
        Ok(EditMessageResponse::Ok(Json(EditMessageResult {
            success: true,
            message: text.into(),
            data: EditedMessage {
                id: m.id,
                content: m.content,
                edited_at,
            },
        })))
    }

    /// Delete a message
    ///
    /// Only the sender. The message leaves every list and search; both participants get
    /// `message_deleted`. Deleting it again answers `200` as well.
    #[oai(
        path = "/messages/:id",
        method = "delete",
        operation_id = "deleteMessage"
    )]
    async fn delete_message(
        &self,
        auth: Auth,
        /// The message.
        id: Path<Uuid>,
    ) -> Result<AckResponse, Failure<MessageErrors>> {
        let outcome = data::message::delete_message(&self.state.db, id.0, auth.0.user_id)
            .await
            .map_err(not_found_as_message)?;
        let text = match outcome {
            DeleteOutcome::AlreadyDeleted => "Message is already deleted",
            DeleteOutcome::Deleted(m) => {
                let event = ServerEvent::MessageDeleted {
                    message_id: m.id,
                    conversation_id: m.conversation_id,
                };
                self.state.realtime.emit(&m.participants(), event).await;
                "Message deleted successfully"
            }
        };
        Ok(AckResponse::Ok(Json(Ack::new(text))))
    }

    /// Mark a message read
    ///
    /// Only the recipient. Marks this message and every earlier unread one from the other
    /// participant; the sender gets `message_read` with all their ids.
    #[oai(
        path = "/messages/:id/read",
        method = "put",
        operation_id = "markMessageRead"
    )]
    async fn mark_message_read(
        &self,
        auth: Auth,
        /// The message.
        id: Path<Uuid>,
    ) -> Result<AckResponse, Failure<MessageErrors>> {
        let me = auth.0.user_id;
        let outcome = data::message::mark_message_read(&self.state.db, id.0, me)
            .await
            .map_err(not_found_as_message)?;
        let text = match outcome {
            ReadOutcome::AlreadyRead => "Message is already marked as read",
            ReadOutcome::Marked {
                message,
                message_ids,
                read_at,
            } => {
                let event = ServerEvent::MessageRead {
                    conversation_id: message.conversation_id,
                    reader_id: me,
                    message_ids,
                    read_at: Timestamp::from(read_at).to_wire(),
                };
                self.state.realtime.emit(&[message.sender_id], event).await;
                "Message marked as read successfully"
            }
        };
        Ok(AckResponse::Ok(Json(Ack::new(text))))
    }
}

/// On message routes every refusal about the conversation is `MESSAGE_NOT_FOUND` (no leak).
fn not_found_as_message(err: data::DataError) -> ApiError {
    match err {
        data::DataError::Db(e) => e.into(),
        _ => ApiError::MessageNotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn content_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(MessageContent::parse("  hi \n").unwrap().as_str(), "hi");
        assert!(MessageContent::parse(" \t\n ").is_err());
        assert!(MessageContent::parse(&"é".repeat(2000)).is_ok());
        assert!(MessageContent::parse(&"é".repeat(2001)).is_err());
        assert!(MessageContent::parse(&format!("  {}  ", "a".repeat(2000))).is_ok());
    }

    #[test]
    fn before_takes_an_id_or_a_timestamp_and_not_with_after() {
        let id = Uuid::now_v7();
        assert_eq!(
            cursor(Some(id.to_string()), None).unwrap(),
            Cursor::BeforeMessage(id)
        );
        assert!(matches!(
            cursor(Some("2026-01-02T03:04:05.678Z".into()), None).unwrap(),
            Cursor::BeforeTime(_)
        ));
        assert!(cursor(Some("yesterday".into()), None).is_err());
        assert!(cursor(Some(id.to_string()), Some(id)).is_err());
    }

    proptest! {
        #[test]
        fn parsed_content_is_never_blank_or_too_long(raw in "\\PC{0,2100}") {
            if let Ok(content) = MessageContent::parse(&raw) {
                prop_assert!(!content.as_str().trim().is_empty());
                prop_assert!(content.as_str().chars().count() <= MAX_CONTENT_CHARS);
                prop_assert_eq!(content.as_str(), content.as_str().trim());
            }
        }
    }
}
