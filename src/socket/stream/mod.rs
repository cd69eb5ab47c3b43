//! Delivery of durable events to one socket, exactly once and in cursor order (contract §6.1).
//!
//! Each socket keeps the next sequence number it expects in its user's event stream. A live event
//! below it is a duplicate (already replayed) and is dropped; one above it means the events in
//! between are committed but were not emitted here yet. Usually the missing event is on its way:
//! requests that commit one after the other emit from their own tasks, in whatever order those
//! run, and two message writers commit side by side. So a later event is held back for up to
//! [`GAP_WAIT`] for the missing ones to arrive; only then are they read from the event store (an
//! emit that never came: a request cancelled after its commit, an event emitted on another
//! instance and lost with Redis). Reading the store at once cost a query per reordering, on the
//! socket's lock, and at 2,000 msg/s reorderings happen many times a second. Replay on connect
//! (`auth.since`) is the same gap, filled before the socket joins its user's room is released:
//! live events wait on the socket's lock meanwhile. Sequence numbers are gapless and assigned in
//! commit order (`data::event`), so a read of the store always finds what is missing.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio::sync::Mutex;
use uuid::Uuid;

use super::{SocketRef, events::Realtime};
use crate::{
    data::{DataError, event, event::StoredEvent},
    wire::{Cursor, ErrorCode, ServerEvent},
};

/// Where a socket's event stream starts (contract §6.1), decided at the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamStart {
    /// After this sequence number: the user's newest event when the handshake was accepted (no
    /// `auth.since`), so events committed from then on reach the socket.
    AfterSeq(u64),
    /// After the client's `auth.since`, as sent; checked when the stream starts.
    AfterCursor(String),
    /// `auth.since` was given but is not a string (a number, an object): malformed, so the
    /// client is told `CURSOR_EXPIRED` like for any cursor that is not one of its own. (`null`
    /// counts as absent: a client without a cursor yet may send it.)
    NotACursor,
    /// The newest event could not be read at the handshake; it is read again at the start.
    Unknown,
}

/// Events read from the store per query during a replay.
const REPLAY_BATCH: u64 = 500;

/// How long an event that arrived ahead of its predecessors waits for them before they are read
/// from the event store.
const GAP_WAIT: Duration = Duration::from_millis(25);

/// How long before another look when reading the store for a gap failed.
const GAP_RETRY: Duration = Duration::from_secs(1);

/// Events held back waiting for a predecessor; beyond this many the store is read at once.
const MAX_HELD: usize = 512;

/// A socket's position in its user's event stream; stored in the socket's extensions.
#[derive(Clone, Default)]
pub struct SocketStream {
    state: Arc<Mutex<Position>>,
}

#[derive(Default)]
struct Position {
    /// The next sequence number this socket should receive; `None` until the stream has started
    /// (or when the store could not be read at connect: then live events are taken as they come).
    next: Option<u64>,
    /// Live events that arrived ahead of `next`, by sequence number.
    held: BTreeMap<u64, StoredEvent>,
    /// Since when the oldest held event has waited.
    gap_since: Option<tokio::time::Instant>,
    /// Whether a task is waiting to fill the gap (one at a time).
    timer_armed: bool,
}

mod emit;

use emit::{WhenFull, emit};

impl SocketStream {
    /// Starts the stream of a socket that has just connected: joins its user's room and replays
    /// every event after `from`, all before any live event gets through. An invalid or expired
    /// `auth.since` is told with `error CURSOR_EXPIRED`; live events follow.
    ///
    /// A reconnect storm stays cheap: a position taken at the handshake costs one read of the
    /// store, a valid cursor one read per page of its events (and one more when there are none).
    /// When the store cannot be read, the cursor is kept and the replay retried until it can be:
    /// an outage is not an expired cursor.
    pub async fn start(&self, socket: &SocketRef, rt: &Realtime, user: Uuid, from: StreamStart) {
        let mut position = self.state.lock().await;
        let next = &mut position.next;
        socket.join(super::events::user_room(user));
        let cursor = match from {
            StreamStart::AfterSeq(seq) => {
                *next = Some(seq + 1);
                if let Err(e) = fill(socket, rt, user, next, u64::MAX, WhenFull::Wait).await {
                    tracing::warn!(user.id = %user, error = %e, "events since the handshake not replayed yet");
                    self.replay_later(socket.clone(), rt.clone(), user);
                }
                return;
            }
            StreamStart::Unknown => {
                start_at_newest(rt, user, next).await;
                return;
            }
            StreamStart::AfterCursor(since) => Cursor::parse_for(user, &since),
            StreamStart::NotACursor => None,
        };
        let first_page = match cursor {
            Some(cursor) => event::first_page_after(rt.db(), user, cursor, REPLAY_BATCH)
                .await
                .map(|page| (cursor, page)),
            None => Err(DataError::InvalidCursor),
        };
        let (cursor, page) = match first_page {
            Ok(found) => found,
            Err(DataError::InvalidCursor | DataError::CursorExpired) => {
                // The position first, then the error: an event committed in between is live,
                // after the error, and in the client's reload over REST.
                start_at_newest(rt, user, next).await;
                let event = ServerEvent::error(
                    ErrorCode::CursorExpired,
                    "The cursor is not one of yours or older than the retention; reload over REST",
                );
                let _ = socket.emit(event.name(), &event.args());
                return;
            }
            Err(e) => {
                tracing::warn!(user.id = %user, error = %e, "replay not possible yet; retrying");
                *next = cursor.map(|cursor| cursor.seq + 1);
                self.replay_later(socket.clone(), rt.clone(), user);
                return;
            }
        };
        *next = Some(cursor.seq + 1);
        let whole = page.len() as u64 == REPLAY_BATCH;
        if !emit_in_order(socket, rt, next, &page, WhenFull::Wait).await || !whole {
            return;
        }
        if let Err(e) = fill(socket, rt, user, next, u64::MAX, WhenFull::Wait).await {
            tracing::warn!(user.id = %user, error = %e, "replay interrupted");
        }
    }

    /// Replays what the store holds after the socket's position once it can be read, every
    /// [`GAP_RETRY`] until then (the store was unreachable when the stream started). Live events
    /// meanwhile are held, as for any gap.
    fn replay_later(&self, socket: SocketRef, rt: Realtime, user: Uuid) {
        let state = self.state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(GAP_RETRY).await;
                if !socket.connected() {
                    return;
                }
                let mut position = state.lock().await;
                let filled = fill(
                    &socket,
                    &rt,
                    user,
                    &mut position.next,
                    u64::MAX,
                    WhenFull::Wait,
                );
                if filled.await.is_ok() {
                    position.release_held(&socket, &rt).await;
                    return;
                }
            }
        });
    }

    /// Emits whatever was stored for this socket's user since its last event (events from another
    /// instance lost while Redis was down).
    pub async fn catch_up(&self, socket: &SocketRef, rt: &Realtime) {
        let Some(user) = socket
            .extensions
            .get::<super::handshake::SocketSession>()
            .map(|s| s.user_id)
        else {
            return;
        };
        let mut position = self.state.lock().await;
        if position.next.is_none() {
            return;
        }
        if let Err(e) = fill(
            socket,
            rt,
            user,
            &mut position.next,
            u64::MAX,
            WhenFull::Wait,
        )
        .await
        {
            tracing::warn!(user.id = %user, error = %e, "catch-up interrupted");
        }
        position.release_held(socket, rt).await;
    }

    /// Delivers one durable event of this socket's user, in order and once (see the module docs).
    pub async fn deliver(&self, socket: &SocketRef, rt: &Realtime, event: &StoredEvent) {
        let mut position = self.state.lock().await;
        let expected = *position.next.get_or_insert(event.seq);
        if event.seq < expected || position.held.contains_key(&event.seq) {
            return;
        }
        if event.seq > expected {
            position.held.insert(event.seq, event.clone());
            position
                .gap_since
                .get_or_insert_with(tokio::time::Instant::now);
            if position.held.len() > MAX_HELD {
                let filled = position.fill_gap(socket, rt, event.user_id).await;
                if filled.is_err() || position.held.len() > MAX_HELD {
                    // Neither the emits nor the store catch up: the client resumes from its
                    // cursor rather than this socket holding ever more events.
                    position.clear_held();
                    let _ = socket.clone().disconnect();
                }
            } else if !position.timer_armed {
                position.timer_armed = true;
                self.fill_gap_later(socket.clone(), rt.clone(), event.user_id);
            }
            return;
        }
        if emit(socket, rt, event, WhenFull::Disconnect).await {
            position.next = Some(event.seq + 1);
            position.release_held(socket, rt).await;
        }
    }

    /// Once the oldest held event has waited [`GAP_WAIT`], reads from the store whatever is still
    /// missing; looks again while events stay held ([`GAP_RETRY`] after a failed read). One such
    /// task per socket at a time.
    fn fill_gap_later(&self, socket: SocketRef, rt: Realtime, user: Uuid) {
        let state = self.state.clone();
        tokio::spawn(async move {
            let mut wait = GAP_WAIT;
            loop {
                tokio::time::sleep(wait).await;
                let mut position = state.lock().await;
                let Some(since) = position.gap_since.filter(|_| socket.connected()) else {
                    position.timer_armed = false;
                    return;
                };
                let waited = since.elapsed();
                if waited < GAP_WAIT {
                    wait = GAP_WAIT - waited;
                    continue;
                }
                wait = match position.fill_gap(&socket, &rt, user).await {
                    Ok(()) => GAP_WAIT,
                    Err(()) => GAP_RETRY,
                };
            }
        });
    }
}

impl Position {
    /// Reads every event missing before the newest held one from the store (one query for all
    /// the gaps), then emits the held events that follow without a gap. `Err` when the store
    /// could not be read (logged; the events are still there for the next look).
    async fn fill_gap(&mut self, socket: &SocketRef, rt: &Realtime, user: Uuid) -> Result<(), ()> {
        let Some(&last_held) = self.held.keys().next_back() else {
            return Ok(());
        };
        let filled = fill(
            socket,
            rt,
            user,
            &mut self.next,
            last_held - 1,
            WhenFull::Disconnect,
        );
        if let Err(e) = filled.await {
            tracing::warn!(user.id = %user, error = %e, "could not fill an event gap");
            return Err(());
        }
        self.release_held(socket, rt).await;
        if !self.held.is_empty() {
            // What stays held is newer than what was read: it waits afresh.
            self.gap_since = Some(tokio::time::Instant::now());
        }
        Ok(())
    }

    /// Emits the held events that are next in line, and drops those already sent.
    async fn release_held(&mut self, socket: &SocketRef, rt: &Realtime) {
        while let Some(entry) = self.held.first_entry() {
            let expected = self.next.unwrap_or(*entry.key());
            if *entry.key() > expected {
                return;
            }
            let event = entry.remove();
            if event.seq < expected {
                continue;
            }
            if !emit(socket, rt, &event, WhenFull::Disconnect).await {
                self.clear_held();
                return;
            }
            self.next = Some(event.seq + 1);
        }
        self.gap_since = None;
    }

    /// Forgets the held events (the socket is being disconnected; its client replays them).
    fn clear_held(&mut self) {
        self.held.clear();
        self.gap_since = None;
    }
}

/// Emits the stored events from `*next` up to `until` (inclusive), advancing `*next` past each
/// one sent; stops at the first that could not be sent.
async fn fill(
    socket: &SocketRef,
    rt: &Realtime,
    user: Uuid,
    next: &mut Option<u64>,
    until: u64,
    when_full: WhenFull,
) -> Result<(), DataError> {
    loop {
        let from = next.unwrap_or(1);
        if from > until {
            return Ok(());
        }
        let batch = REPLAY_BATCH.min(until - from + 1);
        let events = event::list_after(rt.db(), user, from - 1, batch).await?;
        let done = (events.len() as u64) < batch;
        if !emit_in_order(socket, rt, next, &events, when_full).await || done {
            return Ok(());
        }
    }
}

/// Emits each of `events` that is next in line, advancing `*next` past it; `false` when one
/// could not be sent (the socket is being disconnected).
async fn emit_in_order(
    socket: &SocketRef,
    rt: &Realtime,
    next: &mut Option<u64>,
    events: &[StoredEvent],
    when_full: WhenFull,
) -> bool {
    for event in events {
        if Some(event.seq) == *next {
            if !emit(socket, rt, event, when_full).await {
                return false;
            }
            *next = Some(event.seq + 1);
        }
    }
    true
}

/// Starts a stream after the user's newest event; without a readable store, live events are
/// taken as they come (`next` stays unset).
async fn start_at_newest(rt: &Realtime, user: Uuid, next: &mut Option<u64>) {
    match event::latest_seq(rt.db(), user).await {
        Ok(latest) => *next = Some(latest + 1),
        Err(e) => {
            tracing::warn!(user.id = %user, error = %e, "event stream unavailable at connect; live events only");
        }
    }
}
