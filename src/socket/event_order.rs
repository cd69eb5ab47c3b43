//! A socket's client events handled one at a time, in the order they arrived.
//!
//! socketioxide runs each event's handler as a task of its own, and the multi-threaded scheduler
//! runs the task spawned last first, so two events read together were handled in reverse about
//! two times in three: `update_status` offline then online left the user offline while connected,
//! `typing` true then false left an indicator showing until its timeout. Its extractors, though,
//! run inline while it dispatches the packets, in arrival order: [`Arrival`] numbers each event
//! there, and [`EventOrder::run`] runs the handlers' work by that number. A handler whose
//! predecessors are still running leaves its work in the queue and returns; whichever handler is
//! running the queue runs it next. (Waiting for a turn instead would wake every waiting handler
//! at each step: quadratic under a flood of events.)

use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// One event's work.
type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The order of one socket's client events (in the socket's extensions, from the connect
/// middleware on, so before socketioxide dispatches any event).
#[derive(Clone, Default)]
pub struct EventOrder(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// Events numbered so far.
    arrived: AtomicU64,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    /// The number of the last event run.
    done: u64,
    /// Work whose predecessors have not all run yet, by arrival number.
    waiting: BTreeMap<u64, Work>,
    /// Whether a handler is running the queue.
    running: bool,
}

impl EventOrder {
    /// The next event's number (from 1). Taken only by [`Arrival`], inline.
    fn arrival(&self) -> u64 {
        self.0.arrived.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `work` for event number `arrival` after every earlier event's work, and the work of
    /// the events after it that is already waiting. Every number taken must come here once, or
    /// the events after it wait for good: handlers call this first, whatever they do.
    pub async fn run(&self, arrival: u64, work: impl Future<Output = ()> + Send + 'static) {
        if arrival == 0 {
            // Not numbered (no order in the extensions): nothing to order it by.
            return work.await;
        }
        {
            let mut queue = self.queue();
            queue.waiting.insert(arrival, Box::pin(work));
            if queue.running {
                return;
            }
            queue.running = true;
        }
        loop {
            let next = {
                let mut queue = self.queue();
                let number = queue.done + 1;
                match queue.waiting.remove(&number) {
                    Some(work) => {
                        queue.done = number;
                        work
                    }
                    None => {
                        queue.running = false;
                        return;
                    }
                }
            };
            next.await;
        }
    }
}

/// A client event's number in its socket's arrival order, taken where socketioxide dispatches
/// the packet (extractors run inline there, handlers later in tasks of their own).
pub struct Arrival(pub u64);

impl<A: socketioxide::adapter::Adapter> socketioxide::handler::FromMessageParts<A> for Arrival {
    type Error = std::convert::Infallible;

    fn from_message_parts(
        socket: &Arc<socketioxide::socket::Socket<A>>,
        _: &mut socketioxide::handler::Value,
        _: &Option<i64>,
    ) -> Result<Self, Self::Error> {
        // The order is in the extensions before the socket joins its namespace (the connect
        // middleware), so before any event is dispatched; without it, nothing could be ordered.
        let arrival = socket
            .extensions
            .get::<EventOrder>()
            .map_or(0, |order| order.arrival());
        Ok(Self(arrival))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_in_arrival_order_whatever_order_it_comes_in() {
        let order = EventOrder::default();
        let (first, second, third) = (order.arrival(), order.arrival(), order.arrival());
        let ran = Arc::new(Mutex::new(vec![]));
        let record = |n: u64| {
            let ran = ran.clone();
            async move { ran.lock().unwrap().push(n) }
        };
        // The last first, then the second: both wait for the first, which runs all three.
        order.run(third, record(third)).await;
        order.run(second, record(second)).await;
        assert!(ran.lock().unwrap().is_empty());
        order.run(first, record(first)).await;
        assert_eq!(*ran.lock().unwrap(), vec![first, second, third]);
    }
}
