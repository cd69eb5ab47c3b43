//! Users: `GET /user` and `GET /user/:id`, and the wire shape of a user.

use entity::user;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{Tag, page, types::Timestamp};
use crate::{
    data,
    error::{ApiError, ErrorDoc, ErrorSet, Failure, authenticated_and},
    session::auth::Auth,
    state::AppState,
};

/// A user. `email` is shown only to the user themself, and is `null` for everyone else.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct User {
    /// UUID v7.
    pub id: Uuid,
    /// The caller's own address (`/auth/me`); `null` for other users.
    pub email: Option<String>,
    /// Unique username.
    pub username: String,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// When the account was created.
    pub created_at: Timestamp,
}

impl User {
    /// The wire shape of `model` as `viewer` may see it.
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

/// Errors of `GET /user`.
pub struct ListErrors;
impl ErrorSet for ListErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[page::PAGE_ERROR])
    }
}

/// Errors of `GET /user/:id`.
pub struct GetErrors;
impl ErrorSet for GetErrors {
    fn errors() -> Vec<ErrorDoc> {
        authenticated_and(&[
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

/// `200 User[]`.
#[derive(ApiResponse)]
pub enum ListUsersResponse {
    /// Newest first (`[]` when none).
    #[oai(status = 200)]
    Ok(Json<Vec<User>>),
}

/// `200 User`.
#[derive(ApiResponse)]
pub enum GetUserResponse {
    /// The user (`email` only when it is the caller).
    #[oai(status = 200)]
    Ok(Json<User>),
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
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
        /// Users per page, 1 to 100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Only users whose username or name contains this.
        search: Query<Option<String>>,
    ) -> Result<ListUsersResponse, Failure<ListErrors>> {
        let page = page::Page::from_query(page.0, limit.0, 20);
        let users = data::user::list_users(&self.state.db, search.0.as_deref(), page).await?;
        let me = auth.0.user_id;
        Ok(ListUsersResponse::Ok(Json(
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
        Ok(GetUserResponse::Ok(Json(User::for_viewer(
            user,
            auth.0.user_id,
        ))))
    }
}
