//! The OAuth `state` is single-use and expires after 10 minutes, enforced by the server on every
//! instance (issue 11, item 6; contract §2), not only by the cookie's `Max-Age`.

use serde_json::Value;

use crate::helpers::{
    TestApp,
    app::{cookie_pair, location},
    fake_provider::Account,
};

/// A sign-in start: the state cookie pair and the provider URL it redirects to.
async fn start(app: &TestApp, provider: &str) -> (String, String) {
    let start = app.get(&format!("/auth/{provider}")).await;
    assert_eq!(start.status(), 302);
    let cookie = cookie_pair(&start, &format!("{provider}_oauth_state")).unwrap();
    (cookie, location(&start))
}

/// Authorizes at the provider as `account` and calls back with `cookie`; the callback's response.
async fn call_back(
    app: &TestApp,
    authorize_url: &str,
    cookie: &str,
    account: Account,
) -> reqwest::Response {
    app.provider.sign_in_next_as(account);
    let at_provider = app.client.get(authorize_url).send().await.unwrap();
    assert_eq!(at_provider.status(), 302);
    let callback = location(&at_provider);
    let path = callback.split_once("/auth/").map(|(_, p)| p).unwrap();
    app.get_with_cookie(&format!("/auth/{path}"), cookie).await
}

async fn code_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_used_state_is_refused_when_replayed_on_any_instance() {
    let app = TestApp::spawn().await;
    let other = app.sibling(&[]).await;
    for provider in ["github", "google"] {
        let account = || match provider {
            "github" => Account::github(60, "replayed", "r@example.com"),
            _ => Account::google("sub-60", "r@example.com"),
        };
        let (cookie, authorize) = start(&app, provider).await;
        let first = call_back(&app, &authorize, &cookie, account()).await;
        assert_eq!(first.status(), 302, "{provider}: the first use signs in");
        assert!(cookie_pair(&first, "auth").is_some());
        // The same state and cookie again, with a fresh code: here and on another instance.
        for instance in [&app, &other] {
            let replay = call_back(instance, &authorize, &cookie, account()).await;
            assert_eq!(
                code_of(replay).await,
                (400, "INVALID_STATE".into()),
                "{provider}"
            );
        }
    }
}

#[tokio::test]
async fn a_state_older_than_ten_minutes_is_refused_whatever_the_cookie_says() {
    let app = TestApp::spawn().await;
    let (cookie, authorize) = start(&app, "github").await;
    // The same start, as if it had been made 11 minutes ago: the state cookie re-signed by the
    // server's own key (a browser keeping the cookie past its Max-Age, or a replayed request).
    let state = authorize
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let old = confab::oauth::LoginState {
        csrf: state,
        pkce_verifier: None,
        issued_at: chrono::Utc::now().timestamp() - 11 * 60,
    };
    let signed = app
        .state
        .sessions
        .cookies
        .state_cookie("github_oauth_state", &old.encode())
        .to_string();
    let old_cookie = signed.split(';').next().unwrap().to_owned();
    let late = call_back(
        &app,
        &authorize,
        &old_cookie,
        Account::github(61, "late", "late@example.com"),
    )
    .await;
    assert_eq!(code_of(late).await, (400, "INVALID_STATE".into()));
    // The fresh cookie of that same start still works.
    let fresh = call_back(
        &app,
        &authorize,
        &cookie,
        Account::github(61, "late", "late@example.com"),
    )
    .await;
    assert_eq!(fresh.status(), 302);
}
