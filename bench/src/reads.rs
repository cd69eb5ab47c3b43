//! Read scenarios over a seeded history: `history` (newest page of one long conversation),
//! `search` (full-text over the seeded user's messages) and `conversations` (the conversation list
//! with each conversation's last message and unread count).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use anyhow::Context;
use sea_orm::ConnectionTrait;
use serde_json::json;
use tokio::sync::Mutex;

use crate::{
    proc_stats::CpuMeter,
    scenarios::{Context0, Options, print},
    setup::Setup,
    stats::{Samples, round},
};

/// `history`, `search` or `conversations`: `--requests` reads by `--concurrency` workers over a
/// seeded user's `--conversations` conversations of `--per-conversation` messages each.
pub(crate) async fn run(ctx: &Context0, setup: &Setup, options: &Options) -> anyhow::Result<bool> {
    let list = options.scenario == "conversations";
    let conversations = options.num("conversations", if list { 100 } else { 10 })? as usize;
    let per = options.num("per-conversation", if list { 1_000 } else { 100_000 })? as usize;
    let (owner, ids) = setup.seeded_history(conversations, per).await?;
    let first = *ids.first().context("no seeded conversation")?;
    let requests = options.num("requests", 2000)?;
    let concurrency = options.num("concurrency", 8)?;
    let search = options.scenario == "search";
    // Every sixth query is in Japanese or Chinese (10 % of the seeded messages are).
    let queries = [
        "w042",
        "running",
        "東京",
        "meeting w007",
        "w123 w199",
        "会議",
    ];
    let latency = Arc::new(Mutex::new(Samples::default()));
    let failures = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let server_cpu = ctx.server_pid.map(CpuMeter::start);
    let started = Instant::now();
    let mut workers = vec![];
    for _ in 0..concurrency {
        let (http, url, token) = (ctx.http.clone(), ctx.url.clone(), owner.token.clone());
        let (latency, failures, next) = (latency.clone(), failures.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let path = if search {
                    format!(
                        "/search/messages?query={}&limit=20",
                        urlencoding::encode(queries[i as usize % queries.len()])
                    )
                } else if list {
                    format!("/conversations?limit={}", conversations.min(100))
                } else {
                    format!("/conversations/{first}/messages?limit=50")
                };
                let at = Instant::now();
                // The whole body is read, as a client would (an unread body also costs the
                // connection).
                let ok = match http
                    .get(format!("{url}{path}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                {
                    Ok(r) => {
                        let success = r.status().is_success();
                        r.bytes().await.is_ok() && success
                    }
                    Err(_) => false,
                };
                latency.lock().await.push(at.elapsed());
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    let rows = setup
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM messages",
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?;
    let failures = failures.load(Ordering::Relaxed);
    let report = json!({
        "table_rows": rows,
        "conversation_rows": per,
        "requests": requests,
        "concurrency": concurrency,
        "rps": round(requests as f64 / elapsed.as_secs_f64()),
        "latency": latency.lock().await.summary(),
        "failures": failures,
        "server_cpu_pct": server_cpu.map(|m| round(m.percent())),
        "passed": failures == 0,
    });
    Ok(print(&options.scenario, report))
}
