//! The pub/sub driver of socketioxide's Redis adapter (`socketioxide-redis`), over [`RedisLink`].
//!
//! The crate's own driver holds a plain multiplexed connection: it never reconnects after a Redis
//! restart, and its publishes wait on a dead connection. Ours queues publishes without waiting and
//! reports success even when Redis is down, because the adapter emits to this instance's sockets
//! only after its publish succeeded: local delivery must not depend on Redis. With no Redis
//! configured ([`Driver::off`]) every call is a no-op and the adapter acts as a local one.

use socketioxide_redis::drivers::{ChanItem, MessageStream};

use super::link::RedisLink;

/// The adapter's driver: Redis, or nothing.
#[derive(Clone)]
pub struct Driver(Option<RedisLink>);

impl Driver {
    /// Over a Redis link.
    pub fn redis(link: RedisLink) -> Self {
        Self(Some(link))
    }

    /// One instance on its own.
    pub fn off() -> Self {
        Self(None)
    }
}

/// Never returned (failures are logged and absorbed, see the module docs); the trait wants a type.
#[derive(Debug, thiserror::Error)]
#[error("redis driver error")]
pub struct DriverError;

impl socketioxide_redis::drivers::Driver for Driver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        if let Some(link) = &self.0 {
            link.publish(chan, val);
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        Ok(match &self.0 {
            Some(link) => link.subscribe(chan, size).await,
            None => MessageStream::new_empty(),
        })
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        if let Some(link) = &self.0 {
            link.unsubscribe(chan).await;
        }
        Ok(())
    }

    /// The number of instances subscribed to the adapter's request channel (`1`, this one, when
    /// Redis does not answer: requests that wait for other instances then wait for none).
    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let Some(link) = &self.0 else { return Ok(1) };
        let count = link
            .query::<(String, u16)>(redis::cmd("PUBSUB").arg("NUMSUB").arg(chan))
            .await
            .map(|(_, n)| n.max(1))
            .unwrap_or(1);
        Ok(count)
    }
}
