//! The one error type of the HTTP edge and its wire envelope.
//!
//! Every failure, from a handler, from poem-openapi's parsing, from the router or the body limit, is
//! turned into an [`ApiError`] by [`ApiError::from_poem`] (called once, in the request middleware) and
//! rendered as the contract's body `{statusCode, code, error, message, details?}`. A 500 never carries
//! its cause on the wire; the cause is logged instead. Codes, statuses and meanings come from
//! [`crate::wire::ErrorCode`]; [`openapi`] lists them per operation in the OpenAPI document.

mod classify;
pub mod openapi;

pub use openapi::{ErrorSet, Failure, add_error_examples};

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::Object;

use crate::wire::ErrorCode;

/// The contract's error body.
#[derive(Debug, Clone, Object, serde::Deserialize, PartialEq)]
#[oai(rename_all = "camelCase", example)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The HTTP status code, repeated.
    pub status_code: u16,
    /// A stable upper-snake identifier, e.g. `CONVERSATION_NOT_FOUND`.
    pub code: String,
    /// The HTTP reason phrase, e.g. `Not Found`.
    pub error: String,
    /// A message for humans.
    pub message: String,
    /// More about the failure, e.g. the id of a conversation that already exists.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default)]
    pub details: Option<serde_json::Value>,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        Self::for_code(ErrorCode::ConversationNotFound, "Conversation not found")
    }
}

impl ErrorBody {
    /// The body of an error with `code` and `message` (no details).
    pub fn for_code(code: ErrorCode, message: &str) -> Self {
        Self {
            status_code: code.status(),
            code: code.as_str().to_owned(),
            error: code.reason_phrase().to_owned(),
            message: message.to_owned(),
            details: None,
        }
    }
}

/// Where a request value failed validation, as the contract's messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The JSON body.
    Body,
    /// The query string.
    Querystring,
    /// A path parameter.
    Params,
}

impl Location {
    fn as_str(self) -> &'static str {
        match self {
            Self::Body => "body",
            Self::Querystring => "querystring",
            Self::Params => "params",
        }
    }
}

/// Everything that can go wrong in a request, each with a stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter or body field is malformed.
    #[error("Schema validation failed for {}: {field}: {reason}", location.as_str())]
    Validation {
        /// Body, query string or path.
        location: Location,
        /// The offending field (`root` for the whole body).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The body is not JSON although it says it is.
    #[error("Body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body has a content type this route does not take.
    #[error("Unsupported Media Type: {0}")]
    UnsupportedMediaType(String),
    /// The body is over the 1 MiB limit.
    #[error("Request body is too large")]
    BodyTooLarge,
    /// No route has this path.
    #[error("Route {method}:{path} not found")]
    RouteNotFound {
        /// The request method.
        method: String,
        /// The request path (without the query string).
        path: String,
    },
    /// The path exists, but not with this method.
    #[error("Method {0} is not allowed on this route")]
    MethodNotAllowed(String),
    /// Authentication failed; `clear_cookie` is the `Set-Cookie` that removes a bad `auth` cookie.
    #[error("{reason}")]
    Unauthorized {
        /// Why.
        reason: crate::session::AuthError,
        /// Sent as `Set-Cookie` when present.
        clear_cookie: Option<String>,
    },
    /// The OAuth provider has no client id configured.
    #[error("Sign-in with {0} is not enabled on this server")]
    ProviderDisabled(&'static str),
    /// The OAuth callback came without a code.
    #[error("Authorization code not provided")]
    NoAuthCode,
    /// The OAuth state is missing, unsigned, or does not match.
    #[error("Invalid or missing state parameter")]
    InvalidState,
    /// The provider refused the authorization code.
    #[error("Failed to exchange authorization code")]
    TokenExchangeFailed,
    /// The provider's profile endpoints failed.
    #[error("Failed to fetch user data")]
    UserFetchFailed,
    /// The provider reported no e-mail address.
    #[error("User email not found")]
    NoEmail,
    /// The provider's address is not verified.
    #[error("User email is not verified")]
    EmailNotVerified,
    /// No such user.
    #[error("User not found")]
    UserNotFound,
    /// A search query that is blank or carries text the database cannot store.
    #[error("{0}")]
    InvalidQuery(&'static str),
    /// Message search in a conversation the caller is not part of (or that does not exist).
    #[error("You don't have access to this conversation")]
    AccessDenied,
    /// An idempotency key reused with another conversation or other content.
    #[error("This clientMessageId was already used for another message")]
    IdempotencyConflict,
    /// A `since` that is not a cursor of the caller's event stream.
    #[error("Not a cursor of your event stream")]
    InvalidCursor,
    /// A `since` older than the event retention.
    #[error("The cursor is older than the event retention; reload over REST")]
    CursorExpired,
    /// A conversation with oneself.
    #[error("Cannot create conversation with yourself")]
    SelfConversation,
    /// Blocking oneself.
    #[error("Cannot block yourself")]
    SelfBlock,
    /// One of the two users blocks the other (contract §3).
    #[error("One of the users has blocked the other")]
    Blocked,
    /// The pair already has a conversation; `details.conversationId` names it.
    #[error("Conversation already exists between these users")]
    ConversationExists(uuid::Uuid),
    /// No such conversation.
    #[error("Conversation not found")]
    ConversationNotFound,
    /// Not a participant of the conversation.
    #[error("Not authorized to access this conversation")]
    Forbidden,
    /// No such message, or not one the caller may act on.
    #[error("Message not found")]
    MessageNotFound,
    /// Message content outside 1..2000 characters after trimming.
    #[error("{0}")]
    InvalidContent(&'static str),
    /// A state-changing request (or a preflight) from an origin that is not allowed.
    #[error("Origin not allowed")]
    OriginNotAllowed,
    /// Over the rate limit; retry after this many seconds.
    #[error("Rate limit exceeded, retry in {0} seconds")]
    RateLimited(u64),
    /// A dependency (the database) is unavailable; the client may retry.
    #[error("Service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A server fault. The cause is logged, never sent.
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The contract's code; its status and meaning come from [`ErrorCode`].
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation { .. } => ErrorCode::SchemaValidationError,
            Self::InvalidJson(_) => ErrorCode::InvalidJson,
            Self::Unauthorized { reason, .. } => reason.code(),
            Self::ProviderDisabled(_) => ErrorCode::ProviderDisabled,
            Self::NoAuthCode => ErrorCode::NoAuthCode,
            Self::InvalidState => ErrorCode::InvalidState,
            Self::TokenExchangeFailed => ErrorCode::TokenExchangeFailed,
            Self::UserFetchFailed => ErrorCode::UserFetchFailed,
            Self::NoEmail => ErrorCode::NoEmail,
            Self::EmailNotVerified => ErrorCode::EmailNotVerified,
            Self::UserNotFound => ErrorCode::UserNotFound,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Self::AccessDenied => ErrorCode::AccessDenied,
            Self::SelfConversation | Self::SelfBlock => ErrorCode::InvalidRequest,
            Self::Blocked => ErrorCode::Blocked,
            Self::InvalidCursor => ErrorCode::InvalidCursor,
            Self::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            Self::CursorExpired => ErrorCode::CursorExpired,
            Self::ConversationExists(_) => ErrorCode::ConversationExists,
            Self::ConversationNotFound => ErrorCode::ConversationNotFound,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::MessageNotFound => ErrorCode::MessageNotFound,
            Self::InvalidContent(_) => ErrorCode::InvalidContent,
            Self::OriginNotAllowed => ErrorCode::OriginNotAllowed,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::BodyTooLarge => ErrorCode::BodyTooLarge,
            Self::RouteNotFound { .. } => ErrorCode::RouteNotFound,
            Self::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::InternalServerError,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Extra structured information for the client, if any.
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::ConversationExists(id) => Some(serde_json::json!({ "conversationId": id })),
            _ => None,
        }
    }

    /// The wire body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            status_code: self.code().status(),
            code: self.code().as_str().to_owned(),
            error: self.code().reason_phrase().to_owned(),
            message: self.to_string(),
            details: self.details(),
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        let mut response = error_response(&self.body());
        if let Self::Unauthorized {
            clear_cookie: Some(cookie),
            ..
        } = self
            && let Ok(value) = poem::http::HeaderValue::from_str(cookie)
        {
            response
                .headers_mut()
                .append(poem::http::header::SET_COOKIE, value);
        }
        if let Self::RateLimited(seconds) = self {
            response
                .headers_mut()
                .insert(poem::http::header::RETRY_AFTER, (*seconds).into());
        }
        response
    }
}

/// Renders an error body as a JSON response.
pub fn error_response(body: &ErrorBody) -> Response {
    let json = serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(body))
        .unwrap_or_else(|_| br#"{"statusCode":500,"code":"INTERNAL_SERVER_ERROR"}"#.to_vec());
    Response::builder()
        .status(StatusCode::from_u16(body.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json; charset=utf-8")
        .body(json)
        .into_response()
}

impl From<crate::data::DataError> for ApiError {
    fn from(err: crate::data::DataError) -> Self {
        use crate::data::DataError;
        match err {
            DataError::ConversationNotFound => Self::ConversationNotFound,
            DataError::NotParticipant => Self::Forbidden,
            DataError::UserNotFound => Self::UserNotFound,
            DataError::MessageNotFound => Self::MessageNotFound,
            DataError::ConversationExists(id) => Self::ConversationExists(id),
            DataError::SelfConversation => Self::SelfConversation,
            DataError::SelfBlock => Self::SelfBlock,
            DataError::Blocked => Self::Blocked,
            DataError::UnknownCursor => Self::Validation {
                location: Location::Querystring,
                field: "before/after".into(),
                reason: "no such message in this conversation".into(),
            },
            DataError::InvalidCursor => Self::InvalidCursor,
            DataError::IdempotencyConflict => Self::IdempotencyConflict,
            DataError::CursorExpired => Self::CursorExpired,
            DataError::Db(e) => e.into(),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        // Pool exhaustion, a lost connection, or a transaction the database rolled back to break
        // a deadlock: the request may succeed when retried.
        if crate::data::is_unavailable(&err) || crate::data::is_rolled_back(&err) {
            Self::Unavailable(err.into())
        } else {
            Self::Internal(err.into())
        }
    }
}
