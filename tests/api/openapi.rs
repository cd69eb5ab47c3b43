//! The OpenAPI document, snapshotted: every API change shows up in review as a snapshot diff.

use crate::helpers::TestApp;

#[tokio::test]
async fn the_openapi_document_matches_the_reviewed_snapshot() {
    let app = TestApp::spawn().await;
    let spec: serde_json::Value = app.get("/json").await.json().await.unwrap();
    insta::assert_json_snapshot!("openapi", spec);
}

#[tokio::test]
async fn every_operation_declares_its_errors_and_authenticated_ones_their_security() {
    let app = TestApp::spawn().await;
    let spec: serde_json::Value = app.get("/json").await.json().await.unwrap();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["SessionCookie"]["in"], "cookie");
    assert_eq!(schemes["BearerToken"]["scheme"], "bearer");
    let open = [
        "/auth/github",
        "/auth/github/callback",
        "/auth/google",
        "/auth/google/callback",
        "/health",
    ];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            // `/health` reports a failing database as its own 503 and has no error path.
            if path != "/health" {
                assert!(responses.contains_key("500"), "{method} {path} lists 500");
            }
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has an operation id"
            );
            if !open.contains(&path.as_str()) {
                assert!(responses.contains_key("401"), "{method} {path} lists 401");
                assert_eq!(
                    op["security"].as_array().map(Vec::len),
                    Some(2),
                    "{method} {path}"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_code_the_server_can_answer_over_http_is_listed_in_the_document() {
    use confab::wire::ErrorCode;
    let app = TestApp::spawn().await;
    let spec: serde_json::Value = app.get("/json").await.json().await.unwrap();
    let mut listed = String::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for response in op["responses"].as_object().unwrap().values() {
                listed.push_str(response["description"].as_str().unwrap_or_default());
            }
        }
    }
    for code in ErrorCode::ALL.iter().filter(|c| c.surface().is_http()) {
        assert!(
            listed.contains(&format!("`{code}`")),
            "{code} can be answered over HTTP but no operation lists it"
        );
    }
}
