//! Test helpers: the database per test, the spawned app, clients.

pub mod app;
pub mod db;
pub mod fake_provider;
pub mod redis;
pub mod socket;

pub use app::TestApp;

/// Bounds every wait in the tests, so a broken expectation fails instead of hanging.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
