//! Messages after they are sent: edits (sender only), deletes, read marks.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    message::{ids, pair},
};

#[tokio::test]
async fn only_the_sender_edits_and_unchanged_content_is_reported() {
    let app = TestApp::spawn().await;
    let (alice, bob, c) = pair(&app).await;
    let m = app.send(&alice, &c, "first").await;
    let path = format!("/messages/{}", m["id"].as_str().unwrap());

    let (status, body) = app
        .json(
            &alice,
            Method::PATCH,
            &path,
            Some(json!({"content": " first "})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Message content is unchanged");
    assert_eq!(body["data"]["editedAt"], Value::Null);

    let (status, body) = app
        .json(
            &alice,
            Method::PATCH,
            &path,
            Some(json!({"content": "second"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Message edited successfully");
    assert_eq!(body["data"]["content"], "second");
    let edited_at = body["data"]["editedAt"].clone();
    assert!(edited_at.is_string());

    let (_, again) = app
        .json(
            &alice,
            Method::PATCH,
            &path,
            Some(json!({"content": "second"})),
        )
        .await;
    assert_eq!(
        again["data"]["editedAt"], edited_at,
        "unchanged answers the stored editedAt"
    );

    for (user, body) in [
        (&bob, json!({"content": "hijack"})),
        (&alice, json!({"content": "   "})),
    ] {
        let (status, reply) = app.json(user, Method::PATCH, &path, Some(body)).await;
        let expected = if user.id == bob.id {
            (404, "MESSAGE_NOT_FOUND")
        } else {
            (400, "INVALID_CONTENT")
        };
        assert_eq!((status, reply["code"].as_str().unwrap()), expected);
    }
    let (status, reply) = app
        .json(
            &alice,
            Method::PATCH,
            &path,
            Some(json!({"content": "y".repeat(2001)})),
        )
        .await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (400, Some("INVALID_CONTENT"))
    );
}

#[tokio::test]
async fn a_deleted_message_leaves_lists_and_search_and_cannot_be_edited() {
    let app = TestApp::spawn().await;
    let (alice, bob, c) = pair(&app).await;
    let keep = app.send(&alice, &c, "keep this sentence").await;
    let gone = app.send(&alice, &c, "remove this sentence").await;
    let path = format!("/messages/{}", gone["id"].as_str().unwrap());

    let (status, body) = app.json(&bob, Method::DELETE, &path, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("MESSAGE_NOT_FOUND")),
        "only the sender deletes"
    );
    let (status, body) = app.json(&alice, Method::DELETE, &path, None).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"success": true, "message": "Message deleted successfully"})
        )
    );
    let (status, body) = app.json(&alice, Method::DELETE, &path, None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("Message is already deleted"))
    );

    let (_, list) = app
        .json(
            &bob,
            Method::GET,
            &format!("/conversations/{c}/messages"),
            None,
        )
        .await;
    assert_eq!(ids(&list), [keep["id"].as_str().unwrap()]);
    let (_, found) = app
        .json(&bob, Method::GET, "/search/messages?query=sentence", None)
        .await;
    assert_eq!(ids(&found), [keep["id"].as_str().unwrap()]);
    let (status, body) = app
        .json(
            &alice,
            Method::PATCH,
            &path,
            Some(json!({"content": "back"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("MESSAGE_NOT_FOUND"))
    );
}

#[tokio::test]
async fn reading_marks_the_message_and_every_earlier_unread_one_from_the_other_side() {
    let app = TestApp::spawn().await;
    let (alice, bob, c) = pair(&app).await;
    let a1 = app.send(&alice, &c, "one").await;
    let b1 = app.send(&bob, &c, "mine").await;
    let a2 = app.send(&alice, &c, "two").await;
    let a3 = app.send(&alice, &c, "three").await;
    let read = |m: &Value| format!("/messages/{}/read", m["id"].as_str().unwrap());

    // Only the recipient: the sender and strangers get 404.
    let (status, _) = app.json(&alice, Method::PUT, &read(&a2), None).await;
    assert_eq!(status, 404);
    let eve = app.user("eve").await;
    let (status, _) = app.json(&eve, Method::PUT, &read(&a2), None).await;
    assert_eq!(status, 404);

    let (status, body) = app.json(&bob, Method::PUT, &read(&a2), None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("Message marked as read successfully"))
    );
    let (_, list) = app
        .json(
            &bob,
            Method::GET,
            &format!("/conversations/{c}/messages"),
            None,
        )
        .await;
    let status_of = |m: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == m["id"])
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status_of(&a1), "read");
    assert_eq!(status_of(&a2), "read");
    assert_eq!(status_of(&a3), "sent", "later messages stay unread");
    assert_eq!(
        status_of(&b1),
        "sent",
        "the reader's own messages are untouched"
    );
    let (_, body) = app.json(&bob, Method::PUT, &read(&a1), None).await;
    assert_eq!(body["message"], "Message is already marked as read");
}
