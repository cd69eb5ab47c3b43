//! Conversations: open one with another user, list, get, delete.

use entity::conversation;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, param::Query, payload::Json};
use uuid::Uuid;

use super::{Tag, page, types::Ack, types::Timestamp};
use crate::{
    data,
    error::{ErrorDoc, ErrorSet, Failure, authenticated_and},
    session::auth::Auth,
    socket::events::ServerEvent,
    state::AppState,
};

/// A 1:1 conversation.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
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
}

impl From<conversation::Model> for Conversation {
    fn from(model: conversation::Model) -> Self {
        Self {
            id: model.id,
            p1: model.p1_id,
            p2: model.p2_id,
            created_at: model.created_at.into(),
            updated_at: model.updated_at.into(),
        }
    }
}

/// The conversation area of the API.
pub struct ConversationApi {
    state: AppState,
}

impl ConversationApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// Errors of `POST /conversations/:id` (`id` being the other user's).
pub struct CreateErrors;
impl ErrorSet for CreateErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[
            ErrorDoc {
                status: 400,
                code: "INVALID_REQUEST",
                when: "the other user is the caller",
            },
            ErrorDoc {
                status: 400,
                code: "CONVERSATION_EXISTS",
                when: "the pair has a conversation; `details.conversationId` names it",
            },
            ErrorDoc {
                status: 400,
                code: "SCHEMA_VALIDATION_ERROR",
                when: "`id` is not a UUID",
            },
            ErrorDoc {
                status: 404,
                code: "USER_NOT_FOUND",
                when: "no such user",
            },
        ])
    }
}

/// Errors of the routes on one conversation.
pub struct ConversationErrors;
impl ErrorSet for ConversationErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[
            ErrorDoc {
                status: 400,
                code: "SCHEMA_VALIDATION_ERROR",
                when: "`id` is not a UUID",
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

/// Errors of `GET /conversations`.
pub struct ListErrors;
impl ErrorSet for ListErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[page::PAGE_ERROR])
    }
}

/// `201 Conversation`.
#[derive(ApiResponse)]
pub enum CreateConversationResponse {
    /// Opened; the other participant gets `conversation_created`.
    #[oai(status = 201)]
    Created(Json<Conversation>),
}

/// `200 Conversation`.
#[derive(ApiResponse)]
pub enum GetConversationResponse {
    /// The conversation.
    #[oai(status = 200)]
    Ok(Json<Conversation>),
}

/// `200 Conversation[]`.
#[derive(ApiResponse)]
pub enum ListConversationsResponse {
    /// The caller's conversations, most recently active first (`[]` when none).
    #[oai(status = 200)]
    Ok(Json<Vec<Conversation>>),
}

/// `200 Ack`.
#[derive(ApiResponse)]
pub enum DeleteConversationResponse {
    /// Deleted for both participants, with its messages; the other one gets
    /// `conversation_deleted`.
    #[oai(status = 200)]
    Ok(Json<Ack>),
}

#[OpenApi(tag = "Tag::Conversations")]
impl ConversationApi {
    /// Open a conversation
    ///
    /// With the user `id`. One conversation per pair, whoever opens it: concurrent requests
    /// give one `201` and `CONVERSATION_EXISTS` for the rest.
    #[oai(
        path = "/conversations/:id",
        method = "post",
        operation_id = "createConversation"
    )]
    async fn create_conversation(
        &self,
        auth: Auth,
        /// The other user's id (as in the original API, the path parameter is named `id`).
        #[oai(name = "id")]
        user_id: Path<Uuid>,
    ) -> Result<CreateConversationResponse, Failure<CreateErrors>> {
        let me = auth.0.user_id;
        let created =
            data::conversation::create_conversation(&self.state.db, me, user_id.0).await?;
        let conversation = Conversation::from(created);
        let payload = poem_openapi::types::ToJSON::to_json(&conversation).unwrap_or_default();
        self.state
            .realtime
            .emit(&[user_id.0], ServerEvent::ConversationCreated(payload))
            .await;
        Ok(CreateConversationResponse::Created(Json(conversation)))
    }

    /// List my conversations
    #[oai(
        path = "/conversations",
        method = "get",
        operation_id = "listConversations"
    )]
    async fn list_conversations(
        &self,
        auth: Auth,
        /// Page number, from 1.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Conversations per page, 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
    ) -> Result<ListConversationsResponse, Failure<ListErrors>> {
        let page = page::Page::from_query(page.0, limit.0, 20);
        let rows =
            data::conversation::list_conversations(&self.state.db, auth.0.user_id, page).await?;
        Ok(ListConversationsResponse::Ok(Json(
            rows.into_iter().map(Into::into).collect(),
        )))
    }

    /// Get a conversation
    #[oai(
        path = "/conversations/:id",
        method = "get",
        operation_id = "getConversation"
    )]
    async fn get_conversation(
        &self,
        auth: Auth,
        /// The conversation.
        id: Path<Uuid>,
    ) -> Result<GetConversationResponse, Failure<ConversationErrors>> {
        let conversation =
            data::conversation::get_conversation_for(&self.state.db, id.0, auth.0.user_id).await?;
        Ok(GetConversationResponse::Ok(Json(conversation.into())))
    }

    /// Delete a conversation
    ///
    /// For both participants, with all its messages.
    #[oai(
        path = "/conversations/:id",
        method = "delete",
        operation_id = "deleteConversation"
    )]
    async fn delete_conversation(
        &self,
        auth: Auth,
        /// The conversation.
        id: Path<Uuid>,
    ) -> Result<DeleteConversationResponse, Failure<ConversationErrors>> {
        let me = auth.0.user_id;
        let deleted = data::conversation::delete_conversation(&self.state.db, id.0, me).await?;
        let other = data::conversation::other_participant(&deleted, me);
        self.state
            .realtime
            .emit(
                &[other],
                ServerEvent::ConversationDeleted {
                    conversation_id: deleted.id,
                },
            )
            .await;
        Ok(DeleteConversationResponse::Ok(Json(Ack::new(
            "Conversation deleted successfully",
        ))))
    }
}
