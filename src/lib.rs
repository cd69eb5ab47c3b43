//! Confab: a real-time direct-message chat backend. REST (poem + poem-openapi) and Socket.IO
//! (socketioxide) share one port; PostgreSQL (sea-orm) holds everything.
//!
//! The layers, outside in:
//! - [`startup`] builds the server: database pool and migrations, routes, Socket.IO, one listener.
//! - [`middleware`] wraps every HTTP request: request id, span, body limit, error envelope, metrics.
//! - [`routes`] is the HTTP edge, one module per area; [`socket`] is the Socket.IO edge.
//! - [`data`] is the only place that builds queries; it returns domain errors, never HTTP types.
//! - [`wire`] is the contract as types: error codes, the shapes REST and Socket.IO share, every event.
//! - [`error`] is the one error type and the contract's envelope; [`config`] the typed settings.
//! - [`cluster`] joins several instances over Redis (socketioxide's adapter, Confab's bus, presence).
//! - [`cli`] is the `confab` command line; [`embedded_db`] the zero-setup PostgreSQL it can start.
//!
//! One request's path: listener → `/socket.io` goes to [`socket::transport`], everything else
//! through [`middleware::edge`] → router → a handler in [`routes`] → a [`data`] function → the
//! response, or an error that the edge renders as `{statusCode, code, error, message}`.

pub mod background;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod data;
pub mod embedded_db;
pub mod error;
pub mod http_policy;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod rate_limit;
pub mod route_methods;
pub mod routes;
pub mod session;
pub mod socket;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod wire;
