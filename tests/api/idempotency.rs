//! Idempotent send (contract §6.2): a `clientMessageId` makes a retried send store and emit
//! nothing, from any instance and after a restart, and a reused key with other data is a conflict.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, app::TestUser, socket::RawSocket};

async fn send_keyed(
    app: &TestApp,
    user: &TestUser,
    conversation: &str,
    content: &str,
    key: Value,
) -> (u16, Value) {
    let body = json!({ "content": content, "clientMessageId": key });
    let path = format!("/conversations/{conversation}/messages");
    app.json(user, Method::POST, &path, Some(body)).await
}

async fn history_len(app: &TestApp, user: &TestUser, conversation: &str) -> usize {
    let path = format!("/conversations/{conversation}/messages?limit=100");
    let (_, history) = app.json(user, Method::GET, &path, None).await;
    history.as_array().unwrap().len()
}

#[tokio::test]
async fn a_retried_send_answers_200_with_the_stored_message_and_emits_nothing() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let mut b = RawSocket::authenticated(&app, &bob.token).await;
    let key = json!("0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b");
    let (status, first) = send_keyed(&app, &alice, &c, "hello", key.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["clientMessageId"], key);
    let (_, before) = app
        .json(&alice, Method::GET, &format!("/conversations/{c}"), None)
        .await;
    for _ in 0..3 {
        let (status, again) = send_keyed(&app, &alice, &c, "hello", key.clone()).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            (&again["id"], &again["createdAt"]),
            (&first["id"], &first["createdAt"])
        );
    }
    // An edit since does not make the retry a conflict; the answer shows the current content.
    let id = first["id"].as_str().unwrap();
    app.call(
        &alice,
        Method::PATCH,
        &format!("/messages/{id}"),
        Some(json!({"content": "hi"})),
    )
    .await;
    let (status, again) = send_keyed(&app, &alice, &c, "hello", key.clone()).await;
    assert_eq!((status, &again["content"]), (200, &json!("hi")));
    let (_, after) = app
        .json(&alice, Method::GET, &format!("/conversations/{c}"), None)
        .await;
    assert_eq!(
        before["updatedAt"], after["updatedAt"],
        "a retry does not bump the conversation"
    );
    assert_eq!(history_len(&app, &alice, &c).await, 1);
    // Bob heard one new_message (then the edit), not four.
    let (_, skipped) = b.next_event("message_edited").await;
    assert_eq!(skipped.iter().filter(|e| *e == "new_message").count(), 1);
    // Messages without a key, or with another one, are separate sends; null is no key.
    assert_eq!(
        send_keyed(&app, &alice, &c, "hello", json!("other-key"))
            .await
            .0,
        201
    );
    assert_eq!(
        send_keyed(&app, &alice, &c, "hello", Value::Null).await.0,
        201
    );
    assert_eq!(
        send_keyed(&app, &alice, &c, "hello", Value::Null).await.0,
        201
    );
    // Keys are per sender: Bob may use Alice's.
    assert_eq!(send_keyed(&app, &bob, &c, "hello", key).await.0, 201);
}

#[tokio::test]
async fn a_reused_key_with_other_content_or_conversation_is_a_conflict() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("carol").await,
    );
    let c1 = app.conversation(&alice, &bob).await;
    let c2 = app.conversation(&alice, &carol).await;
    assert_eq!(
        send_keyed(&app, &alice, &c1, "hello", json!("k1")).await.0,
        201
    );
    for (conversation, content) in [(&c1, "other"), (&c2, "hello")] {
        let (status, error) = send_keyed(&app, &alice, conversation, content, json!("k1")).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (409, Some("IDEMPOTENCY_CONFLICT"))
        );
    }
    assert_eq!(history_len(&app, &alice, &c2).await, 0);
}

#[tokio::test]
async fn malformed_keys_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    for key in [
        json!(""),
        json!("a".repeat(65)),
        json!("has space"),
        json!("ключ"),
        json!(7),
    ] {
        let (status, error) = send_keyed(&app, &alice, &c, "hello", key.clone()).await;
        assert_eq!(status, 400, "{key}");
        assert_eq!(error["code"], "SCHEMA_VALIDATION_ERROR");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("clientMessageId"),
            "{error}"
        );
    }
    assert_eq!(
        send_keyed(&app, &alice, &c, "hello", json!("a".repeat(64)))
            .await
            .0,
        201
    );
    assert_eq!(
        send_keyed(&app, &alice, &c, "hello", json!("A-z_0.9:x"))
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn concurrent_duplicates_from_two_instances_store_one_message() {
    let app = TestApp::spawn().await;
    let other = app.sibling(&[]).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let sends = (0..20).map(|i| {
        let target = if i % 2 == 0 { &app } else { &other };
        send_keyed(target, &alice, &c, "once", json!("same-key"))
    });
    let results = futures_util::future::join_all(sends).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{results:?}");
    assert!(
        results.iter().all(|(s, _)| *s == 201 || *s == 200),
        "{results:?}"
    );
    let ids: std::collections::HashSet<&Value> = results.iter().map(|(_, m)| &m["id"]).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(history_len(&app, &alice, &c).await, 1);
    // After a restart (a new instance on the same database) the key still holds.
    other.shut_down().await.unwrap();
    let restarted = app.sibling(&[]).await;
    assert_eq!(
        send_keyed(&restarted, &alice, &c, "once", json!("same-key"))
            .await
            .0,
        200
    );
}
