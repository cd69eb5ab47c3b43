//! Client → server events: `update_status` and `typing`, each rate-limited per socket.

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Value, json};
use socketioxide::extract::{SocketRef, TryData};
use uuid::Uuid;

use super::{events::ServerEvent, handshake::SocketSession};
use crate::state::AppState;

/// Sustained client events per second per socket.
const EVENTS_PER_SECOND: u32 = 10;
/// Burst allowance.
const EVENT_BURST: u32 = 30;
/// Refused events after which a flooding socket is disconnected.
const STRIKES_BEFORE_DISCONNECT: u32 = 30;

/// A socket's event budget and its count of refused events.
#[derive(Clone)]
struct EventBudget {
    limiter: Arc<DefaultDirectRateLimiter>,
    strikes: Arc<AtomicU32>,
}

impl EventBudget {
    fn new() -> Self {
        let per_second = NonZeroU32::new(EVENTS_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(EVENT_BURST).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: Arc::new(RateLimiter::direct(
                Quota::per_second(per_second).allow_burst(burst),
            )),
            strikes: Arc::new(AtomicU32::new(0)),
        }
    }
}

/// Sends the contract's `error` event to one socket.
fn send_error(socket: &SocketRef, code: &str, message: &str) {
    let _ = socket.emit("error", &json!({ "message": message, "code": code }));
}

/// Takes one event from the socket's budget; `false` when it is spent (the socket has been told,
/// and is disconnected if it keeps flooding).
fn admit(socket: &SocketRef) -> bool {
    let Some(budget) = socket.extensions.get::<EventBudget>() else {
        return false;
    };
    if budget.limiter.check().is_ok() {
        budget.strikes.store(0, Ordering::Relaxed);
        return true;
    }
    let strikes = budget.strikes.fetch_add(1, Ordering::Relaxed) + 1;
    if strikes >= STRIKES_BEFORE_DISCONNECT {
        tracing::info!(socket.id = %socket.id, "disconnecting a flooding socket");
        let _ = socket.clone().disconnect();
    } else if strikes == 1 {
        send_error(socket, "RATE_LIMITED", "Too many events; slow down");
    }
    false
}

/// An event's positional arguments, however many there are.
///
/// socketioxide deserialises a tuple type from all of an event's arguments, and any other type
/// from the first argument only; this reads them as a tuple of any length.
#[derive(Debug, Default)]
struct Args(Vec<Value>);

impl<'de> serde::Deserialize<'de> for Args {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> serde::de::Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("event arguments")
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(self, mut seq: S) -> Result<Args, S::Error> {
                let mut args = Vec::new();
                while let Some(arg) = seq.next_element::<Value>()? {
                    args.push(arg);
                }
                Ok(Args(args))
            }
        }
        deserializer.deserialize_tuple(MAX_ARGS, ArgsVisitor)
    }
}

/// More arguments than any client event takes.
const MAX_ARGS: usize = 8;

/// Registers the client-event handlers on a connecting socket.
pub fn attach(socket: &SocketRef, state: &AppState) {
    socket.extensions.insert(EventBudget::new());
    on_event(socket, state, "update_status", update_status);
    on_event(socket, state, "typing", typing);
}

/// Registers `handler` for `event`, behind what every client event goes through: the socket's
/// rate budget, its session, and its arguments read as a list.
fn on_event<F, Fut>(socket: &SocketRef, state: &AppState, event: &'static str, handler: F)
where
    F: Fn(SocketRef, AppState, SocketSession, Vec<Value>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let state = state.clone();
    socket.on(
        event,
        move |socket: SocketRef, TryData(args): TryData<Args>| {
            let (state, handler) = (state.clone(), handler.clone());
            async move {
                if !admit(&socket) {
                    return;
                }
                let Some(session) = socket.extensions.get::<SocketSession>() else {
                    return;
                };
                handler(
                    socket,
                    state,
                    session,
                    args.map(|a| a.0).unwrap_or_default(),
                )
                .await;
            }
        },
    );
}

/// `update_status(status)`: `"online"` or `"offline"` for this socket.
async fn update_status(
    socket: SocketRef,
    state: AppState,
    session: SocketSession,
    args: Vec<Value>,
) {
    let online = match args.first().and_then(Value::as_str) {
        Some("online") => true,
        Some("offline") => false,
        _ => {
            send_error(
                &socket,
                "INVALID_STATUS",
                "Invalid status. Must be 'online' or 'offline'",
            );
            return;
        }
    };
    state
        .presence
        .socket_set_status(&state, session.user_id, socket.id, online)
        .await;
}

/// `typing(conversationId, isTyping)`: relayed to the other participant only.
async fn typing(socket: SocketRef, state: AppState, session: SocketSession, args: Vec<Value>) {
    let conversation_id = args
        .first()
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok());
    let Some(conversation_id) = conversation_id else {
        send_error(&socket, "INVALID_CHAT_ID", "Chat ID is required");
        return;
    };
    let Some(is_typing) = args.get(1).and_then(Value::as_bool) else {
        send_error(
            &socket,
            "INVALID_TYPING_STATUS",
            "isTyping must be a boolean",
        );
        return;
    };
    let me = session.user_id;
    let conversation =
        crate::data::conversation::get_conversation_for(&state.db, conversation_id, me).await;
    let Ok(conversation) = conversation else {
        send_error(&socket, "INVALID_CHAT_ID", "Not a conversation of yours");
        return;
    };
    let other = crate::data::conversation::other_participant(&conversation, me);
    let event = ServerEvent::UserTyping {
        user_id: me,
        is_typing,
        conversation_id,
    };
    state.realtime.emit(&[other], event).await;
}
