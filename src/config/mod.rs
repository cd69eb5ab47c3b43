//! Typed configuration, read once from the environment (and `.env` when present).
//!
//! Every variable Confab reads is listed in [`VARIABLES`] and documented in `.env.example`; a test keeps
//! the two in step. A bad value stops the server at start with a message that names the variable.

mod database;
mod env;
mod http;
mod log;
mod oauth;
mod realtime;
mod session;

use std::time::Duration;

pub use database::DatabaseConfig;
pub use env::{Env, ProcessEnv, parse_duration};
use env::{duration_or, var};
pub use http::HttpConfig;
pub use log::{LogConfig, LogFormat, RateLimit, RateLimits};
pub use oauth::OAuthProviderConfig;
pub use realtime::{PresenceConfig, RedisConfig};
/// Re-exported so that users of secrets need no `secrecy` dependency of their own.
pub use secrecy::{ExposeSecret, SecretString};
pub use session::SessionConfig;

/// Every environment variable Confab reads. `.env.example` documents exactly these.
pub const VARIABLES: &[&str] = &[
    "APP_ENV",
    "HOST",
    "PORT",
    "PUBLIC_URL",
    "FRONTEND_URL",
    "CORS_ORIGINS",
    "DATABASE_URL",
    "DATABASE_URI",
    "DATABASE_POOL_SIZE",
    "DATA_DIR",
    "COOKIE_SECRET",
    "JWT_SECRET",
    "COOKIE_SECURE",
    "SESSION_TTL",
    "SESSION_CACHE_TTL",
    "PRESENCE_GRACE",
    "SOCKET_PING_INTERVAL",
    "SOCKET_PING_TIMEOUT",
    "TYPING_TIMEOUT",
    "PRESENCE_TTL",
    "REDIS_URL",
    "SYNC_RETENTION",
    "GITHUB_CLIENT_ID",
    "GITHUB_CLIENT_SECRET",
    "GITHUB_REDIRECT_URL",
    "GITHUB_AUTHORIZE_URL",
    "GITHUB_TOKEN_URL",
    "GITHUB_API_URL",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "GOOGLE_REDIRECT_URL",
    "GOOGLE_AUTHORIZE_URL",
    "GOOGLE_TOKEN_URL",
    "GOOGLE_USERINFO_URL",
    "TRUST_PROXY",
    "HTTP_HEADER_TIMEOUT",
    "HTTP_IDLE_TIMEOUT",
    "HTTP_MAX_CONNECTIONS",
    "RATE_LIMIT_USER_PER_MINUTE",
    "RATE_LIMIT_USER_BURST",
    "RATE_LIMIT_IP_PER_MINUTE",
    "RATE_LIMIT_IP_BURST",
    "LOG_LEVEL",
    "RUST_LOG",
    "LOG_FORMAT",
    "LOG_DIR",
];

/// Secrets must be at least this long (bytes): `cookie::Key::derive_from` needs 32, and HS256 keys
/// shorter than the hash output weaken it.
pub const MIN_SECRET_LEN: usize = 32;

/// A configuration value that must be set right before the server may start.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {variable}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it and how to fix it.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// Where the server runs: development relaxes secret handling, production is strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Missing secrets are generated once and kept in `DATA_DIR`.
    Development,
    /// Every secret is required and must be at least [`MIN_SECRET_LEN`] bytes.
    Production,
}

/// All of Confab's configuration, in sections.
#[derive(Debug, Clone)]
pub struct Config {
    /// Development or production.
    pub app_env: AppEnv,
    /// Listening address, public URLs, CORS, proxies.
    pub http: HttpConfig,
    /// The database server or the embedded cluster.
    pub database: DatabaseConfig,
    /// Signing secrets, cookie flags, lifetimes.
    pub session: SessionConfig,
    /// Online/offline reporting, socket liveness, typing.
    pub presence: PresenceConfig,
    /// The Redis shared by several instances (contract §7).
    pub redis: RedisConfig,
    /// How long durable events stay replayable (`SYNC_RETENTION`, contract §6.1).
    pub sync_retention: Duration,
    /// GitHub OAuth.
    pub github: OAuthProviderConfig,
    /// Google OAuth.
    pub google: OAuthProviderConfig,
    /// HTTP rate limits.
    pub rate_limits: RateLimits,
    /// Logging.
    pub log: LogConfig,
}

impl Config {
    /// Reads the configuration from the process environment, loading `.env` first when it exists.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is a configuration error.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(ConfigError::new(
                    "DATA_DIR",
                    format!(".env is malformed: {e}"),
                ));
            }
        }
        Self::from_source(&ProcessEnv)
    }

    /// Reads the configuration from any [`Env`] (tests pass a map), section by section.
    pub fn from_source(env: &dyn Env) -> Result<Self, ConfigError> {
        let app_env = match var(env, "APP_ENV")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("development" | "dev" | "test") => AppEnv::Development,
            Some("production" | "prod") => AppEnv::Production,
            Some(other) => {
                return Err(ConfigError::new(
                    "APP_ENV",
                    format!("`{other}` is not `development` or `production`"),
                ));
            }
        };
        let http = HttpConfig::from_source(env)?;
        let database = DatabaseConfig::from_source(env)?;
        let presence = PresenceConfig::from_source(env)?;
        let redis = RedisConfig::from_source(env)?;
        let sync_retention = duration_or(
            "SYNC_RETENTION",
            var(env, "SYNC_RETENTION"),
            Duration::from_secs(30 * 24 * 3600),
            false,
            "like 30d",
        )?;
        let rate_limits = RateLimits::from_source(env)?;
        let log = LogConfig::from_source(env)?;
        let github = OAuthProviderConfig::from_source(env, &oauth::GITHUB, &http.public_url)?;
        let google = OAuthProviderConfig::from_source(env, &oauth::GOOGLE, &http.public_url)?;
        // Last: in development this may write generated secrets, which must not happen for a
        // configuration that fails anyway.
        let session = SessionConfig::from_source(env, app_env, &database.data_dir)?;
        Ok(Self {
            sync_retention,
            app_env,
            http,
            database,
            session,
            presence,
            redis,
            github,
            google,
            rate_limits,
            log,
        })
    }

    /// The sign-in providers that are configured, by name (`github`, `google`).
    pub fn enabled_providers(&self) -> Vec<&'static str> {
        [("github", &self.github), ("google", &self.google)]
            .into_iter()
            .filter(|(_, provider)| provider.is_enabled())
            .map(|(name, _)| name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const A: &str = "0123456789abcdef0123456789abcdef-cookie";
    const B: &str = "0123456789abcdef0123456789abcdef-jwt";

    #[test]
    fn env_example_documents_exactly_the_variables_read() {
        let text = include_str!("../../.env.example");
        let mut documented: Vec<&str> = text
            .lines()
            .map(|l| l.trim_start_matches('#').trim())
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        documented.sort_unstable();
        documented.dedup();
        let mut read: Vec<&str> = VARIABLES.to_vec();
        read.sort_unstable();
        assert_eq!(documented, read);
    }

    #[test]
    fn readme_configuration_table_lists_every_variable_read() {
        let readme = include_str!("../../README.md");
        let table: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
        for variable in VARIABLES {
            assert!(
                table
                    .iter()
                    .any(|row| row.contains(&format!("`{variable}`"))),
                "README's configuration table lacks {variable}"
            );
        }
    }

    #[test]
    fn production_requires_both_secrets() {
        let err =
            Config::from_source(&env(&[("APP_ENV", "production"), ("JWT_SECRET", B)])).unwrap_err();
        assert_eq!(err.variable, "COOKIE_SECRET");
    }

    #[test]
    fn short_secrets_are_refused_naming_the_variable() {
        let err = Config::from_source(&env(&[("COOKIE_SECRET", A), ("JWT_SECRET", "short")]))
            .unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        assert!(err.to_string().contains("at least 32"));
    }

    #[test]
    fn bad_port_names_the_variable() {
        let err = Config::from_source(&env(&[
            ("PORT", "seventy"),
            ("COOKIE_SECRET", A),
            ("JWT_SECRET", B),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "PORT");
    }

    #[test]
    fn database_uri_is_accepted_as_an_alias() {
        let config = Config::from_source(&env(&[
            ("DATABASE_URI", "postgres://u:p@db/confab"),
            ("COOKIE_SECRET", A),
            ("JWT_SECRET", B),
        ]))
        .unwrap();
        assert_eq!(
            config
                .database
                .url
                .map(|s| s.expose_secret().to_owned())
                .as_deref(),
            Some("postgres://u:p@db/confab")
        );
    }

    #[test]
    fn development_generates_missing_secrets_once_and_keeps_them() {
        let dir = std::env::temp_dir().join(format!("confab-config-{}", uuid::Uuid::now_v7()));
        let vars = env(&[("DATA_DIR", dir.to_str().unwrap())]);
        let first = Config::from_source(&vars).unwrap();
        let second = Config::from_source(&vars).unwrap();
        let (first, second) = (first.session, second.session);
        assert_eq!(
            first.cookie_secret.expose_secret(),
            second.cookie_secret.expose_secret()
        );
        assert_eq!(
            first.jwt_secret.expose_secret(),
            second.jwt_secret.expose_secret()
        );
        assert_ne!(
            first.cookie_secret.expose_secret(),
            first.jwt_secret.expose_secret()
        );
        assert!(first.cookie_secret.expose_secret().len() >= MIN_SECRET_LEN);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = Config::from_source(&env(&[("COOKIE_SECRET", A), ("JWT_SECRET", B)])).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains(A) && !debug.contains(B));
    }

    #[test]
    fn cors_origins_include_the_frontend_and_drop_trailing_slashes() {
        let config = Config::from_source(&env(&[
            ("FRONTEND_URL", "https://chat.example.com/"),
            (
                "CORS_ORIGINS",
                "https://a.example.com, https://chat.example.com",
            ),
            ("COOKIE_SECRET", A),
            ("JWT_SECRET", B),
        ]))
        .unwrap();
        assert_eq!(
            config.http.cors_origins,
            vec!["https://chat.example.com", "https://a.example.com"]
        );
    }
}
