//! Emitting one durable event to one socket: its arguments followed by `{cursor}`, with an
//! acknowledgement request when it is a message for its recipient (contract §6.1, §6.3).

use std::time::Duration;

use serde_json::Value;
use socketioxide::{SendError, SocketError};

use crate::socket::{SocketRef, events::Realtime};
use crate::{data::event::StoredEvent, wire::event::CursorArg};

/// How a durable event waits for room in a socket's outgoing buffer (socketioxide's
/// `max_buffer_size` packets; emitting into a full buffer fails instead of waiting).
#[derive(Clone, Copy)]
pub(super) enum WhenFull {
    /// A replay is a burst this server makes: wait for the client to drain it, up to
    /// [`REPLAY_DRAIN_WAIT`].
    Wait,
    /// A live event must not hold up the request that caused it: a socket that has a whole
    /// buffer of events unread is too slow to follow live.
    Disconnect,
}

/// How long a replay waits for a socket to read its buffer before giving up on the socket.
const REPLAY_DRAIN_WAIT: Duration = Duration::from_secs(10);

/// Emits `event` to `socket`; `false` when it could not be sent. An event is never dropped
/// silently: a socket that cannot take it is disconnected, and the client, reconnecting with the
/// last cursor it saw, gets it by replay (contract §6.1).
pub(super) async fn emit(
    socket: &SocketRef,
    rt: &Realtime,
    event: &StoredEvent,
    when_full: WhenFull,
) -> bool {
    let deadline = tokio::time::Instant::now() + REPLAY_DRAIN_WAIT;
    loop {
        match try_emit(socket, rt, event) {
            Ok(()) => return true,
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                if matches!(when_full, WhenFull::Wait) && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                tracing::warn!(socket.id = %socket.id, "socket too slow for its events; disconnected (it resumes from its cursor)");
                let _ = socket.clone().disconnect();
                return false;
            }
            Err(e) => {
                // A closed socket is gone anyway; any other failure would repeat for every later
                // event, so the client resumes from its cursor instead.
                tracing::debug!(socket.id = %socket.id, error = %e, "could not emit a durable event; disconnected");
                let _ = socket.clone().disconnect();
                return false;
            }
        }
    }
}

fn try_emit(socket: &SocketRef, rt: &Realtime, event: &StoredEvent) -> Result<(), SendError> {
    // The stored arguments followed by `{cursor}`, sent as positional arguments.
    let cursor = CursorArg {
        cursor: event.cursor().to_wire(),
    };
    let args = event
        .args
        .followed_by(&cursor)
        .map_err(|e| SendError::Serialize(socketioxide::ParserError::new(e)))?;
    let Some(message) = event.acknowledgeable_message() else {
        return socket.emit(event.name.as_str(), &args);
    };
    let ack = socket.emit_with_ack::<_, Value>(event.name.as_str(), &args)?;
    let (receipts, recipient) = (rt.receipts().clone(), event.user_id);
    // A client that never acknowledges is unaffected: the wait ends at the ack timeout.
    tokio::spawn(async move {
        // Any answer counts, whatever it carries (socket.io-client's `cb()` sends none, which
        // does not decode as a value).
        match ack.await {
            Ok(_) | Err(socketioxide::AckError::Decode(_)) => {
                receipts.record(recipient, message).await;
            }
            Err(_) => {}
        }
    });
    Ok(())
}
