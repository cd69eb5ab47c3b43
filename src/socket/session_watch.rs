//! Ends (or moves) sockets whose session stops being valid, without reading the database per
//! socket (issue 17: idle sockets must cost nothing).
//!
//! - **Expiry**: each socket keeps its session's expiry (`SocketSession`); [`sweep`] compares it
//!   with the clock every 10 s and disconnects expired sockets. No database.
//! - **Revocation, rotation, deletion**: PostgreSQL notifies every instance on commit (a trigger
//!   on `sessions`, `data::session_change`); [`listen`] disconnects this instance's sockets of an
//!   ended session, moves those of a rotated one to its successor, and updates the session cache.
//!   Every instance shares the database, so this works with one instance or many, with or
//!   without Redis (contract §7: within 1 s).
//! - **Lost notices**: notices sent while the listener's connection is down (a database restart)
//!   are gone for good, so once it listens again the sessions of all this instance's sockets are
//!   checked once, in one batched query ([`check_all`]). The same check runs every 5 minutes as a
//!   backstop, see [`BACKSTOP_INTERVAL`].

use std::{collections::HashSet, time::Duration};

use chrono::Utc;
use sea_orm::sqlx::PgPool;
use uuid::Uuid;

use super::handshake::SocketSession;
use crate::{
    data::session_change::{self, SessionChange, SessionChanges},
    state::AppState,
};

/// How often sockets' session expiry is compared with the clock (in memory).
const EXPIRY_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// How often every local socket's session is checked against the database, in one batched query,
/// although notices should have said everything. The backstop covers the one failure the listener
/// cannot see: a connection that died without the socket noticing (a half-open TCP connection
/// after a network failure or a failover that left no reset), which delivers nothing and reports
/// no error. A few queries every 5 minutes, whatever the number of sockets.
pub const BACKSTOP_INTERVAL: Duration = Duration::from_secs(300);

/// How long to wait before listening again after the listener's connection failed.
const RETRY: Duration = Duration::from_secs(1);

/// Disconnects expired sockets every 10 s, and runs the batched backstop check every
/// [`BACKSTOP_INTERVAL`]. Each instance sweeps only its own sockets. Runs for the life of the
/// server, owned by its background tasks.
pub async fn sweep(state: AppState) {
    let mut expiry = tokio::time::interval(EXPIRY_SWEEP_INTERVAL);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backstop = tokio::time::interval_at(
        tokio::time::Instant::now() + BACKSTOP_INTERVAL,
        BACKSTOP_INTERVAL,
    );
    backstop.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = expiry.tick() => disconnect_expired(&state),
            _ = backstop.tick() => check_all(&state).await,
        }
    }
}

fn disconnect_expired(state: &AppState) {
    let now = Utc::now();
    for socket in state.realtime.sockets() {
        let Some(session) = socket.extensions.get::<SocketSession>() else {
            continue;
        };
        if session.expires_at <= now {
            tracing::info!(socket.id = %socket.id, "disconnecting a socket whose session expired");
            let _ = socket.disconnect();
        }
    }
}

/// Acts on PostgreSQL's notices of session changes, for the life of the server. `first` is the
/// listener opened at start-up (before any socket could connect), if that worked; the connection
/// is opened again, every second until it works, whenever it fails.
pub async fn listen(state: AppState, pool: PgPool, first: Option<SessionChanges>) {
    let mut opened = first;
    // Whether notices may have been missed since the last time we listened.
    let mut missed = opened.is_none();
    loop {
        let mut changes = match opened.take() {
            Some(changes) => changes,
            None => match session_change::listen_session_changes(&pool).await {
                Ok(changes) => changes,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot listen to session changes yet");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            },
        };
        if missed {
            tracing::info!("listening to session changes again; checking this instance's sockets");
            check_all(&state).await;
        }
        loop {
            match changes.next().await {
                Ok(Some(change)) => apply(&state, change).await,
                // Lost, and listening again already.
                Ok(None) => {
                    tracing::warn!("the session change listener reconnected; checking sockets");
                    check_all(&state).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the session change listener lost the database; retrying");
                    break;
                }
            }
        }
        drop(changes);
        missed = true;
        tokio::time::sleep(RETRY).await;
    }
}

/// Brings this instance's sockets and session cache in line with one change. Idempotent: the
/// instance that made the change has acted on it already, and a change may be applied again by
/// [`check_all`].
pub async fn apply(state: &AppState, change: SessionChange) {
    tracing::debug!(?change, "session change");
    match change {
        SessionChange::Revoked(session) => {
            state.sessions.note_revoked(session);
            state.realtime.disconnect_session(session).await;
        }
        SessionChange::Deleted(session) => {
            state.sessions.note_deleted(session);
            state.realtime.disconnect_session(session).await;
        }
        SessionChange::Rotated {
            old,
            new,
            expires_at,
        } => {
            state.realtime.rebind_session(old, new, expires_at);
            state.sessions.note_revoked(old);
        }
    }
}

/// Checks the sessions of every socket on this instance against the database, in one batched
/// query (a few for very many sessions), and applies what changed. A database that is down keeps
/// the sockets (rather than dropping everyone); the next check catches up.
pub async fn check_all(state: &AppState) {
    let sessions: HashSet<Uuid> = state
        .realtime
        .sockets()
        .iter()
        .filter_map(|socket| socket.extensions.get::<SocketSession>())
        .map(|session| session.session_id)
        .collect();
    if sessions.is_empty() {
        return;
    }
    let sessions: Vec<Uuid> = sessions.into_iter().collect();
    match session_change::list_session_changes(&state.db, &sessions).await {
        Ok(changes) => {
            if !changes.is_empty() {
                tracing::info!(
                    sessions = changes.len(),
                    "sessions that changed unnoticed; acting on them now"
                );
            }
            for change in changes {
                apply(state, change).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not check the sockets' sessions"),
    }
}
