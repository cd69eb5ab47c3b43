//! Search: users by username and name, messages by full-text search.

use poem_openapi::{ApiResponse, OpenApi, param::Query};
use uuid::Uuid;

use super::{Tag, json_body::JsonBody, param};
use crate::{
    data,
    error::{ApiError, Failure},
    session::auth::Auth,
    state::AppState,
    wire::{ErrorCode, Message, User},
};

/// The search area of the API.
pub struct SearchApi {
    state: AppState,
}

impl SearchApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

crate::error_set!(
    /// Errors of `GET /search/users`.
    UserSearchErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::InvalidQuery]);

crate::error_set!(
    /// Errors of `GET /search/messages`.
    MessageSearchErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::InvalidQuery, ErrorCode::AccessDenied]);

/// `200 User[]`.
#[derive(ApiResponse)]
pub enum SearchUsersResponse {
    /// Best match first (`[]` when none).
    #[oai(status = 200)]
    Ok(JsonBody<Vec<User>>),
}

/// `200 Message[]`.
#[derive(ApiResponse)]
pub enum SearchMessagesResponse {
    /// Newest first (`[]` when none).
    #[oai(status = 200)]
    Ok(JsonBody<Vec<Message>>),
}

fn non_blank(query: &str) -> Result<&str, ApiError> {
    let query = query.trim();
    if query.is_empty() {
        Err(ApiError::InvalidQuery("Search query cannot be empty"))
    } else if query.contains('\0') {
        // PostgreSQL cannot store or compare U+0000 in text (contract §1).
        Err(ApiError::InvalidQuery("Search query cannot contain U+0000"))
    } else {
        Ok(query)
    }
}

#[OpenApi(tag = "Tag::Search")]
impl SearchApi {
    /// Search users
    ///
    /// By username and name (never by e-mail); `%` and `_` match themselves. Best match first.
    #[oai(path = "/search/users", method = "get", operation_id = "searchUsers")]
    async fn search_users(
        &self,
        auth: Auth,
        /// Text to look for.
        query: Query<param::SearchText>,
        /// At most this many, 1 to 100 (default 10).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
    ) -> Result<SearchUsersResponse, Failure<UserSearchErrors>> {
        let query = non_blank(&query.0.0)?;
        let users = data::user::search_users(&self.state.db, query, limit.0.unwrap_or(10)).await?;
        let me = auth.0.user_id;
        Ok(SearchUsersResponse::Ok(JsonBody(
            users.into_iter().map(|u| User::for_viewer(u, me)).collect(),
        )))
    }

    /// Search messages
    ///
    /// Full-text search (English stemming) over the caller's conversations, or only
    /// `conversationId`; deleted messages are left out. Newest first.
    #[oai(
        path = "/search/messages",
        method = "get",
        operation_id = "searchMessages"
    )]
    async fn search_messages(
        &self,
        auth: Auth,
        /// Words to look for.
        query: Query<param::SearchText>,
        /// At most this many, 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Only this conversation.
        #[oai(name = "conversationId")]
        conversation_id: Query<Option<Uuid>>,
    ) -> Result<SearchMessagesResponse, Failure<MessageSearchErrors>> {
        let query = non_blank(&query.0.0)?;
        let found = data::search::search_messages(
            &self.state.db,
            auth.0.user_id,
            query,
            conversation_id.0,
            limit.0.unwrap_or(20),
        )
        .await
        .map_err(|e| match e {
            data::DataError::Db(e) => ApiError::from(e),
            _ => ApiError::AccessDenied,
        })?;
        Ok(SearchMessagesResponse::Ok(JsonBody(
            found.into_iter().map(Into::into).collect(),
        )))
    }
}
