//! Where variables come from, and the small parsers every section shares. Each parser takes the
//! variable's name so that its error names it.

use std::{collections::HashMap, time::Duration};

use super::ConfigError;

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

/// Reads one variable; in debug builds, checks that it is listed in [`super::VARIABLES`] (and so in
/// `.env.example`).
pub(super) fn var(env: &dyn Env, name: &'static str) -> Option<String> {
    debug_assert!(
        super::VARIABLES.contains(&name),
        "{name} missing from VARIABLES"
    );
    env.get(name)
}

/// Parses a value with `FromStr`, or takes the default; `None` as default makes it required.
pub(super) fn parse_or<T: std::str::FromStr>(
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

/// A count that must be at least 1.
pub(super) fn positive(
    name: &'static str,
    raw: Option<String>,
    default: u32,
) -> Result<u32, ConfigError> {
    let value: u32 = parse_or(name, raw, Some(default))?;
    if value == 0 {
        return Err(ConfigError::new(name, "must be at least 1"));
    }
    Ok(value)
}

pub(super) fn parse_bool(
    name: &'static str,
    raw: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
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

/// An absolute http(s) URL, returned without a trailing slash (so `{url}/path` joins cleanly).
/// The `url` crate does the checking; the text is kept as written (not normalised), because CORS
/// origins are compared as strings with what browsers send.
pub(super) fn url_or(
    name: &'static str,
    raw: Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let raw = raw.unwrap_or_else(|| default.to_owned());
    let text = raw.trim().trim_end_matches('/');
    match url::Url::parse(text) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            Ok(text.to_owned())
        }
        _ => Err(ConfigError::new(
            name,
            format!("`{text}` is not an absolute http:// or https:// URL"),
        )),
    }
}

/// Parses a duration: plain seconds (`3600`) or humantime's units (`30s`, `90m`, `12h`, `7d`,
/// `1h 30m`). Zero is refused (callers that allow it say so with [`duration_or`]).
///
/// Weeks, months and years are refused although humantime knows them: months and years are
/// averages there (30.44 d, 365.25 d), and `.env.example` documents seconds to days only.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let parsed = match raw.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let calendar = raw.split(|c: char| !c.is_ascii_alphabetic()).any(|unit| {
                matches!(
                    unit,
                    "w" | "week" | "weeks" | "M" | "month" | "months" | "y" | "year" | "years"
                )
            });
            if calendar {
                return None;
            }
            humantime::parse_duration(raw).ok()?
        }
    };
    (!parsed.is_zero()).then_some(parsed)
}

/// Whether `raw` spells a zero duration (`0`, `0s`, `0ms`, …): where a variable allows zero, every
/// spelling of it is accepted, not only the bare number.
pub fn is_zero_duration(raw: &str) -> bool {
    let raw = raw.trim();
    raw.parse::<u64>() == Ok(0) || humantime::parse_duration(raw).is_ok_and(|d| d.is_zero())
}

/// A duration variable with a default; zero is accepted only where `allow_zero` says so. `hint` ends
/// the error message ("like 3s").
pub(super) fn duration_or(
    name: &'static str,
    raw: Option<String>,
    default: Duration,
    allow_zero: bool,
    hint: &str,
) -> Result<Duration, ConfigError> {
    match raw.as_deref().map(str::trim) {
        None => Ok(default),
        Some(raw) if allow_zero && is_zero_duration(raw) => Ok(Duration::ZERO),
        Some(raw) => parse_duration(raw)
            .ok_or_else(|| ConfigError::new(name, format!("`{raw}` is not a duration {hint}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units() {
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("5w"), None);
    }

    #[test]
    fn zero_is_accepted_in_any_spelling_where_allowed() {
        for zero in ["0", "0s", "0ms", " 0s "] {
            assert!(is_zero_duration(zero), "{zero}");
            assert_eq!(
                duration_or("X", Some(zero.into()), Duration::from_secs(3), true, "").unwrap(),
                Duration::ZERO
            );
            assert!(
                duration_or("X", Some(zero.into()), Duration::from_secs(3), false, "").is_err()
            );
        }
        assert!(!is_zero_duration("1s"));
        assert!(!is_zero_duration("soon"));
    }

    #[test]
    fn durations_documented_in_env_example_parse() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("25s"), Some(Duration::from_secs(25)));
        assert_eq!(parse_duration("3600s"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("12h"), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn urls_must_be_absolute_http_and_lose_trailing_slashes() {
        assert_eq!(
            url_or("X", Some("https://a.example.com/".into()), "").unwrap(),
            "https://a.example.com"
        );
        for bad in [
            "ftp://a.example.com",
            "a.example.com",
            "http://",
            "https:// x",
        ] {
            assert_eq!(url_or("X", Some(bad.into()), "").unwrap_err().variable, "X");
        }
    }
}
