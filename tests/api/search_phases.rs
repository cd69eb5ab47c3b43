//! Message search answers exactly whichever of its phases finds the answer (`data::search`): the
//! newest messages, a time range sized from their density, or the whole full-text index.
//!
//! The messages are written with chosen send times (one a second, and some ten days older), so the
//! density the first phase sees, and so the phase that answers, is known.

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::helpers::{TestApp, app::TestUser};

/// Writes messages `first..=last` of `conversation` from `sender`, all read: message `i` is sent
/// `i` seconds after a fixed start moved `offset_days` earlier, and reads `word i`, where `word` is
/// the one `words` gives for `i`, else `filler`.
async fn write(
    app: &TestApp,
    conversation: &str,
    sender: &TestUser,
    (first, last): (i64, i64),
    offset_days: i64,
    words: &[(i64, &str)],
) {
    let db = &app.state.db;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        r#"INSERT INTO messages (id, conversation_id, sender_id, content, status, created_at)
           SELECT gen_random_uuid(), $1::uuid, $2,
                  coalesce((SELECT w.word FROM unnest($5::bigint[], $6::text[]) AS w(i, word)
                            WHERE w.i = g), 'filler') || ' ' || g,
                  'read', timestamptz '2026-11-01 00:00:00+00' - make_interval(days => $4::int)
                          + make_interval(secs => g)
           FROM generate_series($3::bigint, $7::bigint) AS g"#,
        [
            conversation.into(),
            sender.id.into(),
            first.into(),
            (offset_days as i32).into(),
            words.iter().map(|(i, _)| *i).collect::<Vec<i64>>().into(),
            words
                .iter()
                .map(|(_, w)| w.to_string())
                .collect::<Vec<String>>()
                .into(),
            last.into(),
        ],
    ))
    .await
    .unwrap();
}

/// The contents of a search's results, in the order given.
async fn search(app: &TestApp, caller: &TestUser, query: &str, limit: u32) -> Vec<String> {
    let (status, found) = app
        .json(
            caller,
            Method::GET,
            &format!(
                "/search/messages?query={}&limit={limit}",
                urlencoding::encode(query)
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{found}");
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|m: &Value| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_word_of_medium_density_is_answered_exactly_from_a_time_range() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    // 1,000 messages a second apart, "plum 東京" in every hundredth: five in the newest 500,
    // fewer than the eight asked for, and ten in all, within the range those five size.
    let plums: Vec<(i64, &str)> = (0..10).map(|k| (k * 100 + 50, "plum 東京")).collect();
    write(&app, &c, &bob, (0, 999), 0, &plums).await;
    let want: Vec<String> = (2..10)
        .rev()
        .map(|k| format!("plum 東京 {}", k * 100 + 50))
        .collect();
    assert_eq!(search(&app, &alice, "plum", 8).await, want);
    // A phrase in a script without spaces goes the same way.
    assert_eq!(search(&app, &alice, "東京", 8).await, want);
}

#[tokio::test]
async fn a_time_range_too_short_for_the_limit_falls_back_to_the_whole_index() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    // "pear" twice among 1,000 recent messages and five times ten days earlier: the range sized
    // from the two recent ones holds fewer than five, so the older ones come from the index.
    write(
        &app,
        &c,
        &alice,
        (0, 4),
        10,
        &[0, 1, 2, 3, 4].map(|i| (i, "pear")),
    )
    .await;
    write(
        &app,
        &c,
        &bob,
        (100, 1099),
        0,
        &[(700, "pear"), (900, "pear")],
    )
    .await;
    assert_eq!(
        search(&app, &alice, "pear", 5).await,
        ["pear 900", "pear 700", "pear 4", "pear 3", "pear 2"]
    );
}

#[tokio::test]
async fn the_time_range_covers_only_the_callers_conversations_and_skips_deleted_messages() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol) = (
        app.user("alice").await,
        app.user("bob").await,
        app.user("carol").await,
    );
    let ab = app.conversation(&alice, &bob).await;
    let bc = app.conversation(&bob, &carol).await;
    let figs: Vec<(i64, &str)> = (0..10).map(|k| (k * 100 + 50, "fig")).collect();
    write(&app, &ab, &bob, (0, 999), 0, &figs).await;
    // Bob's conversation with Carol has figs at the same times; Alice must not see them.
    write(&app, &bc, &carol, (0, 999), 0, &figs).await;
    let db = &app.state.db;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE messages SET status = 'deleted' WHERE conversation_id = $1::uuid AND content = 'fig 850'",
        [ab.clone().into()],
    ))
    .await
    .unwrap();
    let want: Vec<String> = [950, 750, 650, 550, 450, 350]
        .iter()
        .map(|i| format!("fig {i}"))
        .collect();
    assert_eq!(search(&app, &alice, "fig", 6).await, want);
}
