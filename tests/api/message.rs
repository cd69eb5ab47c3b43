//! Messages: send and history paging (also under concurrent sends). Edits, deletes and read marks
//! are in `message_changes`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, app::TestUser};

pub(crate) async fn pair(app: &TestApp) -> (TestUser, TestUser, String) {
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let conversation = app.conversation(&alice, &bob).await;
    (alice, bob, conversation)
}

pub(crate) fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_sent_message_is_trimmed_and_returned_in_the_contract_shape() {
    let app = TestApp::spawn().await;
    let (alice, _bob, c) = pair(&app).await;
    let m = app.send(&alice, &c, "  hello there \n").await;
    assert_eq!(m["content"], "hello there");
    assert_eq!(m["sender"], alice.id.to_string());
    assert_eq!(m["conversation"], c);
    assert_eq!(m["status"], "sent");
    assert_eq!(m["editedAt"], Value::Null);
    let created = m["createdAt"].as_str().unwrap();
    assert_eq!(created.len(), "2026-01-02T03:04:05.678Z".len(), "{created}");
    // The send bumped the conversation's activity time to the message's.
    let (_, conversation) = app
        .json(&alice, Method::GET, &format!("/conversations/{c}"), None)
        .await;
    assert_eq!(conversation["updatedAt"], m["createdAt"]);
}

#[tokio::test]
async fn content_must_be_one_to_two_thousand_characters_after_trimming() {
    let app = TestApp::spawn().await;
    let (alice, _bob, c) = pair(&app).await;
    let path = format!("/conversations/{c}/messages");
    for content in ["", "   \n\t", &"x".repeat(2001)] {
        let (status, body) = app
            .json(
                &alice,
                Method::POST,
                &path,
                Some(json!({ "content": content })),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_CONTENT"))
        );
    }
    // Counted in characters, not bytes.
    let (status, _) = app
        .json(
            &alice,
            Method::POST,
            &path,
            Some(json!({ "content": "ü".repeat(2000) })),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn malformed_bodies_get_clear_400s_and_415s() {
    let app = TestApp::spawn().await;
    let (alice, _bob, c) = pair(&app).await;
    let url = format!("{}/conversations/{c}/messages", app.address);
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&alice.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        (
            status,
            body["code"].as_str().unwrap().to_owned(),
            body["message"].as_str().unwrap().to_owned(),
        )
    };
    let (status, c1, _) = code(send("{\"content\":", "application/json").await.unwrap()).await;
    assert_eq!((status, c1.as_str()), (400, "INVALID_JSON"));
    let (status, c2, message) =
        code(send("{\"content\":123}", "application/json").await.unwrap()).await;
    assert_eq!((status, c2.as_str()), (400, "SCHEMA_VALIDATION_ERROR"));
    assert_eq!(
        message,
        "Schema validation failed for body: content: must be a string, found a number"
    );
    let (status, c3, _) = code(send("{}", "application/json").await.unwrap()).await;
    assert_eq!((status, c3.as_str()), (400, "SCHEMA_VALIDATION_ERROR"));
    let (status, c4, _) = code(send("hello", "text/plain").await.unwrap()).await;
    assert_eq!((status, c4.as_str()), (415, "UNSUPPORTED_MEDIA_TYPE"));
    // Unknown fields are ignored.
    let (status, _) = app
        .json(
            &alice,
            Method::POST,
            &format!("/conversations/{c}/messages"),
            Some(json!({"content": "ok", "extra": 1})),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn strangers_can_neither_send_nor_read() {
    let app = TestApp::spawn().await;
    let (alice, _bob, c) = pair(&app).await;
    app.send(&alice, &c, "private").await;
    let eve = app.user("eve").await;
    let path = format!("/conversations/{c}/messages");
    let (status, body) = app
        .json(&eve, Method::POST, &path, Some(json!({"content": "hi"})))
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    let (status, body) = app.json(&eve, Method::GET, &path, None).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    let missing = format!("/conversations/{}/messages", uuid::Uuid::now_v7());
    let (status, body) = app
        .json(
            &alice,
            Method::POST,
            &missing,
            Some(json!({"content": "hi"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("CONVERSATION_NOT_FOUND"))
    );
}

#[tokio::test]
async fn history_is_newest_first_and_pages_by_number_and_by_cursor() {
    let app = TestApp::spawn().await;
    let (alice, bob, c) = pair(&app).await;
    let mut sent = vec![];
    for i in 0..7 {
        let from = if i % 2 == 0 { &alice } else { &bob };
        sent.push(
            app.send(from, &c, &format!("m{i}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let newest_first: Vec<String> = sent.iter().rev().cloned().collect();
    let path = format!("/conversations/{c}/messages");
    let (_, all) = app.json(&alice, Method::GET, &path, None).await;
    assert_eq!(ids(&all), newest_first);
    let (_, page2) = app
        .json(&alice, Method::GET, &format!("{path}?page=2&limit=3"), None)
        .await;
    assert_eq!(ids(&page2), newest_first[3..6]);
    let (_, before) = app
        .json(
            &alice,
            Method::GET,
            &format!("{path}?before={}&limit=2", sent[4]),
            None,
        )
        .await;
    assert_eq!(ids(&before), [sent[3].clone(), sent[2].clone()]);
    let (_, after) = app
        .json(
            &alice,
            Method::GET,
            &format!("{path}?after={}", sent[4]),
            None,
        )
        .await;
    assert_eq!(
        ids(&after),
        [sent[5].clone(), sent[6].clone()],
        "after reads forward, oldest first"
    );
    // A timestamp cursor: everything strictly older than the message's own time.
    let (_, m5) = app
        .json(
            &alice,
            Method::GET,
            &format!("{path}?after={}&limit=1", sent[4]),
            None,
        )
        .await;
    let at = m5[0]["createdAt"].as_str().unwrap().to_owned();
    let (_, older) = app
        .json(&alice, Method::GET, &format!("{path}?before={at}"), None)
        .await;
    assert!(!ids(&older).contains(&sent[5]));
    assert!(ids(&older).contains(&sent[0]));
}

#[tokio::test]
async fn bad_cursors_are_400s() {
    let app = TestApp::spawn().await;
    let (alice, bob, c) = pair(&app).await;
    let carol = app.user("carol").await;
    let other = app.conversation(&alice, &carol).await;
    let foreign = app.send(&alice, &other, "elsewhere").await;
    let path = format!("/conversations/{c}/messages");
    let id = foreign["id"].as_str().unwrap();
    for query in [
        format!("before={id}"),
        format!("after={id}"),
        "before=yesterday".into(),
        format!("before={id}&after={id}"),
        "after=nope".into(),
    ] {
        let (status, body) = app
            .json(&bob, Method::GET, &format!("{path}?{query}"), None)
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("SCHEMA_VALIDATION_ERROR")),
            "{query}"
        );
    }
}

#[tokio::test]
async fn paging_with_before_during_concurrent_sends_skips_nothing_and_repeats_nothing() {
    let app = TestApp::spawn().await;
    let (alice, bob, c) = pair(&app).await;
    let mut original = std::collections::HashSet::new();
    for i in 0..60 {
        original.insert(
            app.send(&alice, &c, &format!("old {i}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let path = format!("/conversations/{c}/messages");
    let writer = async {
        for i in 0..40 {
            app.send(&bob, &c, &format!("new {i}")).await;
        }
    };
    let reader = async {
        let mut seen: Vec<String> = vec![];
        let mut before: Option<String> = None;
        loop {
            let query = match &before {
                Some(id) => format!("{path}?limit=7&before={id}"),
                None => format!("{path}?limit=7"),
            };
            let (status, page) = app.json(&alice, Method::GET, &query, None).await;
            assert_eq!(status, 200);
            let page = ids(&page);
            if page.is_empty() {
                break;
            }
            before = page.last().cloned();
            seen.extend(page);
        }
        seen
    };
    let ((), seen) = tokio::join!(writer, reader);
    let unique: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no message twice");
    for id in &original {
        assert!(
            unique.contains(id),
            "every message older than the first page is seen"
        );
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sorted, seen, "strictly newest first (v7 ids sort by time)");
}

#[tokio::test]
async fn concurrent_sends_are_batched_without_mixing_up_answers_or_letting_strangers_in() {
    let app = TestApp::spawn().await;
    let (alice, bob, c1) = pair(&app).await;
    let carol = app.user("carol").await;
    let c2 = app.conversation(&bob, &carol).await;
    let eve = app.user("eve").await;
    let p1 = format!("/conversations/{c1}/messages");
    let p2 = format!("/conversations/{c2}/messages");
    let sends = (0..60).map(|i| {
        let (user, path) = match i % 3 {
            0 => (&alice, &p1),
            1 => (&carol, &p2),
            _ => (&eve, &p1),
        };
        app.json(
            user,
            Method::POST,
            path,
            Some(json!({ "content": format!("msg {i}") })),
        )
    });
    let results = futures_util::future::join_all(sends).await;
    for (i, (status, body)) in results.iter().enumerate() {
        match i % 3 {
            2 => assert_eq!((*status, body["code"].as_str()), (403, Some("FORBIDDEN"))),
            _ => {
                assert_eq!(*status, 201, "{body}");
                assert_eq!(
                    body["content"],
                    format!("msg {i}"),
                    "each request gets its own message"
                );
            }
        }
    }
    let (_, list) = app
        .json(&alice, Method::GET, &format!("{p1}?limit=100"), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 20);
    let (_, list) = app
        .json(&carol, Method::GET, &format!("{p2}?limit=100"), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 20);
}
