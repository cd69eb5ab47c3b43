//! Blocking (contract §3): no new conversation or message between a blocked pair, in either
//! direction and on every send path; history stays readable; typing and presence not shared.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, app::TestUser, socket::RawSocket};

async fn block(app: &TestApp, who: &TestUser, whom: &TestUser, method: Method) -> (u16, Value) {
    app.json(who, method, &format!("/user/{}/block", whom.id), None)
        .await
}

async fn send_status(
    app: &TestApp,
    user: &TestUser,
    conversation: &str,
    body: Value,
) -> (u16, Value) {
    app.json(
        user,
        Method::POST,
        &format!("/conversations/{conversation}/messages"),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_block_refuses_sends_and_creates_both_ways_and_keeps_history_readable() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let before = app.send(&alice, &c, "before the block").await;

    let (status, body) = block(&app, &alice, &bob, Method::POST).await;
    assert_eq!(
        (status, body["success"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(
        block(&app, &alice, &bob, Method::POST).await.0,
        200,
        "twice is fine"
    );

    for (sender, body) in [
        (&alice, json!({ "content": "from the blocker" })),
        (&bob, json!({ "content": "from the blocked" })),
        (
            &bob,
            json!({ "content": "with a key", "clientMessageId": "k-1" }),
        ),
    ] {
        let (status, body) = send_status(&app, sender, &c, body).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("BLOCKED")),
            "{body}"
        );
    }
    let (status, messages) = app
        .json(
            &bob,
            Method::GET,
            &format!("/conversations/{c}/messages"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(messages.as_array().unwrap().len(), 1, "nothing was stored");
    assert_eq!(messages[0]["id"], before["id"], "history stays readable");

    // Creating a conversation is refused both ways.
    let (dave, erin) = (app.user("dave").await, app.user("erin").await);
    block(&app, &dave, &erin, Method::POST).await;
    for (from, to) in [(&erin, &dave), (&dave, &erin)] {
        let (status, body) = app
            .json(
                from,
                Method::POST,
                &format!("/conversations/{}", to.id),
                None,
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("BLOCKED")),
            "{body}"
        );
    }

    let (status, blocked) = app.json(&alice, Method::GET, "/user/blocked", None).await;
    assert_eq!(status, 200);
    assert_eq!(blocked.as_array().unwrap().len(), 1);
    assert_eq!(blocked[0]["id"], bob.id.to_string());
    assert_eq!(
        blocked[0]["email"],
        Value::Null,
        "another user's address stays hidden"
    );
    let (_, none) = app.json(&bob, Method::GET, "/user/blocked", None).await;
    assert_eq!(none, json!([]));

    // Unblocking lifts only one's own block.
    block(&app, &bob, &alice, Method::POST).await;
    let (status, _) = block(&app, &alice, &bob, Method::DELETE).await;
    assert_eq!(status, 200);
    let (status, _) = send_status(&app, &alice, &c, json!({ "content": "still?" })).await;
    assert_eq!(status, 403, "bob's block still holds");
    block(&app, &bob, &alice, Method::DELETE).await;
    assert_eq!(
        block(&app, &bob, &alice, Method::DELETE).await.0,
        200,
        "not blocked is fine"
    );
    app.send(&alice, &c, "after both unblocked").await;
    app.send(&bob, &c, "and back").await;
}

#[tokio::test]
async fn blocking_oneself_an_unknown_user_or_a_bad_id_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let (status, body) = block(&app, &alice, &alice, Method::POST).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    let unknown = uuid::Uuid::now_v7();
    for method in [Method::POST, Method::DELETE] {
        let (status, body) = app
            .json(
                &alice,
                method.clone(),
                &format!("/user/{unknown}/block"),
                None,
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("USER_NOT_FOUND"))
        );
        let (status, body) = app.json(&alice, method, "/user/nope/block", None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("SCHEMA_VALIDATION_ERROR"))
        );
    }
    let (status, _) = app.json(&alice, Method::GET, "/user/blocked", None).await;
    assert_eq!(status, 200, "`blocked` is not read as a user id");
}

#[tokio::test]
async fn in_one_batch_only_the_blocked_pairs_sends_are_refused() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("carol").await,
    );
    let blocked = app.conversation(&alice, &bob).await;
    let open = app.conversation(&alice, &carol).await;
    block(&app, &bob, &alice, Method::POST).await;
    let sends = (0..40).map(|i| {
        let (conversation, key) = if i % 4 == 0 {
            (&blocked, "b")
        } else {
            (&open, "o")
        };
        send_status(
            &app,
            &alice,
            conversation,
            json!({ "content": format!("m{i}"), "clientMessageId": format!("{key}-{i}") }),
        )
    });
    for (i, (status, body)) in join_all(sends).await.into_iter().enumerate() {
        let expected = if i % 4 == 0 { 403 } else { 201 };
        assert_eq!(status, expected, "send {i}: {body}");
    }
}

#[tokio::test]
async fn a_blocked_pair_does_not_see_each_other_type_or_come_online() {
    let app = TestApp::spawn_with(&[("PRESENCE_GRACE", "0")]).await;
    let (alice, bob, carol) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("carol").await,
    );
    let with_alice = app.conversation(&alice, &bob).await;
    let with_carol = app.conversation(&carol, &bob).await;
    block(&app, &alice, &bob, Method::POST).await;
    let mut b = RawSocket::authenticated(&app, &bob.token).await;

    // Alice comes online and types; then carol does. Bob hears only carol. (Alice's status
    // would be emitted before her connect is acknowledged, so before carol's.)
    let mut a = RawSocket::authenticated(&app, &alice.token).await;
    a.emit("typing", vec![json!(with_alice), json!(true)]).await;
    let mut c = RawSocket::authenticated(&app, &carol.token).await;
    let (status, _) = b.next_event("user_status_changed").await;
    assert_eq!(status, vec![json!(carol.id), json!("online")]);
    c.emit("typing", vec![json!(with_carol), json!(true)]).await;
    let (typing, _) = b.next_event("user_typing").await;
    assert_eq!(
        typing,
        vec![json!(carol.id), json!(true), json!(with_carol)]
    );
    c.emit("typing", vec![json!(with_carol), json!(false)])
        .await;
    let (typing, _) = b.next_event("user_typing").await;
    assert_eq!(
        typing,
        vec![json!(carol.id), json!(false), json!(with_carol)]
    );

    // Alice does not hear bob either.
    b.emit("typing", vec![json!(with_alice), json!(true)]).await;
    b.emit("typing", vec![json!(with_carol), json!(true)]).await;
    let (typing, skipped) = c.next_event("user_typing").await;
    assert_eq!(typing, vec![json!(bob.id), json!(true), json!(with_carol)]);
    let _ = skipped;
    a.emit("typing", vec![json!("not-a-conversation"), json!(true)])
        .await;
    let (_, skipped) = a.next_event("error").await;
    assert!(!skipped.contains(&"user_typing".to_owned()), "{skipped:?}");
}
