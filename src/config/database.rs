//! The database section: an external server, or the embedded cluster under `DATA_DIR`.

use std::path::PathBuf;

use secrecy::SecretString;

use super::{
    ConfigError, Env,
    env::{positive, var},
};

/// Which PostgreSQL to use and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// An external PostgreSQL server; `None` runs the embedded cluster under `data_dir`.
    /// Secret: it usually carries a password.
    pub url: Option<SecretString>,
    /// Maximum connections in the database pool.
    pub pool_size: u32,
    /// Where the embedded database and generated development secrets live.
    pub data_dir: PathBuf,
}

impl DatabaseConfig {
    pub(super) fn from_source(env: &dyn Env) -> Result<Self, ConfigError> {
        // DATABASE_URI is the original backend's name, accepted as an alias.
        let url = var(env, "DATABASE_URL").or_else(|| var(env, "DATABASE_URI"));
        if let Some(raw) = &url {
            // The URL itself is never echoed: it may hold a password.
            let is_postgres = url::Url::parse(raw.trim())
                .is_ok_and(|u| matches!(u.scheme(), "postgres" | "postgresql"));
            if !is_postgres {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    "must be a postgres:// or postgresql:// URL",
                ));
            }
        }
        Ok(Self {
            url: url.map(SecretString::from),
            pool_size: positive("DATABASE_POOL_SIZE", var(env, "DATABASE_POOL_SIZE"), 16)?,
            data_dir: PathBuf::from(var(env, "DATA_DIR").unwrap_or_else(|| "./data".into())),
        })
    }
}
