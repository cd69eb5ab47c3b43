//! The durable event stream (contract §6.1): cursors on live events, replay on connect. `/sync` is
//! in `stream_sync`.
//! Every wait is bounded; exactness is checked against what the database committed.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, app::TestUser, socket::RawSocket};

/// A durable event as a socket received it: name, arguments without the cursor, and the cursor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Received {
    pub(crate) name: String,
    pub(crate) args: Vec<Value>,
    pub(crate) cursor: String,
}

/// The next event packet of any name; `None` when the socket ends.
pub(crate) async fn next_event(socket: &mut RawSocket) -> Option<Received> {
    loop {
        let packet = socket.next_packet().await?;
        let Some(body) = packet
            .strip_prefix("42")
            .map(|b| b.trim_start_matches(|c: char| c.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(Value::Array(mut items)) = serde_json::from_str::<Value>(body) else {
            continue;
        };
        let name = items.remove(0).as_str().unwrap_or_default().to_owned();
        let cursor = items
            .last()
            .and_then(|last| last["cursor"].as_str())
            .map(str::to_owned)
            .unwrap_or_default();
        if !cursor.is_empty() {
            items.pop();
        }
        return Some(Received {
            name,
            args: items,
            cursor,
        });
    }
}

/// The next `n` durable events (ephemeral ones skipped).
pub(crate) async fn durable(socket: &mut RawSocket, n: usize) -> Vec<Received> {
    let mut got = vec![];
    while got.len() < n {
        let event = next_event(socket).await.expect("the socket stays open");
        if !event.cursor.is_empty() {
            got.push(event);
        }
    }
    got
}

pub(crate) async fn connect_since(
    app: &TestApp,
    user: &TestUser,
    since: Option<&str>,
) -> RawSocket {
    let mut socket = RawSocket::open(app, &[]).await;
    let auth = match since {
        Some(since) => json!({ "token": user.token, "since": since }),
        None => json!({ "token": user.token }),
    };
    let answer = socket.connect(Some(auth)).await;
    assert!(answer.starts_with("40"), "{answer}");
    socket
}

pub(crate) async fn sync(app: &TestApp, user: &TestUser, query: &str) -> (u16, Value) {
    app.json(user, Method::GET, &format!("/sync{query}"), None)
        .await
}

/// The numeric part of a cursor, to check order without depending on its format elsewhere.
pub(crate) fn seq(cursor: &str) -> u64 {
    cursor.split('-').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn every_durable_event_carries_a_cursor_and_reaches_both_participants_in_order() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let mut a = connect_since(&app, &alice, None).await;
    let mut b = connect_since(&app, &bob, None).await;
    let c = app.conversation(&alice, &bob).await;
    let m = app.send(&alice, &c, "hello").await;
    let id = m["id"].as_str().unwrap();
    app.call(
        &alice,
        Method::PATCH,
        &format!("/messages/{id}"),
        Some(json!({"content": "hi"})),
    )
    .await;
    app.call(&bob, Method::PUT, &format!("/messages/{id}/read"), None)
        .await;
    app.call(&alice, Method::DELETE, &format!("/messages/{id}"), None)
        .await;
    app.call(&bob, Method::DELETE, &format!("/conversations/{c}"), None)
        .await;
    let kinds = [
        "conversation_created",
        "new_message",
        "message_edited",
        "message_read",
        "message_deleted",
        "conversation_deleted",
    ];
    for socket in [&mut a, &mut b] {
        let events = durable(socket, kinds.len()).await;
        let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, kinds);
        assert!(
            events
                .windows(2)
                .all(|w| seq(&w[0].cursor) + 1 == seq(&w[1].cursor))
        );
        assert_eq!(events[1].args[0]["id"], m["id"]);
    }
}

#[tokio::test]
async fn a_socket_reconnecting_with_its_cursor_gets_what_it_missed_then_live_events() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let mut b = connect_since(&app, &bob, None).await;
    app.send(&alice, &c, "seen live").await;
    let last = durable(&mut b, 1).await.remove(0).cursor;
    b.close_now().await;
    let mut missed = vec![];
    for i in 0..5 {
        missed.push(app.send(&alice, &c, &format!("missed {i}")).await["id"].clone());
    }
    let deleted = missed[2].as_str().unwrap().to_owned();
    app.call(
        &alice,
        Method::DELETE,
        &format!("/messages/{deleted}"),
        None,
    )
    .await;

    let mut b = connect_since(&app, &bob, Some(&last)).await;
    let replayed = durable(&mut b, 6).await;
    let ids: Vec<&Value> = replayed[..5].iter().map(|e| &e.args[0]["id"]).collect();
    assert_eq!(ids, missed.iter().collect::<Vec<_>>());
    // A message deleted since is replayed blanked.
    assert_eq!(replayed[2].args[0]["content"], "");
    assert_eq!(replayed[5].name, "message_deleted");
    app.send(&alice, &c, "live again").await;
    let live = durable(&mut b, 1).await.remove(0);
    assert_eq!(live.args[0]["content"], "live again");
    assert_eq!(seq(&live.cursor), seq(&replayed[5].cursor) + 1);
}

#[tokio::test]
async fn an_unknown_or_foreign_cursor_on_connect_gets_cursor_expired_then_live_events() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let (_, alices) = sync(&app, &alice, "").await;
    // Malformed (text, or not text at all) and foreign cursors alike.
    for since in [
        json!("garbage"),
        alices["cursor"].clone(),
        json!(12345),
        json!({ "seq": 1 }),
    ] {
        let mut b = RawSocket::open(&app, &[]).await;
        let answer = b
            .connect(Some(json!({ "token": bob.token, "since": since })))
            .await;
        assert!(answer.starts_with("40"), "{answer}");
        let first = next_event(&mut b).await.unwrap();
        assert_eq!(
            (first.name.as_str(), &first.args[0]["code"]),
            ("error", &json!("CURSOR_EXPIRED")),
            "since {since}"
        );
        app.send(&alice, &c, "after").await;
        assert_eq!(durable(&mut b, 1).await[0].args[0]["content"], "after");
    }
}

#[tokio::test]
async fn concurrent_senders_and_reconnecting_receivers_see_every_event_once_in_commit_order() {
    let app = TestApp::spawn().await;
    let receiver = app.user("receiver").await;
    let mut senders = vec![];
    for i in 0..10 {
        let sender = app.user(&format!("sender{i}")).await;
        let c = app.conversation(&sender, &receiver).await;
        senders.push((sender, c));
    }
    let (_, start) = sync(&app, &receiver, "").await;
    let mut cursor = start["cursor"].as_str().unwrap().to_owned();
    let sending = {
        let client = app.client.clone();
        let address = app.address.clone();
        let senders: Vec<(String, String)> = senders
            .iter()
            .map(|(s, c)| (s.token.clone(), c.clone()))
            .collect();
        tokio::spawn(async move {
            let sends = senders.into_iter().map(|(token, c)| {
                let (client, address) = (client.clone(), address.clone());
                async move {
                    for i in 0..20 {
                        let r = client
                            .post(format!("{address}/conversations/{c}/messages"))
                            .bearer_auth(&token)
                            .json(&json!({ "content": format!("m{i}") }))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 201);
                    }
                }
            });
            futures_util::future::join_all(sends).await;
        })
    };
    // Receive in short sessions, reconnecting each time with the last cursor seen.
    let mut received: Vec<Received> = vec![];
    let total = 10 * 20;
    while received.len() < total {
        let mut socket = connect_since(&app, &receiver, Some(&cursor)).await;
        let take = (received.len() % 37 + 1).min(total - received.len());
        for event in durable(&mut socket, take).await {
            cursor = event.cursor.clone();
            received.push(event);
        }
        socket.close_now().await;
    }
    sending.await.unwrap();
    let seqs: Vec<u64> = received.iter().map(|e| seq(&e.cursor)).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] + 1 == w[1]),
        "gapless, once each: {seqs:?}"
    );
    let ids: Vec<String> = received
        .iter()
        .map(|e| e.args[0]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        total,
        "no duplicate"
    );
    // Per conversation, the order received is the committed order of its history.
    for (sender, c) in &senders {
        let (_, history) = app
            .json(
                sender,
                Method::GET,
                &format!("/conversations/{c}/messages?limit=100"),
                None,
            )
            .await;
        let mut committed: Vec<String> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        committed.reverse();
        let got: Vec<String> = received
            .iter()
            .filter(|e| e.args[0]["conversation"] == json!(c))
            .map(|e| e.args[0]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, committed);
    }
}

#[tokio::test]
async fn the_stream_survives_a_restart_and_an_instance_change() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let (_, start) = sync(&app, &bob, "").await;
    // The first instance (sharing the database) sends and stops; the client resumes elsewhere.
    let first = app.sibling(&[]).await;
    first.send(&alice, &c, "before restart").await;
    first.shut_down().await.unwrap();
    app.send(&alice, &c, "after restart").await;
    let mut b = connect_since(&app, &bob, start["cursor"].as_str()).await;
    let got = durable(&mut b, 2).await;
    let contents: Vec<&Value> = got.iter().map(|e| &e.args[0]["content"]).collect();
    assert_eq!(
        contents,
        [&json!("before restart"), &json!("after restart")]
    );
}

#[tokio::test]
async fn an_event_committed_but_never_emitted_is_read_from_the_store_before_the_next_one() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let mut b = connect_since(&app, &bob, None).await;
    // Stored for bob the way a request that is cancelled after its commit leaves it: in the
    // stream, never emitted.
    let silent =
        confab::wire::ServerEvent::ConversationDeleted(confab::wire::event::ConversationDeleted {
            conversation_id: uuid::Uuid::now_v7(),
        });
    confab::data::event::append(&app.state.db, &[(bob.id, silent)])
        .await
        .unwrap();
    app.send(&alice, &c, "after the silent one").await;
    let got = durable(&mut b, 2).await;
    let names: Vec<&str> = got.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["conversation_deleted", "new_message"]);
    assert_eq!(got[1].args[0]["content"], "after the silent one");
}
