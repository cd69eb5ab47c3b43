//! The sessions section: signing secrets, cookie flags and lifetimes.
//!
//! Secrets are `SecretString`s: they never show in `Debug` output, and reading one takes an explicit
//! `expose_secret()` at the place it is used.

use std::{path::Path, time::Duration};

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use super::{
    AppEnv, ConfigError, Env, MIN_SECRET_LEN,
    env::{duration_or, is_zero_duration, parse_bool, parse_duration, var},
};

/// How sessions are signed and how long they live.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Signs the `auth` and OAuth-state cookies.
    pub cookie_secret: SecretString,
    /// Signs session JWTs (HS256).
    pub jwt_secret: SecretString,
    /// `false` only for plain-http development on a non-localhost address.
    pub cookie_secure: bool,
    /// Session lifetime.
    pub ttl: Duration,
    /// How long a session read from the database is trusted before it is read again (0 disables
    /// the cache). Revocations arrive as PostgreSQL notices at once; this bounds how long one goes
    /// unseen here when its notice was lost (the database restarting).
    pub cache_ttl: Duration,
}

/// The longest `SESSION_CACHE_TTL`: revocations must reach every instance within it.
const MAX_CACHE_TTL: Duration = Duration::from_secs(30);

impl SessionConfig {
    pub(super) fn from_source(
        env: &dyn Env,
        app_env: AppEnv,
        data_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let cookie_secure = parse_bool("COOKIE_SECURE", var(env, "COOKIE_SECURE"), true)?;
        let ttl = duration_or(
            "SESSION_TTL",
            var(env, "SESSION_TTL"),
            Duration::from_secs(7 * 24 * 3600),
            false,
            "like 3600, 90m, 12h or 7d",
        )?;
        let cache_ttl = match var(env, "SESSION_CACHE_TTL").as_deref().map(str::trim) {
            None => Duration::from_secs(25),
            Some(raw) if is_zero_duration(raw) => Duration::ZERO,
            Some(raw) => match parse_duration(raw) {
                Some(ttl) if ttl <= MAX_CACHE_TTL => ttl,
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
        let cookie_secret = secret(
            app_env,
            "COOKIE_SECRET",
            var(env, "COOKIE_SECRET"),
            data_dir,
        )?;
        let jwt_secret = secret(app_env, "JWT_SECRET", var(env, "JWT_SECRET"), data_dir)?;
        // Not a timing-sensitive comparison: both are our own settings, compared once at start.
        if cookie_secret.expose_secret() == jwt_secret.expose_secret() {
            return Err(ConfigError::new(
                "JWT_SECRET",
                "must differ from COOKIE_SECRET (one secret per purpose)",
            ));
        }
        Ok(Self {
            cookie_secret,
            jwt_secret,
            cookie_secure,
            ttl,
            cache_ttl,
        })
    }
}

/// Reads a signing secret. In production it must be given; in development a missing one is generated
/// once and kept in `DATA_DIR/secrets/NAME`, so sessions survive restarts.
fn secret(
    app_env: AppEnv,
    name: &'static str,
    raw: Option<String>,
    data_dir: &Path,
) -> Result<SecretString, ConfigError> {
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
        return Ok(SecretString::from(value));
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
            return Ok(SecretString::from(stored));
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
    Ok(SecretString::from(generated))
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
