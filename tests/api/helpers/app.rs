//! `TestApp`: the real application, built by the same `Application::build` as production, on
//! port 0 over a database of its own.

use std::collections::HashMap;

use confab::{config::Config, startup::Application, state::AppState};
use tokio::sync::oneshot;

use super::{
    db::TestDatabase,
    fake_provider::{Account, FakeProvider},
};

/// A running application and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// An HTTP client that follows no redirects and keeps no cookies (tests handle both by hand,
    /// to see exactly what the server sets).
    pub client: reqwest::Client,
    /// The OAuth provider stand-in the app is configured against.
    pub provider: FakeProvider,
    /// The application's shared state (its database pool among it).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The URL of the app's database.
    pub database_url: String,
    // Dropped last: the server must let go of its connections first. Siblings share the first
    // app's database and do not own it.
    _database: Option<TestDatabase>,
}

impl TestApp {
    /// Spawns the app with the test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Spawns the app with per-user rate limits far above anything a test sends (for tests that
    /// send hundreds of messages from one user).
    pub async fn spawn_for_bulk_sends() -> Self {
        Self::spawn_with(&[
            ("RATE_LIMIT_USER_PER_MINUTE", "1000000"),
            ("RATE_LIMIT_USER_BURST", "100000"),
        ])
        .await
    }

    /// Spawns the app with extra or overriding configuration variables.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        init_test_logging();
        let database = TestDatabase::create().await;
        let provider = FakeProvider::start().await;
        let url = database.url.clone();
        Self::spawn_on(url, Some(database), provider, overrides).await
    }

    /// Another instance over the same database (and provider stand-in), as in a multi-instance
    /// deployment.
    pub async fn sibling(&self, overrides: &[(&str, &str)]) -> Self {
        Self::spawn_on(
            self.database_url.clone(),
            None,
            self.provider.clone(),
            overrides,
        )
        .await
    }

    /// Spawns the app over any database (`database` is dropped with the app when given).
    pub async fn spawn_on(
        database_url: String,
        database: Option<TestDatabase>,
        provider: FakeProvider,
        overrides: &[(&str, &str)],
    ) -> Self {
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
        vars.extend(provider.config());
        for (k, v) in overrides {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = Config::from_source(&vars).expect("test configuration");
        let app = Application::build(config, &database_url)
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
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            provider,
            shutdown: Some(tx),
            server: Some(server),
            database_url,
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

    /// Waits (up to 10 s) until `/metrics` counts `count` open sockets: the count changes in the
    /// connect and disconnect handlers, which run after the client's own handshake is done.
    pub async fn wait_for_open_sockets(&self, count: usize) {
        let expected = format!("confab_socket_connections {count}\n");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let metrics = self.get("/metrics").await.text().await.expect("metrics");
            if metrics.contains(&expected) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {count} open sockets: {metrics}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Runs the whole OAuth flow as a browser would: start, the provider's authorization redirect,
    /// the callback with the state cookie. Returns the callback's response.
    pub async fn oauth_callback_response(
        &self,
        provider: &str,
        account: Account,
    ) -> reqwest::Response {
        self.provider.sign_in_next_as(account);
        let start = self.get(&format!("/auth/{provider}")).await;
        assert_eq!(start.status(), 302, "sign-in start redirects");
        let state_cookie = cookie_pair(&start, &format!("{provider}_oauth_state"))
            .expect("the start sets the state cookie");
        let authorize = location(&start);
        let at_provider = self
            .client
            .get(authorize)
            .send()
            .await
            .expect("provider answers");
        assert_eq!(at_provider.status(), 302, "the provider redirects back");
        let callback = location(&at_provider);
        // The redirect URI names PUBLIC_URL; the app under test listens elsewhere.
        let path = callback
            .split_once("/auth/")
            .map(|(_, p)| format!("/auth/{p}"))
            .unwrap();
        self.client
            .get(format!("{}{path}", self.address))
            .header("cookie", state_cookie)
            .send()
            .await
            .expect("callback answers")
    }

    /// Signs in through the OAuth flow and returns the `auth=…` cookie pair to send back.
    pub async fn sign_in(&self, provider: &str, account: Account) -> String {
        let response = self.oauth_callback_response(provider, account).await;
        assert_eq!(response.status(), 302, "callback redirects to the frontend");
        cookie_pair(&response, "auth").expect("the callback sets the session cookie")
    }

    /// Creates a user and a session the way `confab session create` does; returns the bearer token.
    pub async fn bearer_for(&self, username: &str) -> String {
        let user =
            confab::data::user::find_or_create_user_by_username(&self.state.db, username, None)
                .await
                .unwrap();
        self.state
            .sessions
            .issue(&self.state.db, user.id)
            .await
            .unwrap()
            .token
    }

    /// A signed-in user (created the way `confab session create` does).
    pub async fn user(&self, username: &str) -> TestUser {
        let token = self.bearer_for(username).await;
        let me: serde_json::Value = self
            .get_with_bearer("/auth/me", &token)
            .await
            .json()
            .await
            .unwrap();
        TestUser {
            id: me["id"].as_str().unwrap().parse().unwrap(),
            token,
        }
    }

    /// A request with `user`'s bearer token; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        user: &TestUser,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&user.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// `call` returning the status and the JSON body.
    pub async fn json(
        &self,
        user: &TestUser,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let response = self.call(user, method, path, body).await;
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Opens a conversation between `a` and `b`; returns its id.
    pub async fn conversation(&self, a: &TestUser, b: &TestUser) -> String {
        let (status, body) = self
            .json(
                a,
                reqwest::Method::POST,
                &format!("/conversations/{}", b.id),
                None,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Sends `content` from `user` into `conversation`; returns the message.
    pub async fn send(
        &self,
        user: &TestUser,
        conversation: &str,
        content: &str,
    ) -> serde_json::Value {
        let (status, body) = self
            .json(
                user,
                reqwest::Method::POST,
                &format!("/conversations/{conversation}/messages"),
                Some(serde_json::json!({ "content": content })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// `GET` with a `Cookie` header.
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .header("cookie", cookie)
            .send()
            .await
            .expect("request")
    }

    /// `GET` with `Authorization: Bearer`.
    pub async fn get_with_bearer(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
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

/// The `Location` header.
pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The full `Set-Cookie` header for cookie `name`, if the response sets it.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// `name=value` of a cookie the response sets, as a browser would send it back.
pub fn cookie_pair(response: &reqwest::Response, name: &str) -> Option<String> {
    set_cookie(response, name).map(|c| c.split(';').next().unwrap().to_owned())
}

/// A user with a session.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Their id.
    pub id: uuid::Uuid,
    /// Their bearer token.
    pub token: String,
}
