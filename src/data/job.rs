//! Claims on periodic jobs, so that N instances run a job once per period between them, not N
//! times (issue 14). No leader to elect: the claim is one conditional upsert on `job_runs`, and
//! PostgreSQL lets exactly one of concurrent claims land. An instance that crashes mid-run simply
//! leaves the next period's claim to whoever comes first.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::DataError;

/// Claims the run of job `name` if nobody ran it in the last `every`; `true` when this caller
/// should run it now.
pub async fn claim_run<C: ConnectionTrait>(
    db: &C,
    name: &str,
    every: Duration,
) -> Result<bool, DataError> {
    let claimed = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO job_runs AS j (name, last_run_at) VALUES ($1, now())
             ON CONFLICT (name) DO UPDATE SET last_run_at = now()
             WHERE j.last_run_at < now() - make_interval(secs => $2)
             RETURNING name",
            [name.into(), every.as_secs_f64().into()],
        ))
        .await?;
    Ok(claimed.is_some())
}
