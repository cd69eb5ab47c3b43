//! Typing indicators (contract §5): relayed to the other participant, and stopped on the typer's
//! behalf so that an indicator never sticks: when they send a message in that conversation, when
//! their last socket here disconnects, and [`PresenceConfig::typing_timeout`] after their last
//! `typing true` there.
//!
//! [`Typing::relay`] is the one place that decides whether and to whom typing is relayed (the
//! conversation's other participant); the stops go to whoever the start went to, so a rule added
//! there (blocking) covers them too. The state lives on the instance that received `typing true`:
//! sends are seen there through the durable `new_message` every instance receives, and the timer
//! runs there.
//!
//! [`PresenceConfig::typing_timeout`]: crate::config::PresenceConfig::typing_timeout

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use uuid::Uuid;

use super::events::Realtime;
use crate::wire::ServerEvent;

/// A `typing true` still showing.
struct Showing {
    /// Who sees it.
    other: Uuid,
    /// Bumped by each `typing true`, so a timer can tell it was refreshed.
    generation: u64,
}

/// The typing indicators this instance relayed and has not stopped yet.
pub struct Typing {
    showing: Mutex<HashMap<(Uuid, Uuid), Showing>>,
    timeout: Duration,
    /// Generations are numbered across all indicators and never restart: an entry removed by a
    /// `typing false` and made again by the next `typing true` must not reuse a number a
    /// pending timer still holds (it stopped the new indicator early).
    generations: AtomicU64,
}

/// Why typing was not relayed.
#[derive(Debug, PartialEq, Eq)]
pub enum NotRelayed {
    /// The caller is not a participant of the conversation (`INVALID_CHAT_ID`).
    NotParticipant,
}

impl Typing {
    /// Indicators stop `timeout` after their last refresh.
    pub fn new(timeout: Duration) -> Self {
        Self {
            showing: Mutex::new(HashMap::new()),
            timeout,
            generations: AtomicU64::new(0),
        }
    }

    /// `typer` says they are (not) typing in `conversation`: relays it to the other participant
    /// and keeps track of it. The caller answers [`NotRelayed`] with its error code.
    pub async fn relay(
        &self,
        rt: &Realtime,
        typer: Uuid,
        conversation: Uuid,
        is_typing: bool,
    ) -> Result<(), NotRelayed> {
        // Not relayed between a blocked pair (contract §3), nor when that cannot be checked. A
        // start that is not relayed is not remembered, so no stop follows it either.
        let found =
            crate::data::block::other_participant_and_block(rt.db(), conversation, typer).await;
        let other = match found {
            Ok(Some((other, false))) => other,
            Ok(Some((_, true))) => return Ok(()),
            Ok(None) => return Err(NotRelayed::NotParticipant),
            Err(e) => {
                tracing::debug!(error = %e, "typing not relayed: the database did not answer");
                return Ok(());
            }
        };
        if is_typing {
            let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
            self.lock()
                .insert((typer, conversation), Showing { other, generation });
            let (rt2, timeout) = (rt.clone(), self.timeout);
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                rt2.typing()
                    .expire(&rt2, typer, conversation, generation)
                    .await;
            });
        } else {
            self.lock().remove(&(typer, conversation));
        }
        emit(rt, typer, other, conversation, is_typing).await;
        Ok(())
    }

    /// `sender` sent a message in `conversation` (seen on every instance through the durable
    /// `new_message`): their indicator there stops.
    pub async fn message_sent(&self, rt: &Realtime, sender: Uuid, conversation: Uuid) {
        let stopped = self.lock().remove(&(sender, conversation));
        if let Some(showing) = stopped {
            emit(rt, sender, showing.other, conversation, false).await;
        }
    }

    /// `user`'s last socket on this instance is gone: every indicator of theirs stops.
    pub async fn user_left(&self, rt: &Realtime, user: Uuid) {
        let stopped: Vec<(Uuid, Uuid)> = {
            let mut showing = self.lock();
            let keys: Vec<(Uuid, Uuid)> = showing
                .keys()
                .filter(|(u, _)| *u == user)
                .copied()
                .collect();
            keys.into_iter()
                .filter_map(|key| showing.remove(&key).map(|s| (key.1, s.other)))
                .collect()
        };
        for (conversation, other) in stopped {
            emit(rt, user, other, conversation, false).await;
        }
    }

    /// The timer of a `typing true`: stops the indicator unless it was refreshed or stopped since.
    async fn expire(&self, rt: &Realtime, typer: Uuid, conversation: Uuid, generation: u64) {
        let stopped = {
            let mut showing = self.lock();
            match showing.get(&(typer, conversation)) {
                Some(s) if s.generation == generation => showing.remove(&(typer, conversation)),
                _ => None,
            }
        };
        if let Some(showing) = stopped {
            emit(rt, typer, showing.other, conversation, false).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Uuid), Showing>> {
        self.showing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn emit(rt: &Realtime, typer: Uuid, other: Uuid, conversation: Uuid, is_typing: bool) {
    let event = ServerEvent::UserTyping {
        user_id: typer,
        is_typing,
        conversation_id: conversation,
    };
    rt.emit(&[other], event).await;
}
