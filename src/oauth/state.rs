//! The sign-in state that travels through the provider in the signed state cookie, and the
//! server-side limits on it (contract §2): at most 10 minutes old, and used once on any instance.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long a sign-in may take from its start to the callback: the state cookie's lifetime, and
/// the server's own limit (a cookie's `Max-Age` binds only an honest browser).
pub const STATE_TTL: Duration = Duration::from_secs(600);

/// Clock difference between instances tolerated for a state issued by another instance.
const STATE_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// What must survive the round trip through the provider, kept in the signed state cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    /// The random `state` parameter.
    pub csrf: String,
    /// The PKCE verifier (Google).
    pub pkce_verifier: Option<String>,
    /// When the sign-in started (Unix seconds); signed with the rest, so the server can refuse a
    /// state older than [`STATE_TTL`] whatever the browser does with the cookie.
    pub issued_at: i64,
}

impl LoginState {
    /// The cookie form: `issued_at.state` or `issued_at.state:verifier` (state and verifier are
    /// URL-safe base64, without `.` or `:`).
    pub fn encode(&self) -> String {
        match &self.pkce_verifier {
            Some(verifier) => format!("{}.{}:{verifier}", self.issued_at, self.csrf),
            None => format!("{}.{}", self.issued_at, self.csrf),
        }
    }

    /// Parses the cookie form.
    pub fn decode(value: &str) -> Option<Self> {
        let (issued_at, rest) = value.split_once('.')?;
        let issued_at = issued_at.parse().ok()?;
        let (csrf, verifier) = match rest.split_once(':') {
            Some((csrf, verifier)) => (csrf, Some(verifier.to_owned())),
            None => (rest, None),
        };
        (!csrf.is_empty()).then(|| Self {
            csrf: csrf.to_owned(),
            pkce_verifier: verifier,
            issued_at,
        })
    }

    /// Whether the sign-in started less than [`STATE_TTL`] before `now` (and not in the future,
    /// beyond the clock skew tolerated between instances).
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        let age = now.timestamp().saturating_sub(self.issued_at);
        let skew = i64::try_from(STATE_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
        let ttl = i64::try_from(STATE_TTL.as_secs()).unwrap_or(i64::MAX);
        (-skew..ttl).contains(&age)
    }

    /// Until when a record of this state's use must be kept: past it, its age refuses it.
    pub fn used_record_expiry(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.issued_at, 0).unwrap_or_default()
            + STATE_TTL
            + STATE_CLOCK_SKEW
    }
}

/// How often used states past their expiry are deleted.
const USED_STATE_PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// Deletes records of used states once their expiry has passed, on one instance per period. Runs for the life of the server,
/// owned by its background tasks.
pub async fn prune_used_states(db: sea_orm::DatabaseConnection) {
    let pruner = db.clone();
    crate::background::every(
        db,
        "prune_used_oauth_states",
        USED_STATE_PRUNE_INTERVAL,
        || async {
            match crate::data::oauth_state::delete_expired_states(&pruner).await {
                Ok(pruned) => tracing::debug!(pruned, "pruned used OAuth states"),
                Err(e) => tracing::warn!(error = %e, "pruning used OAuth states failed"),
            }
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_state_round_trips_with_and_without_a_verifier() {
        for state in [
            LoginState {
                csrf: "abc".into(),
                pkce_verifier: None,
                issued_at: 1_800_000_000,
            },
            LoginState {
                csrf: "abc".into(),
                pkce_verifier: Some("v-_1".into()),
                issued_at: 1_800_000_000,
            },
        ] {
            assert_eq!(LoginState::decode(&state.encode()), Some(state));
        }
        assert_eq!(LoginState::decode(""), None);
        // A cookie without a start time (an older format) does not decode.
        assert_eq!(LoginState::decode("abc:v"), None);
    }

    #[test]
    fn a_state_is_fresh_for_ten_minutes_from_its_start() {
        let now = Utc::now();
        let at = |secs: i64| LoginState {
            csrf: "abc".into(),
            pkce_verifier: None,
            issued_at: now.timestamp() - secs,
        };
        assert!(at(0).is_fresh(now));
        assert!(at(599).is_fresh(now));
        assert!(!at(600).is_fresh(now));
        assert!(!at(3600).is_fresh(now));
        assert!(
            at(-30).is_fresh(now),
            "another instance's clock a little ahead"
        );
        assert!(!at(-3600).is_fresh(now));
    }
}
