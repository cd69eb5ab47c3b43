//! Infrastructure routes, the error envelope, request ids, the docs page and graceful shutdown.

use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn status_answers_plain_ok() {
    let app = TestApp::spawn().await;
    let response = app.get("/status").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), "OK");
}

#[tokio::test]
async fn health_checks_the_database() {
    let app = TestApp::spawn().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "ok");
    assert!(body["database"]["latencyMs"].as_f64().is_some());
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state.db.clone().close().await.unwrap();
    let response = app.get("/health").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"]["status"], "unavailable");
}

#[tokio::test]
async fn unknown_routes_get_the_error_envelope() {
    let app = TestApp::spawn().await;
    let response = app.get("/no/such/route?x=1").await;
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "statusCode": 404,
            "code": "ROUTE_NOT_FOUND",
            "error": "Not Found",
            "message": "Route GET:/no/such/route not found",
        })
    );
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_gets_the_error_envelope() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .delete(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(body["statusCode"], 405);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let big = vec![b'a'; 1024 * 1024 + 1];
    let response = app
        .client
        .post(format!("{}/health", app.address))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "BODY_TOO_LARGE");
}

#[tokio::test]
async fn chunked_bodies_over_the_limit_are_refused_too() {
    let app = TestApp::spawn().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b'a'; 64 * 1024])).collect();
    let response = app
        .client
        .post(format!("{}/health", app.address))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "BODY_TOO_LARGE");
}

#[tokio::test]
async fn a_sent_request_id_is_echoed_and_one_is_made_when_missing() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/status", app.address))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");

    let response = app.get("/status").await;
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok());

    // Errors carry it as well.
    let response = app.get("/missing").await;
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn the_openapi_document_is_served_as_json_and_yaml() {
    let app = TestApp::spawn().await;
    let json: Value = app.get("/json").await.json().await.unwrap();
    assert!(json["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(json["info"]["title"], "Confab API");
    assert!(json["paths"]["/health"]["get"].is_object());

    let yaml = app.get("/yaml").await;
    assert_eq!(yaml.headers()["content-type"], "application/x-yaml");
    let text = yaml.text().await.unwrap();
    assert!(text.contains("openapi:") && text.contains("/health:"));
}

#[tokio::test]
async fn the_asyncapi_document_is_served_as_json_and_yaml_with_every_event() {
    let app = TestApp::spawn().await;
    let json: Value = app.get("/asyncapi.json").await.json().await.unwrap();
    assert_eq!(json["asyncapi"], "3.0.0");
    let messages = json["components"]["messages"].as_object().unwrap();
    for kind in <confab::wire::event_kind::ServerEventKind as strum::IntoEnumIterator>::iter() {
        assert!(messages.contains_key(kind.name()), "{}", kind.name());
    }
    let yaml = app.get("/asyncapi.yaml").await;
    assert_eq!(yaml.headers()["content-type"], "application/x-yaml");
    let parsed: Value = serde_yaml::from_str(&yaml.text().await.unwrap()).unwrap();
    assert_eq!(parsed, json, "the YAML is the same document");
}

#[tokio::test]
async fn the_docs_page_and_every_asset_it_references_are_served_locally() {
    let app = TestApp::spawn().await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external asset"
    );
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/static/"))
        .collect();
    assert!(assets.len() >= 2, "the page references its css and js");
    for asset in assets {
        let response = app.get(asset).await;
        assert_eq!(response.status(), 200, "{asset}");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.get("/health").await;
    app.get("/nowhere").await;
    app.get(&format!("/conversations/{}", uuid::Uuid::now_v7()))
        .await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"confab_http_requests_total{method="GET",route="/health",status="200"} 1"#)
    );
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#));
    // Every label is a route template, the refused requests' too: one style, bounded series.
    assert!(text.contains(r#"route="/conversations/{id}",status="401"} 1"#));
    assert!(text.contains("confab_http_request_duration_seconds_bucket"));
    assert!(text.contains("confab_socket_connections"));
    assert!(text.contains("confab_db_pool_max 5"));
}

#[tokio::test]
async fn shutdown_finishes_promptly() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/status").await.status(), 200);
    app.shut_down().await.unwrap();
}
