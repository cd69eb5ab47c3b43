//! `idle`: many authenticated sockets held open, for the server's memory per socket and its CPU
//! while nothing happens (issue 17).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::{
    engineio,
    proc_stats::{self, CpuMeter},
    scenarios::{Context0, print},
    setup::Setup,
    stats::round,
};

/// Opens `n` authenticated sockets and reports the server's memory per socket; with `hold`
/// seconds, also the server's CPU while it holds them idle for that long (issue 17: idle sockets
/// must cost nothing; PostgreSQL's share is measured outside, see BENCHMARKS.md).
pub(crate) async fn run(
    ctx: &Context0,
    setup: &Setup,
    n: usize,
    hold: u64,
) -> anyhow::Result<bool> {
    let pid = ctx
        .server_pid
        .context("the idle scenario needs the server's pid (is `confab` running here?)")?;
    let users = setup.users(n, "idle").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = proc_stats::rss_kib(pid).unwrap_or(0);
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(256));
    let mut tasks = vec![];
    for user in users {
        let (gate, url) = (gate.clone(), ctx.url.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            let ws = engineio::connect(&url, &user.token).await.ok()?;
            // Answering pings from the start: on a loaded machine connecting them all can take
            // longer than a ping interval and timeout.
            Some(tokio::spawn(engineio::read_events(ws, true, |_, _| {})))
        }));
    }
    let mut holders = vec![];
    for task in tasks {
        if let Ok(Some(holder)) = task.await {
            holders.push(holder);
        }
    }
    let connect_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = proc_stats::rss_kib(pid).unwrap_or(0);
    let connected = holders.len();
    let per_connection = (after.saturating_sub(before) as f64 * 1024.0) / connected.max(1) as f64;
    let idle_cpu = if hold > 0 {
        let meter = CpuMeter::start(pid);
        tokio::time::sleep(Duration::from_secs(hold)).await;
        Some(round(meter.percent()))
    } else {
        None
    };
    let still_open = holders.iter().filter(|h| !h.is_finished()).count();
    for h in holders {
        h.abort();
    }
    let report = json!({
        "requested": n,
        "connected": connected,
        "connect_time_s": round(connect_time.as_secs_f64()),
        "server_rss_before_kib": before,
        "server_rss_after_kib": after,
        "bytes_per_connection": per_connection.round(),
        "hold_s": hold,
        "server_cpu_pct_idle": idle_cpu,
        "open_after_hold": still_open,
        "passed": connected == n && still_open == n,
    });
    Ok(print("idle", report))
}
