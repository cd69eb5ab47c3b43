//! Refreshing a session from several tabs at once (issue 11, item 5; contract §2): a refresh that
//! presents a session rotated less than 30 s before gets that same successor, on any instance.

use serde_json::Value;

use crate::helpers::{TestApp, app::cookie_pair, fake_provider::Account, socket::RawSocket};

async fn refresh(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/auth/refresh", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn refresh_bearer(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/auth/refresh", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Status, `code` of an error body, and the `auth` cookie pair the response sets.
async fn outcome(response: reqwest::Response) -> (u16, String, Option<String>) {
    let status = response.status().as_u16();
    let cookie = cookie_pair(&response, "auth");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    (status, code, cookie)
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_both_stay_signed_in_with_one_successor_session() {
    let app = TestApp::spawn().await;
    let old = app
        .sign_in("github", Account::github(50, "tabs", "tabs@example.com"))
        .await;
    // Both requests at once, as two tabs sharing one cookie jar do.
    let (first, second) = tokio::join!(refresh(&app, &old), refresh(&app, &old));
    let (first, second) = (outcome(first).await, outcome(second).await);
    assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
    let successor = first.2.expect("a new cookie");
    assert_eq!(
        second.2.as_deref(),
        Some(successor.as_str()),
        "one successor"
    );
    assert_ne!(successor, old);

    // A third tab a few ms later, after both finished, gets the same successor too.
    let third = outcome(refresh(&app, &old).await).await;
    assert_eq!(
        (third.0, third.2.as_deref()),
        (200, Some(successor.as_str()))
    );
    assert_eq!(
        app.get_with_cookie("/auth/me", &successor).await.status(),
        200
    );

    // Exactly one new session was made.
    let sessions: i64 = count(&app, "SELECT count(*) FROM sessions").await;
    assert_eq!(sessions, 2);
    // Outside the refresh grace the old cookie stays revoked everywhere else.
    let me = outcome(app.get_with_cookie("/auth/me", &old).await).await;
    assert_eq!((me.0, me.1.as_str()), (401, "SESSION_REVOKED"));
}

#[tokio::test]
async fn a_refresh_on_another_instance_gets_the_same_successor() {
    let app = TestApp::spawn().await;
    let other = app.sibling(&[]).await;
    let old = app
        .sign_in("github", Account::github(51, "far", "far@example.com"))
        .await;
    // The other instance has the old session cached as live.
    assert_eq!(other.get_with_cookie("/auth/me", &old).await.status(), 200);
    let here = outcome(refresh(&app, &old).await).await;
    let there = outcome(refresh(&other, &old).await).await;
    assert_eq!((here.0, there.0), (200, 200), "{here:?} {there:?}");
    assert_eq!(here.2, there.2);
}

#[tokio::test]
async fn a_rotation_older_than_30_seconds_or_a_logout_is_still_revoked() {
    let app = TestApp::spawn().await;
    let old = app
        .sign_in("github", Account::github(52, "late", "late@example.com"))
        .await;
    let new = outcome(refresh(&app, &old).await).await.2.unwrap();
    // The rotation happened 31 s ago.
    execute(
        &app,
        "UPDATE sessions SET revoked_at = now() - interval '31 seconds' \
         WHERE revoked_at IS NOT NULL",
    )
    .await;
    let late = outcome(refresh(&app, &old).await).await;
    assert_eq!((late.0, late.1.as_str()), (401, "SESSION_REVOKED"));

    // A session that was logged out is never revived by a refresh, even at once.
    let fresh = app
        .sign_in("github", Account::github(52, "late", "late@example.com"))
        .await;
    let rotated = outcome(refresh(&app, &fresh).await).await.2.unwrap();
    let r = app
        .client
        .post(format!("{}/auth/logout", app.address))
        .header("cookie", &rotated)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let revived = outcome(refresh(&app, &fresh).await).await;
    assert_eq!((revived.0, revived.1.as_str()), (401, "SESSION_REVOKED"));
    assert_eq!(app.get_with_cookie("/auth/me", &new).await.status(), 200);
}

#[tokio::test]
async fn sockets_follow_their_session_through_concurrent_refreshes() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("socketed").await;
    let mut socket = RawSocket::authenticated(&app, &token).await;
    let (first, second) = tokio::join!(refresh_bearer(&app, &token), refresh_bearer(&app, &token));
    let (first, second) = (outcome(first).await, outcome(second).await);
    assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
    let successor = first.2.unwrap();
    // The socket now belongs to the successor: logging it out ends the socket.
    let r = app
        .client
        .post(format!("{}/auth/logout", app.address))
        .header("cookie", &successor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    loop {
        match socket.next_packet().await {
            None => break,
            Some(packet) if packet.starts_with("41") => break,
            Some(_) => {}
        }
    }
}

async fn execute(app: &TestApp, sql: &str) {
    use sea_orm::ConnectionTrait;
    app.state.db.execute_unprepared(sql).await.unwrap();
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}
