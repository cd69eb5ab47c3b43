//! Realtime: handshake authentication, delivery to exactly the right sockets, typing, presence,
//! logout, rate limits. Every wait is bounded; absence is checked by ordering (a later event that
//! must arrive, with the unwanted one not before it), never by sleeping.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp,
    app::TestUser,
    fake_provider::Account,
    socket::{RawSocket, SocketClient, refusal_code},
};

async fn handshake(app: &TestApp, headers: &[(&str, &str)], auth: Option<Value>) -> String {
    let mut socket = RawSocket::open(app, headers).await;
    socket.connect(auth).await
}

#[tokio::test]
async fn handshakes_without_valid_credentials_are_refused_with_the_contract_code() {
    let app = TestApp::spawn().await;
    let cookie = app
        .sign_in("github", Account::github(1, "cookie", "c@example.com"))
        .await;
    let token = app.bearer_for("bearer").await;
    let bearer = format!("Bearer {token}");

    let answer = handshake(&app, &[], None).await;
    assert_eq!(
        refusal_code(&answer).as_deref(),
        Some("NO_TOKEN"),
        "{answer}"
    );
    let answer = handshake(&app, &[], Some(json!({ "token": "garbage" }))).await;
    assert_eq!(refusal_code(&answer).as_deref(), Some("INVALID_TOKEN"));
    let tampered = format!("{}x", cookie);
    let answer = handshake(&app, &[("cookie", &tampered)], None).await;
    assert_eq!(refusal_code(&answer).as_deref(), Some("INVALID_TOKEN"));
    let answer = handshake(
        &app,
        &[("origin", "https://evil.example")],
        Some(json!({ "token": token })),
    )
    .await;
    assert_eq!(refusal_code(&answer).as_deref(), Some("ORIGIN_NOT_ALLOWED"));

    // Accepted: the cookie from an allowed origin, the auth payload, the bearer header.
    let answer = handshake(
        &app,
        &[("cookie", &cookie), ("origin", "http://localhost:3000")],
        None,
    )
    .await;
    assert!(answer.starts_with("40{"), "{answer}");
    let answer = handshake(&app, &[], Some(json!({ "token": token }))).await;
    assert!(answer.starts_with("40{"), "{answer}");
    let answer = handshake(&app, &[("authorization", &bearer)], None).await;
    assert!(answer.starts_with("40{"), "{answer}");

    // A revoked session.
    app.client
        .post(format!("{}/auth/logout", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let answer = handshake(&app, &[], Some(json!({ "token": token }))).await;
    assert_eq!(refusal_code(&answer).as_deref(), Some("SESSION_REVOKED"));
}

async fn pair_with_sockets(
    app: &TestApp,
) -> (TestUser, TestUser, String, SocketClient, SocketClient) {
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let a = SocketClient::websocket(app, &alice.token).await;
    let b = SocketClient::websocket(app, &bob.token).await;
    (alice, bob, c, a, b)
}

#[tokio::test]
async fn a_sent_message_reaches_both_participants_on_every_tab_and_nobody_else() {
    let app = TestApp::spawn().await;
    let (alice, bob, c, mut alice_tab1, mut bob_tab) = pair_with_sockets(&app).await;
    let mut alice_tab2 = SocketClient::websocket(&app, &alice.token).await;
    let carol = app.user("carol").await;
    let mut carol_tab = SocketClient::websocket(&app, &carol.token).await;

    let sent = app.send(&alice, &c, "hello bob").await;
    for tab in [&mut bob_tab, &mut alice_tab1, &mut alice_tab2] {
        let args = tab.next("new_message").await.0;
        assert_eq!(args[0], sent, "the REST Message shape");
    }
    // Carol: a later message to her arrives, and alice's did not come before it.
    let with_carol = app.conversation(&bob, &carol).await;
    let to_carol = app.send(&bob, &with_carol, "hi carol").await;
    let args = carol_tab.next_without("new_message", "new_message").await;
    assert_eq!(args[0]["id"], to_carol["id"]);
    let _ = alice;
}

#[tokio::test]
async fn edits_deletes_reads_and_conversation_changes_are_announced_to_the_right_users() {
    let app = TestApp::spawn().await;
    let (alice, bob, c, mut a, mut b) = pair_with_sockets(&app).await;
    let m = app.send(&alice, &c, "first").await;
    let id = m["id"].as_str().unwrap();
    a.next("new_message").await;
    b.next("new_message").await;

    app.json(
        &alice,
        Method::PATCH,
        &format!("/messages/{id}"),
        Some(json!({"content": "edited"})),
    )
    .await;
    for tab in [&mut a, &mut b] {
        let e = &tab.next("message_edited").await.0[0];
        assert_eq!(
            (
                e["messageId"].as_str(),
                e["content"].as_str(),
                e["conversationId"].as_str()
            ),
            (Some(id), Some("edited"), Some(c.as_str()))
        );
        assert!(e["editedAt"].as_str().unwrap().ends_with('Z'));
    }

    app.json(&bob, Method::PUT, &format!("/messages/{id}/read"), None)
        .await;
    let r = &a.next("message_read").await.0[0];
    assert_eq!(r["readerId"], bob.id.to_string());
    assert_eq!(r["conversationId"], c);
    assert_eq!(r["messageIds"], json!([id]));

    app.json(&alice, Method::DELETE, &format!("/messages/{id}"), None)
        .await;
    for tab in [&mut a, &mut b] {
        let d = &tab.next("message_deleted").await.0[0];
        assert_eq!(d, &json!({ "messageId": id, "conversationId": c }));
    }

    let carol = app.user("carol").await;
    let mut carol_tab = SocketClient::websocket(&app, &carol.token).await;
    let (_, created) = app
        .json(
            &alice,
            Method::POST,
            &format!("/conversations/{}", carol.id),
            None,
        )
        .await;
    let announced = &carol_tab.next("conversation_created").await.0[0];
    assert_eq!(announced, &created);

    app.json(&bob, Method::DELETE, &format!("/conversations/{c}"), None)
        .await;
    let gone = &a.next("conversation_deleted").await.0[0];
    assert_eq!(gone, &json!({ "conversationId": c }));
}

#[tokio::test]
async fn typing_reaches_only_the_other_participant_and_bad_arguments_get_errors() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let mut a = RawSocket::authenticated(&app, &alice.token).await;
    let mut b = RawSocket::authenticated(&app, &bob.token).await;

    a.emit("typing", vec![json!(c), json!(true)]).await;
    let args = b.next_event("user_typing").await.0;
    assert_eq!(args, vec![json!(alice.id), json!(true), json!(c)]);

    a.emit("typing", vec![json!(c), json!("yes")]).await;
    let (args, skipped) = a.next_event("error").await;
    assert_eq!(args[0]["code"], "INVALID_TYPING_STATUS");
    assert!(
        !skipped.contains(&"user_typing".to_owned()),
        "the sender does not hear itself"
    );
    a.emit("typing", vec![json!(""), json!(true)]).await;
    assert_eq!(a.next_event("error").await.0[0]["code"], "INVALID_CHAT_ID");

    // A stranger cannot type into someone else's conversation.
    let eve = app.user("eve").await;
    let mut e = RawSocket::authenticated(&app, &eve.token).await;
    e.emit("typing", vec![json!(c), json!(true)]).await;
    assert_eq!(e.next_event("error").await.0[0]["code"], "INVALID_CHAT_ID");
    // Bob's next typing event is alice's, not eve's.
    a.emit("typing", vec![json!(c), json!(false)]).await;
    let args = b.next_event("user_typing").await.0;
    assert_eq!(args, vec![json!(alice.id), json!(false), json!(c)]);
}

#[tokio::test]
async fn presence_with_two_tabs_goes_offline_only_when_the_last_one_closes() {
    let app = TestApp::spawn_with(&[("PRESENCE_GRACE", "0")]).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.conversation(&alice, &bob).await;
    let mut b = SocketClient::websocket(&app, &bob.token).await;

    let tab1 = SocketClient::websocket(&app, &alice.token).await;
    assert_eq!(
        b.next("user_status_changed").await.0,
        vec![json!(alice.id), json!("online")]
    );
    let tab2 = SocketClient::websocket(&app, &alice.token).await;
    tab1.close().await;
    // Still online: the next status event bob sees is the offline after the last tab.
    tab2.emit("update_status", vec![json!("offline")]).await;
    assert_eq!(
        b.next_status_change("online").await,
        vec![json!(alice.id), json!("offline")]
    );
    tab2.emit("update_status", vec![json!("online")]).await;
    assert_eq!(
        b.next("user_status_changed").await.0,
        vec![json!(alice.id), json!("online")]
    );
    tab2.close().await;
    assert_eq!(
        b.next("user_status_changed").await.0,
        vec![json!(alice.id), json!("offline")]
    );

    // A user with no shared conversation hears nothing: carol's next event is from bob.
    let carol = app.user("carol").await;
    let mut c = SocketClient::websocket(&app, &carol.token).await;
    let _alice_again = SocketClient::websocket(&app, &alice.token).await;
    app.conversation(&bob, &carol).await;
    let (_, skipped) = c.next("conversation_created").await;
    assert!(
        !skipped.contains(&"user_status_changed".to_owned()),
        "{skipped:?}"
    );

    let (status, user) = app
        .json(&bob, Method::GET, &format!("/user/{}", alice.id), None)
        .await;
    assert_eq!(status, 200);
    let _ = user;
    let row = confab::data::user::find_user(&app.state.db, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.last_seen.is_some(),
        "last_seen is stored when the last socket goes"
    );
}

#[tokio::test]
async fn an_invalid_status_gets_an_error() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("statusy").await;
    let mut s = RawSocket::authenticated(&app, &token).await;
    s.emit("update_status", vec![json!("away")]).await;
    assert_eq!(s.next_event("error").await.0[0]["code"], "INVALID_STATUS");
}

#[tokio::test]
async fn logging_out_disconnects_the_sessions_sockets() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("leaver").await;
    let mut socket = RawSocket::open(&app, &[]).await;
    assert!(
        socket
            .connect(Some(json!({ "token": token })))
            .await
            .starts_with("40")
    );
    app.client
        .post(format!("{}/auth/logout", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    loop {
        match socket.next_packet().await {
            Some(packet) if packet == "41" => break,
            Some(_) => continue,
            None => break,
        }
    }
}

#[tokio::test]
async fn a_flood_of_events_is_rate_limited_then_disconnected() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("flooder").await;
    let mut socket = RawSocket::open(&app, &[]).await;
    assert!(
        socket
            .connect(Some(json!({ "token": token })))
            .await
            .starts_with("40")
    );
    for _ in 0..200 {
        socket.send(r#"42["update_status","online"]"#).await;
    }
    let mut saw_rate_limited = false;
    loop {
        match socket.next_packet().await {
            Some(packet) if packet.contains("RATE_LIMITED") => saw_rate_limited = true,
            Some(packet) if packet == "41" => break,
            Some(_) => continue,
            None => break,
        }
    }
    assert!(
        saw_rate_limited,
        "the socket was told before it was cut off"
    );
}
