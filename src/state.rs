//! `AppState`: what every handler shares. Cheap to clone (everything inside is an `Arc` or a pool).

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    config::Config,
    metrics::Metrics,
    oauth::OAuthClients,
    session::Sessions,
    socket::{events::Realtime, presence::Presence},
};

/// Shared application state, handed to each API struct.
#[derive(Clone)]
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The database pool.
    pub db: DatabaseConnection,
    /// Group-committing writer of sent messages.
    pub messages: crate::data::message_writer::MessageWriter,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Session issuing, verification and revocation.
    pub sessions: Arc<Sessions>,
    /// The OAuth providers.
    pub oauth: Arc<OAuthClients>,
    /// Emits realtime events to users' sockets (handlers never touch socketioxide directly).
    pub realtime: Realtime,
    /// HTTP rate limits.
    pub rate_limits: Arc<crate::rate_limit::RateLimits>,
    /// Who is online on this instance (and, with Redis, on the others).
    pub presence: Arc<Presence>,
    /// The Redis link shared with the other instances, when `REDIS_URL` is set (contract §7).
    pub redis: Option<crate::cluster::link::RedisLink>,
}
