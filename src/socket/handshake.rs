//! Handshake authentication: runs as connect middleware, before the socket joins the namespace.
//!
//! Credentials, in order: the signed `auth` cookie (cookie signature, JWT and session all
//! verified), else `auth.token` in the handshake payload, else an `Authorization: Bearer` header.
//! A disallowed `Origin` is refused first (cross-site WebSocket hijacking). A refusal reaches the
//! client as `connect_error` whose message is the contract's code.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SocketRef;
use crate::{
    session::{AuthError, AuthFailure},
    state::AppState,
    wire::ErrorCode,
};

/// Who a socket belongs to; stored in the socket's extensions.
///
/// The expiry is kept so the session sweeper ends expired sockets without asking the database;
/// revocations reach the socket through PostgreSQL's notices (`socket::session_watch`).
#[derive(Debug, Clone, Copy)]
pub struct SocketSession {
    /// The user.
    pub user_id: Uuid,
    /// Their session.
    pub session_id: Uuid,
    /// When the session expires (moved with the socket when a refresh rotates the session).
    pub expires_at: DateTime<Utc>,
}

/// Why a handshake was refused; `Display` is the code the client sees (contract §5).
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The credentials were refused.
    #[error("{}", .0.code())]
    Auth(AuthError),
    /// The page's origin is not allowed.
    #[error("{}", ErrorCode::OriginNotAllowed)]
    OriginNotAllowed,
    /// The session could not be checked.
    #[error("{}", ErrorCode::InternalServerError)]
    Internal,
}

impl HandshakeError {
    /// The contract's code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(reason) => reason.code(),
            Self::OriginNotAllowed => ErrorCode::OriginNotAllowed,
            Self::Internal => ErrorCode::InternalServerError,
        }
    }
}

/// Checks the origin and the credentials of a connecting socket.
pub async fn authenticate(
    state: &AppState,
    socket: &SocketRef,
    auth: Option<&serde_json::Value>,
) -> Result<SocketSession, HandshakeError> {
    let parts = socket.req_parts();
    if let Some(origin) = parts.headers.get(http::header::ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| state.config.http.cors_origins.iter().any(|a| a == o));
        if !allowed {
            return Err(HandshakeError::OriginNotAllowed);
        }
    }
    let token = handshake_token(state, parts, auth).map_err(HandshakeError::Auth)?;
    let session = state
        .sessions
        .authenticate_session(&state.db, &token)
        .await
        .map_err(|failure| match failure {
            AuthFailure::Refused(reason) => HandshakeError::Auth(reason),
            AuthFailure::Database(e) => {
                tracing::error!(error = %e, "socket handshake: session lookup failed");
                HandshakeError::Internal
            }
        })?;
    Ok(SocketSession {
        user_id: session.user.user_id,
        session_id: session.user.session_id,
        expires_at: session.expires_at,
    })
}

fn handshake_token(
    state: &AppState,
    parts: &http::request::Parts,
    auth: Option<&serde_json::Value>,
) -> Result<String, AuthError> {
    let cookies = parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    if let Some(token) = state.sessions.token_from_cookie(cookies)? {
        return Ok(token);
    }
    if let Some(token) = auth
        .and_then(|a| a.get("token"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
    {
        return Ok(token.to_owned());
    }
    match parts.headers.get(http::header::AUTHORIZATION) {
        Some(value) => state
            .sessions
            .token_from_http(Some(value.to_str().unwrap_or_default()), []),
        None => Err(AuthError::NoToken),
    }
}
