//! The HTTP section: where Confab listens, how it is reached, whom it lets call with credentials,
//! and which proxies it believes.

use std::{net::IpAddr, time::Duration};

use super::{
    ConfigError, Env,
    env::{duration_or, parse_or, url_or, var},
};

/// Listening address, public URLs, CORS and proxy trust.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address to listen on.
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one, for tests).
    pub port: u16,
    /// Where Confab is reached from outside (used in redirects and the OpenAPI document).
    /// Defaults to `http://localhost:{PORT}` (or `http://{HOST}:{PORT}` for a specific address).
    pub public_url: String,
    /// The web frontend's origin; the browser is sent here after sign-in.
    pub frontend_url: String,
    /// Origins allowed to call with credentials: `FRONTEND_URL` plus `CORS_ORIGINS`.
    pub cors_origins: Vec<String>,
    /// How many reverse-proxy hops in `X-Forwarded-For` to trust (0: ignore the header).
    pub trust_proxy: usize,
    /// How long a client has to send a complete request head (from connecting, or from the first
    /// byte of a later request) before its connection is closed.
    pub header_timeout: Duration,
    /// How long a connection may sit idle (nothing read or written) before it is closed.
    pub idle_timeout: Duration,
    /// Open connections above which new ones are refused; `None`: derived from the open-file
    /// limit at start.
    pub max_connections: Option<usize>,
}

impl HttpConfig {
    pub(super) fn from_source(env: &dyn Env) -> Result<Self, ConfigError> {
        let host: IpAddr = parse_or("HOST", var(env, "HOST"), "0.0.0.0".parse().ok())?;
        let port = parse_or("PORT", var(env, "PORT"), Some(7200))?;
        let public_url = url_or(
            "PUBLIC_URL",
            var(env, "PUBLIC_URL"),
            &default_public_url(host, port),
        )?;
        let frontend_url = url_or(
            "FRONTEND_URL",
            var(env, "FRONTEND_URL"),
            "http://localhost:3000",
        )?;
        let mut cors_origins = vec![frontend_url.clone()];
        for origin in var(env, "CORS_ORIGINS").unwrap_or_default().split(',') {
            let origin = origin.trim();
            if origin.is_empty() {
                continue;
            }
            let origin = url_or("CORS_ORIGINS", Some(origin.to_owned()), "")?;
            if !cors_origins.contains(&origin) {
                cors_origins.push(origin);
            }
        }
        let trust_proxy = match var(env, "TRUST_PROXY").as_deref() {
            None | Some("false") => 0,
            Some("true") => 1,
            Some(raw) => raw.parse().map_err(|_| {
                ConfigError::new(
                    "TRUST_PROXY",
                    format!("`{raw}` is not a number of proxy hops (0, 1, 2, …)"),
                )
            })?,
        };
        let header_timeout = duration_or(
            "HTTP_HEADER_TIMEOUT",
            var(env, "HTTP_HEADER_TIMEOUT"),
            Duration::from_secs(10),
            false,
            "like 10s",
        )?;
        let idle_timeout = duration_or(
            "HTTP_IDLE_TIMEOUT",
            var(env, "HTTP_IDLE_TIMEOUT"),
            Duration::from_secs(75),
            false,
            "like 75s",
        )?;
        let max_connections = match var(env, "HTTP_MAX_CONNECTIONS").as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(raw.parse().ok().filter(|n: &usize| *n > 0).ok_or_else(|| {
                ConfigError::new(
                    "HTTP_MAX_CONNECTIONS",
                    format!("`{raw}` is not a number of connections (at least 1)"),
                )
            })?),
        };
        Ok(Self {
            host,
            port,
            public_url,
            frontend_url,
            cors_origins,
            trust_proxy,
            header_timeout,
            idle_timeout,
            max_connections,
        })
    }
}

/// `PUBLIC_URL` when unset: the address the server listens on, as a browser on this machine would
/// type it. A wildcard or loopback `HOST` becomes `localhost` (OAuth apps are usually registered
/// with it); a specific address is used as is.
fn default_public_url(host: IpAddr, port: u16) -> String {
    match host {
        host if host.is_unspecified() || host.is_loopback() => {
            format!("http://localhost:{port}")
        }
        IpAddr::V4(v4) => format!("http://{v4}:{port}"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn http(pairs: &[(&str, &str)]) -> Result<HttpConfig, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        HttpConfig::from_source(&env)
    }

    #[test]
    fn public_url_follows_port_when_unset() {
        assert_eq!(
            http(&[("PORT", "7201")]).unwrap().public_url,
            "http://localhost:7201"
        );
        assert_eq!(http(&[]).unwrap().public_url, "http://localhost:7200");
        assert_eq!(
            http(&[("HOST", "10.1.2.3"), ("PORT", "80")])
                .unwrap()
                .public_url,
            "http://10.1.2.3:80"
        );
        assert_eq!(
            http(&[("HOST", "::1"), ("PORT", "7201")])
                .unwrap()
                .public_url,
            "http://localhost:7201"
        );
    }

    #[test]
    fn an_explicit_public_url_wins() {
        let config = http(&[
            ("PORT", "7201"),
            ("PUBLIC_URL", "https://chat.example.com/"),
        ])
        .unwrap();
        assert_eq!(config.public_url, "https://chat.example.com");
    }

    #[test]
    fn trust_proxy_takes_booleans_and_hop_counts() {
        assert_eq!(http(&[("TRUST_PROXY", "true")]).unwrap().trust_proxy, 1);
        assert_eq!(http(&[("TRUST_PROXY", "2")]).unwrap().trust_proxy, 2);
        assert_eq!(
            http(&[("TRUST_PROXY", "many")]).unwrap_err().variable,
            "TRUST_PROXY"
        );
    }
}
