//! Typed configuration, read once from the environment (and `.env` when present).
//!
//! Every variable Confab reads is listed in [`VARIABLES`] and documented in `.env.example`; a test keeps
//! the two in step. A bad value stops the server at start with a message that names the variable.

use std::{
    collections::HashMap,
    fmt,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use rand::RngCore;

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
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// A string that never shows itself in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
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

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default on a terminal).
    Pretty,
    /// One JSON object per line (the default otherwise).
    Json,
}

/// One OAuth provider's settings. A provider without a client id is disabled.
#[derive(Debug, Clone)]
pub struct OAuthProviderConfig {
    /// `None` disables the provider (`404 PROVIDER_DISABLED`).
    pub client_id: Option<String>,
    /// The OAuth client secret.
    pub client_secret: Option<Secret>,
    /// Where the provider sends the browser back (`{PUBLIC_URL}/auth/{provider}/callback` by default).
    pub redirect_url: String,
    /// The provider's authorization endpoint.
    pub authorize_url: String,
    /// The provider's token endpoint.
    pub token_url: String,
    /// GitHub's REST API base, or Google's OpenID userinfo endpoint.
    pub api_url: String,
}

/// Logging settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// An `EnvFilter` directive (`LOG_LEVEL`, or `RUST_LOG` when that is unset).
    pub filter: String,
    /// Pretty or JSON.
    pub format: LogFormat,
    /// When set, logs also go to daily-rotated files here.
    pub dir: Option<PathBuf>,
}

/// All of Confab's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Development or production.
    pub app_env: AppEnv,
    /// Address to listen on.
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one, for tests).
    pub port: u16,
    /// Where Confab is reached from outside (used in redirects and the OpenAPI document).
    pub public_url: String,
    /// The web frontend's origin; the browser is sent here after sign-in.
    pub frontend_url: String,
    /// Origins allowed to call with credentials: `FRONTEND_URL` plus `CORS_ORIGINS`.
    pub cors_origins: Vec<String>,
    /// An external PostgreSQL server; `None` runs the embedded cluster under `data_dir`.
    pub database_url: Option<Secret>,
    /// Maximum connections in the database pool.
    pub database_pool_size: u32,
    /// Where the embedded database and generated development secrets live.
    pub data_dir: PathBuf,
    /// Signs the `auth` and OAuth-state cookies.
    pub cookie_secret: Secret,
    /// Signs session JWTs (HS256).
    pub jwt_secret: Secret,
    /// `false` only for plain-http development on a non-localhost address.
    pub cookie_secure: bool,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// How long a session read from the database is trusted before it is read again; bounds how
    /// long a revocation on another instance goes unseen here (0 disables the cache).
    pub session_cache_ttl: Duration,
    /// How long a user whose last socket dropped stays online (a quick reconnect does not flap).
    pub presence_grace: Duration,
    /// GitHub OAuth.
    pub github: OAuthProviderConfig,
    /// Google OAuth.
    pub google: OAuthProviderConfig,
    /// How many reverse-proxy hops in `X-Forwarded-For` to trust (0: ignore the header).
    pub trust_proxy: usize,
    /// Requests per minute (sustained) and burst per signed-in user.
    pub rate_limit_user: (u32, u32),
    /// Requests per minute (sustained) and burst per client IP, for unauthenticated requests.
    pub rate_limit_ip: (u32, u32),
    /// Logging.
    pub log: LogConfig,
}

/// A source of variables: the process environment in production, a map in tests.
pub trait Env {
    /// The variable's value; empty values count as unset.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name)
            .cloned()
            .filter(|v| !v.trim().is_empty())
    }
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

    /// Reads the configuration from any [`Env`] (tests pass a map).
    pub fn from_source(env: &dyn Env) -> Result<Self, ConfigError> {
        let var = |name: &'static str| {
            debug_assert!(VARIABLES.contains(&name), "{name} missing from VARIABLES");
            env.get(name)
        };
        let app_env = match var("APP_ENV")
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
        let host = parse_or("HOST", var("HOST"), "0.0.0.0".parse().ok())?;
        let port = parse_or("PORT", var("PORT"), Some(7200))?;
        let public_url = url_or("PUBLIC_URL", var("PUBLIC_URL"), "http://localhost:7200")?;
        let frontend_url = url_or("FRONTEND_URL", var("FRONTEND_URL"), "http://localhost:3000")?;
        let mut cors_origins = vec![frontend_url.clone()];
        for origin in var("CORS_ORIGINS").unwrap_or_default().split(',') {
            let origin = origin.trim();
            if origin.is_empty() {
                continue;
            }
            let origin = url_or("CORS_ORIGINS", Some(origin.to_owned()), "")?;
            if !cors_origins.contains(&origin) {
                cors_origins.push(origin);
            }
        }
        let database_url = var("DATABASE_URL").or_else(|| var("DATABASE_URI"));
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::new(
                "DATABASE_URL",
                "must be a postgres:// or postgresql:// URL",
            ));
        }
        let database_pool_size: u32 =
            parse_or("DATABASE_POOL_SIZE", var("DATABASE_POOL_SIZE"), Some(16))?;
        if database_pool_size == 0 {
            return Err(ConfigError::new("DATABASE_POOL_SIZE", "must be at least 1"));
        }
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let cookie_secure = parse_bool("COOKIE_SECURE", var("COOKIE_SECURE"), true)?;
        let session_ttl = match var("SESSION_TTL") {
            None => Duration::from_secs(7 * 24 * 3600),
            Some(raw) => parse_duration(&raw).ok_or_else(|| {
                ConfigError::new(
                    "SESSION_TTL",
                    format!("`{raw}` is not a duration like 3600, 90m, 12h or 7d"),
                )
            })?,
        };
        let session_cache_ttl = match var("SESSION_CACHE_TTL").as_deref() {
            None => Duration::from_secs(25),
            Some("0") => Duration::ZERO,
            Some(raw) => match parse_duration(raw) {
                Some(ttl) if ttl <= Duration::from_secs(30) => ttl,
                _ => {
                    return Err(ConfigError::new(
                        "SESSION_CACHE_TTL",
                        format!(
                            "`{raw}` is not a duration from 0 to 30s (revocations must reach every instance within 30 s)"
                        ),
                    ));
                }
            },
        };
        let presence_grace = match var("PRESENCE_GRACE").as_deref() {
            None => Duration::from_secs(3),
            Some("0") => Duration::ZERO,
            Some(raw) => parse_duration(raw).ok_or_else(|| {
                ConfigError::new(
                    "PRESENCE_GRACE",
                    format!("`{raw}` is not a duration like 3s"),
                )
            })?,
        };
        let trust_proxy = match var("TRUST_PROXY").as_deref() {
            None | Some("false") => 0,
            Some("true") => 1,
            Some(raw) => raw.parse().map_err(|_| {
                ConfigError::new(
                    "TRUST_PROXY",
                    format!("`{raw}` is not a number of proxy hops (0, 1, 2, …)"),
                )
            })?,
        };
        let positive = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            let value: u32 = parse_or(name, var(name), Some(default))?;
            if value == 0 {
                return Err(ConfigError::new(name, "must be at least 1"));
            }
            Ok(value)
        };
        let rate_limit_user = (
            positive("RATE_LIMIT_USER_PER_MINUTE", 1200)?,
            positive("RATE_LIMIT_USER_BURST", 200)?,
        );
        let rate_limit_ip = (
            positive("RATE_LIMIT_IP_PER_MINUTE", 300)?,
            positive("RATE_LIMIT_IP_BURST", 60)?,
        );
        let log = LogConfig {
            filter: var("LOG_LEVEL")
                .or_else(|| var("RUST_LOG"))
                .unwrap_or_else(|| "info".into()),
            format: match var("LOG_FORMAT").as_deref() {
                None | Some("auto") => {
                    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                        LogFormat::Pretty
                    } else {
                        LogFormat::Json
                    }
                }
                Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(ConfigError::new(
                        "LOG_FORMAT",
                        format!("`{other}` is not `pretty`, `json` or `auto`"),
                    ));
                }
            },
            dir: var("LOG_DIR").map(PathBuf::from),
        };
        let github = OAuthProviderConfig {
            client_id: var("GITHUB_CLIENT_ID"),
            client_secret: var("GITHUB_CLIENT_SECRET").map(Secret),
            redirect_url: url_or(
                "GITHUB_REDIRECT_URL",
                var("GITHUB_REDIRECT_URL"),
                &format!("{public_url}/auth/github/callback"),
            )?,
            authorize_url: url_or(
                "GITHUB_AUTHORIZE_URL",
                var("GITHUB_AUTHORIZE_URL"),
                "https://github.com/login/oauth/authorize",
            )?,
            token_url: url_or(
                "GITHUB_TOKEN_URL",
                var("GITHUB_TOKEN_URL"),
                "https://github.com/login/oauth/access_token",
            )?,
            api_url: url_or(
                "GITHUB_API_URL",
                var("GITHUB_API_URL"),
                "https://api.github.com",
            )?,
        };
        let google = OAuthProviderConfig {
            client_id: var("GOOGLE_CLIENT_ID"),
            client_secret: var("GOOGLE_CLIENT_SECRET").map(Secret),
            redirect_url: url_or(
                "GOOGLE_REDIRECT_URL",
                var("GOOGLE_REDIRECT_URL"),
                &format!("{public_url}/auth/google/callback"),
            )?,
            authorize_url: url_or(
                "GOOGLE_AUTHORIZE_URL",
                var("GOOGLE_AUTHORIZE_URL"),
                "https://accounts.google.com/o/oauth2/v2/auth",
            )?,
            token_url: url_or(
                "GOOGLE_TOKEN_URL",
                var("GOOGLE_TOKEN_URL"),
                "https://oauth2.googleapis.com/token",
            )?,
            api_url: url_or(
                "GOOGLE_USERINFO_URL",
                var("GOOGLE_USERINFO_URL"),
                "https://openidconnect.googleapis.com/v1/userinfo",
            )?,
        };
        for (name, provider) in [
            ("GITHUB_CLIENT_SECRET", &github),
            ("GOOGLE_CLIENT_SECRET", &google),
        ] {
            if provider.client_id.is_some() && provider.client_secret.is_none() {
                return Err(ConfigError::new(
                    name,
                    "is required when the client id is set",
                ));
            }
        }

        let cookie_secret = secret(app_env, "COOKIE_SECRET", var("COOKIE_SECRET"), &data_dir)?;
        let jwt_secret = secret(app_env, "JWT_SECRET", var("JWT_SECRET"), &data_dir)?;
        if cookie_secret == jwt_secret {
            return Err(ConfigError::new(
                "JWT_SECRET",
                "must differ from COOKIE_SECRET (one secret per purpose)",
            ));
        }

        Ok(Self {
            app_env,
            host,
            port,
            public_url,
            frontend_url,
            cors_origins,
            database_url: database_url.map(Secret),
            database_pool_size,
            data_dir,
            cookie_secret,
            jwt_secret,
            cookie_secure,
            session_ttl,
            session_cache_ttl,
            presence_grace,
            github,
            google,
            trust_proxy,
            rate_limit_user,
            rate_limit_ip,
            log,
        })
    }
}

fn parse_or<T: std::str::FromStr>(
    name: &'static str,
    raw: Option<String>,
    default: Option<T>,
) -> Result<T, ConfigError> {
    match raw {
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| ConfigError::new(name, format!("`{raw}` is not a valid value"))),
        None => default.ok_or_else(|| ConfigError::new(name, "is required")),
    }
}

fn parse_bool(name: &'static str, raw: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::new(
            name,
            format!("`{other}` is not true or false"),
        )),
    }
}

/// An absolute http(s) URL without a trailing slash (so `{url}/path` joins cleanly).
fn url_or(name: &'static str, raw: Option<String>, default: &str) -> Result<String, ConfigError> {
    let url = raw.unwrap_or_else(|| default.to_owned());
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(url.to_owned()),
        _ => Err(ConfigError::new(
            name,
            format!("`{url}` is not an absolute http:// or https:// URL"),
        )),
    }
}

/// Parses `3600`, `3600s`, `90m`, `12h` or `7d`.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Reads a signing secret. In production it must be given; in development a missing one is generated
/// once and kept in `DATA_DIR/secrets/NAME`, so sessions survive restarts.
fn secret(
    app_env: AppEnv,
    name: &'static str,
    raw: Option<String>,
    data_dir: &Path,
) -> Result<Secret, ConfigError> {
    if let Some(value) = raw {
        if value.len() < MIN_SECRET_LEN {
            return Err(ConfigError::new(
                name,
                format!(
                    "is {} bytes; it must be at least {MIN_SECRET_LEN} (try: openssl rand -hex 32)",
                    value.len()
                ),
            ));
        }
        return Ok(Secret(value));
    }
    if app_env == AppEnv::Production {
        return Err(ConfigError::new(
            name,
            format!(
                "is required when APP_ENV=production (at least {MIN_SECRET_LEN} bytes; try: openssl rand -hex 32)"
            ),
        ));
    }
    let path = data_dir.join("secrets").join(name.to_ascii_lowercase());
    if let Ok(stored) = std::fs::read_to_string(&path) {
        let stored = stored.trim().to_owned();
        if stored.len() >= MIN_SECRET_LEN {
            return Ok(Secret(stored));
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let generated: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private_file(&path, &generated).map_err(|e| {
        ConfigError::new(
            name,
            format!(
                "is unset and could not be generated into {}: {e}",
                path.display()
            ),
        )
    })?;
    // Logging is not set up yet when configuration is read, so this goes straight to stderr.
    eprintln!(
        "warning: {name} is not set; generated one for development and kept it in {}",
        path.display()
    );
    Ok(Secret(generated))
}

/// Writes a file only its owner can read.
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
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
        let text = include_str!("../.env.example");
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
                .database_url
                .map(|s| s.expose().to_owned())
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
        assert_eq!(first.cookie_secret, second.cookie_secret);
        assert_eq!(first.jwt_secret, second.jwt_secret);
        assert_ne!(first.cookie_secret, first.jwt_secret);
        assert!(first.cookie_secret.expose().len() >= MIN_SECRET_LEN);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = Config::from_source(&env(&[("COOKIE_SECRET", A), ("JWT_SECRET", B)])).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains(A) && !debug.contains(B));
    }

    #[test]
    fn durations_accept_units() {
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("5w"), None);
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
            config.cors_origins,
            vec!["https://chat.example.com", "https://a.example.com"]
        );
    }
}
