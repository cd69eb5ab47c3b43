//! Presence: a user is online while at least one of their sockets is connected and not set
//! offline by `update_status`. `user_status_changed` goes only to users who share a conversation
//! with them, and only when their state flips; `last_seen` is stored when the last socket goes.
//!
//! A user whose last socket drops is reported offline only after a short grace period, so a quick
//! reconnect (a page reload, a network blip) does not flap their status. Sockets that die without
//! a clean close are dropped by Engine.IO's ping timeout and take the same path.
//!
//! This tracks the sockets of this instance. With Redis (contract §7), each instance registers
//! its online users in [`PresenceStore`], which says when a user's state flips across all
//! instances, so a user online on two instances goes offline only when both lost them; the
//! [`keep_alive`] and [`reap`] tasks refresh this instance's entries and report the users of a
//! crashed one offline. Presence recipients always come from `data::conversation::list_peer_ids`,
//! the one rule for who may see whose presence.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use socketioxide::socket::Sid;
use uuid::Uuid;

use super::SocketRef;
use crate::cluster::presence::PresenceStore;
use crate::state::AppState;
use crate::wire::{PresenceStatus, ServerEvent};

mod heartbeat;
mod sharing;
pub use heartbeat::{keep_alive, reap};

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
    store: Option<PresenceStore>,
    /// Serializes this instance's changes to the store: a heartbeat must not re-register a user
    /// between their local offline and its unregistration (it would announce them online again).
    store_order: tokio::sync::Mutex<()>,
    /// Change numbers, across all users and never restarting, so a delayed offline can never
    /// match a newer change of a user whose entry was dropped and made again.
    generations: std::sync::atomic::AtomicU64,
}

/// What a change asks for.
enum Announce {
    Nothing,
    Online,
    OfflineAfterGrace(u64),
}

/// What a status change owes the user's peers ([`Presence::announce_status`]).
pub struct StatusAnnouncement(Announce);

impl Presence {
    /// `grace`: how long a user with no socket left stays online before `offline` is sent;
    /// `store`: presence across instances, when Redis is configured.
    pub fn new(grace: Duration, store: Option<PresenceStore>) -> Self {
        Self {
            users: Mutex::new(HashMap::new()),
            grace,
            store,
            store_order: tokio::sync::Mutex::new(()),
            generations: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Users announced online by this instance (registered in the store when there is one).
    fn announced(&self) -> Vec<Uuid> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .iter()
            .filter(|(_, p)| p.announced_online)
            .map(|(user, _)| *user)
            .collect()
    }

    /// Those of `among` announced online by this instance: one lookup each, not a copy of every
    /// online user (a connect storm would make that quadratic).
    fn announced_among(&self, among: &[Uuid]) -> Vec<Uuid> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        among
            .iter()
            .copied()
            .filter(|user| users.get(user).is_some_and(|p| p.announced_online))
            .collect()
    }

    fn update(&self, user: Uuid, change: impl FnOnce(&mut UserPresence)) -> Announce {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let entry = users.entry(user).or_default();
        change(entry);
        entry.generation = self
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
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

    /// A socket of `user` connected, set `online` or not (`update_status` may come first). True
    /// when the user just came online: the announcement is then owed, and made by
    /// [`Self::socket_ready`] once the socket's replay is done, with the same read of the user's
    /// peers as its snapshot.
    pub fn socket_connected(&self, user: Uuid, socket: Sid, online: bool) -> bool {
        let announce = self.update(user, |p| {
            p.sockets.insert(socket, online);
        });
        matches!(announce, Announce::Online)
    }

    /// A socket of `user` set itself online or offline: recorded at once (call this in the
    /// order the socket sent its statuses, `socket::lifecycle`); what it owes its peers is sent
    /// by [`Self::announce_status`].
    pub fn socket_set_status(&self, user: Uuid, socket: Sid, online: bool) -> StatusAnnouncement {
        StatusAnnouncement(self.update(user, |p| {
            if let Some(status) = p.sockets.get_mut(&socket) {
                *status = online;
            }
        }))
    }

    /// Sends what a status change owes `user`'s peers.
    pub async fn announce_status(&self, state: &AppState, user: Uuid, owed: StatusAnnouncement) {
        self.announce(state, user, owed.0).await;
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
        if gone {
            state
                .realtime
                .typing()
                .user_left(&state.realtime, user)
                .await;
            if let Err(e) = crate::data::user::update_last_seen(&state.db, user).await {
                tracing::warn!(user.id = %user, error = %e, "could not store last_seen");
            }
        }
        self.announce(state, user, announce).await;
    }

    /// A socket of `user` finished its replay (`socket::stream`): makes the online announcement
    /// [`Self::socket_connected`] owed (`owes_online`) and sends the socket its snapshot.
    ///
    /// Both use one read of the user's presence recipients, made now rather than in the connect
    /// middleware: a block committed during the replay is then already in it, so the snapshot
    /// never shows a peer the replayed stream says is blocked.
    pub async fn socket_ready(
        &self,
        state: &AppState,
        socket: &SocketRef,
        user: Uuid,
        owes_online: bool,
    ) {
        let Some(peers) = presence_recipients(state, user).await else {
            // Still registered across instances (with Redis), and announced if a second read
            // gets through: as before the announcement waited for the replay.
            if owes_online {
                self.announce_online(state, user, None).await;
            }
            return;
        };
        if owes_online {
            self.announce_online(state, user, Some(&peers)).await;
        }
        self.snapshot(socket, &peers).await;
    }

    /// Sends one socket that just connected `user_status_changed(peer, "online")` for each of
    /// `peers` (the user's presence recipients) online now, on any instance (contract §5).
    async fn snapshot(&self, socket: &SocketRef, peers: &[Uuid]) {
        for peer in self.online_among(peers).await {
            let event = ServerEvent::UserStatusChanged {
                user_id: peer,
                status: PresenceStatus::Online,
            };
            let _ = socket.emit(event.name(), &event.args());
        }
    }

    /// Those of `users` online now, on any instance (this instance's view when Redis fails).
    async fn online_among(&self, users: &[Uuid]) -> Vec<Uuid> {
        let local = || self.announced_among(users);
        match &self.store {
            Some(store) => store.online_among(users).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "presence from this instance only");
                local()
            }),
            None => local(),
        }
    }

    async fn announce(&self, state: &AppState, user: Uuid, announce: Announce) {
        match announce {
            Announce::Nothing => {}
            Announce::Online => self.announce_online(state, user, None).await,
            Announce::OfflineAfterGrace(generation) => {
                let state = state.clone();
                let grace = self.grace;
                tokio::spawn(async move {
                    tokio::time::sleep(grace).await;
                    let presence = &state.presence;
                    let order = presence.store_order.lock().await;
                    if !presence.confirm_offline(user, generation) {
                        return;
                    }
                    let flipped = match &presence.store {
                        Some(store) => store.unregister(user).await,
                        None => Ok(true),
                    };
                    drop(order);
                    if flipped.unwrap_or(true) {
                        send_status(&state, user, false).await;
                        // Back online (on any instance) while this was on its way (its peers
                        // were being read): that `online` may have gone out first, so it is sent
                        // again, last; and with no grace, a new `offline` may have overtaken
                        // that one too.
                        let online_now =
                            || async { presence.online_among(&[user]).await.contains(&user) };
                        if online_now().await {
                            send_status(&state, user, true).await;
                            if !online_now().await {
                                send_status(&state, user, false).await;
                            }
                        }
                    }
                });
            }
        }
    }

    /// Tells `user`'s peers (`peers`, read when `None`) that they are online, unless they went
    /// offline since (a socket that dropped during a replay longer than the grace period).
    ///
    /// The `offline` of that case may also be confirmed while this `online` is on its way (the
    /// order lock is not held across the emit: with Redis, a storm of connects would queue on
    /// it); the user is then told offline once more, so the last word is right.
    async fn announce_online(&self, state: &AppState, user: Uuid, peers: Option<&[Uuid]>) {
        let flipped = {
            let _order = self.store_order.lock().await;
            if !self.is_announced(user) {
                return;
            }
            match &self.store {
                Some(store) => store.register(&[user]).await.map(|f| f.contains(&user)),
                None => Ok(true),
            }
        };
        // Redis unreachable: announce what this instance knows (a duplicate `online` is
        // harmless, a missing one is not).
        if !flipped.unwrap_or(true) {
            return;
        }
        let read;
        let peers = match peers {
            Some(peers) => peers,
            None => {
                let Some(peers) = presence_recipients(state, user).await else {
                    return;
                };
                read = peers;
                &read
            }
        };
        send_status_to(state, user, true, peers).await;
        if !self.is_announced(user) {
            send_status_to(state, user, false, peers).await;
        }
    }

    /// Whether `user` is announced online by this instance (public for the integration tests).
    pub fn is_announced(&self, user: Uuid) -> bool {
        !self.announced_among(&[user]).is_empty()
    }

    /// Whether any socket of `user` is registered on this instance.
    pub fn has_sockets(&self, user: Uuid) -> bool {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.get(&user).is_some_and(|p| !p.sockets.is_empty())
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

/// `user`'s presence recipients; `None` (logged) when the database could not say.
async fn presence_recipients(state: &AppState, user: Uuid) -> Option<Vec<Uuid>> {
    crate::data::conversation::list_peer_ids(&state.db, user)
        .await
        .inspect_err(|e| {
            tracing::warn!(user.id = %user, error = %e, "could not load presence recipients");
        })
        .ok()
}

/// Tells `user`'s presence recipients, read here, that they went online or offline.
async fn send_status(state: &AppState, user: Uuid, online: bool) {
    if let Some(peers) = presence_recipients(state, user).await {
        send_status_to(state, user, online, &peers).await;
    }
}

/// Tells `peers` that `user` went online or offline.
async fn send_status_to(state: &AppState, user: Uuid, online: bool, peers: &[Uuid]) {
    tracing::debug!(user.id = %user, online, "presence changes");
    state
        .realtime
        .emit(
            peers,
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
