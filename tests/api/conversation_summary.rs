//! Conversation summaries (contract §1.2): every Conversation carries its `lastMessage` (newest,
//! not deleted) and the caller's `unreadCount` (the other side's messages not read, not deleted).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, app::TestUser};

/// The caller's view of `conversation` from the list and from `GET /conversations/:id`, checked
/// to agree.
async fn summary(app: &TestApp, user: &TestUser, conversation: &str) -> Value {
    let (status, list) = app.json(user, Method::GET, "/conversations", None).await;
    assert_eq!(status, 200);
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == conversation)
        .cloned()
        .unwrap();
    let (status, one) = app
        .json(
            user,
            Method::GET,
            &format!("/conversations/{conversation}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed, one, "the list and the single read agree");
    listed
}

#[tokio::test]
async fn conversations_carry_their_last_message_and_the_callers_unread_count() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let (status, created) = app
        .json(
            &alice,
            Method::POST,
            &format!("/conversations/{}", bob.id),
            None,
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            created["lastMessage"].clone(),
            created["unreadCount"].clone()
        ),
        (Value::Null, json!(0))
    );
    let c = created["id"].as_str().unwrap().to_owned();

    let m1 = app.send(&alice, &c, "one").await;
    let m2 = app.send(&alice, &c, "two").await;
    let m3 = app.send(&alice, &c, "three").await;
    let for_bob = summary(&app, &bob, &c).await;
    assert_eq!(for_bob["lastMessage"], m3);
    assert_eq!(for_bob["unreadCount"], 3);
    let for_alice = summary(&app, &alice, &c).await;
    assert_eq!(for_alice["lastMessage"]["id"], m3["id"]);
    assert_eq!(
        for_alice["unreadCount"], 0,
        "one's own messages are not unread"
    );

    // A deleted message is neither the last one nor unread.
    app.json(
        &alice,
        Method::DELETE,
        &format!("/messages/{}", m3["id"].as_str().unwrap()),
        None,
    )
    .await;
    let for_bob = summary(&app, &bob, &c).await;
    assert_eq!(for_bob["lastMessage"]["id"], m2["id"]);
    assert_eq!(for_bob["unreadCount"], 2);

    // Delivered is still unread; read is not (reading m2 reads m1 too).
    app.json(
        &bob,
        Method::PUT,
        &format!("/messages/{}/delivered", m2["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(summary(&app, &bob, &c).await["unreadCount"], 2);
    app.json(
        &bob,
        Method::PUT,
        &format!("/messages/{}/read", m2["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(summary(&app, &bob, &c).await["unreadCount"], 0);
    let _ = m1;

    let m4 = app.send(&bob, &c, "four").await;
    let for_alice = summary(&app, &alice, &c).await;
    assert_eq!(for_alice["lastMessage"]["id"], m4["id"]);
    assert_eq!(for_alice["unreadCount"], 1);
    assert_eq!(summary(&app, &bob, &c).await["unreadCount"], 0);

    // An edit shows in the last message.
    app.json(
        &bob,
        Method::PATCH,
        &format!("/messages/{}", m4["id"].as_str().unwrap()),
        Some(json!({ "content": "four, edited" })),
    )
    .await;
    assert_eq!(
        summary(&app, &alice, &c).await["lastMessage"]["content"],
        "four, edited"
    );
}

#[tokio::test]
async fn each_conversation_of_a_page_has_its_own_summary() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut expected = Vec::new();
    for (i, name) in ["bob", "carol", "dave"].into_iter().enumerate() {
        let other = app.user(name).await;
        let c = app.conversation(&alice, &other).await;
        let mut last = Value::Null;
        for n in 0..=i {
            last = app.send(&other, &c, &format!("{name} {n}")).await;
        }
        expected.push((c, last["id"].clone(), i + 1));
    }
    let _empty = app.conversation(&alice, &app.user("erin").await).await;
    let (_, list) = app
        .json(&alice, Method::GET, "/conversations?limit=10", None)
        .await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert_eq!(
        list[0]["lastMessage"],
        Value::Null,
        "the newest is the empty one"
    );
    assert_eq!(list[0]["unreadCount"], 0);
    for (c, last, unread) in expected {
        let got = list.iter().find(|x| x["id"] == c.as_str()).unwrap();
        assert_eq!(got["lastMessage"]["id"], last);
        assert_eq!(got["unreadCount"], unread);
    }
}
