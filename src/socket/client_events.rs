//! Client → server events: `update_status` and `typing`, each rate-limited per socket.

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use socketioxide::extract::{SocketRef, TryData};
use uuid::Uuid;

use super::handshake::SocketSession;
use crate::{
    state::AppState,
    wire::{ClientEvent, ErrorCode, PresenceStatus, ServerEvent, event::RawArgs},
};

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
fn send_error(socket: &SocketRef, code: ErrorCode, message: &'static str) {
    let event = ServerEvent::error(code, message);
    let _ = socket.emit(event.name(), &event.args());
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
        send_error(socket, ErrorCode::RateLimited, "Too many events; slow down");
    }
    false
}

/// Registers the client-event handlers on a connecting socket: each event goes through the
/// socket's rate budget, its session, and typed decoding of its arguments (a bad argument is
/// answered with its own code) before [`handle`].
pub fn attach(socket: &SocketRef, state: &AppState) {
    socket.extensions.insert(EventBudget::new());
    for name in ClientEvent::NAMES {
        let state = state.clone();
        socket.on(
            name,
            move |socket: SocketRef, TryData(args): TryData<RawArgs>| {
                let state = state.clone();
                async move {
                    if !admit(&socket) {
                        return;
                    }
                    let Some(session) = socket.extensions.get::<SocketSession>() else {
                        return;
                    };
                    // Arguments that are not even a JSON list decode as none, so each required
                    // argument reports its own code.
                    let args = args.unwrap_or_default();
                    match ClientEvent::decode(name, &args) {
                        Some(Ok(event)) => handle(&socket, &state, &session, event).await,
                        Some(Err((code, message))) => send_error(&socket, code, message),
                        None => {}
                    }
                }
            },
        );
    }
}

/// Acts on one decoded client event.
async fn handle(socket: &SocketRef, state: &AppState, session: &SocketSession, event: ClientEvent) {
    match event {
        ClientEvent::UpdateStatus(status) => {
            let online = status == PresenceStatus::Online;
            state
                .presence
                .socket_set_status(state, session.user_id, socket.id, online)
                .await;
        }
        ClientEvent::Typing {
            conversation_id,
            is_typing,
        } => typing(socket, state, session.user_id, conversation_id, is_typing).await,
    }
}

/// `typing(conversationId, isTyping)`: relayed to the other participant only.
async fn typing(
    socket: &SocketRef,
    state: &AppState,
    me: Uuid,
    conversation_id: Uuid,
    is_typing: bool,
) {
    let conversation =
        crate::data::conversation::get_conversation_for(&state.db, conversation_id, me).await;
    let Ok(conversation) = conversation else {
        send_error(
            socket,
            ErrorCode::InvalidChatId,
            "Not a conversation of yours",
        );
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
