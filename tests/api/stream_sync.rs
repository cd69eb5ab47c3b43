//! `GET /sync` (contract §6.1): paging by cursor, and the cursors it refuses.

use serde_json::{Value, json};

use crate::{helpers::TestApp, stream::sync};

#[tokio::test]
async fn sync_pages_by_cursor_and_refuses_foreign_malformed_and_expired_cursors() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let (status, fresh) = sync(&app, &bob, "").await;
    assert_eq!(status, 200);
    assert_eq!(
        (fresh["events"].clone(), fresh["hasMore"].clone()),
        (json!([]), json!(false))
    );
    let start = fresh["cursor"].as_str().unwrap().to_owned();
    let c = app.conversation(&alice, &bob).await;
    for i in 0..5 {
        app.send(&alice, &c, &format!("m{i}")).await;
    }
    let (_, page) = sync(&app, &bob, &format!("?since={start}&limit=4")).await;
    assert_eq!(page["hasMore"], true);
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["event"], "conversation_created");
    assert_eq!(events[1]["args"][0]["content"], "m0");
    let (_, rest) = sync(
        &app,
        &bob,
        &format!("?since={}", page["cursor"].as_str().unwrap()),
    )
    .await;
    assert_eq!(rest["hasMore"], false);
    // m3, m4, and the delivery of m0..m2 that the first page caused (§6.3).
    let names = |page: &Value| -> Vec<String> {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&rest),
        ["new_message", "new_message", "message_delivered"]
    );
    // Then the delivery of m3 and m4, then nothing: the cursor stays where it was.
    let (_, more) = sync(
        &app,
        &bob,
        &format!("?since={}", rest["cursor"].as_str().unwrap()),
    )
    .await;
    assert_eq!(names(&more), ["message_delivered"]);
    let last = more["cursor"].as_str().unwrap().to_owned();
    let (_, empty) = sync(&app, &bob, &format!("?since={last}")).await;
    assert_eq!(
        (empty["events"].clone(), empty["cursor"].as_str()),
        (json!([]), Some(last.as_str()))
    );

    let (_, alices) = sync(&app, &alice, "").await;
    for bad in [
        "nope",
        alices["cursor"].as_str().unwrap(),
        "999999-00000000",
    ] {
        let (status, error) = sync(&app, &bob, &format!("?since={bad}")).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some("INVALID_CURSOR")),
            "{bad}"
        );
    }
    // Everything pruned: a cursor before the pruned events has expired; the newest has not.
    confab::data::event::prune(
        &app.state.db,
        chrono::Utc::now() + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    let (status, error) = sync(&app, &bob, &format!("?since={start}")).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (410, Some("CURSOR_EXPIRED"))
    );
    let (status, _) = sync(&app, &bob, &format!("?since={last}")).await;
    assert_eq!(status, 200);
}
