//! Sign-in with GitHub and Google: `GET /auth/{provider}` and `GET /auth/{provider}/callback`.
//!
//! The state (and Google's PKCE verifier) travels in a signed, HttpOnly, `SameSite=Lax`, 10-minute
//! cookie and is checked server-side on the callback: signed, matching, younger than 10 minutes
//! (its signed start time), and not used before on any instance (`used_oauth_states`). It is
//! cleared once used.

use poem::{Request, web::cookie::CookieJar};
use poem_openapi::{ApiResponse, OpenApi, param::Query};

use super::{Tag, param::Text};
use crate::{
    data::user::Provider,
    error::{ApiError, ErrorSet, Failure},
    oauth::{LoginState, OAuthError},
    session::{auth::cookie_headers, cookie::CookieRead},
    state::AppState,
    wire::ErrorCode,
};

/// The sign-in area of the API.
pub struct OAuthApi {
    state: AppState,
}

impl OAuthApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

crate::error_set!(
    /// Errors of `GET /auth/{provider}`.
    StartErrors: [ErrorCode::ProviderDisabled]);

crate::error_set!(
    /// Errors of `GET /auth/{provider}/callback`.
    CallbackErrors: [ErrorCode::NoAuthCode, ErrorCode::InvalidState, ErrorCode::TokenExchangeFailed, ErrorCode::UserFetchFailed, ErrorCode::NoEmail, ErrorCode::EmailNotVerified, ErrorCode::ProviderDisabled]);

/// A redirect.
#[derive(ApiResponse)]
pub enum RedirectResponse {
    /// To the provider (sign-in start), or back to the frontend (callback; with `?error=` when the
    /// provider reported one). Cookies are set with `Set-Cookie`.
    #[oai(status = 302)]
    Found(#[oai(header = "Location")] String),
}

#[OpenApi(tag = "Tag::Authentication")]
impl OAuthApi {
    /// Sign in with GitHub
    ///
    /// Redirects to GitHub's authorization page with a fresh `state`, kept in the signed
    /// `github_oauth_state` cookie.
    #[oai(path = "/auth/github", method = "get", operation_id = "githubLogin")]
    async fn github_login(
        &self,
        jar: &CookieJar,
    ) -> Result<RedirectResponse, Failure<StartErrors>> {
        start(&self.state, Provider::Github, jar)
    }

    /// GitHub sign-in callback
    ///
    /// Verifies the state, exchanges the code, fetches the profile (and `/user/emails` when the
    /// profile has no public address), signs the user in and redirects to `FRONTEND_URL`.
    #[oai(
        path = "/auth/github/callback",
        method = "get",
        operation_id = "githubCallback"
    )]
    async fn github_callback(
        &self,
        /// The authorization code.
        code: Query<Option<Text>>,
        /// The state sent at the start.
        state: Query<Option<Text>>,
        /// Set by the provider when the user declined or the request was refused.
        error: Query<Option<Text>>,
        req: &Request,
        jar: &CookieJar,
    ) -> Result<RedirectResponse, Failure<CallbackErrors>> {
        let returned = Returned {
            code: code.0.map(|t| t.0),
            state: state.0.map(|t| t.0),
            error: error.0.map(|t| t.0),
        };
        callback(&self.state, Provider::Github, returned, req, jar).await
    }

    /// Sign in with Google
    ///
    /// Redirects to Google's authorization page with a fresh `state` and a PKCE challenge, both
    /// kept in the signed `google_oauth_state` cookie.
    #[oai(path = "/auth/google", method = "get", operation_id = "googleLogin")]
    async fn google_login(
        &self,
        jar: &CookieJar,
    ) -> Result<RedirectResponse, Failure<StartErrors>> {
        start(&self.state, Provider::Google, jar)
    }

    /// Google sign-in callback
    ///
    /// Verifies the state, exchanges the code with the PKCE verifier, reads the OpenID userinfo
    /// (`email_verified` required), signs the user in and redirects to `FRONTEND_URL`.
    #[oai(
        path = "/auth/google/callback",
        method = "get",
        operation_id = "googleCallback"
    )]
    async fn google_callback(
        &self,
        /// The authorization code.
        code: Query<Option<Text>>,
        /// The state sent at the start.
        state: Query<Option<Text>>,
        /// Set by the provider when the user declined or the request was refused.
        error: Query<Option<Text>>,
        req: &Request,
        jar: &CookieJar,
    ) -> Result<RedirectResponse, Failure<CallbackErrors>> {
        let returned = Returned {
            code: code.0.map(|t| t.0),
            state: state.0.map(|t| t.0),
            error: error.0.map(|t| t.0),
        };
        callback(&self.state, Provider::Google, returned, req, jar).await
    }
}

fn state_cookie_name(provider: Provider) -> String {
    format!("{}_oauth_state", provider.as_str())
}

fn start<S: ErrorSet>(
    state: &AppState,
    provider: Provider,
    jar: &CookieJar,
) -> Result<RedirectResponse, Failure<S>> {
    let (url, login) = state
        .oauth
        .start(provider)
        .ok_or(ApiError::ProviderDisabled(provider.as_str()))?;
    let name = state_cookie_name(provider);
    jar.add(state.sessions.cookies.state_cookie(&name, &login.encode()));
    Ok(RedirectResponse::Found(url))
}

/// What the provider sent back to the callback.
struct Returned {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    state: &AppState,
    provider: Provider,
    returned: Returned,
    req: &Request,
    jar: &CookieJar,
) -> Result<RedirectResponse, Failure<CallbackErrors>> {
    if !state.oauth.is_enabled(provider) {
        return Err(ApiError::ProviderDisabled(provider.as_str()).into());
    }
    let name = state_cookie_name(provider);
    let frontend = &state.config.http.frontend_url;
    if let Some(error) = returned.error {
        jar.add(state.sessions.cookies.state_cookie_removal(&name));
        return Ok(RedirectResponse::Found(format!(
            "{frontend}/auth?error={}",
            urlencoding::encode(&error)
        )));
    }
    let code = returned
        .code
        .filter(|c| !c.is_empty())
        .ok_or(ApiError::NoAuthCode)?;
    let login = verified_login_state(state, req, &name, returned.state.as_deref())?;
    // Single use, on every instance: recorded before the code is exchanged, so a replayed state
    // gets nothing from the provider either.
    let first_use = crate::data::oauth_state::create_used_state(
        &state.db,
        &login.csrf,
        login.used_record_expiry(),
    )
    .await?;
    if !first_use {
        return Err(ApiError::InvalidState.into());
    }
    let profile = state
        .oauth
        .complete(provider, code, &login)
        .await
        .map_err(|e| match e {
            OAuthError::TokenExchange(_) => ApiError::TokenExchangeFailed,
            OAuthError::UserFetch(_) => ApiError::UserFetchFailed,
            OAuthError::NoEmail => ApiError::NoEmail,
            OAuthError::EmailNotVerified => ApiError::EmailNotVerified,
        })?;
    let user = crate::data::user::upsert_user_from_profile(&state.db, &profile).await?;
    let issued = state.sessions.issue(&state.db, user.id).await?;
    tracing::info!(user.id = %user.id, provider = provider.as_str(), "signed in");
    jar.add(state.sessions.cookies.state_cookie_removal(&name));
    jar.add(state.sessions.cookies.session_cookie(&issued.token));
    Ok(RedirectResponse::Found(frontend.clone()))
}

/// The login state from the signed cookie, if it matches the `state` the provider sent back.
fn verified_login_state(
    state: &AppState,
    req: &Request,
    name: &str,
    returned_state: Option<&str>,
) -> Result<LoginState, ApiError> {
    let login = match state.sessions.cookies.read(cookie_headers(req), name) {
        CookieRead::Valid(value) => LoginState::decode(&value),
        CookieRead::Missing | CookieRead::Invalid => None,
    }
    .ok_or(ApiError::InvalidState)?;
    // Constant-time comparison: the state is a secret shared with the browser. (A length
    // mismatch returns early; the length is not secret.)
    let matches = returned_state.is_some_and(|s| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            s.as_bytes(),
            login.csrf.as_bytes(),
        ))
    });
    // The server's own time limit: the cookie's Max-Age binds only an honest browser.
    if matches && login.is_fresh(chrono::Utc::now()) {
        Ok(login)
    } else {
        Err(ApiError::InvalidState)
    }
}
