//! The OAuth section: one function reads a provider's variables, called for GitHub and for Google.

use secrecy::SecretString;

use super::{
    ConfigError, Env,
    env::{url_or, var},
};

/// One OAuth provider's settings. A provider without a client id is disabled.
#[derive(Debug, Clone)]
pub struct OAuthProviderConfig {
    /// `None` disables the provider (`404 PROVIDER_DISABLED`).
    pub client_id: Option<String>,
    /// The OAuth client secret.
    pub client_secret: Option<SecretString>,
    /// Where the provider sends the browser back (`{PUBLIC_URL}/auth/{provider}/callback` by default).
    pub redirect_url: String,
    /// The provider's authorization endpoint.
    pub authorize_url: String,
    /// The provider's token endpoint.
    pub token_url: String,
    /// GitHub's REST API base, or Google's OpenID userinfo endpoint.
    pub api_url: String,
}

impl OAuthProviderConfig {
    /// Whether the provider is configured (a client id, hence also a secret).
    pub fn is_enabled(&self) -> bool {
        self.client_id.is_some()
    }
}

/// A provider's variable names and default endpoints.
pub(super) struct ProviderVars {
    /// Lower-case name, as in `/auth/{name}/callback`.
    pub name: &'static str,
    pub client_id: &'static str,
    pub client_secret: &'static str,
    pub redirect_url: &'static str,
    pub authorize_url: (&'static str, &'static str),
    pub token_url: (&'static str, &'static str),
    /// GitHub's API base or Google's userinfo endpoint.
    pub api_url: (&'static str, &'static str),
}

pub(super) const GITHUB: ProviderVars = ProviderVars {
    name: "github",
    client_id: "GITHUB_CLIENT_ID",
    client_secret: "GITHUB_CLIENT_SECRET",
    redirect_url: "GITHUB_REDIRECT_URL",
    authorize_url: (
        "GITHUB_AUTHORIZE_URL",
        "https://github.com/login/oauth/authorize",
    ),
    token_url: (
        "GITHUB_TOKEN_URL",
        "https://github.com/login/oauth/access_token",
    ),
    api_url: ("GITHUB_API_URL", "https://api.github.com"),
};

pub(super) const GOOGLE: ProviderVars = ProviderVars {
    name: "google",
    client_id: "GOOGLE_CLIENT_ID",
    client_secret: "GOOGLE_CLIENT_SECRET",
    redirect_url: "GOOGLE_REDIRECT_URL",
    authorize_url: (
        "GOOGLE_AUTHORIZE_URL",
        "https://accounts.google.com/o/oauth2/v2/auth",
    ),
    token_url: ("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
    api_url: (
        "GOOGLE_USERINFO_URL",
        "https://openidconnect.googleapis.com/v1/userinfo",
    ),
};

impl OAuthProviderConfig {
    /// Reads one provider; its callback defaults to `{public_url}/auth/{name}/callback`.
    pub(super) fn from_source(
        env: &dyn Env,
        vars: &ProviderVars,
        public_url: &str,
    ) -> Result<Self, ConfigError> {
        let endpoint =
            |(name, default): (&'static str, &str)| url_or(name, var(env, name), default);
        let config = Self {
            client_id: var(env, vars.client_id),
            client_secret: var(env, vars.client_secret).map(SecretString::from),
            redirect_url: url_or(
                vars.redirect_url,
                var(env, vars.redirect_url),
                &format!("{public_url}/auth/{}/callback", vars.name),
            )?,
            authorize_url: endpoint(vars.authorize_url)?,
            token_url: endpoint(vars.token_url)?,
            api_url: endpoint(vars.api_url)?,
        };
        if config.client_id.is_some() && config.client_secret.is_none() {
            return Err(ConfigError::new(
                vars.client_secret,
                "is required when the client id is set",
            ));
        }
        Ok(config)
    }
}
