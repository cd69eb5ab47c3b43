//! Users: `GET /user` and `GET /user/:id`.

use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
};
use uuid::Uuid;

use super::{Tag, json_body::JsonBody, page, param};
use crate::{
    data,
    error::{ApiError, Failure},
    session::auth::Auth,
    state::AppState,
    wire::{ErrorCode, User},
};

/// The user area of the API.
pub struct UserApi {
    state: AppState,
}

impl UserApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

crate::error_set!(
    /// Errors of `GET /user`.
    ListErrors: AUTHENTICATED, PARAMETERS);

crate::error_set!(
    /// Errors of `GET /user/:id`.
    GetErrors: AUTHENTICATED, PARAMETERS, [ErrorCode::UserNotFound]);

/// `200 User[]`.
#[derive(ApiResponse)]
pub enum ListUsersResponse {
    /// Newest first (`[]` when none).
    #[oai(status = 200)]
    Ok(JsonBody<Vec<User>>),
}

/// `200 User`.
#[derive(ApiResponse)]
pub enum GetUserResponse {
    /// The user (`email` only when it is the caller).
    #[oai(status = 200)]
    Ok(JsonBody<User>),
}

#[OpenApi(tag = "Tag::Users")]
impl UserApi {
    /// List users
    ///
    /// Newest first; `search` keeps those whose username or name contains it.
    #[oai(path = "/user", method = "get", operation_id = "listUsers")]
    async fn list_users(
        &self,
        auth: Auth,
        /// Page number, from 1.
        page: Query<Option<param::PageNumber>>,
        /// Users per page, 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Only users whose username or name contains this.
        search: Query<Option<param::Text>>,
    ) -> Result<ListUsersResponse, Failure<ListErrors>> {
        let page = page::Page::from_query(page.0.map(|p| p.0), limit.0, 20);
        let users = data::user::list_users(
            &self.state.db,
            search.0.as_ref().map(|s| s.0.as_str()),
            page,
        )
        .await?;
        let me = auth.0.user_id;
        Ok(ListUsersResponse::Ok(JsonBody(
            users.into_iter().map(|u| User::for_viewer(u, me)).collect(),
        )))
    }

    /// Get a user
    #[oai(path = "/user/:id", method = "get", operation_id = "getUser")]
    async fn get_user(
        &self,
        auth: Auth,
        /// The user.
        id: Path<Uuid>,
    ) -> Result<GetUserResponse, Failure<GetErrors>> {
        let user = data::user::find_user(&self.state.db, id.0)
            .await?
            .ok_or(ApiError::UserNotFound)?;
        Ok(GetUserResponse::Ok(JsonBody(User::for_viewer(
            user,
            auth.0.user_id,
        ))))
    }
}
