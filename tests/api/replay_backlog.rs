//! Replays that meet trouble (contract §6.1): every missed event arrives, once and in order.
//! - Larger than a socket's outgoing buffer: socketioxide fails an emit into a full buffer (128
//!   packets by default), and the replay used to drop every event past it without a word.
//! - Started while the database is down: the handshake is served from the session cache, the
//!   replay's read fails, and the socket keeps its cursor and reads again until it works.

use futures_util::future::join_all;
use serde_json::json;

use crate::{
    helpers::TestApp,
    stream::{connect_since, durable, seq, sync},
};

#[tokio::test]
async fn a_reconnect_that_missed_thousands_of_events_gets_all_of_them_in_order() {
    let app = TestApp::spawn_for_bulk_sends().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let (_, start) = sync(&app, &bob, "").await;
    let since = start["cursor"].as_str().unwrap().to_owned();
    const MISSED: usize = 2_500;
    for batch in 0..MISSED / 100 {
        let sends = (0..100).map(|i| {
            let (app, alice, c) = (&app, &alice, &c);
            async move {
                app.call(
                    alice,
                    reqwest::Method::POST,
                    &format!("/conversations/{c}/messages"),
                    Some(json!({ "content": format!("missed {}", batch * 100 + i) })),
                )
                .await
                .status()
            }
        });
        assert!(join_all(sends).await.iter().all(|s| s.as_u16() == 201));
    }

    let mut b = connect_since(&app, &bob, Some(&since)).await;
    let replayed = durable(&mut b, MISSED).await;
    let seqs: Vec<u64> = replayed.iter().map(|e| seq(&e.cursor)).collect();
    let first = seq(&since) + 1;
    assert_eq!(seqs, (first..first + MISSED as u64).collect::<Vec<_>>());
    assert!(replayed.iter().all(|e| e.name == "new_message"));
    // Live events follow the replay.
    app.send(&alice, &c, "live").await;
    let live = durable(&mut b, 1).await.remove(0);
    assert_eq!(live.args[0]["content"], "live");
}

#[tokio::test]
async fn a_replay_started_while_the_database_is_down_arrives_once_it_is_back() {
    use crate::embedded_db::{fresh_dir, start, stop};
    use crate::helpers::fake_provider::FakeProvider;

    let dir = fresh_dir();
    let pg = start(&dir).await;
    let app = TestApp::spawn_on(pg.database_url(), None, FakeProvider::start().await, &[]).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    // Bob's cursor, read just now: his session is in the cache for the handshake below.
    let (_, page) = sync(&app, &bob, "").await;
    let since = page["cursor"].as_str().unwrap().to_owned();
    let mut missed = vec![];
    for i in 0..3 {
        missed.push(app.send(&alice, &c, &format!("missed {i}")).await["id"].clone());
    }

    stop(pg).await;
    let mut b = connect_since(&app, &bob, Some(&since)).await;
    // Long enough for the first read of the replay to fail (the pool gives up at once on a
    // refused connection) and for the socket to try again at least once.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let pg = start(&dir).await;

    let replayed = durable(&mut b, 3).await;
    let ids: Vec<&serde_json::Value> = replayed.iter().map(|e| &e.args[0]["id"]).collect();
    assert_eq!(ids, missed.iter().collect::<Vec<_>>());
    let first = seq(&since) + 1;
    let seqs: Vec<u64> = replayed.iter().map(|e| seq(&e.cursor)).collect();
    assert_eq!(seqs, (first..first + 3).collect::<Vec<_>>());
    // Live events follow, numbered after the replay: nothing was skipped or sent twice.
    app.send(&alice, &c, "live").await;
    let live = durable(&mut b, 1).await.remove(0);
    assert_eq!(live.args[0]["content"], "live");
    assert_eq!(seq(&live.cursor), first + 3);
    drop(b);
    drop(app);
    stop(pg).await;
    let _ = std::fs::remove_dir_all(&dir);
}
