//! Every query of the data layer is served by an index.
//!
//! The data functions run on one connection with `enable_seqscan = off`, so the planner takes an
//! index whenever one can serve the query; afterwards the table statistics must show no
//! sequential scan at all. This checks the SQL the server really issues, not a copy of it.

use confab::data::{self, Page, message::Cursor};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::helpers::TestApp;

const TABLES: &[&str] = &[
    "users",
    "identities",
    "sessions",
    "conversations",
    "messages",
    "user_blocks",
    "message_versions",
];

async fn seq_scans(db: &DatabaseConnection) -> Vec<(String, i64)> {
    db.execute_unprepared("SELECT pg_stat_force_next_flush()")
        .await
        .unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            // A fresh snapshot each time: pg_stat views are cached per transaction.
            "SELECT relname::text AS relname, seq_scan FROM pg_stat_user_tables ORDER BY relname",
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| {
            (
                r.try_get::<String>("", "relname").unwrap(),
                r.try_get::<i64>("", "seq_scan").unwrap(),
            )
        })
        .filter(|(name, _)| TABLES.contains(&name.as_str()))
        .collect()
}

#[tokio::test]
async fn every_data_layer_query_is_served_by_an_index() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c: uuid::Uuid = app.conversation(&alice, &bob).await.parse().unwrap();
    let first = app.send(&alice, &c.to_string(), "hello world").await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.send(&bob, &c.to_string(), "hello again").await;

    let mut options = ConnectOptions::new(app.database_url.clone());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    db.execute_unprepared("SET enable_seqscan = off")
        .await
        .unwrap();
    let before = seq_scans(&db).await;

    let page = Page { page: 1, limit: 50 };
    let (a, b) = (alice.id, bob.id);
    data::user::find_user(&db, a).await.unwrap();
    data::user::find_user_by_username(&db, "alice")
        .await
        .unwrap();
    data::user::list_users(&db, None, page).await.unwrap();
    data::user::list_users(&db, Some("ali"), page)
        .await
        .unwrap();
    data::user::search_users(&db, "alice", 10).await.unwrap();
    data::conversation::list_conversations(&db, a, page)
        .await
        .unwrap();
    data::conversation::get_conversation_for(&db, c, a)
        .await
        .unwrap();
    data::conversation::get_conversation_summary(&db, c, a)
        .await
        .unwrap();
    data::conversation::list_peer_ids(&db, a).await.unwrap();
    let carol = app.user("carol").await.id;
    data::block::block_user(&db, a, carol).await.unwrap();
    data::block::is_blocked_between(&db, carol, a)
        .await
        .unwrap();
    data::block::list_blocked(&db, a).await.unwrap();
    data::block::unblock_user(&db, a, carol).await.unwrap();
    assert!(
        data::conversation::create_conversation(&db, b, a)
            .await
            .is_err()
    );
    for cursor in [
        Cursor::Latest,
        Cursor::BeforeMessage(first),
        Cursor::AfterMessage(first),
        Cursor::BeforeTime(chrono::Utc::now()),
    ] {
        data::message::list_messages(&db, c, a, page, cursor)
            .await
            .unwrap();
    }
    let sent = data::message::create_message(&db, c, a, "indexed")
        .await
        .unwrap();
    data::edit::update_message_content(&db, sent.id, a, "still indexed")
        .await
        .unwrap();
    data::edit::message_history(&db, sent.id, b).await.unwrap();
    data::message::mark_message_read(&db, sent.id, b)
        .await
        .unwrap();
    data::message::delete_message(&db, sent.id, a)
        .await
        .unwrap();
    data::search::search_messages(&db, a, "hello", None, 20)
        .await
        .unwrap();
    data::search::search_messages(&db, a, "hello", Some(c), 20)
        .await
        .unwrap();
    let session = data::session::create_session(&db, a, chrono::Utc::now())
        .await
        .unwrap();
    data::session::find_live_session(&db, session.id)
        .await
        .unwrap();
    data::session::revoke_session(&db, session.id)
        .await
        .unwrap();
    data::session::revoke_user_session(&db, session.id, a)
        .await
        .unwrap();

    let after = seq_scans(&db).await;
    assert_eq!(before, after, "a query fell back to a sequential scan");

    // The check can fail: a query no index serves shows up.
    db.execute_unprepared("SELECT count(*) FROM messages WHERE content = 'x'")
        .await
        .unwrap();
    let unindexed = seq_scans(&db).await;
    assert_ne!(after, unindexed, "the statistics see sequential scans");
}
