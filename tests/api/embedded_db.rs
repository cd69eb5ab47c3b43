//! The embedded PostgreSQL launcher: first start, restart with data kept, recovery after a kill.
//! Each test uses a cluster of its own in a fresh directory.

use confab::embedded_db::EmbeddedPostgres;
use sea_orm::{ConnectionTrait, Database};

pub(crate) fn fresh_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "confab-embedded-test-{}",
        uuid::Uuid::now_v7().simple()
    ))
}

async fn query_one(url: &str, sql: &str) -> String {
    let db = Database::connect(url).await.unwrap();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .unwrap();
    let value: String = row.try_get_by_index(0).unwrap();
    db.close().await.unwrap();
    value
}

pub(crate) async fn start(dir: &std::path::Path) -> EmbeddedPostgres {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || EmbeddedPostgres::start_exclusive(&dir))
        .await
        .unwrap()
        .unwrap()
}

pub(crate) async fn stop(pg: EmbeddedPostgres) {
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap()
        .unwrap();
}

fn postgres_runs_in(dir: &std::path::Path) -> bool {
    let needle = dir.join("postgres").join("pgdata");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|cmd| String::from_utf8_lossy(&cmd).contains(needle.to_str().unwrap()))
}

#[tokio::test]
async fn a_cluster_keeps_its_data_across_restarts_and_leaves_no_process_behind() {
    let dir = fresh_dir();
    let pg = start(&dir).await;
    let url = pg.database_url();
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
        .await
        .unwrap();
    db.close().await.unwrap();
    stop(pg).await;
    assert!(
        !postgres_runs_in(&dir),
        "stopping leaves no PostgreSQL process"
    );

    let pg = start(&dir).await;
    assert_eq!(
        query_one(&pg.database_url(), "SELECT v FROM kept").await,
        "still here"
    );
    stop(pg).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_cluster_left_running_by_a_killed_server_is_adopted() {
    let dir = fresh_dir();
    let d = dir.clone();
    let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start_shared(&d))
        .await
        .unwrap()
        .unwrap();
    // A SIGKILLed server never stops its cluster (its DATA_DIR lock dies with it): forget the
    // handle the same way.
    std::mem::forget(pg);
    let pg = start(&dir).await;
    assert_eq!(query_one(&pg.database_url(), "SELECT 'up'").await, "up");
    stop(pg).await;
    assert!(!postgres_runs_in(&dir));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_stale_pid_file_does_not_block_the_next_start() {
    let dir = fresh_dir();
    let pg = start(&dir).await;
    stop(pg).await;
    // What a machine crash leaves: a pid file naming a process that no longer exists.
    let pid_file = dir.join("postgres/pgdata/postmaster.pid");
    std::fs::write(
        &pid_file,
        "999999\n/nowhere\n1700000000\n5432\n\n127.0.0.1\n0 0\nready\n",
    )
    .unwrap();
    let pg = start(&dir).await;
    assert_eq!(query_one(&pg.database_url(), "SELECT 'up'").await, "up");
    stop(pg).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = fresh_dir();
    let pg = start(&dir).await;
    let err = EmbeddedPostgres::start_exclusive(&dir).unwrap_err();
    assert!(err.to_string().contains("another Confab process"), "{err}");
    stop(pg).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_data_dir_under_a_private_directory_still_works() {
    use std::os::unix::fs::PermissionsExt;
    // As root, PostgreSQL runs as the `postgres` user, which cannot pass through a 0700 parent.
    let private = fresh_dir();
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let dir = private.join("data");
    let pg = start(&dir).await;
    assert_eq!(query_one(&pg.database_url(), "SELECT 'up'").await, "up");
    let cluster = pg.cluster_dir();
    stop(pg).await;
    std::fs::remove_dir_all(&private).ok();
    std::fs::remove_dir_all(&cluster).ok();
}

#[tokio::test]
async fn a_start_right_after_the_server_and_its_postmaster_were_killed_succeeds() {
    let dir = fresh_dir();
    let d = dir.clone();
    let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start_shared(&d))
        .await
        .unwrap()
        .unwrap();
    std::mem::forget(pg);
    // kill -9 of the postmaster too: for a moment it is a zombie that `pg_ctl status` calls
    // running, while nothing accepts connections.
    let pid_file = std::fs::read_to_string(dir.join("postgres/pgdata/postmaster.pid")).unwrap();
    let pid: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let pg = start(&dir).await;
    assert_eq!(query_one(&pg.database_url(), "SELECT 'up'").await, "up");
    stop(pg).await;
    assert!(!postgres_runs_in(&dir));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_new_cluster_folds_case_in_every_script() {
    let dir = fresh_dir();
    let pg = start(&dir).await;
    assert_eq!(
        query_one(&pg.database_url(), "SELECT lower('ПРИВЕТ ÉCOLE')").await,
        "привет école"
    );
    stop(pg).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_test_cluster_folds_case_in_every_script() {
    let database = crate::helpers::db::TestDatabase::create().await;
    assert_eq!(
        query_one(&database.url, "SELECT lower('ПРИВЕТ ÉCOLE')").await,
        "привет école"
    );
}

#[tokio::test]
async fn db_stop_refuses_a_cluster_a_server_uses_unless_forced() {
    let dir = fresh_dir();
    assert!(EmbeddedPostgres::existing_cluster_dir(&dir).is_none());
    let pg = start(&dir).await;
    assert!(EmbeddedPostgres::existing_cluster_dir(&dir).is_some());
    let err = EmbeddedPostgres::stop_if_running(&dir, false).unwrap_err();
    assert!(err.to_string().contains("--force"), "{err}");
    assert!(
        postgres_runs_in(&dir),
        "a refused stop leaves the cluster running"
    );
    let d = dir.clone();
    let stopped = tokio::task::spawn_blocking(move || EmbeddedPostgres::stop_if_running(&d, true))
        .await
        .unwrap()
        .unwrap();
    assert!(stopped);
    assert!(!postgres_runs_in(&dir));
    drop(pg);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_database_outage_answers_503_within_the_contracts_bounds_and_service_resumes() {
    use crate::helpers::{TestApp, fake_provider::FakeProvider};
    use std::time::{Duration, Instant};

    let dir = fresh_dir();
    let pg = start(&dir).await;
    let app = TestApp::spawn_on(pg.database_url(), None, FakeProvider::start().await, &[]).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    app.send(&alice, &c, "before").await;
    stop(pg).await;

    // Sends and reads answer 503 within 5 s, /health within 2 s (contract §4); nothing hangs.
    let send = format!("/conversations/{c}/messages");
    for (method, path, body, bound) in [
        (
            reqwest::Method::POST,
            send.as_str(),
            Some(serde_json::json!({"content": "during"})),
            5,
        ),
        (reqwest::Method::GET, send.as_str(), None, 5),
    ] {
        let started = Instant::now();
        let (status, error) = app.json(&alice, method, path, body).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (503, Some("SERVICE_UNAVAILABLE")),
            "{path}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(bound),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    assert_eq!(app.get("/health").await.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // The database comes back: so does the service, with nothing lost that was acknowledged.
    let pg = start(&dir).await;
    let mut resumed = false;
    for _ in 0..50 {
        let (status, _) = app
            .json(
                &alice,
                reqwest::Method::POST,
                &send,
                Some(serde_json::json!({"content": "after"})),
            )
            .await;
        if status == 201 {
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(resumed, "sends work again once the database is back");
    let (_, history) = app.json(&alice, reqwest::Method::GET, &send, None).await;
    let contents: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["after", "before"]);
    drop(app);
    stop(pg).await;
    let _ = std::fs::remove_dir_all(&dir);
}
