//! The poem-openapi security scheme: `Auth` is both the OpenAPI declaration (a signed `auth`
//! cookie, or an HTTP bearer token) and the extractor that hands a handler the caller.
//!
//! It is written by hand rather than derived: the derived schemes try cookie and bearer separately
//! and report only a generic failure, while the contract wants a precise code (`NO_TOKEN`,
//! `TOKEN_EXPIRED`, `INVALID_TOKEN`, `SESSION_REVOKED`) and the cookie cleared on the last three.

use poem::{Request, RequestBody, http::header};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaSecurityScheme, Registry},
};

use super::{AuthError, AuthFailure, CurrentUser};
use crate::{error::ApiError, state::AppState};

/// Name of the cookie scheme in the OpenAPI document.
pub const COOKIE_SCHEME: &str = "SessionCookie";
/// Name of the bearer scheme in the OpenAPI document.
pub const BEARER_SCHEME: &str = "BearerToken";

/// The authenticated caller of an operation.
#[derive(Debug, Clone, Copy)]
pub struct Auth(pub CurrentUser);

impl<'a> ApiExtractor<'a> for Auth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            COOKIE_SCHEME,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some(
                    "The `auth` session cookie set by the OAuth callback (signed; HttpOnly). A \
                     browser signed in to this server sends it with every request, \"Try it out\" \
                     included; pages cannot set cookies, so there is nothing to paste here: use \
                     `BearerToken` instead.",
                ),
                name: Some("auth"),
                key_in: Some("cookie"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
        registry.create_security_scheme(
            BEARER_SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "A session JWT in `Authorization: Bearer` (from `confab session create`, for \
                     scripts and bots). Takes precedence over the cookie.",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![COOKIE_SCHEME, BEARER_SCHEME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not attached")))?;
        authenticate_request(state, req)
            .await
            .map(Auth)
            .map_err(Into::into)
    }
}

/// The request's `Cookie` header values.
pub fn cookie_headers(req: &Request) -> impl Iterator<Item = &str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
}

/// The session token of an HTTP request: an explicit `Authorization: Bearer` header, else the
/// signed `auth` cookie.
pub fn request_token(state: &AppState, req: &Request) -> Result<String, AuthError> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    state
        .sessions
        .token_from_http(authorization, cookie_headers(req))
}

/// The application state the routes are mounted with.
fn app_state(req: &Request) -> Result<&AppState, ApiError> {
    req.data::<AppState>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not attached")))
}

/// A request's session token, decoded once by the rate-limit middleware (which needs its user
/// before the handler runs) and kept in the request's extensions for authentication: verifying
/// the signature twice was 7 % of the server's CPU at 2,000 sends a second (BENCHMARKS.md).
#[derive(Clone)]
pub struct DecodedToken {
    /// The token as the request carried it.
    pub token: String,
    /// Its claims, or why it does not verify.
    pub claims: Result<super::token::Claims, super::TokenError>,
}

/// Decodes the request's session token, if it carries one.
pub fn decode_request_token(state: &AppState, req: &Request) -> Option<DecodedToken> {
    let token = request_token(state, req).ok()?;
    let claims = state.sessions.decode_token(&token);
    Some(DecodedToken { token, claims })
}

/// Authenticates an HTTP request; failures become the contract's 401s.
pub async fn authenticate_request(
    state: &AppState,
    req: &Request,
) -> Result<CurrentUser, ApiError> {
    let sessions = &state.sessions;
    let result = match request_token(state, req) {
        Ok(token) => {
            let decoded = req
                .extensions()
                .get::<DecodedToken>()
                .filter(|d| d.token == token)
                .map_or_else(|| sessions.decode_token(&token), |d| d.claims.clone());
            sessions
                .authenticate_decoded(&state.db, decoded)
                .await
                .map(|s| s.user)
        }
        Err(e) => Err(AuthFailure::Refused(e)),
    };
    result.map_err(|failure| match failure {
        AuthFailure::Refused(reason) => ApiError::unauthorized(reason, sessions),
        AuthFailure::Database(e) => e.into(),
    })
}

impl ApiError {
    /// A 401; every reason but a missing token also clears the cookie.
    pub fn unauthorized(reason: AuthError, sessions: &super::Sessions) -> Self {
        let clear_cookie = (reason != AuthError::NoToken)
            .then(|| sessions.cookies.session_cookie_removal().to_string());
        ApiError::Unauthorized {
            reason,
            clear_cookie,
        }
    }
}

/// The raw session token of a request, verified only as far as "it is ours": for logout, which
/// must work with an expired token. Declares the same security schemes as [`Auth`].
#[derive(Debug, Clone)]
pub struct SessionToken(pub String);

impl<'a> ApiExtractor<'a> for SessionToken {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        Auth::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        Auth::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let state = app_state(req)?;
        request_token(state, req)
            .map(SessionToken)
            .map_err(|reason| ApiError::unauthorized(reason, &state.sessions).into())
    }
}
