//! The API docs page (`/`), its assets, the OpenAPI document (`/json`, `/yaml`) and the AsyncAPI
//! document of the Socket.IO side (`/asyncapi.json`, `/asyncapi.yaml`).
//!
//! The page renders the OpenAPI document with Swagger UI, which poem-openapi bundles (feature
//! `swagger-ui`), and the AsyncAPI document with a small script of ours (Swagger UI shows OpenAPI
//! only). Swagger UI was chosen over Scalar, the other bundled renderer with a request runner,
//! because it runs under a strict CSP (`script-src 'self'; style-src 'self'`: no inline script or
//! style, no eval), loads no fonts or anything else from a CDN, and is what the original served, so
//! its users know it; Scalar's bundle injects `<style>` elements (needs `'unsafe-inline'`) and
//! fetches its fonts from its CDN by default.
//!
//! poem-openapi hands out Swagger UI only as one HTML page with the script, the stylesheet and the
//! document inlined, which a strict CSP forbids; the script and stylesheet are taken out of that page
//! once at start-up and served as files, and our own `static/index.html` and `static/docs.js` start
//! Swagger UI on `/json`. Everything is in the binary: the page works offline, from any directory.

use poem::{
    Endpoint, EndpointExt, IntoResponse, Response, endpoint::BoxEndpoint, handler, http::header,
};

const INDEX_HTML: &str = include_str!("../../static/index.html");
const DOCS_CSS: &str = include_str!("../../static/docs.css");
const DOCS_JS: &str = include_str!("../../static/docs.js");
const FAVICON_SVG: &str = include_str!("../../static/favicon.svg");

/// The documents the page renders, each as JSON and YAML.
pub struct Documents {
    /// The OpenAPI document (`/json`, `/yaml`).
    pub openapi: (String, String),
    /// The AsyncAPI document (`/asyncapi.json`, `/asyncapi.yaml`).
    pub asyncapi: (String, String),
}

/// Swagger UI's script and stylesheet, taken out of poem-openapi's all-inline page.
struct SwaggerUi {
    js: String,
    css: String,
}

impl SwaggerUi {
    /// `html` is `OpenApiService::swagger_ui_html()`: the stylesheet in the first
    /// `<style charset="UTF-8">`, the bundle in the first `<script charset="UTF-8">` (an inline
    /// script cannot contain `</script>`, so the first one closes it).
    fn extract(html: &str) -> anyhow::Result<Self> {
        fn between<'a>(text: &'a str, open: &str, close: &str) -> anyhow::Result<&'a str> {
            let start = text
                .find(open)
                .map(|i| i + open.len())
                .ok_or_else(|| anyhow::anyhow!("Swagger UI page without {open}"))?;
            let len = text[start..]
                .find(close)
                .ok_or_else(|| anyhow::anyhow!("Swagger UI page without {close}"))?;
            Ok(&text[start..start + len])
        }
        Ok(Self {
            css: between(html, "<style charset=\"UTF-8\">", "</style>")?.to_owned(),
            js: between(html, "<script charset=\"UTF-8\">", "</script>")?.to_owned(),
        })
    }
}

/// The docs assets and documents (rendered once at start-up), by path; each answers GET (and so
/// HEAD). The page itself lives at `/`, which [`with_index`] serves. `swagger_ui_html` is
/// poem-openapi's Swagger UI page, the source of the renderer's files.
pub fn endpoints(
    documents: Documents,
    swagger_ui_html: &str,
) -> anyhow::Result<Vec<(&'static str, BoxEndpoint<'static>)>> {
    let swagger = SwaggerUi::extract(swagger_ui_html)?;
    let text = |content_type: &'static str, body: String| {
        poem::endpoint::make_sync(move |_| asset(content_type, body.clone())).boxed()
    };
    let (openapi_json, openapi_yaml) = documents.openapi;
    let (asyncapi_json, asyncapi_yaml) = documents.asyncapi;
    Ok(vec![
        ("/static/docs.css", css.boxed()),
        ("/static/docs.js", js.boxed()),
        ("/static/favicon.svg", favicon.boxed()),
        (
            "/static/swagger-ui.css",
            text("text/css; charset=utf-8", swagger.css),
        ),
        (
            "/static/swagger-ui-bundle.js",
            text("text/javascript; charset=utf-8", swagger.js),
        ),
        ("/json", text("application/json", openapi_json)),
        ("/yaml", text("application/x-yaml", openapi_yaml)),
        ("/asyncapi.json", text("application/json", asyncapi_json)),
        ("/asyncapi.yaml", text("application/x-yaml", asyncapi_yaml)),
    ])
}

/// Serves the docs page at exactly `/` and hands every other path to `api`. The OpenAPI routes are
/// nested at the root, which claims `/` in poem's router, so the page is picked out here instead.
pub fn with_index<E: Endpoint + 'static>(api: E) -> impl Endpoint<Output = Response> {
    let api = std::sync::Arc::new(api);
    poem::endpoint::make(move |req: poem::Request| {
        let api = api.clone();
        async move {
            if req.uri().path() == "/" && req.method() == poem::http::Method::GET {
                Ok(asset("text/html; charset=utf-8", INDEX_HTML))
            } else {
                api.call(req).await.map(IntoResponse::into_response)
            }
        }
    })
}

fn asset(content_type: &'static str, body: impl Into<poem::Body>) -> Response {
    Response::builder()
        .content_type(content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body)
}

#[handler]
fn css() -> Response {
    asset("text/css; charset=utf-8", DOCS_CSS)
}

#[handler]
fn js() -> Response {
    asset("text/javascript; charset=utf-8", DOCS_JS)
}

#[handler]
fn favicon() -> Response {
    asset("image/svg+xml", FAVICON_SVG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swagger_ui_comes_out_of_the_inline_page_whole() {
        let page = "<html><style charset=\"UTF-8\">a{b:c}</style>\
                    <script charset=\"UTF-8\">var x = 1;</script><script>let spec = {}</script>";
        let ui = SwaggerUi::extract(page).unwrap();
        assert_eq!(ui.css, "a{b:c}");
        assert_eq!(ui.js, "var x = 1;");
        assert!(SwaggerUi::extract("<html></html>").is_err());
    }
}
