//! Production edges: CORS and the CSRF refusal, rate limits, security headers.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const FRONTEND: &str = "http://localhost:3000";

#[tokio::test]
async fn an_allowed_origin_gets_credentialed_cors_headers_and_a_foreign_one_none() {
    let app = TestApp::spawn().await;
    let token = app.bearer_for("cors").await;
    let r = app
        .client
        .get(format!("{}/auth/me", app.address))
        .bearer_auth(&token)
        .header("origin", FRONTEND)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], FRONTEND);
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    assert!(r.headers().get_all("vary").iter().any(|v| v == "Origin"));
    let r = app
        .client
        .get(format!("{}/auth/me", app.address))
        .bearer_auth(&token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "a read is answered; the browser keeps it from the page"
    );
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_only() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(
                Method::OPTIONS,
                format!("{}/conversations/x/messages", app.address),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let r = preflight(FRONTEND).await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-origin"], FRONTEND);
    assert!(
        r.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PATCH")
    );
    assert_eq!(r.headers()["access-control-allow-headers"], "content-type");
    let r = preflight("https://evil.example").await.unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "ORIGIN_NOT_ALLOWED");
}

#[tokio::test]
async fn a_state_changing_request_from_a_foreign_origin_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let c = app.conversation(&alice, &bob).await;
    let r = app
        .client
        .post(format!("{}/conversations/{c}/messages", app.address))
        .bearer_auth(&alice.token)
        .header("origin", "https://evil.example")
        .json(&json!({ "content": "forged" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "ORIGIN_NOT_ALLOWED");
    let (_, list) = app
        .json(
            &alice,
            Method::GET,
            &format!("/conversations/{c}/messages"),
            None,
        )
        .await;
    assert_eq!(list, json!([]));
    // The same request from the frontend works.
    let r = app
        .client
        .post(format!("{}/conversations/{c}/messages", app.address))
        .bearer_auth(&alice.token)
        .header("origin", FRONTEND)
        .json(&json!({ "content": "real" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn bursting_past_the_user_limit_gets_429_with_retry_after_and_rate_headers() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_USER_BURST", "3"),
        ("RATE_LIMIT_USER_PER_MINUTE", "6"),
    ])
    .await;
    let token = app.bearer_for("bursty").await;
    let mut remaining = vec![];
    for _ in 0..3 {
        let r = app.get_with_bearer("/auth/me", &token).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        remaining.push(
            r.headers()["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = app.get_with_bearer("/auth/me", &token).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");
    // Another user has a budget of their own; infrastructure is never limited.
    let other = app.bearer_for("calm").await;
    assert_eq!(app.get_with_bearer("/auth/me", &other).await.status(), 200);
    for _ in 0..10 {
        assert_eq!(app.get("/status").await.status(), 200);
        assert_eq!(app.get("/health").await.status(), 200);
    }
}

async fn unauthenticated_statuses(app: &TestApp, forwarded_for: &[&str]) -> Vec<u16> {
    let mut statuses = vec![];
    for ip in forwarded_for {
        let r = app
            .client
            .get(format!("{}/auth/github", app.address))
            .header("x-forwarded-for", *ip)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn client_addresses_come_from_x_forwarded_for_only_behind_trusted_proxies() {
    let limits = [
        ("RATE_LIMIT_IP_BURST", "2"),
        ("RATE_LIMIT_IP_PER_MINUTE", "2"),
    ];
    // Untrusted: a client cannot dodge its limit by inventing addresses.
    let app = TestApp::spawn_with(&limits).await;
    let statuses = unauthenticated_statuses(&app, &["1.1.1.1", "2.2.2.2", "3.3.3.3"]).await;
    assert_eq!(statuses, [302, 302, 429]);
    // One trusted proxy: each forwarded address has its own budget.
    let mut with_proxy = limits.to_vec();
    with_proxy.push(("TRUST_PROXY", "1"));
    let app = TestApp::spawn_with(&with_proxy).await;
    let statuses =
        unauthenticated_statuses(&app, &["1.1.1.1", "1.1.1.1", "1.1.1.1", "2.2.2.2"]).await;
    assert_eq!(statuses, [302, 302, 429, 302]);
}

#[tokio::test]
async fn security_headers_are_on_normal_error_and_docs_responses() {
    let app = TestApp::spawn_with(&[("PUBLIC_URL", "https://confab.example.com")]).await;
    for path in ["/status", "/no/such/route", "/", "/json"] {
        let r = app.get(path).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age="),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        if path == "/" {
            assert!(
                csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
                "{csp}"
            );
        } else {
            assert!(csp.starts_with("default-src 'none'"), "{csp}");
        }
    }
    let plain = TestApp::spawn().await;
    assert!(
        plain
            .get("/status")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none(),
        "no HSTS over http"
    );
}
