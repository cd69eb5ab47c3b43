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
            // `/health` reports a failing database as its own 503 and has no error path. The
            // errors every operation shares are one `default` response.
            if path != "/health" {
                let shared = responses["default"]["description"]
                    .as_str()
                    .unwrap_or_default();
                assert!(
                    shared.contains("`INTERNAL_SERVER_ERROR` (500)"),
                    "{method} {path} lists 500"
                );
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

#[tokio::test]
async fn a_method_a_path_does_not_answer_is_a_405_whose_allow_lists_the_documented_methods() {
    // Every path times every method, from one address: more than the default per-IP burst.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_IP_BURST", "1000")]).await;
    let spec: serde_json::Value = app.get("/json").await.json().await.unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    let order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
    for (path, item) in spec["paths"].as_object().unwrap() {
        let documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        let expected: Vec<&str> = order
            .into_iter()
            .filter(|m| {
                documented.iter().any(|d| d == m)
                    || (*m == "HEAD" && documented.iter().any(|d| d == "GET"))
            })
            .collect();
        let url = format!("{}{}", app.address, path.replace("{id}", &id));
        let undocumented = order
            .into_iter()
            .filter(|m| !expected.contains(m))
            .chain(["TRACE", "OPTIONS"]);
        for method in undocumented {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {path}");
            assert_eq!(
                response.headers()["allow"].to_str().unwrap(),
                expected.join(", "),
                "{method} {path}"
            );
            if method != reqwest::Method::HEAD {
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
            }
        }
    }
    // The plain routes outside the document answer GET (and HEAD) only, and say so.
    for path in ["/status", "/metrics", "/json", "/yaml", "/static/docs.css"] {
        let url = format!("{}{path}", app.address);
        let response = app.client.post(&url).send().await.unwrap();
        assert_eq!(response.status(), 405, "POST {path}");
        assert_eq!(response.headers()["allow"], "GET, HEAD", "POST {path}");
        let response = app.client.head(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "HEAD {path}");
    }
}

/// Whether `schema` (or what it refers to, or its items) carries an example.
fn has_example(spec: &serde_json::Value, schema: &serde_json::Value) -> bool {
    if schema.get("example").is_some() {
        return true;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return has_example(spec, &spec["components"]["schemas"][name]);
    }
    schema["type"] == "array" && has_example(spec, &schema["items"])
}

#[tokio::test]
async fn every_request_body_and_answer_body_has_an_example() {
    let app = TestApp::spawn().await;
    let spec: serde_json::Value = app.get("/json").await.json().await.unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let bodies = op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten();
            let answers = op["responses"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|r| r["content"].as_object())
                .flatten();
            for (media_type, media) in bodies.chain(answers) {
                assert!(
                    media.get("example").is_some() || has_example(&spec, &media["schema"]),
                    "{method} {path}: {media_type} has no example (add #[oai(example)] to its type)"
                );
            }
        }
    }
}
