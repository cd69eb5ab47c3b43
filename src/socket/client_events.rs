//! Client → server events: `update_status` and `typing`, each rate-limited per socket.

use std::{
    num::NonZeroU32,
    sync::{
        Arc, LazyLock, Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use governor::{
    Quota, RateLimiter,
    clock::QuantaClock,
    state::{InMemoryState, NotKeyed},
};
use socketioxide::extract::TryData;
use uuid::Uuid;

use super::{
    SocketRef,
    event_order::{Arrival, EventOrder},
    handshake::SocketSession,
    lifecycle::Lifecycle,
    typing::NotRelayed,
};
use crate::{
    state::AppState,
    wire::{ClientEvent, ErrorCode, PresenceStatus, ServerEvent, event::RawArgs},
};

/// Sustained client events per second per socket.
const EVENTS_PER_SECOND: u32 = 10;
/// Burst allowance.
const EVENT_BURST: u32 = 30;
/// Refused events in a row after which a flooding socket is disconnected.
const STRIKES_BEFORE_DISCONNECT: u32 = 30;
/// How long the `RATE_LIMITED` error is out before a flooding socket is disconnected.
///
/// The error must reach the client first (contract §5). Queued ahead of the disconnect is not
/// enough: a flooding client still has frames in flight when the server closes, so the kernel
/// answers them with a reset, and a reset discards whatever the client had not read yet, the
/// error included (the client saw only `transport close`). Waiting lets it read the error.
const DISCONNECT_GRACE: Duration = Duration::from_secs(2);
/// After this long, a new flood is told again before anything else happens.
const WARNING_TTL: Duration = Duration::from_secs(10);

/// A socket's event budget, its count of refused events, and when it was told to slow down. One
/// allocation per socket, cloned out of the extensions by reference count.
#[derive(Clone)]
struct EventBudget(Arc<Budget>);

struct Budget {
    limiter: DirectRateLimiter,
    strikes: AtomicU32,
    warned_at: Mutex<Option<Instant>>,
    disconnecting: AtomicBool,
}

type DirectRateLimiter = RateLimiter<NotKeyed, InMemoryState, QuantaClock>;

/// One clock for every socket's limiter. Creating a `QuantaClock` reads the CPU's features with
/// `cpuid`, which a virtual machine traps: measurable per connection in a reconnect storm.
static CLOCK: LazyLock<QuantaClock> = LazyLock::new(QuantaClock::default);

impl EventBudget {
    fn new() -> Self {
        let per_second = NonZeroU32::new(EVENTS_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(EVENT_BURST).unwrap_or(NonZeroU32::MIN);
        Self(Arc::new(Budget {
            limiter: RateLimiter::direct_with_clock(
                Quota::per_second(per_second).allow_burst(burst),
                CLOCK.clone(),
            ),
            strikes: AtomicU32::new(0),
            warned_at: Mutex::new(None),
            disconnecting: AtomicBool::new(false),
        }))
    }
}

/// Sends the contract's `error` event to one socket; `false` when it could not be queued (the
/// socket's outgoing buffer is full, or it is closing).
fn send_error(socket: &SocketRef, code: ErrorCode, message: &'static str) -> bool {
    let event = ServerEvent::error(code, message);
    socket.emit(event.name(), &event.args()).is_ok()
}

/// Takes one event from the socket's budget; `false` when it is spent. A refused socket is first
/// told (`error RATE_LIMITED`, retried until it could be queued); a socket that goes on
/// ([`STRIKES_BEFORE_DISCONNECT`] refusals in a row) is disconnected [`DISCONNECT_GRACE`] after it
/// was told, never sooner.
fn admit(socket: &SocketRef) -> bool {
    let Some(EventBudget(budget)) = socket.extensions.get::<EventBudget>() else {
        return false;
    };
    if budget.limiter.check().is_ok() {
        budget.strikes.store(0, Ordering::Relaxed);
        return true;
    }
    let strikes = budget.strikes.fetch_add(1, Ordering::Relaxed) + 1;
    let mut warned_at = budget.warned_at.lock().unwrap_or_else(|e| e.into_inner());
    match *warned_at {
        Some(at) if at.elapsed() < WARNING_TTL => {
            if strikes >= STRIKES_BEFORE_DISCONNECT
                && !budget.disconnecting.swap(true, Ordering::Relaxed)
            {
                let socket = socket.clone();
                tokio::spawn(async move {
                    tokio::time::sleep_until((at + DISCONNECT_GRACE).into()).await;
                    tracing::info!(socket.id = %socket.id, "disconnecting a flooding socket");
                    let _ = socket.disconnect();
                });
            }
        }
        // Not told yet (or long ago): nothing else happens to the socket before it is.
        _ => {
            if send_error(socket, ErrorCode::RateLimited, "Too many events; slow down") {
                *warned_at = Some(Instant::now());
            }
        }
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
            move |socket: SocketRef, Arrival(arrival): Arrival, TryData(args): TryData<RawArgs>| {
                let state = state.clone();
                let order = socket.extensions.get::<EventOrder>().unwrap_or_default();
                async move {
                    // In arrival order (`event_order`), the rate budget included.
                    let work = async move {
                        if !admit(&socket) {
                            return;
                        }
                        let Some(session) = socket.extensions.get::<SocketSession>() else {
                            return;
                        };
                        // Arguments that are not even a JSON list decode as none, so each
                        // required argument reports its own code.
                        let args = args.unwrap_or_default();
                        match ClientEvent::decode(name, &args) {
                            Some(Ok(event)) => handle(&socket, &state, &session, event).await,
                            Some(Err((code, message))) => {
                                send_error(&socket, code, message);
                            }
                            None => {}
                        }
                    };
                    order.run(arrival, work).await;
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
            let user = session.user_id;
            let owed = socket.extensions.get::<Lifecycle>().and_then(|lifecycle| {
                lifecycle.set_status(online, || {
                    state.presence.socket_set_status(user, socket.id, online)
                })
            });
            if let Some(owed) = owed {
                state.presence.announce_status(state, user, owed).await;
            }
        }
        ClientEvent::Typing {
            conversation_id,
            is_typing,
        } => typing(socket, state, session.user_id, conversation_id, is_typing).await,
    }
}

/// `typing(conversationId, isTyping)`: relayed to the other participant only, by the one place
/// that decides it ([`super::typing::Typing::relay`]).
async fn typing(
    socket: &SocketRef,
    state: &AppState,
    me: Uuid,
    conversation_id: Uuid,
    is_typing: bool,
) {
    let relayed = state
        .realtime
        .typing()
        .relay(&state.realtime, me, conversation_id, is_typing)
        .await;
    match relayed {
        Ok(()) => {}
        Err(NotRelayed::NotParticipant) => {
            send_error(
                socket,
                ErrorCode::InvalidChatId,
                "Not a conversation of yours",
            );
        }
    }
}
