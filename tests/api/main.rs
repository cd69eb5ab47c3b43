//! Confab's integration tests: one binary (every extra `tests/*.rs` would link the app again).
//!
//! Each test spawns the real application on port 0 over its own copy of a migrated template
//! database on a real PostgreSQL server: `TEST_DATABASE_URL` when set, else the embedded cluster that
//! the server itself uses, started on first need and shared by every test process.

// Tests may panic on broken expectations; that is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod auth;
mod auth_sessions;
mod blocking;
mod cluster;
mod conversation;
mod conversation_summary;
mod delivery;
mod deploy;
mod edge;
mod edit_history;
mod embedded_db;
mod hardening;
mod idempotency;
mod indexes;
mod infra;
mod instance_crash;
mod message;
mod message_changes;
mod oauth_state;
mod openapi;
mod presence;
mod realtime;
mod refresh;
mod replay_backlog;
mod search;
mod search_index;
mod search_phases;
mod session_watch;
mod slow_clients;
mod socket;
mod socket_flood;
mod stream;
mod stream_sync;
