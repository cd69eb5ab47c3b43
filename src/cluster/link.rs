//! [`RedisLink`]: the one Redis connection of an instance, shared by socketioxide's adapter (through
//! [`super::driver`]), Confab's own bus ([`super::bus`]) and the presence keys ([`super::presence`]).
//!
//! Redis is never allowed to block or break the instance (contract §7): every command has a time
//! limit, publishing only queues (one task sends the queue in pipelines, so publishes keep their
//! order), and while Redis is down publishes are dropped (durable events come back from
//! PostgreSQL, see `socket::stream`). redis-rs's `ConnectionManager` reconnects; a monitor task
//! pings every second, re-subscribes every channel after an outage and then runs the
//! `on_recovered` hook, which fills the event streams of this instance's sockets from the database.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use redis::{FromRedisValue, PushInfo, PushKind, RedisError, aio::ConnectionManager};
use socketioxide_redis::drivers::{ChanItem, MessageStream};
use tokio::sync::mpsc;

/// How long any Redis command may take before it counts as failed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

/// How often the monitor pings Redis.
const MONITOR_INTERVAL: Duration = Duration::from_secs(1);

/// Publishes waiting to be sent; beyond this they are dropped (Redis is too slow or down).
const PUBLISH_QUEUE: usize = 16_384;

/// Most publishes sent in one pipeline.
const PUBLISH_BATCH: usize = 512;

type Handlers = HashMap<String, mpsc::Sender<ChanItem>>;

/// A shared, reconnecting Redis connection with pub/sub routing. Cheap to clone.
#[derive(Clone)]
pub struct RedisLink {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    /// Channel → where its messages go; shared with the push callback.
    handlers: Arc<RwLock<Handlers>>,
    /// Since when the link has been up without interruption; `None` while down.
    up_since: RwLock<Option<Instant>>,
    /// The connection dropped (or a subscription failed) since the channels were last subscribed.
    resubscribe: Arc<AtomicBool>,
    queue: mpsc::Sender<(String, Vec<u8>)>,
}

/// The receiving end of the publish queue, for [`RedisLink::run`].
pub struct PublishQueue(mpsc::Receiver<(String, Vec<u8>)>);

/// A Redis command that failed or took longer than [`COMMAND_TIMEOUT`].
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Redis answered with an error, or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    /// No answer in time.
    #[error("redis did not answer within {COMMAND_TIMEOUT:?}")]
    Timeout,
}

impl RedisLink {
    /// A link to `url` (`redis://` or `rediss://`). Connects lazily: a Redis that is down at start
    /// is an outage like any other, not a failure to start.
    pub fn open(url: &str) -> Result<(Self, PublishQueue), RedisError> {
        // Pub/sub on a shared (multiplexed) connection needs RESP3 push messages (Redis >= 6).
        let mut url = url::Url::parse(url).map_err(|_| {
            RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "REDIS_URL does not parse",
            ))
        })?;
        if !url.query_pairs().any(|(k, _)| k == "protocol") {
            url.query_pairs_mut().append_pair("protocol", "resp3");
        }
        let client = redis::Client::open(url.as_str())?;
        let handlers: Arc<RwLock<Handlers>> = Arc::default();
        let resubscribe = Arc::new(AtomicBool::new(true));
        let (push_handlers, push_resubscribe) = (handlers.clone(), resubscribe.clone());
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            // Few quick retries per reconnection; the monitor's pings start new ones.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(1))
            .set_automatic_resubscription()
            .set_push_sender(move |push: PushInfo| {
                route(push, &push_handlers, &push_resubscribe);
                Ok::<(), std::convert::Infallible>(())
            });
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        let (queue, rx) = mpsc::channel(PUBLISH_QUEUE);
        let link = Self {
            inner: Arc::new(Inner {
                conn,
                handlers,
                up_since: RwLock::new(None),
                resubscribe,
                queue,
            }),
        };
        Ok((link, PublishQueue(rx)))
    }

    /// Pings once, so that a Redis that is up at start is used from the first request on.
    pub async fn check(&self) -> bool {
        let up = self.ping().await;
        self.set_up(up);
        up
    }

    /// Whether the last ping succeeded.
    pub fn is_up(&self) -> bool {
        self.up_since().is_some()
    }

    /// Since when the link has been up without interruption.
    pub fn up_since(&self) -> Option<Instant> {
        *self
            .inner
            .up_since
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn set_up(&self, up: bool) {
        let mut since = self
            .inner
            .up_since
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match (up, *since) {
            (true, None) => *since = Some(Instant::now()),
            (false, Some(_)) => {
                *since = None;
                // Whatever failed may have cost the subscriptions: renew them on recovery.
                self.inner.resubscribe.store(true, Ordering::Release);
            }
            _ => {}
        }
    }

    /// Runs `cmd`, bounded by [`COMMAND_TIMEOUT`].
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, LinkError> {
        let mut conn = self.inner.conn.clone();
        self.bounded(async move { cmd.query_async::<T>(&mut conn).await })
            .await
    }

    /// Runs a Lua script with `args`, bounded by [`COMMAND_TIMEOUT`] (loaded on first use).
    pub async fn script<T: FromRedisValue>(
        &self,
        script: &redis::Script,
        args: &[String],
    ) -> Result<T, LinkError> {
        let mut conn = self.inner.conn.clone();
        let mut invocation = script.prepare_invoke();
        for arg in args {
            invocation.arg(arg);
        }
        self.bounded(async move { invocation.invoke_async::<T>(&mut conn).await })
            .await
    }

    async fn bounded<T>(
        &self,
        fut: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, LinkError> {
        match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if e.is_unrecoverable_error() || e.is_io_error() {
                    self.set_up(false);
                }
                Err(e.into())
            }
            Err(_) => Err(LinkError::Timeout),
        }
    }

    /// Queues `payload` for `channel`; never waits. Dropped while Redis is down or the queue is
    /// full (see the module docs for why that loses nothing durable).
    pub fn publish(&self, channel: String, payload: Vec<u8>) {
        if !self.is_up() {
            return;
        }
        if self.inner.queue.try_send((channel, payload)).is_err() {
            tracing::warn!("redis publish queue full; a message was dropped");
        }
    }

    /// Subscribes to `channel`; its messages arrive on the returned stream. When Redis is down,
    /// the subscription is made by the monitor once it is back.
    pub async fn subscribe(&self, channel: String, buffer: usize) -> MessageStream<ChanItem> {
        let (tx, rx) = mpsc::channel(buffer);
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(channel.clone(), tx);
        let mut conn = self.inner.conn.clone();
        let subscribed = self
            .bounded(async move { conn.subscribe(&channel).await })
            .await;
        if let Err(e) = subscribed {
            tracing::debug!(error = %e, "subscription deferred until redis is back");
            self.inner.resubscribe.store(true, Ordering::Release);
        }
        MessageStream::new(rx)
    }

    /// Stops routing `channel` (and unsubscribes, when Redis answers).
    pub async fn unsubscribe(&self, channel: String) {
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&channel);
        let mut conn = self.inner.conn.clone();
        let _ = self
            .bounded(async move { conn.unsubscribe(&channel).await })
            .await;
    }

    /// Answers `PING` in time.
    pub async fn ping(&self) -> bool {
        self.query::<String>(&redis::cmd("PING")).await.is_ok()
    }

    /// Sends queued publishes in pipelines, and watches the connection: pings every second,
    /// re-subscribes after an outage, then calls `on_recovered`. Runs until `shutdown`.
    pub async fn run<F, Fut>(
        self,
        PublishQueue(mut queue): PublishQueue,
        on_recovered: F,
        shutdown: tokio_util::sync::CancellationToken,
    ) where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let publisher = {
            let link = self.clone();
            async move {
                let mut batch = Vec::with_capacity(PUBLISH_BATCH);
                while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
                    let mut pipe = redis::pipe();
                    for (channel, payload) in batch.drain(..) {
                        pipe.publish(channel, payload).ignore();
                    }
                    let mut conn = link.inner.conn.clone();
                    if let Err(e) = link
                        .bounded(async move { pipe.exec_async(&mut conn).await })
                        .await
                    {
                        tracing::warn!(error = %e, "redis publish failed; messages dropped");
                    }
                }
            }
        };
        let monitor = async move {
            let mut ticker = tokio::time::interval(MONITOR_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if !self.ping().await {
                    if self.is_up() {
                        tracing::warn!(
                            "redis is down; instances are on their own until it returns"
                        );
                    }
                    self.set_up(false);
                    self.inner.resubscribe.store(true, Ordering::Release);
                    continue;
                }
                let recovered = self.inner.resubscribe.swap(false, Ordering::AcqRel);
                if recovered && !self.resubscribe_all().await {
                    self.inner.resubscribe.store(true, Ordering::Release);
                    continue;
                }
                let was_up = self.is_up();
                self.set_up(true);
                if recovered || !was_up {
                    tracing::info!("redis is up; catching up on events missed meanwhile");
                    on_recovered().await;
                }
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = publisher => {}
            () = monitor => {}
        }
    }

    /// Subscribes to every channel that has a handler (idempotent in Redis).
    async fn resubscribe_all(&self) -> bool {
        let channels: Vec<String> = self
            .inner
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        if channels.is_empty() {
            return true;
        }
        let mut conn = self.inner.conn.clone();
        self.bounded(async move { conn.subscribe(&channels).await })
            .await
            .is_ok()
    }
}

/// Routes one push message: a pub/sub message to its channel's handler, a disconnection to the
/// flag that makes the monitor re-subscribe and catch up.
fn route(push: PushInfo, handlers: &RwLock<Handlers>, resubscribe: &AtomicBool) {
    match push.kind {
        PushKind::Message => {
            let mut data = push.data.into_iter();
            let (Some(chan), Some(payload)) = (data.next(), data.next()) else {
                return;
            };
            let (Ok(chan), Ok(payload)) = (
                String::from_redis_value(chan),
                Vec::<u8>::from_redis_value(payload),
            ) else {
                return;
            };
            let handlers = handlers.read().unwrap_or_else(|e| e.into_inner());
            if let Some(tx) = handlers.get(&chan)
                && tx.try_send((chan, payload)).is_err()
            {
                // A lost live message is recovered from the database by the next event of the
                // same user (gap fill), or by the catch-up after an outage.
                tracing::warn!("redis subscriber queue full; a message was dropped");
            }
        }
        PushKind::Disconnection => resubscribe.store(true, Ordering::Release),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_open_lazily_over_plain_and_tls_urls_and_report_down_without_a_server() {
        // Port 1 on loopback: nothing listens there, so the link must say "down", quickly.
        for url in ["redis://127.0.0.1:1", "rediss://127.0.0.1:1/0"] {
            let (link, _queue) = RedisLink::open(url).expect("opening does not connect");
            let started = Instant::now();
            assert!(!link.check().await, "{url}");
            assert!(started.elapsed() <= COMMAND_TIMEOUT + Duration::from_secs(2));
            assert!(!link.is_up());
            // Publishing while down drops the message instead of waiting.
            link.publish("c".into(), vec![1]);
        }
        assert!(RedisLink::open("not a url").is_err());
    }
}
