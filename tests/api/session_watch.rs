//! Sockets follow their session without the database being read per socket (issue 17): revocations,
//! rotations and deletions arrive as PostgreSQL notices on every instance (with or without Redis),
//! expiry is checked in memory, and the notices resume after the database restarts.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{TestApp, app::cookie_pair, socket::RawSocket};

/// Reads packets until the server disconnects the socket (`41`); returns how long that took. A
/// transport that ends without it (a ping timeout, say) fails the test.
async fn disconnected(socket: &mut RawSocket) -> Duration {
    let started = Instant::now();
    loop {
        match socket.next_packet().await {
            Some(packet) if packet.starts_with("41") => return started.elapsed(),
            Some(_) => continue,
            None => panic!("the transport ended without the server disconnecting the socket"),
        }
    }
}

async fn session_of(app: &TestApp, token: &str) -> Uuid {
    app.state
        .sessions
        .authenticate_session(&app.state.db, token)
        .await
        .unwrap()
        .user
        .session_id
}

/// A connection of its own, as another process (an operator's tool) would have.
async fn another_process(app: &TestApp) -> DatabaseConnection {
    Database::connect(&app.database_url).await.unwrap()
}

async fn code_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

// The contract's bound is 1 s; notices take milliseconds. The assertions allow 3 s so a loaded
// test machine does not fail them; the old paths (a 10 s sweep over a 25 s cache) took far longer.
const BOUND: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_session_revoked_in_the_database_by_another_process_disconnects_its_socket_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut socket = RawSocket::authenticated(&app, &alice.token).await;
    // Cached for 25 s: only the notice can refuse it sooner.
    assert_eq!(
        app.get_with_bearer("/auth/me", &alice.token).await.status(),
        200
    );
    let session = session_of(&app, &alice.token).await;

    let started = Instant::now();
    confab::data::session::revoke_session(&another_process(&app).await, session)
        .await
        .unwrap();
    disconnected(&mut socket).await;
    let took = started.elapsed();
    assert!(took < BOUND, "disconnected after {took:?}");
    assert_eq!(
        code_of(app.get_with_bearer("/auth/me", &alice.token).await).await,
        (401, "SESSION_REVOKED".into())
    );
}

#[tokio::test]
async fn a_logout_on_one_instance_without_redis_disconnects_the_sockets_on_another_at_once() {
    let a = TestApp::spawn().await;
    let b = a.sibling(&[]).await;
    let alice = a.user("alice").await;
    let mut socket = RawSocket::authenticated(&b, &alice.token).await;
    assert_eq!(
        b.get_with_bearer("/auth/me", &alice.token).await.status(),
        200
    );

    let started = Instant::now();
    let logout = a
        .client
        .post(format!("{}/auth/logout", a.address))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    disconnected(&mut socket).await;
    let took = started.elapsed();
    assert!(took < BOUND, "disconnected after {took:?}");
    assert_eq!(
        code_of(b.get_with_bearer("/auth/me", &alice.token).await).await,
        (401, "SESSION_REVOKED".into())
    );
}

#[tokio::test]
async fn a_refresh_on_one_instance_without_redis_moves_the_sockets_on_another_to_the_successor() {
    let a = TestApp::spawn().await;
    let b = a.sibling(&[]).await;
    let (alice, bob) = (a.user("alice").await, a.user("bob").await);
    let c = a.conversation(&alice, &bob).await;
    let mut socket = RawSocket::authenticated(&b, &alice.token).await;
    assert_eq!(
        b.get_with_bearer("/auth/me", &alice.token).await.status(),
        200
    );

    let refreshed = a
        .client
        .post(format!("{}/auth/refresh", a.address))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let successor = cookie_pair(&refreshed, "auth").expect("the successor's cookie");
    // The socket stays connected: a message sent after the refresh reaches it (through B: without
    // Redis, events reach the sockets of the instance that stored them).
    let sent = b.send(&bob, &c, "still connected").await;
    let (args, _) = socket.next_event("new_message").await;
    assert_eq!(args[0]["id"], sent["id"]);
    assert_eq!(
        code_of(b.get_with_bearer("/auth/me", &alice.token).await).await,
        (401, "SESSION_REVOKED".into())
    );
    // It belongs to the successor now: logging that out (on A) ends it (on B).
    let logout = a
        .client
        .post(format!("{}/auth/logout", a.address))
        .header("cookie", &successor)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    let took = disconnected(&mut socket).await;
    assert!(took < BOUND, "disconnected after {took:?}");
}

#[tokio::test]
async fn deleting_a_user_disconnects_their_sockets_at_once() {
    let app = TestApp::spawn().await;
    let gone = app.user("gone").await;
    let mut socket = RawSocket::authenticated(&app, &gone.token).await;
    another_process(&app)
        .await
        .execute_unprepared(&format!("DELETE FROM users WHERE id = '{}'", gone.id))
        .await
        .unwrap();
    let took = disconnected(&mut socket).await;
    assert!(took < BOUND, "disconnected after {took:?}");
    assert_eq!(
        code_of(app.get_with_bearer("/auth/me", &gone.token).await).await,
        (401, "INVALID_TOKEN".into())
    );
}

#[tokio::test]
async fn an_expired_sessions_socket_is_disconnected_by_the_sweep_from_memory() {
    // Pings every 2 s keep the test client's per-frame timeout from running out meanwhile.
    let app = TestApp::spawn_with(&[("SESSION_TTL", "3s"), ("SOCKET_PING_INTERVAL", "2s")]).await;
    let alice = app.user("alice").await;
    let mut socket = RawSocket::authenticated(&app, &alice.token).await;
    // The row now says the session lasts another hour: a sweep that read the database would keep
    // the socket. The socket's own record of the expiry ends it (within the sweep's 10 s).
    let session = session_of(&app, &alice.token).await;
    another_process(&app)
        .await
        .execute_unprepared(&format!(
            "UPDATE sessions SET expires_at = now() + interval '1 hour' WHERE id = '{session}'"
        ))
        .await
        .unwrap();
    let took = disconnected(&mut socket).await;
    assert!(
        took < Duration::from_secs(15),
        "disconnected after {took:?}"
    );
}

#[tokio::test]
async fn after_a_database_restart_the_listener_resumes_and_checks_what_it_missed() {
    use crate::embedded_db::{fresh_dir, start, stop};
    use crate::helpers::fake_provider::FakeProvider;

    let dir = fresh_dir();
    let pg = start(&dir).await;
    let app = TestApp::spawn_on(pg.database_url(), None, FakeProvider::start().await, &[]).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let mut alice_socket = RawSocket::authenticated(&app, &alice.token).await;
    let mut bob_socket = RawSocket::authenticated(&app, &bob.token).await;
    // A revocation whose notice is lost, as one committed while the listener is away would be:
    // triggers are off for this connection.
    let alice_session = session_of(&app, &alice.token).await;
    let db = another_process(&app).await;
    db.execute_unprepared(&format!(
        "SET session_replication_role = replica; \
         UPDATE sessions SET revoked_at = now() WHERE id = '{alice_session}'"
    ))
    .await
    .unwrap();
    db.close().await.unwrap();

    stop(pg).await;
    let pg = start(&dir).await;
    // Listening again, the instance checks its sockets' sessions: alice's ends.
    disconnected(&mut alice_socket).await;
    // And notices flow again: bob's revocation ends his socket at once.
    let bob_session = session_of(&app, &bob.token).await;
    let started = Instant::now();
    confab::data::session::revoke_session(&another_process(&app).await, bob_session)
        .await
        .unwrap();
    disconnected(&mut bob_socket).await;
    let took = started.elapsed();
    assert!(took < BOUND, "disconnected after {took:?}");
    drop(app);
    stop(pg).await;
    let _ = std::fs::remove_dir_all(&dir);
}
