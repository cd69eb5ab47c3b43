//! The one error type of the HTTP edge and its wire envelope.
//!
//! Every failure, from a handler, from poem-openapi's parsing, from the router or the body limit, is
//! turned into an [`ApiError`] by [`ApiError::from_poem`] (called once, in the request middleware) and
//! rendered as the contract's body `{statusCode, code, error, message, details?}`. A 500 never carries
//! its cause on the wire; the cause is logged instead.

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    Object,
    error::{ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError},
};

/// The contract's error body.
#[derive(Debug, Clone, Object, serde::Deserialize, PartialEq)]
#[oai(rename_all = "camelCase")]
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
    /// A search query that is blank.
    #[error("Search query cannot be empty")]
    InvalidQuery,
    /// Message search in a conversation the caller is not part of (or that does not exist).
    #[error("You don't have access to this conversation")]
    AccessDenied,
    /// A conversation with oneself.
    #[error("Cannot create conversation with yourself")]
    SelfConversation,
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
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::InvalidJson(_) => StatusCode::BAD_REQUEST,
            Self::NoAuthCode
            | Self::InvalidState
            | Self::TokenExchangeFailed
            | Self::UserFetchFailed
            | Self::NoEmail
            | Self::EmailNotVerified => StatusCode::BAD_REQUEST,
            Self::InvalidQuery
            | Self::SelfConversation
            | Self::ConversationExists(_)
            | Self::InvalidContent(_) => StatusCode::BAD_REQUEST,
            Self::AccessDenied | Self::Forbidden | Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::ProviderDisabled(_)
            | Self::UserNotFound
            | Self::ConversationNotFound
            | Self::MessageNotFound => StatusCode::NOT_FOUND,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RouteNotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "SCHEMA_VALIDATION_ERROR",
            Self::InvalidJson(_) => "INVALID_JSON",
            Self::Unauthorized { reason, .. } => reason.code(),
            Self::ProviderDisabled(_) => "PROVIDER_DISABLED",
            Self::NoAuthCode => "NO_AUTH_CODE",
            Self::InvalidState => "INVALID_STATE",
            Self::TokenExchangeFailed => "TOKEN_EXCHANGE_FAILED",
            Self::UserFetchFailed => "USER_FETCH_FAILED",
            Self::NoEmail => "NO_EMAIL",
            Self::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Self::UserNotFound => "USER_NOT_FOUND",
            Self::InvalidQuery => "INVALID_QUERY",
            Self::AccessDenied => "ACCESS_DENIED",
            Self::SelfConversation => "INVALID_REQUEST",
            Self::ConversationExists(_) => "CONVERSATION_EXISTS",
            Self::ConversationNotFound => "CONVERSATION_NOT_FOUND",
            Self::Forbidden => "FORBIDDEN",
            Self::MessageNotFound => "MESSAGE_NOT_FOUND",
            Self::InvalidContent(_) => "INVALID_CONTENT",
            Self::OriginNotAllowed => "ORIGIN_NOT_ALLOWED",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::BodyTooLarge => "BODY_TOO_LARGE",
            Self::RouteNotFound { .. } => "ROUTE_NOT_FOUND",
            Self::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
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
        let status = self.status();
        ErrorBody {
            status_code: status.as_u16(),
            code: self.code().to_owned(),
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: self.to_string(),
            details: self.details(),
        }
    }

    /// Turns any error that reached the edge into an `ApiError`: ours pass through, poem's and
    /// poem-openapi's are classified, anything else is a server fault.
    pub fn from_poem(err: poem::Error, method: &str, path: &str) -> Self {
        if err.is::<ApiError>() {
            return match err.downcast::<ApiError>() {
                Ok(api) => api,
                Err(err) => Self::Internal(anyhow::anyhow!("{err}")),
            };
        }
        if err.is::<poem::error::NotFoundError>() {
            return Self::RouteNotFound {
                method: method.to_owned(),
                path: path.to_owned(),
            };
        }
        if err.is::<poem::error::MethodNotAllowedError>() {
            return Self::MethodNotAllowed(method.to_owned());
        }
        if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
            return classify_payload_error(&e.reason);
        }
        if let Some(e) = err.downcast_ref::<ParseParamError>() {
            return Self::Validation {
                location: if is_path_param(e.name) {
                    Location::Params
                } else {
                    Location::Querystring
                },
                field: if is_path_param(e.name) {
                    PATH_PARAM
                } else {
                    e.name
                }
                .to_owned(),
                reason: e.reason.clone(),
            };
        }
        if let Some(e) = err.downcast_ref::<ParsePathError>() {
            return Self::Validation {
                location: Location::Params,
                field: PATH_PARAM.to_owned(),
                reason: e.reason.clone(),
            };
        }
        if let Some(e) = err.downcast_ref::<ContentTypeError>() {
            return match e {
                ContentTypeError::NotSupported { content_type } => {
                    Self::UnsupportedMediaType(content_type.clone())
                }
                ContentTypeError::ExpectContentType => {
                    Self::UnsupportedMediaType("missing Content-Type".into())
                }
            };
        }
        if matches!(
            err.downcast_ref::<poem::error::ReadBodyError>(),
            Some(poem::error::ReadBodyError::PayloadTooLarge)
        ) || err.status() == StatusCode::PAYLOAD_TOO_LARGE
        {
            return Self::BodyTooLarge;
        }
        Self::Internal(anyhow::anyhow!("{err}"))
    }
}

/// Every path parameter of the API is named `id`. poem-openapi reports a bad path parameter under
/// its internal name (`param0`), and a query parameter under its own name, which is never `id`.
const PATH_PARAM: &str = "id";

fn is_path_param(name: &str) -> bool {
    name == PATH_PARAM
        || name
            .strip_prefix("param")
            .is_some_and(|n| n.parse::<u8>().is_ok())
}

/// poem-openapi reports malformed JSON and schema mismatches with one error type; serde_json's
/// syntax errors always end in "at line L column C", which schema errors never do.
fn classify_payload_error(reason: &str) -> ApiError {
    let is_syntax = reason
        .rsplit_once(" at line ")
        .is_some_and(|(_, tail)| tail.contains(" column "));
    if is_syntax || reason.starts_with("EOF while parsing") {
        return ApiError::InvalidJson(reason.to_owned());
    }
    // Our body types report `failed to parse "Type": <field>: <reason>`; anything else is about
    // the body as a whole.
    let detail = reason
        .strip_prefix("failed to parse \"")
        .and_then(|rest| rest.split_once("\": "))
        .map_or(reason, |(_, detail)| detail);
    match detail.split_once(": ") {
        Some((field, why))
            if !field.is_empty()
                && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            ApiError::Validation {
                location: Location::Body,
                field: field.to_owned(),
                reason: why.to_owned(),
            }
        }
        _ => ApiError::Validation {
            location: Location::Body,
            field: "root".into(),
            reason: reason.to_owned(),
        },
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
            DataError::UnknownCursor => Self::Validation {
                location: Location::Querystring,
                field: "before/after".into(),
                reason: "no such message in this conversation".into(),
            },
            DataError::Db(e) => e.into(),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err {
            // Pool exhaustion or a lost connection: the request may succeed when retried.
            sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => {
                Self::Unavailable(err.into())
            }
            other => Self::Internal(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_syntax_errors_are_invalid_json() {
        let err = serde_json::from_str::<serde_json::Value>("{\"a\":").unwrap_err();
        assert_eq!(
            classify_payload_error(&err.to_string()).code(),
            "INVALID_JSON"
        );
        let err = serde_json::from_str::<serde_json::Value>("nope").unwrap_err();
        assert_eq!(
            classify_payload_error(&err.to_string()).code(),
            "INVALID_JSON"
        );
    }

    #[test]
    fn schema_errors_are_validation_errors_with_the_contract_message() {
        let err = classify_payload_error("failed to parse \"Body\": content: must be a string");
        assert_eq!(err.code(), "SCHEMA_VALIDATION_ERROR");
        assert_eq!(
            err.to_string(),
            "Schema validation failed for body: content: must be a string"
        );
        let err = classify_payload_error("Expected input type \"object\", found null.");
        assert_eq!(
            err.to_string(),
            "Schema validation failed for body: root: Expected input type \"object\", found null."
        );
    }

    #[test]
    fn server_faults_never_carry_their_cause() {
        let body = ApiError::Internal(anyhow::anyhow!("password=hunter2")).body();
        assert_eq!(body.code, "INTERNAL_SERVER_ERROR");
        assert!(!body.message.contains("hunter2"));
        assert_eq!(body.error, "Internal Server Error");
    }
}

/// One error an operation can answer with, for the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct ErrorDoc {
    /// HTTP status.
    pub status: u16,
    /// The stable code.
    pub code: &'static str,
    /// When it happens.
    pub when: &'static str,
}

/// The errors of one operation (or a family of them), listed in the OpenAPI document.
pub trait ErrorSet: Send + Sync + 'static {
    /// Every error the operation can answer with.
    fn errors() -> Vec<ErrorDoc>;
}

/// Errors every authenticated operation can answer with.
pub const AUTHENTICATED: &[ErrorDoc] = &[
    ErrorDoc {
        status: 401,
        code: "NO_TOKEN",
        when: "no `auth` cookie and no bearer token",
    },
    ErrorDoc {
        status: 401,
        code: "TOKEN_EXPIRED",
        when: "the session has expired",
    },
    ErrorDoc {
        status: 401,
        code: "INVALID_TOKEN",
        when: "the token or cookie is not ours, or the user is gone",
    },
    ErrorDoc {
        status: 401,
        code: "SESSION_REVOKED",
        when: "the session was logged out or rotated",
    },
];

/// The errors of an authenticated operation: [`AUTHENTICATED`] and `extra`.
pub fn authenticated_and(extra: &[ErrorDoc]) -> Vec<ErrorDoc> {
    let mut errors = AUTHENTICATED.to_vec();
    errors.extend_from_slice(extra);
    errors
}

/// Errors any operation can answer with.
pub const ALWAYS: &[ErrorDoc] = &[
    ErrorDoc {
        status: 403,
        code: "ORIGIN_NOT_ALLOWED",
        when: "a state-changing request from an origin that is not allowed",
    },
    ErrorDoc {
        status: 429,
        code: "RATE_LIMITED",
        when: "over the rate limit; see `Retry-After`",
    },
    ErrorDoc {
        status: 500,
        code: "INTERNAL_SERVER_ERROR",
        when: "a server fault (never a client mistake)",
    },
    ErrorDoc {
        status: 503,
        code: "SERVICE_UNAVAILABLE",
        when: "the database is unreachable; retry",
    },
];

/// An [`ApiError`] returned by an operation whose possible errors are the set `S`: handlers return
/// `Result<…Response, Failure<S>>` and use `?` on anything that converts into `ApiError`.
pub struct Failure<S: ErrorSet>(pub ApiError, std::marker::PhantomData<S>);

impl<S: ErrorSet, E: Into<ApiError>> From<E> for Failure<S> {
    fn from(err: E) -> Self {
        Self(err.into(), std::marker::PhantomData)
    }
}

impl<S: ErrorSet> From<Failure<S>> for poem::Error {
    fn from(failure: Failure<S>) -> Self {
        poem::Error::from(failure.0)
    }
}

impl<S: ErrorSet> poem_openapi::ApiResponse for Failure<S> {
    fn meta() -> poem_openapi::registry::MetaResponses {
        use poem_openapi::{
            registry::{MetaMediaType, MetaResponse},
            types::Type,
        };
        let mut errors = S::errors();
        errors.extend_from_slice(ALWAYS);
        let mut statuses: Vec<u16> = errors.iter().map(|e| e.status).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let responses = statuses
            .into_iter()
            .map(|status| {
                let text = errors
                    .iter()
                    .filter(|e| e.status == status)
                    .map(|e| format!("`{}`: {}", e.code, e.when))
                    .collect::<Vec<_>>()
                    .join("; ");
                MetaResponse {
                    description: static_description(text),
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: vec![],
                }
            })
            .collect();
        poem_openapi::registry::MetaResponses { responses }
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        <ErrorBody as poem_openapi::types::Type>::register(registry);
    }
}

/// poem-openapi wants `&'static str` descriptions; each distinct text is leaked once, so the
/// memory is bounded by the number of distinct error lists in the API.
fn static_description(text: String) -> &'static str {
    use std::{collections::HashSet, sync::Mutex, sync::OnceLock};
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = texts.get(text.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    texts.insert(leaked);
    leaked
}
