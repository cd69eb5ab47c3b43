//! Presence across instances (contract §5, §7), kept in Redis with expiry so that a crashed
//! instance leaves no ghosts.
//!
//! Keys (`{P}` = `confab:presence:`):
//! - `{P}u:<user>`: a sorted set of the instances where the user has an online socket, each scored
//!   with the time (ms, Redis clock) its entry expires.
//! - `{P}expiry`: every `<user>:<instance>` entry with the same score, so that expired entries are
//!   found without scanning users.
//!
//! Each instance registers a user when their first local socket comes online and removes them
//! when the last one goes (after the grace), and refreshes its entries every third of the TTL.
//! Every change is one Lua script, atomic in Redis, and answers whether the user's state *across
//! instances* flipped, so exactly one instance announces each flip. A crashed instance stops
//! refreshing: its entries expire, and the reaper (run by every instance, but each expired entry
//! is removed, and so announced, by exactly one) reports the users it leaves offline. Times come
//! from Redis's clock, so instances' clocks do not matter.

use std::{sync::LazyLock, time::Duration};

use uuid::Uuid;

use super::link::{LinkError, RedisLink};

const PREFIX: &str = "confab:presence:";

/// Now, in milliseconds, on Redis's clock.
const NOW: &str = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)";

/// ARGV: prefix, instance, ttl_ms, users… Registers or refreshes each user's entry for this
/// instance; returns the users who had no live entry anywhere before (their state flipped online).
static REGISTER: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        r"{NOW}
        local prefix, instance, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
        local flipped = {{}}
        for i = 4, #ARGV do
            local user = ARGV[i]
            local key = prefix .. 'u:' .. user
            redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
            if redis.call('ZCARD', key) == 0 then table.insert(flipped, user) end
            redis.call('ZADD', key, now + ttl, instance)
            redis.call('PEXPIRE', key, ttl * 2)
            redis.call('ZADD', prefix .. 'expiry', now + ttl, user .. ':' .. instance)
        end
        return flipped"
    ))
});

/// ARGV: prefix, instance, user. Removes this instance's entry; returns how many instances
/// still have the user online (0: their state flipped offline).
static UNREGISTER: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        r"{NOW}
        local prefix, instance, user = ARGV[1], ARGV[2], ARGV[3]
        local key = prefix .. 'u:' .. user
        redis.call('ZREM', key, instance)
        redis.call('ZREM', prefix .. 'expiry', user .. ':' .. instance)
        redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
        return redis.call('ZCARD', key)"
    ))
});

/// ARGV: prefix. Removes up to 500 expired entries; returns the users left with none.
static REAP: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        r"{NOW}
        local prefix = ARGV[1]
        local expired = redis.call('ZRANGEBYSCORE', prefix .. 'expiry', '-inf', now, 'LIMIT', 0, 500)
        local gone = {{}}
        for _, entry in ipairs(expired) do
            redis.call('ZREM', prefix .. 'expiry', entry)
            local sep = string.find(entry, ':', 1, true)
            if sep then
                local user = string.sub(entry, 1, sep - 1)
                local key = prefix .. 'u:' .. user
                redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
                if redis.call('ZCARD', key) == 0 then table.insert(gone, user) end
            end
        end
        return gone"
    ))
});

/// ARGV: prefix, users… Returns 1 or 0 per user: online on some instance.
static ONLINE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        r"{NOW}
        local online = {{}}
        for i = 2, #ARGV do
            local n = redis.call('ZCOUNT', ARGV[1] .. 'u:' .. ARGV[i], '(' .. now, '+inf')
            table.insert(online, n > 0 and 1 or 0)
        end
        return online"
    ))
});

/// Presence entries of this instance in Redis.
#[derive(Clone)]
pub struct PresenceStore {
    link: RedisLink,
    instance: String,
    ttl: Duration,
}

impl PresenceStore {
    /// The store of `instance`, whose entries live `ttl` past each refresh.
    pub fn new(link: RedisLink, instance: Uuid, ttl: Duration) -> Self {
        Self {
            link,
            instance: instance.to_string(),
            ttl,
        }
    }

    /// The link underneath.
    pub fn link(&self) -> &RedisLink {
        &self.link
    }

    /// How often entries are refreshed: a third of the TTL, so one late heartbeat loses nothing.
    pub fn heartbeat_interval(&self) -> Duration {
        self.ttl / 3
    }

    /// How often expired entries are looked for.
    pub fn reap_interval(&self) -> Duration {
        self.ttl / 4
    }

    fn args(&self, rest: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut args = vec![
            PREFIX.to_owned(),
            self.instance.clone(),
            self.ttl.as_millis().to_string(),
        ];
        args.extend(rest);
        args
    }

    /// Registers (or refreshes) `users` as online here; returns those who were offline
    /// everywhere before (to be announced online).
    pub async fn register(&self, users: &[Uuid]) -> Result<Vec<Uuid>, LinkError> {
        if users.is_empty() {
            return Ok(vec![]);
        }
        let args = self.args(users.iter().map(Uuid::to_string));
        let flipped: Vec<String> = self.link.script(&REGISTER, &args).await?;
        Ok(parse_users(flipped))
    }

    /// Removes `user`'s entry of this instance; `true` when no instance has them online any more
    /// (to be announced offline).
    pub async fn unregister(&self, user: Uuid) -> Result<bool, LinkError> {
        let args = vec![PREFIX.to_owned(), self.instance.clone(), user.to_string()];
        let left: i64 = self.link.script(&UNREGISTER, &args).await?;
        Ok(left == 0)
    }

    /// Removes expired entries (a crashed instance's); returns the users they leave offline.
    pub async fn reap(&self) -> Result<Vec<Uuid>, LinkError> {
        let gone: Vec<String> = self.link.script(&REAP, &[PREFIX.to_owned()]).await?;
        Ok(parse_users(gone))
    }

    /// Which of `users` are online on some instance.
    pub async fn online_among(&self, users: &[Uuid]) -> Result<Vec<Uuid>, LinkError> {
        if users.is_empty() {
            return Ok(vec![]);
        }
        let mut args = vec![PREFIX.to_owned()];
        args.extend(users.iter().map(Uuid::to_string));
        let flags: Vec<i64> = self.link.script(&ONLINE, &args).await?;
        Ok(users
            .iter()
            .zip(flags)
            .filter(|(_, online)| *online == 1)
            .map(|(user, _)| *user)
            .collect())
    }
}

fn parse_users(raw: Vec<String>) -> Vec<Uuid> {
    raw.iter().filter_map(|u| u.parse().ok()).collect()
}
