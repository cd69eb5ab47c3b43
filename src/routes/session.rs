//! The current session: `GET /auth/me`, `POST /auth/refresh`, `POST /auth/logout`.

use poem::web::cookie::CookieJar;
use poem_openapi::{ApiResponse, OpenApi};

use super::{Tag, json_body::JsonBody};
use crate::{
    error::{ApiError, Failure},
    session::{
        AuthFailure,
        auth::{Auth, SessionToken},
    },
    state::AppState,
    wire::{Ack, User},
};

/// The session area of the API.
pub struct SessionApi {
    state: AppState,
}

impl SessionApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

crate::error_set!(
    /// Errors of the authenticated session operations.
    SessionErrors: AUTHENTICATED);

/// `200 User`.
#[derive(ApiResponse)]
pub enum UserResponse {
    /// The signed-in user, with their own e-mail address.
    #[oai(status = 200)]
    Ok(JsonBody<User>),
}

/// `200 Ack`.
#[derive(ApiResponse)]
pub enum LogoutResponse {
    /// Logged out; the cookie is cleared.
    #[oai(status = 200)]
    Ok(JsonBody<Ack>),
}

#[OpenApi(tag = "Tag::Sessions")]
impl SessionApi {
    /// The signed-in user
    #[oai(path = "/auth/me", method = "get", operation_id = "me")]
    async fn me(&self, auth: Auth) -> Result<UserResponse, Failure<SessionErrors>> {
        let user = crate::data::user::find_user(&self.state.db, auth.0.user_id)
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized(
                    crate::session::AuthError::InvalidToken,
                    &self.state.sessions,
                )
            })?;
        Ok(UserResponse::Ok(JsonBody(User::for_viewer(
            user,
            auth.0.user_id,
        ))))
    }

    /// Rotate the session
    ///
    /// Issues a new session (new id, new expiry) in a fresh `auth` cookie and revokes the current
    /// one. The response also carries the new token in `Set-Cookie` only; bearer clients call
    /// `confab session create` instead.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "refresh")]
    async fn refresh(
        &self,
        token: SessionToken,
        jar: &CookieJar,
    ) -> Result<UserResponse, Failure<SessionErrors>> {
        // Not `Auth`: a session rotated by a concurrent refresh (another tab) less than 30 s ago
        // is refused everywhere else but still refreshes here, to its successor (contract §2).
        let state = &self.state;
        let refreshed = state
            .sessions
            .refresh(&state.db, &token.0)
            .await
            .map_err(|failure| match failure {
                AuthFailure::Refused(reason) => ApiError::unauthorized(reason, &state.sessions),
                AuthFailure::Database(e) => e.into(),
            })?;
        let issued = refreshed.issued;
        let user = crate::data::user::find_user(&state.db, issued.user.user_id)
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized(crate::session::AuthError::InvalidToken, &state.sessions)
            })?;
        state.realtime.rebind_session(
            refreshed.previous,
            issued.user.session_id,
            issued.expires_at,
        );
        jar.add(state.sessions.cookies.session_cookie(&issued.token));
        Ok(UserResponse::Ok(JsonBody(User::for_viewer(
            user,
            issued.user.user_id,
        ))))
    }

    /// Log out
    ///
    /// Revokes the session and clears the `auth` cookie (with the attributes it was set with).
    /// Works with an expired token too.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        token: SessionToken,
        jar: &CookieJar,
    ) -> Result<LogoutResponse, Failure<SessionErrors>> {
        let sessions = &self.state.sessions;
        match sessions.log_out(&self.state.db, &token.0).await {
            Ok(session_id) => self.state.realtime.disconnect_session(session_id).await,
            Err(AuthFailure::Refused(reason)) => {
                return Err(ApiError::unauthorized(reason, sessions).into());
            }
            Err(AuthFailure::Database(e)) => return Err(e.into()),
        }
        jar.add(sessions.cookies.session_cookie_removal());
        Ok(LogoutResponse::Ok(JsonBody(Ack::new(
            "Successfully logged out",
        ))))
    }
}
