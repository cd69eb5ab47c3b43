//! The Socket.IO edge: socketioxide on the HTTP port, connection bookkeeping and (in later work)
//! handshake authentication, typed server events and client-event handlers.
//!
//! HTTP handlers never touch socketioxide types; they go through the typed handle in `AppState`.

pub mod events;
pub mod transport;

use std::{sync::Arc, time::Duration};

use engineioxide::service::NotFoundService;
use socketioxide::{
    SocketIo, extract::SocketRef, service::SocketIoService, socket::DisconnectReason,
};

use crate::metrics::Metrics;

/// Largest Engine.IO packet accepted (the original's `maxPayload`).
const MAX_PAYLOAD: u64 = 1_000_000;

/// Builds the Socket.IO server and its service.
pub fn build(metrics: Arc<Metrics>) -> (SocketIoService<NotFoundService>, SocketIo) {
    let (service, io) = SocketIo::builder()
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .max_payload(MAX_PAYLOAD)
        // socketioxide's default is 64 MiB; nothing we accept is larger than one payload.
        .ws_max_message_size(MAX_PAYLOAD as usize)
        .ws_max_frame_size(MAX_PAYLOAD as usize)
        .build_svc();

    io.ns("/", move |socket: SocketRef| {
        let metrics = metrics.clone();
        async move {
            metrics.open_sockets.inc();
            tracing::info!(socket.id = %socket.id, transport = ?socket.transport_type(), "socket connected");
            socket.on_disconnect(move |socket: SocketRef, reason: DisconnectReason| async move {
                metrics.open_sockets.dec();
                tracing::info!(socket.id = %socket.id, ?reason, "socket disconnected");
            });
        }
    });
    (service, io)
}
