//! What this instance does with the other instances' bus messages (`cluster::bus`): deliver their
//! durable events to its own sockets. (Session ends and rotations come from PostgreSQL, see
//! `socket::session_watch`.)

use crate::{
    cluster::bus::{BusMessage, Inbox},
    state::AppState,
};

/// Handles bus messages in order, for the life of the server.
pub async fn run(state: AppState, mut inbox: Inbox) {
    while let Some(message) = inbox.next().await {
        match message {
            BusMessage::Events { events } => state.realtime.deliver_local(&events).await,
        }
    }
}
