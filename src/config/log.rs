//! The logging and rate-limit sections: small, and read the same way.

use std::path::PathBuf;

use super::{
    ConfigError, Env,
    env::{positive, var},
};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default on a terminal).
    Pretty,
    /// One JSON object per line (the default otherwise).
    Json,
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

impl LogConfig {
    pub(super) fn from_source(env: &dyn Env) -> Result<Self, ConfigError> {
        let format = match var(env, "LOG_FORMAT").as_deref() {
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
        };
        Ok(Self {
            filter: var(env, "LOG_LEVEL")
                .or_else(|| var(env, "RUST_LOG"))
                .unwrap_or_else(|| "info".into()),
            format,
            dir: var(env, "LOG_DIR").map(PathBuf::from),
        })
    }
}

/// One rate limit: `per_minute` sustained, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests allowed back to back.
    pub burst: u32,
}

/// The HTTP rate limits.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Per signed-in user.
    pub user: RateLimit,
    /// Per client IP, for unauthenticated requests.
    pub ip: RateLimit,
}

impl RateLimits {
    pub(super) fn from_source(env: &dyn Env) -> Result<Self, ConfigError> {
        let limit = |per_minute: (&'static str, u32), burst: (&'static str, u32)| {
            Ok::<_, ConfigError>(RateLimit {
                per_minute: positive(per_minute.0, var(env, per_minute.0), per_minute.1)?,
                burst: positive(burst.0, var(env, burst.0), burst.1)?,
            })
        };
        Ok(Self {
            user: limit(
                ("RATE_LIMIT_USER_PER_MINUTE", 1200),
                ("RATE_LIMIT_USER_BURST", 200),
            )?,
            ip: limit(
                ("RATE_LIMIT_IP_PER_MINUTE", 300),
                ("RATE_LIMIT_IP_BURST", 60),
            )?,
        })
    }
}
