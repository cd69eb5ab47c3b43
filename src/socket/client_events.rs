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

    let s = state.clone();
    socket.on(
        "update_status",
        move |socket: SocketRef, TryData(args): TryData<Args>| {
            let state = s.clone();
            async move {
                if !admit(&socket) {
                    return;
                }
                let Some(session) = socket.extensions.get::<SocketSession>() else {
                    return;
                };
                let args = args.map(|a| a.0).unwrap_or_default();
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
        },
    );

    let s = state.clone();
    socket.on(
        "typing",
        move |socket: SocketRef, TryData(args): TryData<Args>| {
            let state = s.clone();
            async move {
                if !admit(&socket) {
                    return;
                }
                let Some(session) = socket.extensions.get::<SocketSession>() else {
                    return;
                };
                let args = args.map(|a| a.0).unwrap_or_default();
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
                let other = match crate::data::conversation::get_conversation_for(
                    &state.db,
                    conversation_id,
                    me,
                )
                .await
                {
                    Ok(conversation) => {
                        crate::data::conversation::other_participant(&conversation, me)
                    }
                    Err(_) => {
                        send_error(&socket, "INVALID_CHAT_ID", "Not a conversation of yours");
                        return;
                    }
                };
                state
                    .realtime
                    .emit(
                        &[other],
                        ServerEvent::UserTyping {
                            user_id: me,
                            is_typing,
                            conversation_id,
                        },
                    )
                    .await;
            }
        },
    );
}
