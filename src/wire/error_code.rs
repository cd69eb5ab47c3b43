//! Every error code of the contract (§1.1, §2, §3, §5), defined once.
//!
//! A code's wire string, HTTP status, one-line meaning and the surfaces it appears on live in the
//! single table below; [`crate::error::ApiError`], handshake refusals, the socket `error` event and
//! the per-operation lists of the OpenAPI document all derive from it. Adding a code is one row
//! here; a code the server can answer with but the OpenAPI document does not list fails a test.

use serde::{Serialize, Serializer};

/// Where a code can reach a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// HTTP responses only.
    Http,
    /// The socket `error` event or a refused handshake only.
    Socket,
    /// Both.
    Both,
}

impl Surface {
    /// Whether an HTTP response can carry the code.
    pub const fn is_http(self) -> bool {
        matches!(self, Self::Http | Self::Both)
    }

    /// Whether the socket layer can send the code.
    pub const fn is_socket(self) -> bool {
        matches!(self, Self::Socket | Self::Both)
    }
}

/// Declares [`ErrorCode`] from one table: variant, wire string, HTTP status, surface, meaning.
macro_rules! error_codes {
    ($( $variant:ident = $code:literal, $status:literal, $surface:ident, $meaning:literal; )*) => {
        /// A stable, upper-snake error code of the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                #[doc = $meaning]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant),*];

            /// The wire string, e.g. `CONVERSATION_NOT_FOUND`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }

            /// The HTTP status that carries the code (also for socket-only codes, for reference).
            pub const fn status(self) -> u16 {
                match self { $(Self::$variant => $status),* }
            }

            /// When the code is answered, in one line (shown in the OpenAPI document).
            pub const fn meaning(self) -> &'static str {
                match self { $(Self::$variant => $meaning),* }
            }

            /// Where the code can reach a client.
            pub const fn surface(self) -> Surface {
                match self { $(Self::$variant => Surface::$surface),* }
            }
        }
    };
}

error_codes! {
    SchemaValidationError = "SCHEMA_VALIDATION_ERROR", 400, Http,
        "a parameter or body field is missing, of the wrong type or out of range (the message names it)";
    InvalidJson = "INVALID_JSON", 400, Http, "the body is not valid JSON";
    InvalidContent = "INVALID_CONTENT", 400, Http,
        "message content is empty after trimming, over 2000 characters, or contains U+0000";
    InvalidQuery = "INVALID_QUERY", 400, Http, "the search query is blank or contains U+0000";
    InvalidRequest = "INVALID_REQUEST", 400, Http,
        "the other user is the caller (a conversation or a block with oneself)";
    InvalidCursor = "INVALID_CURSOR", 400, Http,
        "`since` is not a cursor of the caller's event stream";
    CursorExpired = "CURSOR_EXPIRED", 410, Both,
        "`since` is older than the event retention (`SYNC_RETENTION`), or (on a socket) not the caller's; reload over REST";
    ConversationExists = "CONVERSATION_EXISTS", 400, Http,
        "the pair already has a conversation; `details.conversationId` names it";
    NoAuthCode = "NO_AUTH_CODE", 400, Http, "the provider's callback came without a code";
    InvalidState = "INVALID_STATE", 400, Http,
        "the OAuth state is missing, unsigned, expired, already used or does not match";
    TokenExchangeFailed = "TOKEN_EXCHANGE_FAILED", 400, Http,
        "the provider refused the authorization code";
    UserFetchFailed = "USER_FETCH_FAILED", 400, Http, "the provider's profile endpoints failed";
    NoEmail = "NO_EMAIL", 400, Http, "the provider reported no e-mail address";
    EmailNotVerified = "EMAIL_NOT_VERIFIED", 400, Http, "the provider's address is not verified";
    NoToken = "NO_TOKEN", 401, Both, "no `auth` cookie and no bearer token";
    TokenExpired = "TOKEN_EXPIRED", 401, Both, "the session has expired";
    InvalidToken = "INVALID_TOKEN", 401, Both,
        "the token or cookie is not ours, or its user is gone";
    SessionRevoked = "SESSION_REVOKED", 401, Both, "the session was logged out or rotated";
    AccessDenied = "ACCESS_DENIED", 403, Http,
        "message search in a conversation the caller is not part of";
    Forbidden = "FORBIDDEN", 403, Http, "the caller is not a participant of the conversation";
    Blocked = "BLOCKED", 403, Http,
        "one of the two users blocks the other: no new conversation or message between them";
    OriginNotAllowed = "ORIGIN_NOT_ALLOWED", 403, Both,
        "a state-changing request or a handshake from an origin that is not allowed";
    ProviderDisabled = "PROVIDER_DISABLED", 404, Http, "this sign-in provider is not configured";
    UserNotFound = "USER_NOT_FOUND", 404, Http, "no such user";
    ConversationNotFound = "CONVERSATION_NOT_FOUND", 404, Http, "no such conversation";
    MessageNotFound = "MESSAGE_NOT_FOUND", 404, Http,
        "no such message, or not one the caller may act on";
    RouteNotFound = "ROUTE_NOT_FOUND", 404, Http,
        "no route has this path (a path outside this document)";
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, Http,
        "the path exists, but not with this method (see `Allow`)";
    IdempotencyConflict = "IDEMPOTENCY_CONFLICT", 409, Http,
        "the `clientMessageId` was used before with another conversation or other content";
    BodyTooLarge = "BODY_TOO_LARGE", 413, Http, "the body is over 1 MiB";
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415, Http,
        "the body is not `application/json`";
    RateLimited = "RATE_LIMITED", 429, Both,
        "over the rate limit; see `Retry-After` (socket: too many events)";
    InternalServerError = "INTERNAL_SERVER_ERROR", 500, Both,
        "a server fault, never a client mistake";
    ServiceUnavailable = "SERVICE_UNAVAILABLE", 503, Http,
        "the database is unreachable, or it rolled the request's transaction back to break a lock conflict (nothing was written); retry";
    InvalidStatus = "INVALID_STATUS", 400, Socket,
        "`update_status` with something other than `online` or `offline`";
    InvalidChatId = "INVALID_CHAT_ID", 400, Socket,
        "`typing` for a conversation id that is malformed or not the caller's";
    InvalidTypingStatus = "INVALID_TYPING_STATUS", 400, Socket,
        "`typing` with an `isTyping` that is not a boolean";
}

impl ErrorCode {
    /// The HTTP reason phrase of the code's status, e.g. `Not Found`.
    pub fn reason_phrase(self) -> &'static str {
        http::StatusCode::from_u16(self.status())
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Errors every operation can answer with (rate limit, faults, the database away, CORS, routing),
/// the likeliest first: the OpenAPI document shows them in this order, with the first as example.
pub const ALWAYS: &[ErrorCode] = &[
    ErrorCode::RateLimited,
    ErrorCode::ServiceUnavailable,
    ErrorCode::InternalServerError,
    ErrorCode::OriginNotAllowed,
    ErrorCode::MethodNotAllowed,
    ErrorCode::RouteNotFound,
];

/// Errors every authenticated operation can answer with (§2).
pub const AUTHENTICATED: &[ErrorCode] = &[
    ErrorCode::NoToken,
    ErrorCode::TokenExpired,
    ErrorCode::InvalidToken,
    ErrorCode::SessionRevoked,
];

/// Errors every operation that reads a JSON body can answer with (§1.1).
pub const JSON_BODY: &[ErrorCode] = &[
    ErrorCode::SchemaValidationError,
    ErrorCode::InvalidJson,
    ErrorCode::BodyTooLarge,
    ErrorCode::UnsupportedMediaType,
];

/// Errors of an operation with path or query parameters (a malformed id, page or limit).
pub const PARAMETERS: &[ErrorCode] = &[ErrorCode::SchemaValidationError];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_upper_snake_strings() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} listed twice");
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_')
            );
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn the_api_guide_lists_every_code_with_its_status() {
        let guide = include_str!("../../docs/conventions.md");
        for code in ErrorCode::ALL {
            let row = format!("| `{code}` | {} |", code.status());
            assert!(guide.contains(&row), "docs/conventions.md lacks {row}");
        }
    }

    #[test]
    fn codes_serialize_as_their_wire_string() {
        let json = serde_json::to_string(&ErrorCode::InvalidChatId).unwrap();
        assert_eq!(json, "\"INVALID_CHAT_ID\"");
    }
}
