//! Signed cookies: the `auth` session cookie and the OAuth `{provider}_oauth_state` cookies.
//!
//! Values are signed (HMAC-SHA256) with a key derived from `COOKIE_SECRET` by the `cookie` crate,
//! so a cookie that was not set by us, or was changed, reads as [`CookieRead::Invalid`]. Signed values
//! contain `+`, `/` and `=`, so they are percent-encoded on write and decoded on read.

use std::time::Duration;

use cookie::{CookieJar, Key};
use poem::web::cookie::{Cookie, SameSite};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "auth";

/// How long an OAuth state cookie lives.
pub const STATE_COOKIE_TTL: Duration = Duration::from_secs(600);

/// The outcome of reading a signed cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieRead {
    /// No cookie of that name.
    Missing,
    /// Present, but its signature does not verify (tampered, truncated, or not ours).
    Invalid,
    /// Present and verified: the original value.
    Valid(String),
}

/// Signs, verifies and builds Confab's cookies.
pub struct CookieSigner {
    key: Key,
    secure: bool,
    session_ttl: Duration,
}

impl CookieSigner {
    /// `secret` must be at least 32 bytes (configuration guarantees it).
    pub fn new(secret: &[u8], secure: bool, session_ttl: Duration) -> Self {
        Self {
            key: Key::derive_from(secret),
            secure,
            session_ttl,
        }
    }

    /// The signed form of `value` for the cookie `name`. The `cookie` crate's MAC covers the value
    /// only, so the name is made part of the signed text (`name|value`): a value signed for one
    /// cookie does not verify under another.
    pub fn sign(&self, name: &str, value: &str) -> String {
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(cookie::Cookie::new(
            name.to_owned(),
            format!("{name}|{value}"),
        ));
        jar.get(name)
            .map(|c| c.value().to_owned())
            .unwrap_or_default()
    }

    /// Reads and verifies the cookie `name` from `Cookie` header values.
    pub fn read<'a>(&self, headers: impl IntoIterator<Item = &'a str>, name: &str) -> CookieRead {
        let mut found = None;
        for header in headers {
            for part in header.split(';') {
                let part = part.trim();
                if part.split_once('=').is_some_and(|(n, _)| n.trim() == name) {
                    found = Some(part.to_owned());
                }
            }
        }
        let Some(raw) = found else {
            return CookieRead::Missing;
        };
        let Ok(parsed) = cookie::Cookie::parse_encoded(raw) else {
            return CookieRead::Invalid;
        };
        let mut jar = CookieJar::new();
        jar.add_original(parsed.into_owned());
        let verified = jar.signed(&self.key).get(name);
        match verified
            .as_ref()
            .and_then(|c| c.value().strip_prefix(name)?.strip_prefix('|'))
        {
            Some(value) => CookieRead::Valid(value.to_owned()),
            None => CookieRead::Invalid,
        }
    }

    /// The `auth` cookie carrying `jwt`: `HttpOnly; Secure; SameSite=None; Path=/; Max-Age=<ttl>`
    /// (with `COOKIE_SECURE=false`: no `Secure`, and `SameSite=Lax`, which browsers require then).
    pub fn session_cookie(&self, jwt: &str) -> Cookie {
        let mut cookie = self.base(SESSION_COOKIE, &self.sign(SESSION_COOKIE, jwt));
        cookie.set_same_site(if self.secure {
            SameSite::None
        } else {
            SameSite::Lax
        });
        cookie.set_max_age(self.session_ttl);
        cookie
    }

    /// Clears the `auth` cookie, with the attributes it was set with.
    pub fn session_cookie_removal(&self) -> Cookie {
        let mut cookie = self.session_cookie("");
        cookie.set_value_str("");
        make_removal(&mut cookie);
        cookie
    }

    /// The OAuth state cookie `{provider}_oauth_state`: `HttpOnly; SameSite=Lax; Max-Age=600`. Lax,
    /// not None: it must come back on the provider's top-level redirect to the callback, and nowhere
    /// else.
    pub fn state_cookie(&self, name: &str, value: &str) -> Cookie {
        let mut cookie = self.base(name, &self.sign(name, value));
        cookie.set_same_site(SameSite::Lax);
        cookie.set_max_age(STATE_COOKIE_TTL);
        cookie
    }

    /// Clears an OAuth state cookie.
    pub fn state_cookie_removal(&self, name: &str) -> Cookie {
        let mut cookie = self.state_cookie(name, "");
        cookie.set_value_str("");
        make_removal(&mut cookie);
        cookie
    }

    fn base(&self, name: &str, value: &str) -> Cookie {
        let mut cookie = Cookie::new_with_str(name, value);
        cookie.set_http_only(true);
        cookie.set_secure(self.secure);
        cookie.set_path("/");
        cookie
    }
}

fn make_removal(cookie: &mut Cookie) {
    cookie.set_max_age(Duration::ZERO);
    cookie.set_expires(chrono::DateTime::UNIX_EPOCH);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer(secure: bool) -> CookieSigner {
        CookieSigner::new(
            b"cookie-secret-cookie-secret-cookie-secret",
            secure,
            Duration::from_secs(604_800),
        )
    }

    fn header_for(cookie: &Cookie) -> String {
        // What a browser sends back: name=value as it was set (still percent-encoded).
        cookie.to_string().split(';').next().unwrap().to_owned()
    }

    #[test]
    fn a_cookie_we_set_reads_back_verified() {
        let s = signer(true);
        let cookie = s.session_cookie("a.jwt.value");
        let header = format!("other=1; {}", header_for(&cookie));
        assert_eq!(
            s.read([header.as_str()], SESSION_COOKIE),
            CookieRead::Valid("a.jwt.value".into())
        );
    }

    #[test]
    fn the_session_cookie_has_the_contract_attributes() {
        let text = signer(true).session_cookie("x").to_string();
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=None",
            "Path=/",
            "Max-Age=604800",
        ] {
            assert!(text.contains(attribute), "{attribute} missing from {text}");
        }
        let text = signer(false).session_cookie("x").to_string();
        assert!(
            text.contains("SameSite=Lax") && !text.contains("Secure"),
            "{text}"
        );
    }

    #[test]
    fn removal_keeps_the_attributes_and_expires_at_once() {
        let text = signer(true).session_cookie_removal().to_string();
        for attribute in [
            "auth=;",
            "HttpOnly",
            "Secure",
            "SameSite=None",
            "Path=/",
            "Max-Age=0",
        ] {
            assert!(text.contains(attribute), "{attribute} missing from {text}");
        }
    }

    #[test]
    fn a_value_signed_for_one_cookie_is_invalid_under_another_name() {
        let s = signer(true);
        let state = s.state_cookie("github_oauth_state", "abc");
        let moved = header_for(&state).replace("github_oauth_state", SESSION_COOKIE);
        assert_eq!(
            s.read([moved.as_str()], SESSION_COOKIE),
            CookieRead::Invalid
        );
    }

    #[test]
    fn a_missing_cookie_is_missing() {
        assert_eq!(
            signer(true).read(["a=b"], SESSION_COOKIE),
            CookieRead::Missing
        );
        assert_eq!(signer(true).read([], SESSION_COOKIE), CookieRead::Missing);
    }

    proptest! {
        #[test]
        fn unsigned_values_are_never_accepted(value in "[ -~]{0,200}") {
            let header = format!("auth={}", value.replace(';', ""));
            prop_assert_ne!(
                std::mem::discriminant(&signer(true).read([header.as_str()], SESSION_COOKIE)),
                std::mem::discriminant(&CookieRead::Valid(String::new()))
            );
        }

        #[test]
        fn a_value_signed_with_another_secret_is_invalid(value in "[a-zA-Z0-9._-]{1,100}") {
            let other = CookieSigner::new(b"another-secret-another-secret-another", true, Duration::from_secs(60));
            let header = header_for(&other.session_cookie(&value));
            prop_assert_eq!(signer(true).read([header.as_str()], SESSION_COOKIE), CookieRead::Invalid);
        }

        #[test]
        fn any_change_to_a_signed_value_is_detected(value in "[a-zA-Z0-9._-]{1,60}", cut in 1usize..40) {
            let s = signer(true);
            let header = header_for(&s.session_cookie(&value));
            let truncated = &header[..header.len().saturating_sub(cut).max(5)];
            prop_assume!(truncated != header);
            prop_assert_eq!(s.read([truncated], SESSION_COOKIE), CookieRead::Invalid);
        }
    }
}
