//! Upkeep of the full-text index (issue 17): its pending list is merged in the background, so the
//! message writer never merges it in the middle of a batch.

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::TestApp;

/// (pending pages, pending tuples) of the full-text index's pending list.
async fn pending(app: &TestApp) -> (i64, i64) {
    let db = &app.state.db;
    db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        .await
        .unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT pending_pages::bigint AS pages, pending_tuples AS tuples \
             FROM pgstatginindex('messages_content_fts_idx')",
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get::<i64>("", "pages").unwrap(),
        row.try_get::<i64>("", "tuples").unwrap(),
    )
}

#[tokio::test]
async fn the_server_merges_the_full_text_pending_list_soon_after_messages_are_written() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    for i in 0..40 {
        app.send(
            &alice,
            &c,
            &format!("pending entry number {i} about lighthouses"),
        )
        .await;
    }
    // Autovacuum does not visit a table for 40 rows within seconds: only the server's upkeep
    // empties the list this soon.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (pages, tuples) = pending(&app).await;
        if pages == 0 && tuples == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pending list still holds {pages} pages, {tuples} tuples"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, found) = app
        .json(
            &alice,
            reqwest::Method::GET,
            "/search/messages?query=lighthouses&limit=100",
            None,
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 40);
}

#[tokio::test]
async fn flushing_moves_pending_entries_into_the_index_and_leaves_nothing_behind() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c: uuid::Uuid = app.conversation(&alice, &bob).await.parse().unwrap();
    // Written through the data layer, not the server's writer, so no background merge races
    // the assertions below.
    for i in 0..30 {
        confab::data::message::create_message(
            &app.state.db,
            c,
            alice.id,
            &format!("harbour note {i}"),
        )
        .await
        .unwrap();
    }
    assert!(
        pending(&app).await.1 > 0,
        "new rows wait in the pending list"
    );
    let pages = confab::data::search::flush_pending_entries(&app.state.db)
        .await
        .unwrap();
    assert!(pages > 0);
    assert_eq!(pending(&app).await, (0, 0));
    assert_eq!(
        confab::data::search::flush_pending_entries(&app.state.db)
            .await
            .unwrap(),
        0
    );
}
