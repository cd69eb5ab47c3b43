//! A replay larger than a socket's outgoing buffer (contract §6.1): every missed event arrives,
//! once and in order. socketioxide fails an emit into a full buffer (128 packets by default), and
//! the replay used to drop every event past it without a word.

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
