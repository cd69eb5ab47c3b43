//! `TestApp`: the real application, built by the same `Application::build` as production, on
//! port 0 over a database of its own.

use std::collections::HashMap;

use confab::{config::Config, startup::Application, state::AppState};
use tokio::sync::oneshot;

use super::db::TestDatabase;

/// A running application and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// An HTTP client with a cookie store.
    pub client: reqwest::Client,
    /// The application's shared state (its database pool among it).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    // Dropped last: the server must let go of its connections first.
    _database: TestDatabase,
}

impl TestApp {
    /// Spawns the app with the test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Spawns the app with extra or overriding configuration variables.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        init_test_logging();
        let database = TestDatabase::create().await;
        let data_dir =
            std::env::temp_dir().join(format!("confab-test-data-{}", std::process::id()));
        let mut vars: HashMap<String, String> = [
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("PUBLIC_URL", "http://localhost:7200"),
            ("FRONTEND_URL", "http://localhost:3000"),
            (
                "COOKIE_SECRET",
                "test-cookie-secret-0123456789abcdef0123456789",
            ),
            (
                "JWT_SECRET",
                "test-jwt-secret-0123456789abcdef0123456789abcd",
            ),
            ("DATABASE_POOL_SIZE", "5"),
            ("DATA_DIR", data_dir.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in overrides {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = Config::from_source(&vars).expect("test configuration");
        let app = Application::build(config, &database.url)
            .await
            .expect("build the app");
        let port = app.port();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(Box::pin(async {
            let _ = rx.await;
        })));
        Self {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            shutdown: Some(tx),
            server: Some(server),
            _database: database,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap()
    }

    /// `GET {address}{path}`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
    }

    /// Stops the server as a signal would, and waits for it to finish.
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(server) => tokio::time::timeout(super::TIMEOUT, server)
                .await
                .expect("the server stops in time")
                .expect("the server task does not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Logs go to the test output only when `TEST_LOG` is set (e.g. `TEST_LOG=debug`).
fn init_test_logging() {
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(format!("{filter},sqlx=warn"))
            .with_test_writer()
            .try_init();
    }
}
