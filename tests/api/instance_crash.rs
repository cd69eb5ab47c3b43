//! No ghosts after an instance crash (contract §7): an instance killed with SIGKILL runs no
//! cleanup, so its users must stop counting as online through their expiring Redis entries alone.
//! The crashing instance is the real `confab` binary in its own process, so the kill is a real one.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

use crate::helpers::{
    TestApp,
    redis::RedisServer,
    socket::{RawSocket, SocketClient},
};

/// `confab serve` over `database_url` and `redis_url` on a free port; killed when dropped.
struct ServerProcess {
    port: u16,
    child: Child,
}

impl ServerProcess {
    async fn start(database_url: &str, redis_url: &str, extra: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let data_dir = std::env::temp_dir().join(format!("confab-crash-{}", uuid::Uuid::now_v7()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
        command
            .arg("serve")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis_url)
            .env("DATA_DIR", &data_dir)
            // The same secrets as the in-process test apps, so their tokens work here.
            .env(
                "COOKIE_SECRET",
                "test-cookie-secret-0123456789abcdef0123456789",
            )
            .env(
                "JWT_SECRET",
                "test-jwt-secret-0123456789abcdef0123456789abcd",
            )
            .env("DATABASE_POOL_SIZE", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in extra {
            command.env(k, v);
        }
        let child = command.spawn().expect("start confab");
        let server = Self { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = format!("http://127.0.0.1:{port}/status");
        while !reqwest::get(&status)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "confab did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SIGKILL: no shutdown path runs, as in a crash.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_users_of_a_crashed_instance_go_offline_when_its_presence_entries_expire() {
    let redis = RedisServer::start();
    let presence = [("PRESENCE_TTL", "2s"), ("PRESENCE_GRACE", "0")];
    let mut vars = vec![("REDIS_URL", redis.url())];
    vars.extend(presence.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_with(&vars).await;
    let crashing = ServerProcess::start(&app.database_url, &redis.url(), &presence).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.conversation(&alice, &bob).await;
    let mut bob_socket = SocketClient::websocket(&app, &bob.token).await;

    let alice_socket = RawSocket::authenticated_at(crashing.port, &alice.token).await;
    assert_eq!(
        bob_socket.next("user_status_changed").await.0,
        vec![json!(alice.id), json!("online")]
    );
    drop(crashing);
    assert_eq!(
        bob_socket.next_status_change("online").await,
        vec![json!(alice.id), json!("offline")]
    );
    drop(alice_socket);
}
