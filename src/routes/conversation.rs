//! Conversations: open one with another user, list, get, delete.

use poem_openapi::{ApiResponse, OpenApi, param::Path, param::Query};
use uuid::Uuid;

use super::{Tag, json_body::JsonBody, page, param};
use crate::{
    data,
    error::Failure,
    session::auth::Auth,
    state::AppState,
    wire::{Ack, Conversation, ErrorCode},
};

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

crate::error_set!(
    /// Errors of `POST /conversations/:id` (`id` being the other user's).
    CreateErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::InvalidRequest, ErrorCode::ConversationExists, ErrorCode::UserNotFound, ErrorCode::Blocked]);

crate::error_set!(
    /// Errors of the routes on one conversation.
    ConversationErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::Forbidden, ErrorCode::ConversationNotFound]);

crate::error_set!(
    /// Errors of `GET /conversations`.
    ListErrors: AUTHENTICATED, PARAMETERS);

/// `201 Conversation`.
#[derive(ApiResponse)]
pub enum CreateConversationResponse {
    /// Opened; the other participant gets `conversation_created`.
    #[oai(status = 201)]
    Created(JsonBody<Conversation>),
}

/// `200 Conversation`.
#[derive(ApiResponse)]
pub enum GetConversationResponse {
    /// The conversation.
    #[oai(status = 200)]
    Ok(JsonBody<Conversation>),
}

/// `200 Conversation[]`.
#[derive(ApiResponse)]
pub enum ListConversationsResponse {
    /// The caller's conversations, most recently active first (`[]` when none).
    #[oai(status = 200)]
    Ok(JsonBody<Vec<Conversation>>),
}

/// `200 Ack`.
#[derive(ApiResponse)]
pub enum DeleteConversationResponse {
    /// Deleted for both participants, with its messages; the other one gets
    /// `conversation_deleted`.
    #[oai(status = 200)]
    Ok(JsonBody<Ack>),
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
        let (created, events) =
            data::durable::create_conversation(&self.state.db, me, user_id.0).await?;
        self.state.realtime.deliver(&events).await;
        // No conversation before, so no presence shared.
        let presence = &self.state.presence;
        presence
            .sharing_changed(&self.state, me, user_id.0, Some(false))
            .await;
        let conversation = Conversation::from(
            data::conversation::ConversationSummary::new_conversation(created),
        );
        Ok(CreateConversationResponse::Created(JsonBody(conversation)))
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
        page: Query<Option<param::PageNumber>>,
        /// Conversations per page, 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
    ) -> Result<ListConversationsResponse, Failure<ListErrors>> {
        let page = page::Page::from_query(page.0.map(|p| p.0), limit.0, 20);
        let rows =
            data::conversation::list_conversations(&self.state.db, auth.0.user_id, page).await?;
        Ok(ListConversationsResponse::Ok(JsonBody(
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
            data::conversation::get_conversation_summary(&self.state.db, id.0, auth.0.user_id)
                .await?;
        Ok(GetConversationResponse::Ok(JsonBody(conversation.into())))
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
        let (deleted, events) =
            data::durable::delete_conversation(&self.state.db, id.0, me).await?;
        self.state.realtime.deliver(&events).await;
        let presence = &self.state.presence;
        presence
            .conversation_deleted(&self.state, deleted.p1_id, deleted.p2_id)
            .await;
        Ok(DeleteConversationResponse::Ok(JsonBody(Ack::new(
            "Conversation deleted successfully",
        ))))
    }
}
