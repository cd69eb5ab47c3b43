//! Rows of `used_oauth_states`: OAuth `state` values already used for a sign-in, so a state works
//! once, on any instance.
//!
//! The state is stored as sent: it is a random one-time value, worthless once it is here (this
//! table exists to refuse it), and it is never logged.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement};

/// Records `state` as used until `expires_at`; `false` when it was used before (by this or
/// another instance). Concurrent callbacks with one state: exactly one insert lands.
pub async fn create_used_state<C: ConnectionTrait>(
    db: &C,
    state: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO used_oauth_states (state, expires_at) VALUES ($1, $2) \
             ON CONFLICT (state) DO NOTHING",
            [state.into(), expires_at.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Forgets states past their expiry (they are refused by their age from then on); returns how
/// many.
pub async fn delete_expired_states<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    let result = db
        .execute_unprepared("DELETE FROM used_oauth_states WHERE expires_at < now()")
        .await?;
    Ok(result.rows_affected())
}
