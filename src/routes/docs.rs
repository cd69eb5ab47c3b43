//! The API docs page (`/`), its assets, and the OpenAPI document (`/json`, `/yaml`).
//!
//! The page and its assets are compiled into the binary, so they are served from any working
//! directory and render offline: no CDN, no inline script (it fits a strict CSP).

use poem::{
    Endpoint, EndpointExt, IntoResponse, Response, endpoint::BoxEndpoint, handler, http::header,
};

const INDEX_HTML: &str = include_str!("../../static/index.html");
const DOCS_CSS: &str = include_str!("../../static/docs.css");
const DOCS_JS: &str = include_str!("../../static/docs.js");
const FAVICON_SVG: &str = include_str!("../../static/favicon.svg");

/// The docs assets and the OpenAPI document (rendered once at start-up), by path; each answers
/// GET (and so HEAD). The page itself lives at `/`, which [`with_index`] serves.
pub fn endpoints(
    spec_json: String,
    spec_yaml: String,
) -> Vec<(&'static str, BoxEndpoint<'static>)> {
    vec![
        ("/static/docs.css", css.boxed()),
        ("/static/docs.js", js.boxed()),
        ("/static/favicon.svg", favicon.boxed()),
        (
            "/json",
            poem::endpoint::make_sync(move |_| asset("application/json", spec_json.clone()))
                .boxed(),
        ),
        (
            "/yaml",
            poem::endpoint::make_sync(move |_| asset("application/x-yaml", spec_yaml.clone()))
                .boxed(),
        ),
    ]
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
