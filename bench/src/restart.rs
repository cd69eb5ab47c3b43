//! `restart`: the reconnect storm after a server restart (issue 17: every socket back within
//! 15 s, none stranded).
//!
//! The bench holds `n` authenticated sockets and waits; the restart itself is done outside (a
//! SIGTERM and a new process on the same port, see BENCHMARKS.md), so the bench only sees every
//! socket close. Each socket then reconnects the way `socket.io-client` does by default, which is
//! what makes a storm: a first delay of 1 s, doubled after each failed attempt up to 5 s, each
//! randomized by ±50 % (`reconnectionDelay`, `reconnectionDelayMax`, `randomizationFactor`).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::sync::Semaphore;

use crate::{
    engineio,
    scenarios::{Context0, print},
    setup::Setup,
    stats::{Samples, round},
};

/// socket.io-client's defaults (`reconnectionDelay`, `reconnectionDelayMax`).
const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// When each socket went away and came back.
#[derive(Default)]
struct Storm {
    first_close: Option<Instant>,
    closed: usize,
    /// Time from each socket's close to its successful reconnect.
    back_after: Samples,
    last_back: Option<Instant>,
    attempts: u64,
}

/// Holds `n` sockets through one restart; waits up to `wait` seconds after the first close for all
/// of them to be back.
pub(crate) async fn run(
    ctx: &Context0,
    setup: &Setup,
    n: usize,
    wait: u64,
) -> anyhow::Result<bool> {
    let users = setup.users(n, "restart").await?;
    let storm = Arc::new(Mutex::new(Storm::default()));
    let gate = Arc::new(Semaphore::new(256));
    let mut first_connects = vec![];
    let mut holders = vec![];
    for user in users {
        let (gate, url, storm) = (gate.clone(), ctx.url.clone(), storm.clone());
        let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
        first_connects.push(connected_rx);
        holders.push(tokio::spawn(async move {
            let ws = {
                let _permit = gate.acquire_owned().await.ok()?;
                engineio::connect(&url, &user.token).await.ok()?
            };
            let _ = connected_tx.send(());
            engineio::read_events(ws, true, |_, _| {}).await;
            let closed_at = Instant::now();
            {
                let mut s = storm.lock().ok()?;
                s.first_close.get_or_insert(closed_at);
                s.closed += 1;
            }
            let mut delay = FIRST_DELAY;
            loop {
                tokio::time::sleep(jittered(delay)).await;
                let attempt = engineio::connect(&url, &user.token).await;
                let back = {
                    let mut s = storm.lock().ok()?;
                    s.attempts += 1;
                    attempt.ok().inspect(|_| {
                        let now = Instant::now();
                        s.back_after.push(now - closed_at);
                        s.last_back = Some(s.last_back.map_or(now, |t| t.max(now)));
                    })
                };
                if let Some(ws) = back {
                    // Held until the report is made, as a client stays connected.
                    engineio::read_events(ws, true, |_, _| {}).await;
                    return Some(());
                }
                delay = (delay * 2).min(MAX_DELAY);
            }
        }));
    }
    let mut connected = 0;
    for rx in first_connects {
        connected += usize::from(rx.await.is_ok());
    }
    eprintln!("{connected} of {n} sockets connected: restart the server now");
    // Wait for the first close, then for every socket to be back or the deadline.
    let first_close = loop {
        if let Some(t) = storm.lock().ok().and_then(|s| s.first_close) {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let deadline = first_close + Duration::from_secs(wait);
    while Instant::now() < deadline && storm.lock().map_or(0, |s| s.back_after.len()) < connected {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = {
        let s = storm.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let back = s.back_after.len();
        json!({
            "sockets": n,
            "connected_before": connected,
            "closed_by_restart": s.closed,
            "reconnected": back,
            "stranded": connected - back,
            "all_back_after_first_close_s": s.last_back.map(|t| round((t - first_close).as_secs_f64())),
            "reconnect_time": s.back_after.summary(),
            "attempts": s.attempts,
            "passed": back == connected && connected == n,
        })
    };
    for h in holders {
        h.abort();
    }
    Ok(print("restart", report))
}

/// `delay` randomized by ±50 %, as socket.io-client's backoff does.
fn jittered(delay: Duration) -> Duration {
    delay.mul_f64(0.5 + fastrand::f64())
}
