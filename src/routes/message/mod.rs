//! Messages: history pages, send, edit (and edit history), soft delete, read and delivery marks.

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

mod request;

pub use request::{
    MAX_CONTENT_CHARS, MessageContent, MessageContentRequest, client_message_id, cursor,
};

use super::{Tag, json_body::JsonBody, page, param};
use crate::{
    data::{
        self,
        edit::EditOutcome,
        message::{DeleteOutcome, ReadOutcome},
        message_writer::SendOutcome,
    },
    error::{ApiError, Failure},
    session::auth::Auth,
    state::AppState,
    wire::{Ack, ErrorCode, Message, MessageVersion, Timestamp},
};

/// What an edit returns.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(rename_all = "camelCase", example)]
#[serde(rename_all = "camelCase")]
pub struct EditedMessage {
    /// The message.
    pub id: Uuid,
    /// Its content now.
    pub content: String,
    /// Its last edit time (`null` if never edited).
    #[oai(nullable)]
    pub edited_at: Option<Timestamp>,
}

/// The body of `PATCH /messages/:id`.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(example)]
pub struct EditMessageResult {
    /// Always `true`.
    pub success: bool,
    /// `Message edited successfully` or `Message content is unchanged`.
    pub message: String,
    /// The message's content and edit time.
    pub data: EditedMessage,
}

impl poem_openapi::types::Example for EditedMessage {
    fn example() -> Self {
        let message = <Message as poem_openapi::types::Example>::example();
        Self {
            id: message.id,
            content: "Hi Bob! Lunch at **one**?".into(),
            // Half a minute after the example message was sent.
            edited_at: Timestamp::parse("2026-11-29T12:00:40.000Z").or(Some(message.created_at)),
        }
    }
}

impl poem_openapi::types::Example for EditMessageResult {
    fn example() -> Self {
        Self {
            success: true,
            message: "Message edited successfully".into(),
            data: poem_openapi::types::Example::example(),
        }
    }
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

crate::error_set!(
    /// Errors of `GET /conversations/:id/messages`.
    ListErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::Forbidden, ErrorCode::ConversationNotFound]);

crate::error_set!(
    /// Errors of `POST /conversations/:id/messages`.
    SendErrors: AUTHENTICATED, JSON_BODY, [ErrorCode::InvalidContent, ErrorCode::Forbidden, ErrorCode::ConversationNotFound, ErrorCode::IdempotencyConflict, ErrorCode::Blocked]);

crate::error_set!(
    /// Errors of `PATCH /messages/:id`.
    EditErrors: AUTHENTICATED, JSON_BODY, [ErrorCode::InvalidContent, ErrorCode::MessageNotFound]);

crate::error_set!(
    /// Errors of `DELETE /messages/:id` and `PUT /messages/:id/read`.
    MessageErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::MessageNotFound]);

/// `200 Message[]`.
#[derive(ApiResponse)]
pub enum ListMessagesResponse {
    /// A page of history (`[]` when empty).
    #[oai(status = 200)]
    Ok(JsonBody<Vec<Message>>),
}

/// `201 Message`, or `200 Message` for a repeated idempotency key.
#[derive(ApiResponse)]
pub enum SendMessageResponse {
    /// Stored and committed; both participants' sockets get `new_message`.
    #[oai(status = 201)]
    Created(JsonBody<Message>),
    /// A retry: this `clientMessageId` was sent before; the stored message, nothing new stored
    /// or emitted.
    #[oai(status = 200)]
    Repeated(JsonBody<Message>),
}

/// `200` edit result.
#[derive(ApiResponse)]
pub enum EditMessageResponse {
    /// Edited (both participants get `message_edited`), or unchanged.
    #[oai(status = 200)]
    Ok(JsonBody<EditMessageResult>),
}

/// `200 Ack`.
#[derive(ApiResponse)]
pub enum AckResponse {
    /// Done.
    #[oai(status = 200)]
    Ok(JsonBody<Ack>),
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
        page: Query<Option<param::PageNumber>>,
        /// Messages per page, 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Only messages older than this message id or RFC 3339 timestamp. Not with `after`; a
        /// message id must be one of this conversation's (else `400`).
        before: Query<Option<param::MessageOrTime>>,
        /// Only messages newer than this message id (oldest first), one of this conversation's
        /// (else `400`). Not with `before`.
        after: Query<Option<Uuid>>,
    ) -> Result<ListMessagesResponse, Failure<ListErrors>> {
        let cursor = cursor(before.0.map(|b| b.0), after.0)?;
        let page = page::Page::from_query(page.0.map(|p| p.0), limit.0, 50);
        let rows = data::message::list_messages(&self.state.db, id.0, auth.0.user_id, page, cursor)
            .await?;
        Ok(ListMessagesResponse::Ok(JsonBody(
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
        let key = client_message_id(body.0.client_message_id)?;
        let outcome = self
            .state
            .messages
            .send(id.0, auth.0.user_id, content.into_string(), key)
            .await?;
        match outcome {
            SendOutcome::Created(sent) => {
                self.state.realtime.deliver(&sent.events).await;
                Ok(SendMessageResponse::Created(JsonBody(Message::from(
                    &sent.message,
                ))))
            }
            SendOutcome::Existing(earlier) => Ok(SendMessageResponse::Repeated(JsonBody(
                Message::from(&earlier),
            ))),
        }
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
        let (outcome, events) = data::durable::update_message_content(
            &self.state.db,
            id.0,
            auth.0.user_id,
            content.as_str(),
        )
        .await
        .map_err(not_found_as_message)?;
        let (text, m) = match outcome {
            EditOutcome::Edited(m) => ("Message edited successfully", m),
            EditOutcome::Unchanged(m) => ("Message content is unchanged", m),
        };
        let edited_at = m.edited_at.map(Timestamp::from);
        self.state.realtime.deliver(&events).await;
        Ok(EditMessageResponse::Ok(JsonBody(EditMessageResult {
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
        let (outcome, events) = data::durable::delete_message(&self.state.db, id.0, auth.0.user_id)
            .await
            .map_err(not_found_as_message)?;
        self.state.realtime.deliver(&events).await;
        let text = match outcome {
            DeleteOutcome::AlreadyDeleted => "Message is already deleted",
            DeleteOutcome::Deleted(_) => "Message deleted successfully",
        };
        Ok(AckResponse::Ok(JsonBody(Ack::new(text))))
    }

    /// Mark a message read
    ///
    /// Only the recipient. Marks this message and every earlier unread one from the other
    /// participant; both participants get `message_read` with all their ids.
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
        let (outcome, events) = data::durable::mark_message_read(&self.state.db, id.0, me)
            .await
            .map_err(not_found_as_message)?;
        self.state.realtime.deliver(&events).await;
        let text = match outcome {
            ReadOutcome::AlreadyRead => "Message is already marked as read",
            ReadOutcome::Marked { .. } => "Message marked as read successfully",
        };
        Ok(AckResponse::Ok(JsonBody(Ack::new(text))))
    }

    /// Mark a message delivered
    ///
    /// Only the recipient. Marks this message and every earlier `sent` one from the other
    /// participant `delivered` (a `read` message stays `read`); both participants get
    /// `message_delivered` with the ids newly marked. Acknowledging `new_message` over Socket.IO
    /// and receiving it in `/sync` do the same.
    #[oai(
        path = "/messages/:id/delivered",
        method = "put",
        operation_id = "markMessageDelivered"
    )]
    async fn mark_message_delivered(
        &self,
        auth: Auth,
        /// The message.
        id: Path<Uuid>,
    ) -> Result<AckResponse, Failure<MessageErrors>> {
        let events = data::delivery::mark_delivered_up_to(&self.state.db, id.0, auth.0.user_id)
            .await
            .map_err(not_found_as_message)?;
        self.state.realtime.deliver(&events).await;
        let text = if events.is_empty() {
            "Message is already marked as delivered"
        } else {
            "Message marked as delivered successfully"
        };
        Ok(AckResponse::Ok(JsonBody(Ack::new(text))))
    }

    /// Get a message's edit history
    ///
    /// Participants only. The original content first (`createdAt` = when it was sent), then each
    /// edit (`createdAt` = that edit's `editedAt`); the last entry is the current content. A
    /// deleted message has no history (`404`).
    #[oai(
        path = "/messages/:id/history",
        method = "get",
        operation_id = "getMessageHistory"
    )]
    async fn message_history(
        &self,
        auth: Auth,
        /// The message.
        id: Path<Uuid>,
    ) -> Result<HistoryResponse, Failure<MessageErrors>> {
        let versions = data::edit::message_history(&self.state.db, id.0, auth.0.user_id)
            .await
            .map_err(not_found_as_message)?;
        Ok(HistoryResponse::Ok(JsonBody(
            versions
                .into_iter()
                .map(|v| MessageVersion {
                    content: v.content,
                    created_at: v.created_at.into(),
                })
                .collect(),
        )))
    }
}

/// `200 MessageVersion[]`.
#[derive(ApiResponse)]
pub enum HistoryResponse {
    /// Every version, the original first; the last one is the current content.
    #[oai(status = 200)]
    Ok(JsonBody<Vec<MessageVersion>>),
}

/// On message routes every refusal about the conversation is `MESSAGE_NOT_FOUND` (no leak).
fn not_found_as_message(err: data::DataError) -> ApiError {
    match err {
        data::DataError::Db(e) => e.into(),
        _ => ApiError::MessageNotFound,
    }
}
