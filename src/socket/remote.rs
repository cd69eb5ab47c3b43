//! What this instance does with the other instances' bus messages (`cluster::bus`): deliver their
//! durable events to its own sockets, and end or move the sockets of sessions they ended or
//! rotated.

use crate::{
    cluster::bus::{BusMessage, Inbox},
    state::AppState,
};

/// Handles bus messages in order, for the life of the server.
pub async fn run(state: AppState, mut inbox: Inbox) {
    while let Some(message) = inbox.next().await {
        match message {
            BusMessage::Events { events } => state.realtime.deliver_local(&events).await,
            BusMessage::SessionEnded { session } => {
                state.sessions.note_revoked(session);
                state.realtime.disconnect_session_local(session).await;
            }
            BusMessage::SessionRotated { old, new } => {
                // The sockets move before the old session is refused, so the session sweeper never
                // sees them between the two.
                match state.sessions.token_of(&state.db, new).await {
                    Ok(Some(token)) => state.realtime.rebind_session_local(old, new, &token),
                    Ok(None) => state.realtime.disconnect_session_local(old).await,
                    // Left to the session sweeper, which refuses the old session below.
                    Err(e) => {
                        tracing::warn!(error = %e, "could not move a rotated session's sockets")
                    }
                }
                state.sessions.note_revoked(old);
            }
        }
    }
}
