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
//! (Client events reach it in the order the socket sent them: `socket::event_order`.)

use std::sync::{Arc, Mutex};

/// A socket's place in its life (in the socket's extensions).
#[derive(Clone)]
pub struct Lifecycle(Arc<Mutex<Phase>>);

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
        Self(Arc::new(Mutex::new(Phase::Connecting { online: true })))
    }
}

impl Lifecycle {
    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connect handler: runs `register` with the status the client asked for so far, unless
    /// the socket is already gone; returns what `register` returned. `register` runs under the
    /// slot's lock, so a status change or a disconnect waits for it: it must not block.
    pub fn connect<T>(&self, register: impl FnOnce(bool) -> T) -> Option<T> {
        let mut phase = self.phase();
        let Phase::Connecting { online } = *phase else {
            return None;
        };
        let registered = register(online);
        *phase = Phase::Connected;
        Some(registered)
    }

    /// A status change (`update_status`): once the socket is registered, `apply` runs (under the
    /// slot's lock, after a registration in progress: it must not block) and its result is
    /// returned. Before that the status is kept for the registration; after the disconnect it is
    /// dropped.
    pub fn set_status<T>(&self, online: bool, apply: impl FnOnce() -> T) -> Option<T> {
        let mut phase = self.phase();
        match &mut *phase {
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
        let mut phase = self.phase();
        matches!(
            std::mem::replace(&mut *phase, Phase::Gone),
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
        assert_eq!(lifecycle.set_status(false, || 1), Some(1));
        assert!(lifecycle.disconnect());
        assert!(!lifecycle.disconnect());
        assert_eq!(lifecycle.set_status(true, || 2), None);
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
        assert_eq!(lifecycle.set_status(false, || ()), None);
        assert_eq!(lifecycle.connect(|online| online), Some(false));
    }
}
