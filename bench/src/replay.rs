//! `replay`: catching up by cursor with a large event store (contract §6.1): a socket that
//! reconnects having missed `--missed` events (default 1,000) receives all of them (`replay_ms`,
//! from the start of the connect to the last one), and `GET /sync?limit=100` pages over the same
//! events (`sync_ms`). The store is first filled to `--table-rows` rows (default 10,000,000) with
//! other users' events, written in SQL (reused across runs).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use confab::wire::Cursor;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::{
    engineio,
    scenarios::{Context0, Options, print},
    setup::Setup,
    stats::Samples,
};

/// Fills the event store with other users' events, 10,000 each, up to `rows` (estimated from the
/// table statistics, so a filled store is not counted again).
async fn fill_event_store(setup: &Setup, rows: i64) -> anyhow::Result<i64> {
    setup.db.execute_unprepared("ANALYZE events").await?;
    let estimate = |row: Option<sea_orm::QueryResult>| -> anyhow::Result<i64> {
        Ok(row.context("no estimate")?.try_get::<f32>("", "n")? as i64)
    };
    let sql = "SELECT reltuples AS n FROM pg_class WHERE relname = 'events'";
    let mut have = estimate(
        setup
            .db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await?,
    )?
    .max(0);
    while have < rows {
        let users = ((rows - have) / 10_000).clamp(1, 100);
        eprintln!(
            "filling the event store: {have} rows, adding {}…",
            users * 10_000
        );
        setup
            .db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                r#"INSERT INTO events (user_id, seq, name, args, message_id)
                   SELECT u.id, g, 'message_read',
                          '[{"conversationId":"00000000-0000-0000-0000-000000000000","readerId":"00000000-0000-0000-0000-000000000000","messageIds":[],"readAt":"2026-11-29T00:00:00.000Z"}]',
                          NULL
                   FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $1)) u,
                        generate_series(1, 10000) g"#,
                [users.into()],
            ))
            .await?;
        have += users * 10_000;
    }
    setup.db.execute_unprepared("VACUUM ANALYZE events").await?;
    Ok(have)
}

/// Runs the scenario.
pub(crate) async fn run(ctx: &Context0, setup: &Setup, options: &Options) -> anyhow::Result<bool> {
    let table_rows = fill_event_store(setup, options.num("table-rows", 10_000_000)? as i64).await?;
    let missed = options.num("missed", 1_000)?;
    let rounds = options.num("rounds", 30)?;
    let requests = options.num("requests", 1_000)?;

    // The reader misses `missed` messages (one event each), sent concurrently through the API.
    let users = setup.users(2, "replay").await?;
    let (reader, writer) = (&users[0], &users[1]);
    let conversation = setup.conversation(reader.id, writer.id).await?;
    let since = Cursor::new(reader.id, 0).to_wire();
    let sends = (0..missed).map(|i| {
        ctx.http
            .post(format!("{}/conversations/{conversation}/messages", ctx.url))
            .bearer_auth(&writer.token)
            .json(&json!({ "content": format!("missed {i}") }))
            .send()
    });
    for sent in futures_util::future::join_all(sends).await {
        let sent = sent?;
        let status = sent.status();
        // Read as a client would (an unread body costs its connection).
        sent.bytes().await?;
        if !status.is_success() {
            bail!("a send failed");
        }
    }

    let mut replay = Samples::default();
    for _ in 0..rounds {
        let started = Instant::now();
        let ws = engineio::connect_with(&ctx.url, json!({ "token": reader.token, "since": since }))
            .await?;
        let mut received = 0u64;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let mut done_tx = Some(done_tx);
        let reading = tokio::spawn(engineio::read_events(ws, true, move |name, _| {
            if name == "new_message" {
                received += 1;
                if received == missed
                    && let Some(tx) = done_tx.take()
                {
                    let _ = tx.send(started.elapsed());
                }
            }
        }));
        let took = tokio::time::timeout(Duration::from_secs(30), done_rx)
            .await
            .context("replay did not finish within 30 s")??;
        reading.abort();
        replay.push(took);
    }

    let mut sync = Samples::default();
    for i in 0..requests {
        // Pages starting anywhere in the missed events.
        let after = Cursor::new(reader.id, i % missed.saturating_sub(100).max(1)).to_wire();
        let started = Instant::now();
        let page: Value = ctx
            .http
            .get(format!("{}/sync?since={after}&limit=100", ctx.url))
            .bearer_auth(&reader.token)
            .send()
            .await?
            .json()
            .await?;
        sync.push(started.elapsed());
        if page["events"].as_array().map(Vec::len) != Some(100) {
            bail!("a sync page did not hold 100 events: {page}");
        }
    }

    let report = json!({
        "table_rows": table_rows,
        "missed": missed,
        "rounds": rounds,
        "replay_ms": replay.summary(),
        "sync_requests": requests,
        "sync_ms": sync.summary(),
        "passed": true,
    });
    Ok(print("replay", report))
}
