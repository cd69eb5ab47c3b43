//! The data layer: the only code that builds queries or opens transactions.
//!
//! Functions here take a connection and plain values, enforce the domain's rules (membership,
//! ownership) inside their queries, and return domain errors, never HTTP types.

pub mod session;
pub mod user;

use std::time::{Duration, Instant};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// Opens the connection pool. Statement logging is off: sqlx logs every statement at INFO, with
/// parameters that may hold personal data.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// Runs a trivial query and returns how long it took.
pub async fn ping(db: &DatabaseConnection) -> Result<Duration, DbErr> {
    let started = Instant::now();
    db.execute_unprepared("SELECT 1").await?;
    Ok(started.elapsed())
}
