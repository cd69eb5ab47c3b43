//! Whether a socket really connected, so what registers it (presence, the connection count) is
//! undone exactly when it was done.
//!
//! socketioxide runs the connect middleware before the socket joins its namespace. A client that
//! hangs up meanwhile never connects: neither the connect handler nor the disconnect handler runs
//! for it. Registering the socket in the middleware therefore leaked it: in a test, 35 of 40
//! clients that hung up right after their connect packet stayed counted, their user online for
//! good. So the middleware registers nothing that needs undoing; the connect handler registers
//! the socket, the disconnect handler undoes it, and this slot makes the two agree in either order
//! (socketioxide runs them as separate tasks): a disconnect that comes first leaves nothing for
//! the connect to register.
//!
//! Client events can arrive before the connect handler runs (the original frontend sends
//! `update_status` at once); the slot keeps the status asked for until the socket is registered.
//!
//! socketioxide also runs each client event's handler as a task of its own, so two `update_status`
//! sent back to back may be handled in either order (in a test, the older one won in 40 of 60
//! tries). The slot numbers the socket's events as they arrive ([`Lifecycle::arrival`], taken
//! inline while socketioxide dispatches the packet) and applies a status only when it is newer
//! than the last one applied.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

/// A socket's place in its life (in the socket's extensions).
#[derive(Clone)]
pub struct Lifecycle(Arc<Slot>);

struct Slot {
    state: Mutex<State>,
    /// Client events numbered so far, in arrival order.
    arrivals: AtomicU64,
}

struct State {
    phase: Phase,
    /// The arrival number of the last status applied (or kept for the registration).
    status_arrival: u64,
}

enum Phase {
    /// Past the middleware, not yet registered; `online` is the status the client asked for.
    Connecting { online: bool },
    /// Registered by the connect handler.
    Connected,
    /// Disconnected; registered before or not.
    Gone,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self(Arc::new(Slot {
            state: Mutex::new(State {
                phase: Phase::Connecting { online: true },
                status_arrival: 0,
            }),
            arrivals: AtomicU64::new(0),
        }))
    }
}

impl Lifecycle {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next client event's place in the socket's arrival order (from 1). Must be taken where
    /// socketioxide dispatches the packet (an extractor), not in the handler's task.
    pub fn arrival(&self) -> u64 {
        self.0.arrivals.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The connect handler: runs `register` with the status the client asked for so far, unless
    /// the socket is already gone; returns what `register` returned. `register` runs under the
    /// slot's lock, so a status change or a disconnect waits for it: it must not block.
    pub fn connect<T>(&self, register: impl FnOnce(bool) -> T) -> Option<T> {
        let mut state = self.state();
        let Phase::Connecting { online } = state.phase else {
            return None;
        };
        let registered = register(online);
        state.phase = Phase::Connected;
        Some(registered)
    }

    /// A status change (`update_status`) that arrived as number `arrival`: once the socket is
    /// registered, `apply` runs with it (under the slot's lock, so changes are applied in arrival
    /// order: it must not block) and its result is returned. Before that the status is kept for
    /// the registration; after the disconnect, or when a later status was applied already, it is
    /// dropped.
    pub fn set_status<T>(
        &self,
        online: bool,
        arrival: u64,
        apply: impl FnOnce() -> T,
    ) -> Option<T> {
        let mut state = self.state();
        if arrival <= state.status_arrival {
            return None;
        }
        state.status_arrival = arrival;
        match &mut state.phase {
            Phase::Connecting { online: asked } => {
                *asked = online;
                None
            }
            Phase::Connected => Some(apply()),
            Phase::Gone => None,
        }
    }

    /// The disconnect handler: true when the socket had been registered (and is to be undone).
    pub fn disconnect(&self) -> bool {
        let mut state = self.state();
        matches!(
            std::mem::replace(&mut state.phase, Phase::Gone),
            Phase::Connected
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_registers_once_and_is_undone_once() {
        let lifecycle = Lifecycle::default();
        assert_eq!(lifecycle.connect(|online| online), Some(true));
        assert_eq!(
            lifecycle.set_status(false, lifecycle.arrival(), || 1),
            Some(1)
        );
        assert!(lifecycle.disconnect());
        assert!(!lifecycle.disconnect());
        assert_eq!(lifecycle.set_status(true, lifecycle.arrival(), || 2), None);
    }

    #[test]
    fn a_disconnect_before_the_connect_handler_leaves_nothing_to_register() {
        let lifecycle = Lifecycle::default();
        assert!(!lifecycle.disconnect());
        assert_eq!(lifecycle.connect(|_| ()), None);
    }

    #[test]
    fn a_status_asked_for_before_the_registration_is_the_one_registered() {
        let lifecycle = Lifecycle::default();
        assert_eq!(
            lifecycle.set_status(false, lifecycle.arrival(), || ()),
            None
        );
        assert_eq!(lifecycle.connect(|online| online), Some(false));
    }

    #[test]
    fn a_status_handled_after_a_later_one_is_dropped() {
        let lifecycle = Lifecycle::default();
        let (first, second) = (lifecycle.arrival(), lifecycle.arrival());
        // Before the registration: the later status is the one kept.
        lifecycle.set_status(true, second, || ());
        lifecycle.set_status(false, first, || ());
        assert_eq!(lifecycle.connect(|online| online), Some(true));
        // Registered: the earlier one is not applied over the later one.
        let (first, second) = (lifecycle.arrival(), lifecycle.arrival());
        assert_eq!(
            lifecycle.set_status(false, second, || "applied"),
            Some("applied")
        );
        assert_eq!(lifecycle.set_status(true, first, || "applied"), None);
    }
}
