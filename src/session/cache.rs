//! The in-process session cache: what makes revocation checks cost no database round trip on the
//! hot path.
//!
//! Entries are trusted for `ttl` after they were read from the database, then read again. A
//! revocation is written into the cache at once, on this instance by the code that revoked, and on
//! every instance when PostgreSQL's notice arrives (`socket::session_watch`); the `ttl` bounds how
//! long a change goes unseen when a notice is lost (the database restarting). A `ttl` of zero disables caching
//! (every request reads its session), which the benchmarks use for comparison.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What the cache knows about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedSession {
    /// The session's user.
    pub user_id: Uuid,
    /// When the session ends by itself.
    pub expires_at: DateTime<Utc>,
    /// Logged out or rotated.
    pub revoked: bool,
}

/// Sessions recently read from the database.
pub struct SessionCache {
    ttl: Duration,
    entries: RwLock<HashMap<Uuid, (CachedSession, Instant)>>,
    last_sweep: RwLock<Instant>,
}

/// Above this many entries, inserting sweeps out the stale ones (at most once per `ttl`).
const SWEEP_ABOVE: usize = 10_000;

impl SessionCache {
    /// A cache trusting entries for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
            last_sweep: RwLock::new(Instant::now()),
        }
    }

    /// A fresh entry, if there is one.
    pub fn get(&self, session_id: Uuid) -> Option<CachedSession> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&session_id)
            .filter(|(_, read_at)| read_at.elapsed() < self.ttl)
            .map(|(session, _)| *session)
    }

    /// Records what the database said just now.
    pub fn insert(&self, session_id: Uuid, session: CachedSession) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.insert(session_id, (session, Instant::now()));
        if entries.len() > SWEEP_ABOVE {
            let mut last_sweep = self.last_sweep.write().unwrap_or_else(|e| e.into_inner());
            if last_sweep.elapsed() >= self.ttl {
                entries.retain(|_, (_, read_at)| read_at.elapsed() < self.ttl);
                *last_sweep = Instant::now();
            }
        }
    }

    /// Marks a session revoked on this instance, effective at once.
    pub fn mark_revoked(&self, session_id: Uuid) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some((session, read_at)) = entries.get_mut(&session_id) {
            session.revoked = true;
            *read_at = Instant::now();
        }
    }

    /// Forgets a session, so the next look reads the database.
    pub fn remove(&self, session_id: Uuid) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.remove(&session_id);
    }

    /// How many entries are held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> CachedSession {
        CachedSession {
            user_id: Uuid::now_v7(),
            expires_at: Utc::now() + chrono::Duration::hours(1),
            revoked: false,
        }
    }

    #[test]
    fn a_fresh_entry_is_served_and_a_revocation_shows_at_once() {
        let cache = SessionCache::new(Duration::from_secs(30));
        let id = Uuid::now_v7();
        cache.insert(id, session());
        assert!(!cache.get(id).unwrap().revoked);
        cache.mark_revoked(id);
        assert!(cache.get(id).unwrap().revoked);
    }

    #[test]
    fn entries_older_than_the_ttl_are_not_served() {
        let cache = SessionCache::new(Duration::from_millis(1));
        let id = Uuid::now_v7();
        cache.insert(id, session());
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get(id).is_none());
    }

    #[test]
    fn a_zero_ttl_disables_caching() {
        let cache = SessionCache::new(Duration::ZERO);
        let id = Uuid::now_v7();
        cache.insert(id, session());
        assert!(cache.get(id).is_none());
        assert!(cache.is_empty());
    }
}
