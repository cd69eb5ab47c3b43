//! The realtime section: Socket.IO liveness, presence and typing timings (contract §5), and the
//! Redis that joins several instances into one server (contract §7).

use std::time::Duration;

use secrecy::SecretString;

use super::{
    ConfigError, Env,
    env::{duration_or, var},
};

/// Presence and typing settings (contract §5).
#[derive(Debug, Clone, Copy)]
pub struct PresenceConfig {
    /// How long a user whose last socket dropped stays online (a quick reconnect does not flap).
    pub grace: Duration,
    /// How often Engine.IO pings every socket (`SOCKET_PING_INTERVAL`, default 10 s).
    pub ping_interval: Duration,
    /// How long a ping waits for its pong before the socket is dropped (`SOCKET_PING_TIMEOUT`,
    /// default 10 s). Interval + timeout + grace stays under the contract's 30 s for a frozen
    /// client.
    pub ping_timeout: Duration,
    /// How long after a user's last `typing true` in a conversation `typing false` is relayed on
    /// their behalf (`TYPING_TIMEOUT`, default 10 s).
    pub typing_timeout: Duration,
    /// How long an instance's presence entries in Redis outlive its last heartbeat
    /// (`PRESENCE_TTL`, default 20 s; heartbeats run at a third of it): a crashed instance's
    /// users stop counting as online within this, plus one reaper round.
    pub ttl: Duration,
}

impl PresenceConfig {
    pub(super) fn from_source(env: &dyn Env) -> Result<Self, ConfigError> {
        let seconds = |name: &'static str, default: u64, allow_zero: bool, hint: &str| {
            duration_or(
                name,
                var(env, name),
                Duration::from_secs(default),
                allow_zero,
                hint,
            )
        };
        Ok(Self {
            grace: seconds("PRESENCE_GRACE", 3, true, "like 3s")?,
            ping_interval: seconds("SOCKET_PING_INTERVAL", 10, false, "like 10s")?,
            ping_timeout: seconds("SOCKET_PING_TIMEOUT", 10, false, "like 10s")?,
            typing_timeout: seconds("TYPING_TIMEOUT", 10, false, "like 10s")?,
            ttl: seconds("PRESENCE_TTL", 20, false, "like 20s")?,
        })
    }
}

/// The Redis that several instances share (contract §7).
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS); `None` runs this instance on its own. Secret: it may
    /// carry a password.
    pub url: Option<SecretString>,
}

impl RedisConfig {
    pub(super) fn from_source(env: &dyn Env) -> Result<Self, ConfigError> {
        let url = var(env, "REDIS_URL");
        if let Some(raw) = &url {
            // Never echoed: it may hold a password.
            let ok = url::Url::parse(raw.trim()).is_ok_and(|u| {
                matches!(u.scheme(), "redis" | "rediss")
                    && u.host_str().is_some_and(|h| !h.is_empty())
            });
            if !ok {
                return Err(ConfigError::new(
                    "REDIS_URL",
                    "must be a redis:// or rediss:// URL with a host",
                ));
            }
        }
        Ok(Self {
            url: url.map(|u| SecretString::from(u.trim().to_owned())),
        })
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

    #[test]
    fn defaults_keep_a_frozen_client_offline_within_30_seconds() {
        let p = PresenceConfig::from_source(&env(&[])).unwrap();
        assert_eq!(p.ping_interval, Duration::from_secs(10));
        assert_eq!(p.ping_timeout, Duration::from_secs(10));
        assert!(p.ping_interval + p.ping_timeout + p.grace < Duration::from_secs(30));
        assert!(p.ttl + p.ttl / 3 <= Duration::from_secs(30));
    }

    #[test]
    fn redis_urls_must_be_redis_or_rediss() {
        for good in [
            "redis://localhost:6379",
            "rediss://u:p@cache.example:25061/0",
        ] {
            assert!(RedisConfig::from_source(&env(&[("REDIS_URL", good)])).is_ok());
        }
        for bad in ["http://localhost", "localhost:6379", "redis://"] {
            let err = RedisConfig::from_source(&env(&[("REDIS_URL", bad)])).unwrap_err();
            assert_eq!(err.variable, "REDIS_URL");
        }
        assert!(RedisConfig::from_source(&env(&[])).unwrap().url.is_none());
    }
}
