//! HTTP rate limits (governor): per user on authenticated API calls, per client IP otherwise.
//!
//! The key is found before the handler runs: a bearer or cookie token whose JWT signature checks
//! out names its user (a forged token cannot pick someone else's bucket: it falls back to the IP);
//! anything else is keyed by the client IP, taken from `X-Forwarded-For` only as far as
//! `TRUST_PROXY` hops are trusted. Infrastructure routes, the docs page and Socket.IO are not
//! limited here (Socket.IO events have their own per-socket budget). Idle keys are evicted
//! periodically, so memory stays bounded however many distinct clients there are.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock, QuantaClock, Reference},
    middleware::{StateInformationMiddleware, StateSnapshot},
    state::keyed::DashMapStateStore,
};
use uuid::Uuid;

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// A signed-in user (from a correctly signed token).
    User(Uuid),
    /// Everyone else, by client address.
    Ip(IpAddr),
}

/// The limit of one kind of key: `per_minute` sustained, up to `burst` at once.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests allowed back to back.
    pub burst: u32,
}

type Limiter<C> = RateLimiter<RateKey, DashMapStateStore<RateKey>, C, StateInformationMiddleware>;

/// The outcome of one check, with what the `x-ratelimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The burst size (`x-ratelimit-limit`).
    pub limit: u32,
    /// Requests left right now (`x-ratelimit-remaining`).
    pub remaining: u32,
    /// Seconds until a refused request may retry, or until the budget is full again.
    pub reset_secs: u64,
}

/// The two limiters, over any governor clock (a fake one in tests).
pub struct RateLimits<C: Clock = DefaultClock> {
    users: Limiter<C>,
    ips: Limiter<C>,
    user_limit: Limit,
    ip_limit: Limit,
    clock: C,
}

fn quota(limit: Limit) -> Quota {
    let per_minute = NonZeroU32::new(limit.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl RateLimits<QuantaClock> {
    /// Limiters on the real clock.
    pub fn new(user_limit: Limit, ip_limit: Limit) -> Self {
        Self::with_clock(user_limit, ip_limit, QuantaClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C>
where
    C::Instant: Reference,
{
    /// Limiters on `clock`.
    pub fn with_clock(user_limit: Limit, ip_limit: Limit, clock: C) -> Self {
        let make = |limit| {
            RateLimiter::dashmap_with_clock(quota(limit), clock.clone())
                .with_middleware::<StateInformationMiddleware>()
        };
        Self {
            users: make(user_limit),
            ips: make(ip_limit),
            user_limit,
            ip_limit,
            clock,
        }
    }

    /// Spends one request from `key`'s budget.
    pub fn check(&self, key: &RateKey) -> Decision {
        let (limiter, limit) = match key {
            RateKey::User(_) => (&self.users, self.user_limit),
            RateKey::Ip(_) => (&self.ips, self.ip_limit),
        };
        match limiter.check_key(key) {
            Ok(snapshot) => allowed(&snapshot, limit),
            Err(not_until) => Decision {
                allowed: false,
                limit: limit.burst,
                remaining: 0,
                reset_secs: not_until.wait_time_from(self.clock.now()).as_secs().max(1),
            },
        }
    }

    /// Drops keys whose budget is full again (they carry no information), then frees the space.
    pub fn evict_idle(&self) {
        for limiter in [&self.users, &self.ips] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.users.len() + self.ips.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn allowed(snapshot: &StateSnapshot, limit: Limit) -> Decision {
    let remaining = snapshot.remaining_burst_capacity();
    let used = limit.burst.saturating_sub(remaining);
    // A full budget refills one request every 60/per_minute seconds.
    let refill = 60.0 / f64::from(limit.per_minute.max(1));
    Decision {
        allowed: true,
        limit: limit.burst,
        remaining,
        reset_secs: (f64::from(used) * refill).ceil() as u64,
    }
}

/// Evicts idle keys every minute, for the life of the server (owned by its background tasks).
pub async fn evict_idle_keys(limits: Arc<RateLimits>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(60));
    loop {
        ticker.tick().await;
        limits.evict_idle();
    }
}

/// The client's address: the peer, or with `trust_proxy` hops, the entry of `X-Forwarded-For`
/// that the outermost trusted proxy saw. Entries further left are the client's own claims.
pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trust_proxy: usize,
) -> Option<IpAddr> {
    if trust_proxy == 0 {
        return peer;
    }
    let mut chain: Vec<IpAddr> = forwarded_for
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if let Some(peer) = peer {
        chain.push(peer);
    }
    let index = chain.len().saturating_sub(1 + trust_proxy);
    chain.get(index).copied().or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn limits(clock: &FakeRelativeClock) -> RateLimits<FakeRelativeClock> {
        RateLimits::with_clock(
            Limit {
                per_minute: 60,
                burst: 3,
            },
            Limit {
                per_minute: 6,
                burst: 2,
            },
            clock.clone(),
        )
    }

    #[test]
    fn a_burst_past_the_limit_is_refused_and_the_budget_recovers_with_time() {
        let clock = FakeRelativeClock::default();
        let limits = limits(&clock);
        let key = RateKey::User(Uuid::now_v7());
        let remaining: Vec<u32> = (0..3).map(|_| limits.check(&key).remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limits.check(&key);
        assert!(!refused.allowed);
        assert_eq!(refused.reset_secs, 1, "one request refills per second");
        clock.advance(Duration::from_secs(1));
        assert!(limits.check(&key).allowed);
        assert!(!limits.check(&key).allowed);
        clock.advance(Duration::from_secs(3));
        assert_eq!(limits.check(&key).remaining, 2, "back to a full burst");
    }

    #[test]
    fn users_and_addresses_have_budgets_of_their_own() {
        let clock = FakeRelativeClock::default();
        let limits = limits(&clock);
        let ip = RateKey::Ip("10.0.0.1".parse().unwrap());
        assert!(limits.check(&ip).allowed);
        assert!(limits.check(&ip).allowed);
        assert!(!limits.check(&ip).allowed);
        assert!(
            limits
                .check(&RateKey::Ip("10.0.0.2".parse().unwrap()))
                .allowed
        );
        assert!(limits.check(&RateKey::User(Uuid::now_v7())).allowed);
    }

    #[test]
    fn idle_keys_are_evicted() {
        let clock = FakeRelativeClock::default();
        let limits = limits(&clock);
        for i in 0..100u8 {
            limits.check(&RateKey::Ip(IpAddr::from([10, 0, 1, i])));
        }
        assert_eq!(limits.len(), 100);
        clock.advance(Duration::from_secs(60));
        limits.evict_idle();
        assert!(limits.is_empty());
    }

    #[test]
    fn forwarded_addresses_count_only_as_far_as_proxies_are_trusted() {
        let peer = Some("10.0.0.9".parse().unwrap());
        let xff = Some("6.6.6.6, 1.2.3.4");
        assert_eq!(
            client_ip(peer, xff, 0),
            peer,
            "untrusted: the header is ignored"
        );
        assert_eq!(client_ip(peer, xff, 1), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(client_ip(peer, xff, 2), Some("6.6.6.6".parse().unwrap()));
        assert_eq!(
            client_ip(peer, xff, 5),
            Some("6.6.6.6".parse().unwrap()),
            "never past the left end"
        );
        assert_eq!(client_ip(peer, Some("garbage"), 1), peer);
    }
}
