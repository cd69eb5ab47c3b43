//! Faults found from outside (issue 11), each kept as a test: text PostgreSQL cannot store, numbers
//! past `bigint`, socket arguments that are not valid text, a bad row inside a group commit, and
//! what happens to requests and new sockets while the server shuts down.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, socket::RawSocket};

#[tokio::test]
async fn u0000_in_any_text_input_is_refused_with_the_fields_code() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let message = app.send(&alice, &c, "hello").await;

    let body = Some(json!({ "content": "a\u{0}b" }));
    let send = format!("/conversations/{c}/messages");
    let (status, error) = app.json(&alice, Method::POST, &send, body.clone()).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("INVALID_CONTENT"))
    );
    let edit = format!("/messages/{}", message["id"].as_str().unwrap());
    let (status, error) = app.json(&alice, Method::PATCH, &edit, body).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("INVALID_CONTENT"))
    );

    for path in ["/search/messages?query=a%00b", "/search/users?query=%00"] {
        let (status, error) = app.json(&alice, Method::GET, path, None).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some("INVALID_QUERY")),
            "{path}"
        );
    }
    for path in [
        "/user?search=a%00b",
        &format!("/conversations/{c}/messages?before=%00"),
        "/conversations/%00",
    ] {
        let (status, error) = app.json(&alice, Method::GET, path, None).await;
        assert_eq!(status, 400, "{path}: {error}");
        assert_eq!(error["code"], "SCHEMA_VALIDATION_ERROR", "{path}");
    }
    // Nothing was stored, and the conversation still works.
    let (_, history) = app.json(&alice, Method::GET, &send, None).await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    app.send(&bob, &c, "still fine").await;
}

#[tokio::test]
async fn a_message_the_database_refuses_fails_alone_in_its_batch() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c: uuid::Uuid = app.conversation(&alice, &bob).await.parse().unwrap();
    // Past the edge (which refuses it), straight to the group-commit writer, among good ones.
    let writer = &app.state.messages;
    let sends = (0..40).map(|i| {
        let content = if i == 17 {
            "bad\0row".to_owned()
        } else {
            format!("good {i}")
        };
        writer.send(c, alice.id, content, None)
    });
    let results = futures_util::future::join_all(sends).await;
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result.is_ok(), i != 17, "message {i}: {result:?}");
    }
    let (_, history) = app
        .json(
            &alice,
            Method::GET,
            &format!("/conversations/{c}/messages?limit=100"),
            None,
        )
        .await;
    assert_eq!(history.as_array().unwrap().len(), 39);
}

#[tokio::test]
async fn pages_past_bigint_are_empty_lists_and_never_crash_a_worker() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    app.send(&alice, &c, "hello").await;
    for path in [
        "/conversations?page=9223372036854775809&limit=1".to_owned(),
        "/conversations?page=18446744073709551615&limit=100".to_owned(),
        "/user?page=9223372036854775807&limit=100".to_owned(),
        format!("/conversations/{c}/messages?page=9223372036854775809&limit=100"),
    ] {
        let (status, body) = app.json(&alice, Method::GET, &path, None).await;
        assert_eq!((status, body), (200, json!([])), "{path}");
    }
    for path in [
        "/conversations?page=18446744073709551616",
        "/conversations?page=-1",
        "/conversations?limit=1e400",
    ] {
        let (status, body) = app.json(&alice, Method::GET, path, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], "SCHEMA_VALIDATION_ERROR", "{path}");
    }
}

#[tokio::test]
async fn socket_arguments_that_are_not_valid_text_get_the_code_of_their_argument() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let mut a = RawSocket::authenticated(&app, &alice.token).await;
    // A lone surrogate is valid JSON syntax but not a string serde (or PostgreSQL) accepts.
    a.send(&format!(r#"42["typing","{c}","\ud800"]"#)).await;
    assert_eq!(
        a.next_event("error").await.0[0]["code"],
        "INVALID_TYPING_STATUS"
    );
    a.send(r#"42["typing","\ud800",true]"#).await;
    assert_eq!(a.next_event("error").await.0[0]["code"], "INVALID_CHAT_ID");
    a.send(r#"42["update_status","\ud800"]"#).await;
    assert_eq!(a.next_event("error").await.0[0]["code"], "INVALID_STATUS");
}

#[tokio::test]
async fn while_closing_requests_finish_normally_and_new_sockets_are_refused_at_the_transport() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    // The first step of a shutdown: sockets closed, the HTTP listener not yet.
    app.state.realtime.close().await;
    // A send finishing now emits into a closed Socket.IO server: it still gets its answer.
    let sent: Value = app.send(&alice, &c, "after close").await;
    assert_eq!(sent["content"], "after close");
    // A new Engine.IO session is refused by the transport, so clients retry (not "Invalid
    // namespace", after which socket.io-client gives up).
    let polling = app
        .client
        .get(format!(
            "{}/socket.io/?EIO=4&transport=polling",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(polling.status(), 503);
    assert!(polling.headers().contains_key("retry-after"));
    app.shut_down().await.unwrap();
}

#[tokio::test]
async fn search_folds_case_beyond_ascii() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("Иван").await);
    let c = app.conversation(&alice, &bob).await;
    app.send(&alice, &c, "Привет ÉCOLE").await;
    for query in ["привет", "école", "ПРИВЕТ"] {
        let path = format!("/search/messages?query={}", urlencoding::encode(query));
        let (status, found) = app.json(&alice, Method::GET, &path, None).await;
        assert_eq!(status, 200);
        assert_eq!(found.as_array().unwrap().len(), 1, "{query}: {found}");
    }
    let (_, users) = app
        .json(
            &alice,
            Method::GET,
            "/search/users?query=%D0%B8%D0%B2%D0%B0%D0%BD",
            None,
        )
        .await;
    assert_eq!(users[0]["username"], "Иван", "иван finds Иван: {users}");
}
