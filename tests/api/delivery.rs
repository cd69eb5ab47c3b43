//! Delivery receipts (contract §6.3): acknowledging `new_message`, `PUT …/delivered` and `/sync`
//! mark messages `delivered` (never back from `read`), and both participants hear
//! `message_delivered`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, app::TestUser, socket::RawSocket};

/// Reads packets until a `new_message` that asks for an acknowledgement; returns its ack id and
/// message.
async fn next_new_message_with_ack(socket: &mut RawSocket) -> (String, Value) {
    loop {
        let packet = socket.next_packet().await.expect("socket open");
        let Some(rest) = packet.strip_prefix("42") else {
            continue;
        };
        let ack: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&rest[ack.len()..]) else {
            continue;
        };
        if items[0] == "new_message" {
            assert!(
                !ack.is_empty(),
                "new_message to the recipient asks for an acknowledgement"
            );
            return (ack, items[1].clone());
        }
    }
}

async fn statuses(app: &TestApp, user: &TestUser, c: &str) -> Vec<(String, String)> {
    let (_, history) = app
        .json(
            user,
            Method::GET,
            &format!("/conversations/{c}/messages"),
            None,
        )
        .await;
    let mut list: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["content"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    list.reverse();
    list
}

#[tokio::test]
async fn an_acknowledged_message_is_delivered_and_an_unacknowledged_one_stays_sent() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let mut a = RawSocket::authenticated(&app, &alice.token).await;
    let mut b = RawSocket::authenticated(&app, &bob.token).await;
    app.send(&alice, &c, "ignored").await;
    let _ = next_new_message_with_ack(&mut b).await;
    let m2 = app.send(&alice, &c, "acknowledged").await;
    let (ack, message) = next_new_message_with_ack(&mut b).await;
    assert_eq!(message["id"], m2["id"]);
    b.send(&format!("43{ack}[]")).await;
    for socket in [&mut a, &mut b] {
        let delivered = &socket.next_event("message_delivered").await.0[0];
        assert_eq!(delivered["recipientId"], json!(bob.id));
        assert_eq!(delivered["messageIds"], json!([m2["id"]]));
        assert_eq!(delivered["conversationId"], json!(c));
    }
    assert_eq!(
        statuses(&app, &alice, &c).await,
        [
            ("ignored".into(), "sent".into()),
            ("acknowledged".into(), "delivered".into())
        ]
    );
}

#[tokio::test]
async fn put_delivered_marks_earlier_sent_messages_never_downgrades_read_and_refuses_others() {
    let app = TestApp::spawn().await;
    let (alice, bob, eve) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("eve").await,
    );
    let c = app.conversation(&alice, &bob).await;
    let m1 = app.send(&alice, &c, "one").await;
    let m2 = app.send(&alice, &c, "two").await;
    let m3 = app.send(&alice, &c, "three").await;
    let id = |m: &Value| m["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .json(
            &bob,
            Method::PUT,
            &format!("/messages/{}/read", id(&m1)),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut a = RawSocket::authenticated(&app, &alice.token).await;
    let (status, ack) = app
        .json(
            &bob,
            Method::PUT,
            &format!("/messages/{}/delivered", id(&m2)),
            None,
        )
        .await;
    assert_eq!((status, ack["success"].clone()), (200, json!(true)));
    let delivered = &a.next_event("message_delivered").await.0[0];
    assert_eq!(
        delivered["messageIds"],
        json!([m2["id"]]),
        "the read one is not listed"
    );
    assert_eq!(
        statuses(&app, &alice, &c).await,
        [
            ("one".into(), "read".into()),
            ("two".into(), "delivered".into()),
            ("three".into(), "sent".into())
        ]
    );
    // Again: nothing newly marked, still 200.
    let (status, _) = app
        .json(
            &bob,
            Method::PUT,
            &format!("/messages/{}/delivered", id(&m1)),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&app, &alice, &c).await[0].1, "read");
    // The sender and strangers cannot mark it.
    for user in [&alice, &eve] {
        let (status, error) = app
            .json(
                user,
                Method::PUT,
                &format!("/messages/{}/delivered", id(&m3)),
                None,
            )
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (404, Some("MESSAGE_NOT_FOUND"))
        );
    }
}

#[tokio::test]
async fn receiving_messages_through_sync_delivers_them() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let (_, start) = app.json(&bob, Method::GET, "/sync", None).await;
    let c = app.conversation(&alice, &bob).await;
    app.send(&alice, &c, "via sync").await;
    // The sender's own sync does not deliver it.
    let (_, alices) = app.json(&alice, Method::GET, "/sync", None).await;
    assert_eq!(alices["events"], json!([]));
    assert_eq!(statuses(&app, &alice, &c).await[0].1, "sent");
    let since = start["cursor"].as_str().unwrap();
    let (status, _) = app
        .json(&bob, Method::GET, &format!("/sync?since={since}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&app, &alice, &c).await[0].1, "delivered");
}

#[tokio::test]
async fn syncing_a_page_again_marks_nothing_twice() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let (_, start) = app.json(&bob, Method::GET, "/sync", None).await;
    let (_, alice_start) = app.json(&alice, Method::GET, "/sync", None).await;
    let c = app.conversation(&alice, &bob).await;
    app.send(&alice, &c, "once").await;
    let since = start["cursor"].as_str().unwrap();
    for _ in 0..3 {
        let (status, page) = app
            .json(&bob, Method::GET, &format!("/sync?since={since}"), None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(page["events"][1]["event"], "new_message", "{page}");
    }
    assert_eq!(statuses(&app, &alice, &c).await[0].1, "delivered");
    // One marking, so one `message_delivered` in the sender's stream.
    let alice_since = alice_start["cursor"].as_str().unwrap();
    let (_, alices) = app
        .json(
            &alice,
            Method::GET,
            &format!("/sync?since={alice_since}"),
            None,
        )
        .await;
    let delivered = alices["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "message_delivered")
        .count();
    assert_eq!(delivered, 1, "{alices}");
}

/// Receipts and read marks for the same messages can arrive at once from several paths (the
/// acknowledgement batch, `/sync`, the PUT, a second device, another instance). Each locks the
/// messages it changes in one order, so they queue behind each other instead of deadlocking
/// (PostgreSQL would abort one of them, and its caller would get an error), and the outcome is the
/// same whichever runs first: read up to the read mark, delivered after it, never read undone.
#[tokio::test]
async fn concurrent_receipts_and_read_marks_over_the_same_messages_never_deadlock() {
    use confab::data::{delivery, durable};
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = TestApp::spawn_for_bulk_sends().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let db = app.state.db.clone();
    for round in 0..8 {
        let mut ids = vec![];
        for i in 0..40 {
            let sent = app.send(&alice, &c, &format!("round {round} #{i}")).await;
            ids.push(sent["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap());
        }
        let forward: Vec<_> = ids.iter().map(|id| (bob.id, *id)).collect();
        let backward: Vec<_> = forward.iter().rev().copied().collect();
        let (newest, middle) = (ids[ids.len() - 1], ids[ids.len() / 2]);
        let (a, b, up_to, read) = tokio::join!(
            delivery::mark_delivered(&db, &forward),
            delivery::mark_delivered(&db, &backward),
            delivery::mark_delivered_up_to(&db, newest, bob.id),
            durable::mark_message_read(&db, middle, bob.id),
        );
        for (what, result) in [
            ("receipts in send order", a.err()),
            ("receipts in reverse order", b.err()),
            ("delivered up to the newest", up_to.err()),
        ] {
            assert!(result.is_none(), "round {round}, {what}: {result:?}");
        }
        assert!(read.is_ok(), "round {round}, read mark: {:?}", read.err());
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT id, status::text AS status FROM messages WHERE id = ANY($1) ORDER BY id",
                [ids.clone().into()],
            ))
            .await
            .unwrap();
        let statuses: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String>("", "status").unwrap())
            .collect();
        let expected: Vec<&str> = (0..ids.len())
            .map(|i| {
                if i <= ids.len() / 2 {
                    "read"
                } else {
                    "delivered"
                }
            })
            .collect();
        assert_eq!(statuses, expected, "round {round}");
    }
}
