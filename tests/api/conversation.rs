//! Conversations: create (one per pair, under concurrency too), list, get, delete.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn opening_a_conversation_returns_it_with_both_participants() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let (status, body) = app
        .json(
            &alice,
            Method::POST,
            &format!("/conversations/{}", bob.id),
            None,
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["p1"], alice.id.to_string());
    assert_eq!(body["p2"], bob.id.to_string());
    assert_eq!(body["createdAt"], body["updatedAt"]);
    assert!(body["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_conversation_with_yourself_is_refused_whatever_the_case_of_the_id() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    for id in [alice.id.to_string(), alice.id.to_string().to_uppercase()] {
        let (status, body) = app
            .json(&alice, Method::POST, &format!("/conversations/{id}"), None)
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_REQUEST"))
        );
    }
}

#[tokio::test]
async fn a_conversation_with_an_unknown_user_is_404_and_a_bad_id_is_400() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let (status, body) = app
        .json(
            &alice,
            Method::POST,
            &format!("/conversations/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("USER_NOT_FOUND"))
    );
    let (status, body) = app
        .json(&alice, Method::POST, "/conversations/not-a-uuid", None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("SCHEMA_VALIDATION_ERROR"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Schema validation failed for params: id:"),
        "{body}"
    );
}

#[tokio::test]
async fn a_second_conversation_for_the_same_pair_names_the_existing_one() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let id = app.conversation(&alice, &bob).await;
    // From the other side too: the pair is unordered.
    let (status, body) = app
        .json(
            &bob,
            Method::POST,
            &format!("/conversations/{}", alice.id),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("CONVERSATION_EXISTS"))
    );
    assert_eq!(body["details"]["conversationId"], id);
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_pair_make_exactly_one_conversation() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let paths = [
        format!("/conversations/{}", bob.id),
        format!("/conversations/{}", alice.id),
    ];
    let requests = (0..20).map(|i| {
        let from = if i % 2 == 0 { &alice } else { &bob };
        app.json(from, Method::POST, &paths[i % 2], None)
    });
    let results = futures_util::future::join_all(requests).await;
    let created: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(created.len(), 1, "{results:?}");
    let id = created[0]["id"].clone();
    for (status, body) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 400);
        assert_eq!(body["code"], "CONVERSATION_EXISTS");
        assert_eq!(body["details"]["conversationId"], id);
    }
}

#[tokio::test]
async fn conversations_are_listed_by_last_activity() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let (bob, carol) = (app.user("bob").await, app.user("carol").await);
    let with_bob = app.conversation(&alice, &bob).await;
    let with_carol = app.conversation(&alice, &carol).await;
    let (_, list) = app.json(&alice, Method::GET, "/conversations", None).await;
    assert_eq!(list[0]["id"], with_carol);
    app.send(&bob, &with_bob, "hi").await;
    let (_, list) = app.json(&alice, Method::GET, "/conversations", None).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [with_bob.as_str(), with_carol.as_str()]);
    assert_ne!(list[0]["updatedAt"], list[0]["createdAt"]);
    // Paging.
    let (_, page2) = app
        .json(&alice, Method::GET, "/conversations?page=2&limit=1", None)
        .await;
    assert_eq!(page2[0]["id"], with_carol);
    // Nobody else sees them.
    let dave = app.user("dave").await;
    let (status, list) = app.json(&dave, Method::GET, "/conversations", None).await;
    assert_eq!((status, list), (200, serde_json::json!([])));
}

#[tokio::test]
async fn fractional_or_out_of_range_paging_is_a_400() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    for query in [
        "page=1.5",
        "limit=0",
        "limit=101",
        "page=0",
        "limit=abc",
        "page=-1",
    ] {
        let (status, body) = app
            .json(
                &alice,
                Method::GET,
                &format!("/conversations?{query}"),
                None,
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("SCHEMA_VALIDATION_ERROR")),
            "{query}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Schema validation failed for querystring: "),
            "{body}"
        );
    }
}

#[tokio::test]
async fn only_participants_may_get_or_delete_a_conversation() {
    let app = TestApp::spawn().await;
    let (alice, bob, eve) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("eve").await,
    );
    let id = app.conversation(&alice, &bob).await;
    let path = format!("/conversations/{id}");
    let (status, body) = app.json(&eve, Method::GET, &path, None).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    let (status, body) = app.json(&eve, Method::DELETE, &path, None).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    let (status, body) = app.json(&bob, Method::GET, &path, None).await;
    assert_eq!((status, body["id"].as_str()), (200, Some(id.as_str())));
    let missing = format!("/conversations/{}", uuid::Uuid::now_v7());
    let (status, body) = app.json(&alice, Method::GET, &missing, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("CONVERSATION_NOT_FOUND"))
    );
}

#[tokio::test]
async fn deleting_a_conversation_removes_it_and_its_messages_for_both() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let id = app.conversation(&alice, &bob).await;
    app.send(&alice, &id, "bye").await;
    let (status, body) = app
        .json(&bob, Method::DELETE, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"success": true, "message": "Conversation deleted successfully"})
    );
    let (status, _) = app
        .json(&alice, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.json(&alice, Method::GET, "/conversations", None).await;
    assert_eq!(list, serde_json::json!([]));
    // The pair may start over.
    app.conversation(&alice, &bob).await;
}
