//! Presence: a user is online while at least one of their sockets is connected and not set
//! offline by `update_status`. `user_status_changed` goes only to users who share a conversation
//! with them, and only when their state flips; `last_seen` is stored when the last socket goes.
//!
//! A user whose last socket drops is reported offline only after a short grace period, so a quick
//! reconnect (a page reload, a network blip) does not flap their status. Sockets that die without
//! a clean close are dropped by Engine.IO's ping timeout and take the same path.
//!
//! This tracks the sockets of this instance; several instances would need a shared adapter.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use socketioxide::socket::Sid;
use uuid::Uuid;

use crate::state::AppState;
use crate::wire::{PresenceStatus, ServerEvent};

#[derive(Default)]
struct UserPresence {
    /// Connected sockets, and whether each is set online.
    sockets: HashMap<Sid, bool>,
    /// What others were last told.
    announced_online: bool,
    /// Bumped on every change, so a delayed "offline" can tell it is stale.
    generation: u64,
}

impl UserPresence {
    fn is_online(&self) -> bool {
        self.sockets.values().any(|online| *online)
    }
}

/// The presence of this instance's users.
pub struct Presence {
    users: Mutex<HashMap<Uuid, UserPresence>>,
    grace: Duration,
}

/// What a change asks for.
enum Announce {
    Nothing,
    Online,
    OfflineAfterGrace(u64),
}

impl Presence {
    /// `grace`: how long a user with no socket left stays online before `offline` is sent.
    pub fn new(grace: Duration) -> Self {
        Self {
            users: Mutex::new(HashMap::new()),
            grace,
        }
    }

    fn update(&self, user: Uuid, change: impl FnOnce(&mut UserPresence)) -> Announce {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.entry(user).or_default();
        change(entry);
        entry.generation += 1;
        let online = entry.is_online();
        let announce = match (online, entry.announced_online) {
            (true, false) => {
                entry.announced_online = true;
                Announce::Online
            }
            (false, true) => Announce::OfflineAfterGrace(entry.generation),
            _ => Announce::Nothing,
        };
        if entry.sockets.is_empty() && !entry.announced_online {
            users.remove(&user);
        }
        announce
    }

    /// A socket of `user` connected (set online).
    pub async fn socket_connected(&self, state: &AppState, user: Uuid, socket: Sid) {
        let announce = self.update(user, |p| {
            p.sockets.insert(socket, true);
        });
        self.announce(state, user, announce).await;
    }

    /// A socket of `user` set itself online or offline.
    pub async fn socket_set_status(&self, state: &AppState, user: Uuid, socket: Sid, online: bool) {
        let announce = self.update(user, |p| {
            if let Some(status) = p.sockets.get_mut(&socket) {
                *status = online;
            }
        });
        self.announce(state, user, announce).await;
    }

    /// A socket of `user` disconnected.
    pub async fn socket_disconnected(&self, state: &AppState, user: Uuid, socket: Sid) {
        let announce = self.update(user, |p| {
            p.sockets.remove(&socket);
        });
        let gone = {
            let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            users.get(&user).is_none_or(|p| p.sockets.is_empty())
        };
        if gone && let Err(e) = crate::data::user::update_last_seen(&state.db, user).await {
            tracing::warn!(user.id = %user, error = %e, "could not store last_seen");
        }
        self.announce(state, user, announce).await;
    }

    async fn announce(&self, state: &AppState, user: Uuid, announce: Announce) {
        match announce {
            Announce::Nothing => {}
            Announce::Online => send_status(state, user, true).await,
            Announce::OfflineAfterGrace(generation) => {
                let state = state.clone();
                let grace = self.grace;
                tokio::spawn(async move {
                    tokio::time::sleep(grace).await;
                    if state.presence.confirm_offline(user, generation) {
                        send_status(&state, user, false).await;
                    }
                });
            }
        }
    }

    /// True when nothing changed since the offline was scheduled; records it as announced.
    fn confirm_offline(&self, user: Uuid, generation: u64) -> bool {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = users.get_mut(&user) else {
            return false;
        };
        if entry.generation != generation || entry.is_online() {
            return false;
        }
        entry.announced_online = false;
        if entry.sockets.is_empty() {
            users.remove(&user);
        }
        true
    }
}

async fn send_status(state: &AppState, user: Uuid, online: bool) {
    let peers = match crate::data::conversation::list_peer_ids(&state.db, user).await {
        Ok(peers) => peers,
        Err(e) => {
            tracing::warn!(user.id = %user, error = %e, "could not load presence recipients");
            return;
        }
    };
    state
        .realtime
        .emit(
            &peers,
            ServerEvent::UserStatusChanged {
                user_id: user,
                status: if online {
                    PresenceStatus::Online
                } else {
                    PresenceStatus::Offline
                },
            },
        )
        .await;
}
