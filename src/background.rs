//! Owned background tasks: the message writer, the session sweeper and listener, and rate-limit
//! eviction are started by [`crate::startup::Application`] through [`BackgroundTasks`] and stopped
//! by it on shutdown (cancelled, then joined), never spawned and forgotten.

use std::{future::Future, time::Duration};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The application's long-running tasks and the token that asks them to stop.
#[derive(Default)]
pub struct BackgroundTasks {
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl BackgroundTasks {
    /// No tasks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token a task watches to learn that it should finish (a task that must drain work,
    /// like the message writer, watches it itself).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Runs `task` until it returns; it is expected to watch [`Self::shutdown_token`].
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push((name, tokio::spawn(task)));
    }

    /// Runs `task` until it returns or shutdown is asked for, whichever comes first (for tasks
    /// with nothing to finish, like periodic sweeps).
    pub fn spawn_until_shutdown(
        &mut self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let token = self.shutdown.clone();
        self.spawn(name, async move {
            tokio::select! {
                () = token.cancelled() => {}
                () = task => {}
            }
        });
    }

    /// Asks every task to stop and waits up to `grace` for each; a task that panicked or overran
    /// is logged (and aborted), never propagated.
    pub async fn shutdown(self, grace: Duration) {
        self.shutdown.cancel();
        for (name, mut handle) in self.tasks {
            match tokio::time::timeout(grace, &mut handle).await {
                Ok(Ok(())) => tracing::debug!(task = name, "background task stopped"),
                Ok(Err(e)) => tracing::error!(task = name, error = %e, "background task failed"),
                Err(_) => {
                    tracing::warn!(task = name, "background task did not stop in time; aborted");
                    handle.abort();
                }
            }
        }
    }
}

/// Runs `job` about every `period` across all instances together: each instance looks every
/// twelfth of the period, and only the one that claims the run in `job_runs` runs it
/// (`data::job`), so N instances do not do the work N times (issue 14). A failed claim (database
/// down) skips that look.
pub async fn every<F, Fut>(
    db: sea_orm::DatabaseConnection,
    name: &'static str,
    period: Duration,
    job: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(period / 12);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        // A little under the period, so that a look just short of it does not wait a whole
        // extra twelfth.
        match crate::data::job::claim_run(&db, name, period.mul_f64(0.95)).await {
            Ok(true) => job().await,
            Ok(false) => {}
            Err(e) => tracing::warn!(job = name, error = %e, "could not claim a periodic job"),
        }
    }
}

/// Prunes durable events older than `retention` every hour across the instances (contract
/// §6.1: at least hourly), for the life of the server.
pub async fn prune_events_hourly(db: sea_orm::DatabaseConnection, retention: Duration) {
    let Ok(age) = chrono::Duration::from_std(retention) else {
        return;
    };
    let pruner = db.clone();
    every(db, "prune_events", Duration::from_secs(3600), || async {
        let cutoff = chrono::Utc::now() - age;
        match crate::data::event::prune(&pruner, cutoff).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(events = pruned, "pruned events past the retention"),
            Err(e) => tracing::warn!(error = %e, "event pruning failed; retried next hour"),
        }
    })
    .await;
}

/// How often the full-text index's pending entries are merged while messages are being written.
const SEARCH_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Merges the full-text index's pending list in the background every second in which this
/// instance stored messages, so the message writer never has to (`data::search::
/// flush_pending_entries`). Idle instances query nothing. Stops if the role may not do it (not the
/// index's owner), leaving the merges to PostgreSQL as before.
pub async fn flush_search_index(
    db: sea_orm::DatabaseConnection,
    writer: crate::data::message_writer::MessageWriter,
) {
    let mut ticker = tokio::time::interval(SEARCH_FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = writer.messages_written();
    loop {
        ticker.tick().await;
        let written = writer.messages_written();
        if written == seen {
            continue;
        }
        seen = written;
        match crate::data::search::flush_pending_entries(&db).await {
            Ok(pages) => tracing::trace!(pages, "full-text index pending list merged"),
            Err(crate::data::DataError::Db(e)) if is_not_owner(&e) => {
                tracing::warn!(error = %e, "cannot merge the full-text index's pending list (not its owner); PostgreSQL merges it on its own");
                return;
            }
            Err(e) => tracing::debug!(error = %e, "full-text index merge skipped"),
        }
    }
}

/// `42501 insufficient_privilege`: `gin_clean_pending_list` is for the index's owner only.
fn is_not_owner(err: &sea_orm::DbErr) -> bool {
    let (sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
    | sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "42501")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_stops_sweeps_and_waits_for_draining_tasks() {
        let mut tasks = BackgroundTasks::new();
        tasks.spawn_until_shutdown("forever", std::future::pending());
        let token = tasks.shutdown_token();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        tasks.spawn("drains", async move {
            token.cancelled().await;
            let _ = done_tx.send(());
        });
        tasks.shutdown(Duration::from_secs(5)).await;
        assert!(done_rx.await.is_ok(), "the draining task ran to its end");
    }
}
