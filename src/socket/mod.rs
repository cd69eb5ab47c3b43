//! The Socket.IO edge: socketioxide on the HTTP port ([`transport`]), handshake authentication
//! ([`handshake`]), presence ([`presence`]), client events ([`client_events`]), and the typed
//! server events HTTP handlers emit through ([`events`]).
//!
//! HTTP handlers never touch socketioxide types; they go through [`events::Realtime`] in
//! `AppState`.

pub mod client_events;
pub mod delivery;
pub mod event_order;
pub mod events;
pub mod handshake;
pub mod lifecycle;
pub mod presence;
pub mod remote;
pub mod session_watch;
pub mod stream;
pub mod transport;
pub mod typing;

use engineioxide::service::NotFoundService;
use socketioxide::{handler::ConnectHandler, service::SocketIoService, socket::DisconnectReason};

use self::{handshake::SocketSession, lifecycle::Lifecycle};
use crate::{cluster::driver::Driver, config::PresenceConfig, state::AppState};

/// socketioxide's Redis adapter (`socketioxide-redis`) over our driver: across instances with
/// Redis, a local adapter without (contract §7).
pub type Adapter = socketioxide_redis::CustomRedisAdapter<socketioxide::adapter::Emitter, Driver>;

/// A socket of this server.
pub type SocketRef = socketioxide::extract::SocketRef<Adapter>;

/// The Socket.IO server handle.
pub type SocketIo = socketioxide::SocketIo<Adapter>;

/// Largest Engine.IO packet accepted (the original's `maxPayload`).
const MAX_PAYLOAD: u64 = 1_000_000;

/// Packets a socket's outgoing buffer holds (see [`build`]).
const SEND_BUFFER_PACKETS: usize = 2048;

/// Builds the Socket.IO server and its service; [`register`] attaches the handlers once the
/// application state exists (the state holds the server's handle).
///
/// Pings every `ping_interval` with a `ping_timeout` (10 s each by default, contract §5), so a
/// client that stops answering is dropped within 20 s and reported offline after the grace.
pub fn build(
    presence: &PresenceConfig,
    driver: Driver,
) -> (SocketIoService<NotFoundService, Adapter>, SocketIo) {
    // The adapter's channels carry its own prefix, apart from Confab's bus and presence keys.
    let adapter = socketioxide_redis::RedisAdapterCtr::new_with_driver(
        driver,
        socketioxide_redis::RedisAdapterConfig::new().with_prefix("confab-sio"),
    );
    socketioxide::SocketIo::builder()
        .with_adapter::<Adapter>(adapter)
        .ping_interval(presence.ping_interval)
        .ping_timeout(presence.ping_timeout)
        .max_payload(MAX_PAYLOAD)
        // Packets a socket may have waiting to be written. socketioxide fails an emit into a full
        // buffer (default 128) rather than waiting; a replay (`socket::stream`, up to 500 events
        // per read) must fit. The buffer grows only as it fills, so idle sockets do not pay.
        .max_buffer_size(SEND_BUFFER_PACKETS)
        // socketioxide's default is 64 MiB; nothing we accept is larger than one payload.
        .ws_max_message_size(MAX_PAYLOAD as usize)
        .ws_max_frame_size(MAX_PAYLOAD as usize)
        // Chat frames are small; the default 4 KiB read buffer per socket is most of an idle
        // socket's memory after the task and channel allocations (massif, BENCHMARKS.md).
        // Larger frames still arrive, read in more chunks.
        .ws_read_buffer_size(1024)
        .build_svc()
}

/// Attaches the namespace handlers.
///
/// Everything a socket needs is set up in the connect middleware, before the client gets its
/// connect acknowledgement: socketioxide runs the connect handler as a separate task after the
/// acknowledgement, so event handlers registered there would miss events a client sends at once
/// (the original frontend sends `update_status` on connect).
///
/// Returns once the namespace exists (with Redis, once the adapter subscribed, or gave up waiting
/// for a Redis that is down: it subscribes when Redis is back).
pub async fn register(io: &SocketIo, state: AppState) {
    let middleware_state = state.clone();
    let middleware =
        move |socket: SocketRef, auth: socketioxide::extract::TryData<serde_json::Value>| {
            let state = middleware_state.clone();
            async move {
                let auth = auth.0.ok();
                let session = handshake::authenticate(&state, &socket, auth.as_ref()).await?;
                // In the session's room, with its session, before the check below: a revocation
                // or rotation noticed from here on finds the socket (once it is in the namespace;
                // the connect handler checks again for the moment in between), one noticed since
                // the session was read is refused here.
                socket.join(events::session_room(session.session_id));
                socket.extensions.insert(session);
                if state.sessions.is_known_revoked(session.session_id) {
                    return Err(handshake::HandshakeError::Auth(
                        crate::session::AuthError::SessionRevoked,
                    ));
                }
                let asked = auth
                    .as_ref()
                    .and_then(|a| a.get("since"))
                    .filter(|since| !since.is_null());
                // Without `since`, the stream starts at the newest event *now*, before the connect
                // acknowledgement: an event committed between the acknowledgement and the connect
                // handler (where the stream starts) is then replayed instead of skipped.
                let from = match asked {
                    Some(serde_json::Value::String(since)) => {
                        stream::StreamStart::AfterCursor(since.clone())
                    }
                    Some(_) => stream::StreamStart::NotACursor,
                    None => {
                        match crate::data::event::latest_seq(&state.db, session.user_id).await {
                            Ok(seq) => stream::StreamStart::AfterSeq(seq),
                            Err(_) => stream::StreamStart::Unknown,
                        }
                    }
                };
                socket.extensions.insert(ReplayFrom(from));
                set_up(&socket, &state, session).await;
                Ok::<(), handshake::HandshakeError>(())
            }
        };
    // The event stream starts after the connect acknowledgement, so replayed events reach a
    // connected client; live events wait for it (the socket joins its user's room under the
    // stream's lock).
    let handler_state = state.clone();
    let handler = move |socket: SocketRef| {
        let state = handler_state.clone();
        async move {
            let (Some(session), Some(stream)) = (
                socket.extensions.get::<SocketSession>(),
                socket.extensions.get::<stream::SocketStream>(),
            ) else {
                return;
            };
            if state.sessions.is_known_revoked(session.session_id) {
                let _ = socket.disconnect();
                return;
            }
            let user_id = session.user_id;
            let registered = socket.extensions.get::<Lifecycle>().and_then(|lifecycle| {
                lifecycle.connect(|online| {
                    state.metrics.open_sockets.inc();
                    state.presence.socket_connected(user_id, socket.id, online)
                })
            });
            // Gone already: the disconnect handler found nothing to undo, nor is there anything
            // to start.
            let Some(owes_online) = registered else {
                return;
            };
            tracing::info!(socket.id = %socket.id, user.id = %user_id, "socket connected");
            let from = socket
                .extensions
                .remove::<ReplayFrom>()
                .map_or(stream::StreamStart::Unknown, |r| r.0);
            stream
                .start(&socket, &state.realtime, session.user_id, from)
                .await;
            state
                .presence
                .socket_ready(&state, &socket, session.user_id, owes_online)
                .await;
            tracing::debug!(socket.id = %socket.id, "socket ready");
        }
    };
    if let Err(e) = io.ns("/", handler.with(middleware)).await {
        // Only a namespace path with `#` fails here; "/" has none.
        tracing::error!(error = ?e, "the Socket.IO namespace could not be set up");
    }
}

/// The handshake's `auth.since`, kept from the connect middleware to the connect handler.
#[derive(Clone)]
struct ReplayFrom(stream::StreamStart);

/// Prepares a socket in the connect middleware. Nothing here needs undoing if the client hangs
/// up before it is connected ([`lifecycle`]): presence and the connection count are registered
/// by the connect handler.
async fn set_up(socket: &SocketRef, state: &AppState, session: SocketSession) {
    // The user's room is joined when the event stream starts (in the connect handler); the
    // session's room, with the session, in the middleware.
    socket.extensions.insert(stream::SocketStream::default());
    let lifecycle = Lifecycle::default();
    socket.extensions.insert(lifecycle.clone());
    socket.extensions.insert(event_order::EventOrder::default());
    let user_id = session.user_id;
    client_events::attach(socket, state);

    let on_disconnect_state = state.clone();
    socket.on_disconnect(move |socket: SocketRef, reason: DisconnectReason| {
        let state = on_disconnect_state.clone();
        let lifecycle = lifecycle.clone();
        async move {
            if !lifecycle.disconnect() {
                // Never registered, but its client events were taken from the moment it joined
                // the namespace: a typing indicator it started must not outlive the user's
                // sockets (contract §5).
                if !state.presence.has_sockets(user_id) {
                    state.realtime.typing().user_left(&state.realtime, user_id).await;
                }
                return;
            }
            state.metrics.open_sockets.dec();
            tracing::info!(socket.id = %socket.id, user.id = %user_id, ?reason, "socket disconnected");
            state.presence.socket_disconnected(&state, user_id, socket.id).await;
        }
    });
}
