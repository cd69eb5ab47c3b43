//! Edit history (contract §3, `GET /messages/:id/history`): every version, the original first,
//! participants only, gone with the message.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn every_edit_keeps_the_version_it_replaces_oldest_first() {
    let app = TestApp::spawn().await;
    let (alice, bob, eve) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("eve").await,
    );
    let c = app.conversation(&alice, &bob).await;
    let sent = app.send(&alice, &c, "v1").await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let history = format!("/messages/{id}/history");

    let (status, versions) = app.json(&bob, Method::GET, &history, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        versions,
        json!([{ "content": "v1", "createdAt": sent["createdAt"] }])
    );

    let mut edited_at = Vec::new();
    for content in ["v2", "v3", "v3"] {
        let (status, body) = app
            .json(
                &alice,
                Method::PATCH,
                &format!("/messages/{id}"),
                Some(json!({ "content": content })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        edited_at.push(body["data"]["editedAt"].clone());
    }
    assert_eq!(
        edited_at[1], edited_at[2],
        "an unchanged edit stores nothing"
    );
    let (_, versions) = app.json(&alice, Method::GET, &history, None).await;
    assert_eq!(
        versions,
        json!([
            { "content": "v1", "createdAt": sent["createdAt"] },
            { "content": "v2", "createdAt": edited_at[0] },
            { "content": "v3", "createdAt": edited_at[1] },
        ])
    );

    // Strangers and unknown ids learn nothing; a deleted message's history is gone.
    for (user, path) in [
        (&eve, history.clone()),
        (
            &alice,
            format!("/messages/{}/history", uuid::Uuid::now_v7()),
        ),
    ] {
        let (status, body) = app.json(user, Method::GET, &path, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("MESSAGE_NOT_FOUND"))
        );
    }
    app.json(&alice, Method::DELETE, &format!("/messages/{id}"), None)
        .await;
    let (status, body) = app.json(&bob, Method::GET, &history, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("MESSAGE_NOT_FOUND"))
    );
}

#[tokio::test]
async fn concurrent_edits_each_keep_a_version_in_time_order() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let id = app.send(&alice, &c, "original").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/messages/{id}");
    let edits = (0..12).map(|i| {
        app.json(
            &alice,
            Method::PATCH,
            &path,
            Some(json!({ "content": format!("edit {i}") })),
        )
    });
    for (status, body) in join_all(edits).await {
        assert_eq!(status, 200, "{body}");
    }
    let (_, versions) = app
        .json(&bob, Method::GET, &format!("/messages/{id}/history"), None)
        .await;
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 13, "{versions:?}");
    assert_eq!(versions[0]["content"], "original");
    let mut contents: Vec<&str> = versions
        .iter()
        .map(|v| v["content"].as_str().unwrap())
        .collect();
    contents.sort_unstable();
    contents.dedup();
    assert_eq!(contents.len(), 13, "every edit's content is kept once");
    let times: Vec<&Value> = versions.iter().map(|v| &v["createdAt"]).collect();
    assert!(
        times.windows(2).all(|w| w[0].as_str() < w[1].as_str()),
        "strictly increasing: {times:?}"
    );
    let (_, messages) = app
        .json(
            &bob,
            Method::GET,
            &format!("/conversations/{c}/messages"),
            None,
        )
        .await;
    assert_eq!(
        messages[0]["content"], versions[12]["content"],
        "the last version is the current content"
    );
    assert_eq!(messages[0]["editedAt"], versions[12]["createdAt"]);
}
