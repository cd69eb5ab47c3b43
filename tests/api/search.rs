//! Users and search: listing, lookup, trigram user search, full-text message search.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn users_are_listed_newest_first_and_show_only_the_callers_email() {
    let app = TestApp::spawn().await;
    let first = app.user("first").await;
    confab::data::user::find_or_create_user_by_username(
        &app.state.db,
        "second",
        Some("s@example.com"),
    )
    .await
    .unwrap();
    let (status, list) = app.json(&first, Method::GET, "/user", None).await;
    assert_eq!(status, 200);
    assert_eq!(names(&list), ["second", "first"]);
    assert_eq!(
        list[0]["email"],
        Value::Null,
        "another user's e-mail is never shown"
    );
    let (_, list) = app
        .json(&first, Method::GET, "/user?search=sec", None)
        .await;
    assert_eq!(names(&list), ["second"]);
    let (status, list) = app
        .json(&first, Method::GET, "/user?search=nobody", None)
        .await;
    assert_eq!((status, list), (200, serde_json::json!([])));
    let (_, page2) = app
        .json(&first, Method::GET, "/user?limit=1&page=2", None)
        .await;
    assert_eq!(names(&page2), ["first"]);
}

#[tokio::test]
async fn a_user_is_found_by_id_and_an_unknown_id_is_404() {
    let app = TestApp::spawn().await;
    let me = app.user("me").await;
    let (status, body) = app
        .json(&me, Method::GET, &format!("/user/{}", me.id), None)
        .await;
    assert_eq!((status, body["username"].as_str()), (200, Some("me")));
    let upper = me.id.to_string().to_uppercase();
    let (status, body) = app
        .json(&me, Method::GET, &format!("/user/{upper}"), None)
        .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (200, Some(me.id.to_string().as_str())),
        "ids are normalised"
    );
    let (status, body) = app
        .json(
            &me,
            Method::GET,
            &format!("/user/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("USER_NOT_FOUND"))
    );
}

#[tokio::test]
async fn user_search_matches_username_and_name_best_first_never_email_and_takes_wildcards_literally()
 {
    let app = TestApp::spawn().await;
    let me = app.user("searcher").await;
    for (name, email) in [
        ("annabelle", "x1@example.com"),
        ("anna", "x2@example.com"),
        ("hannah", "anna@example.com"),
        ("per_cent", "x3@example.com"),
        ("percent", "x4@example.com"),
    ] {
        confab::data::user::find_or_create_user_by_username(&app.state.db, name, Some(email))
            .await
            .unwrap();
    }
    let (status, list) = app
        .json(&me, Method::GET, "/search/users?query=anna", None)
        .await;
    assert_eq!(status, 200);
    let found = names(&list);
    assert_eq!(found[0], "anna", "the exact match first: {found:?}");
    assert!(found.contains(&"annabelle".to_owned()) && found.contains(&"hannah".to_owned()));
    let (_, list) = app
        .json(&me, Method::GET, "/search/users?query=example.com", None)
        .await;
    assert_eq!(
        list,
        serde_json::json!([]),
        "e-mail addresses are not searched"
    );
    let (_, list) = app
        .json(&me, Method::GET, "/search/users?query=per_", None)
        .await;
    assert_eq!(names(&list), ["per_cent"], "`_` is literal");
    let (_, list) = app
        .json(&me, Method::GET, "/search/users?query=%25", None)
        .await;
    assert_eq!(list, serde_json::json!([]), "`%` is literal");
    let (status, body) = app
        .json(&me, Method::GET, "/search/users?query=%20%20", None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_QUERY"))
    );
    let (status, _) = app
        .json(&me, Method::GET, "/search/users?query=a&limit=1.5", None)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn message_search_is_full_text_over_the_callers_conversations_only() {
    let app = TestApp::spawn().await;
    let (alice, bob, eve) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("eve").await,
    );
    let ab = app.conversation(&alice, &bob).await;
    let be = app.conversation(&bob, &eve).await;
    let m1 = app.send(&alice, &ab, "We are running late tonight").await;
    let m2 = app.send(&bob, &ab, "I run every morning").await;
    let m3 = app.send(&bob, &be, "Eve, shall we run?").await;
    app.send(&alice, &ab, "nothing to see").await;

    let (status, found) = app
        .json(&alice, Method::GET, "/search/messages?query=runs", None)
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [m2["id"].as_str().unwrap(), m1["id"].as_str().unwrap()],
        "stemmed, newest first, alice's only"
    );

    let (_, found) = app
        .json(
            &bob,
            Method::GET,
            &format!("/search/messages?query=run&conversationId={be}"),
            None,
        )
        .await;
    let ids: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [m3["id"].as_str().unwrap()],
        "filtered by conversationId"
    );

    let (status, body) = app
        .json(
            &alice,
            Method::GET,
            &format!("/search/messages?query=run&conversationId={be}"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("ACCESS_DENIED"))
    );
    let (status, body) = app
        .json(&alice, Method::GET, "/search/messages?query=%20", None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_QUERY"))
    );
    let (status, body) = app
        .json(&alice, Method::GET, "/search/messages?query=zebra", None)
        .await;
    assert_eq!((status, body), (200, serde_json::json!([])));
}

#[tokio::test]
async fn search_is_exact_whether_the_recent_windows_suffice_or_the_index_is_needed() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("carol").await,
    );
    let ab = app.conversation(&alice, &bob).await;
    let ac = app.conversation(&alice, &carol).await;
    // Old "zebra" messages deep in a long conversation, then 140 newer ones about kiwis.
    let mut zebras = vec![];
    for i in 0..10 {
        zebras.push(
            app.send(
                if i % 2 == 0 { &alice } else { &bob },
                &ab,
                &format!("zebra {i}"),
            )
            .await["id"]
                .clone(),
        );
    }
    let mut kiwis = vec![];
    for i in 0..140 {
        kiwis.push(
            app.send(
                if i % 2 == 0 { &alice } else { &bob },
                &ab,
                &format!("kiwi {i}"),
            )
            .await["id"]
                .clone(),
        );
    }
    for i in 0..3 {
        zebras.push(
            app.send(&carol, &ac, &format!("zebra from carol {i}"))
                .await["id"]
                .clone(),
        );
    }
    let ids = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].clone())
            .collect::<Vec<_>>()
    };

    // Common word: the newest five kiwis, answered from the recent windows.
    let (_, found) = app
        .json(
            &alice,
            Method::GET,
            "/search/messages?query=kiwi&limit=5",
            None,
        )
        .await;
    let newest: Vec<Value> = kiwis.iter().rev().take(5).cloned().collect();
    assert_eq!(ids(&found), newest);

    // Rare word, mostly outside the windows: every zebra, newest first, from the index.
    let (_, found) = app
        .json(
            &alice,
            Method::GET,
            "/search/messages?query=zebra&limit=20",
            None,
        )
        .await;
    let expected: Vec<Value> = zebras.iter().rev().cloned().collect();
    assert_eq!(ids(&found), expected);
}

#[tokio::test]
async fn message_search_finds_words_in_every_script_in_both_search_phases() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let texts = [
        "東京タワーに行った",
        "我们明天去北京。",
        "서울에 갑니다",
        "Καλημέρα ΚΌΣΜΕ",
        "Привет, мир",
        "Crème BRÛLÉE à l'école",
        "Tokyo は 東京",
        "京東 is not Tokyo's name",
    ];
    for text in texts {
        app.send(&bob, &c, text).await;
    }
    let cases: [(&str, &[&str]); 9] = [
        ("東京", &["東京タワーに行った", "Tokyo は 東京"]),
        ("タワー", &["東京タワーに行った"]),
        ("北京", &["我们明天去北京。"]),
        ("서울", &["서울에 갑니다"]),
        ("κόσμε", &["Καλημέρα ΚΌΣΜΕ"]),
        ("ПРИВЕТ", &["Привет, мир"]),
        ("brûlée", &["Crème BRÛLÉE à l'école"]),
        ("tokyo 東京", &["Tokyo は 東京"]),
        ("東京に", &[]),
    ];
    let check = |phase: &'static str| {
        let (app, alice) = (&app, &alice);
        async move {
            for (query, expected) in cases {
                let path = format!("/search/messages?query={}", urlencoding::encode(query));
                let (status, found) = app.json(alice, Method::GET, &path, None).await;
                assert_eq!(status, 200, "{found}");
                let mut got: Vec<&str> = found
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["content"].as_str().unwrap())
                    .collect();
                got.sort_unstable();
                let mut want = expected.to_vec();
                want.sort_unstable();
                assert_eq!(got, want, "{phase}: {query}");
            }
        }
    };
    check("the newest messages").await;
    // Past 50 conversations the search goes straight to the full-text index.
    for i in 0..51 {
        let other = app.user(&format!("u{i}")).await;
        app.conversation(&alice, &other).await;
    }
    check("the full-text index").await;
}

#[tokio::test]
async fn a_word_too_sparse_for_the_newest_messages_is_found_exactly_through_the_index() {
    let app = TestApp::spawn_for_bulk_sends().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    // 620 messages: "quince" in the five oldest (sent one by one, so their order is known) and
    // in two of the newest 500 (messages 300 and 600; the rest go twenty at a time).
    let mut quinces = vec![];
    for i in 0..5 {
        quinces.push(app.send(&alice, &c, &format!("quince {i}")).await["id"].clone());
    }
    for batch in 0..31 {
        let sends = (0..20).map(|j| {
            let i = batch * 20 + j;
            let word = if i == 300 || i == 600 {
                "quince"
            } else {
                "filler"
            };
            let (app, alice, c) = (&app, &alice, &c);
            async move {
                (
                    i,
                    app.send(alice, c, &format!("{word} {i}")).await["id"].clone(),
                )
            }
        });
        for (i, id) in futures_util::future::join_all(sends).await {
            if i == 300 || i == 600 {
                quinces.push(id);
            }
        }
    }
    let (status, found) = app
        .json(
            &alice,
            Method::GET,
            "/search/messages?query=quince&limit=5",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let got: Vec<Value> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    let want: Vec<Value> = quinces.iter().rev().take(5).cloned().collect();
    assert_eq!(got, want, "the newest five, in order");
}
