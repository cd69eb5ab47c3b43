//! Sign-in with GitHub and Google: the authorization-code flow (with PKCE for Google) through the
//! `oauth2` crate, then the provider's profile APIs, ending in a verified [`ProviderProfile`].
//!
//! Provider HTTP calls have a timeout and follow no redirects (a redirect from a token endpoint is
//! a misconfiguration or an attack, never something to chase with credentials attached). Provider
//! access tokens live only in this module's locals: they are never stored, logged or put in a JWT.

use std::time::Duration;

use chrono::Utc;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
    basic::BasicClient,
};
use serde::Deserialize;

use crate::{
    config::{Config, ExposeSecret, OAuthProviderConfig},
    data::user::{Provider, ProviderProfile},
};

mod state;

pub use state::{LoginState, STATE_TTL, prune_used_states};

/// How long one provider call may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

type ConfiguredClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Why a sign-in could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The provider refused the code (or its token endpoint failed).
    #[error("token exchange failed: {0}")]
    TokenExchange(String),
    /// The profile endpoints failed.
    #[error("profile fetch failed: {0}")]
    UserFetch(String),
    /// No e-mail address.
    #[error("the provider reported no e-mail address")]
    NoEmail,
    /// The address is not verified.
    #[error("the provider's e-mail address is not verified")]
    EmailNotVerified,
}

/// One configured provider.
struct ProviderClient {
    provider: Provider,
    client: ConfiguredClient,
    api_url: String,
}

/// The enabled providers and the HTTP client they share.
pub struct OAuthClients {
    github: Option<ProviderClient>,
    google: Option<ProviderClient>,
    http: reqwest::Client,
}

impl OAuthClients {
    /// Builds the clients of every provider that has a client id.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .user_agent(concat!("Confab/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            github: provider_client(Provider::Github, &config.github)?,
            google: provider_client(Provider::Google, &config.google)?,
            http,
        })
    }

    /// Whether the provider is configured.
    pub fn is_enabled(&self, provider: Provider) -> bool {
        self.get(provider).is_some()
    }

    fn get(&self, provider: Provider) -> Option<&ProviderClient> {
        match provider {
            Provider::Github => self.github.as_ref(),
            Provider::Google => self.google.as_ref(),
        }
    }

    /// The provider's authorization URL and the state to keep for the callback; `None` when the
    /// provider is disabled.
    pub fn start(&self, provider: Provider) -> Option<(String, LoginState)> {
        let p = self.get(provider)?;
        let mut request = p.client.authorize_url(CsrfToken::new_random);
        let mut verifier = None;
        match provider {
            Provider::Github => {
                request = request.add_scope(Scope::new("read:user".into()));
                request = request.add_scope(Scope::new("user:email".into()));
            }
            Provider::Google => {
                for scope in ["openid", "email", "profile"] {
                    request = request.add_scope(Scope::new(scope.into()));
                }
                let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
                request = request.set_pkce_challenge(challenge);
                verifier = Some(pkce_verifier.secret().clone());
            }
        }
        let (url, csrf) = request.url();
        Some((
            url.to_string(),
            LoginState {
                csrf: csrf.secret().clone(),
                pkce_verifier: verifier,
                issued_at: Utc::now().timestamp(),
            },
        ))
    }

    /// Exchanges the code and fetches the verified profile.
    pub async fn complete(
        &self,
        provider: Provider,
        code: String,
        state: &LoginState,
    ) -> Result<ProviderProfile, OAuthError> {
        let p = self
            .get(provider)
            .ok_or_else(|| OAuthError::TokenExchange("provider disabled".into()))?;
        let mut exchange = p.client.exchange_code(AuthorizationCode::new(code));
        if let Some(verifier) = &state.pkce_verifier {
            exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(verifier.clone()));
        }
        let token = exchange
            .request_async(&self.http)
            .await
            .map_err(|e| OAuthError::TokenExchange(e.to_string()))?;
        let access_token = token.access_token().secret();
        match provider {
            Provider::Github => self.github_profile(&p.api_url, access_token).await,
            Provider::Google => self.google_profile(&p.api_url, access_token).await,
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<T, OAuthError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| OAuthError::UserFetch(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(OAuthError::UserFetch(format!("HTTP {}", response.status())));
        }
        response
            .json()
            .await
            .map_err(|e| OAuthError::UserFetch(e.without_url().to_string()))
    }

    async fn github_profile(
        &self,
        api_url: &str,
        access_token: &str,
    ) -> Result<ProviderProfile, OAuthError> {
        #[derive(Deserialize)]
        struct GithubUser {
            id: u64,
            login: String,
            name: Option<String>,
            email: Option<String>,
            avatar_url: Option<String>,
        }
        #[derive(Deserialize)]
        struct GithubEmail {
            email: String,
            primary: bool,
            verified: bool,
        }
        let user: GithubUser = self
            .get_json(&format!("{api_url}/user"), access_token)
            .await?;
        // A public profile address is always a verified one on GitHub.
        let email = match user.email.filter(|e| !e.trim().is_empty()) {
            Some(email) => email,
            None => {
                let emails: Vec<GithubEmail> = self
                    .get_json(&format!("{api_url}/user/emails"), access_token)
                    .await?;
                match emails.iter().find(|e| e.primary && e.verified) {
                    Some(primary) => primary.email.clone(),
                    None if emails.iter().any(|e| e.primary) => {
                        return Err(OAuthError::EmailNotVerified);
                    }
                    None => return Err(OAuthError::NoEmail),
                }
            }
        };
        Ok(ProviderProfile {
            provider: Provider::Github,
            provider_user_id: user.id.to_string(),
            name: Some(user.name.unwrap_or_else(|| user.login.clone())),
            avatar: Some(
                user.avatar_url
                    .unwrap_or_else(|| format!("https://github.com/identicons/{}.png", user.login)),
            ),
            username_hint: user.login,
            email,
        })
    }

    async fn google_profile(
        &self,
        userinfo_url: &str,
        access_token: &str,
    ) -> Result<ProviderProfile, OAuthError> {
        #[derive(Deserialize)]
        struct GoogleUser {
            sub: String,
            email: Option<String>,
            #[serde(default)]
            email_verified: serde_json::Value,
            name: Option<String>,
            picture: Option<String>,
        }
        let user: GoogleUser = self.get_json(userinfo_url, access_token).await?;
        let email = user
            .email
            .filter(|e| !e.trim().is_empty())
            .ok_or(OAuthError::NoEmail)?;
        // OpenID says boolean; some deployments send the string "true".
        let verified = matches!(&user.email_verified, serde_json::Value::Bool(true))
            || user.email_verified.as_str() == Some("true");
        if !verified {
            return Err(OAuthError::EmailNotVerified);
        }
        let local_part = email.split('@').next().unwrap_or_default().to_owned();
        Ok(ProviderProfile {
            provider: Provider::Google,
            provider_user_id: user.sub,
            username_hint: local_part,
            avatar: user.picture.or_else(|| {
                user.name.as_ref().map(|n| {
                    format!(
                        "https://ui-avatars.com/api/?name={}&background=4285f4&color=fff",
                        urlencoding::encode(n)
                    )
                })
            }),
            name: user.name,
            email,
        })
    }
}

fn provider_client(
    provider: Provider,
    config: &OAuthProviderConfig,
) -> anyhow::Result<Option<ProviderClient>> {
    let Some(client_id) = &config.client_id else {
        return Ok(None);
    };
    let mut client = BasicClient::new(ClientId::new(client_id.clone()))
        .set_auth_uri(AuthUrl::new(config.authorize_url.clone())?)
        .set_token_uri(TokenUrl::new(config.token_url.clone())?)
        .set_redirect_uri(RedirectUrl::new(config.redirect_url.clone())?);
    if let Some(secret) = &config.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
    }
    Ok(Some(ProviderClient {
        provider,
        client,
        api_url: config.api_url.clone(),
    }))
}

impl std::fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderClient")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}
