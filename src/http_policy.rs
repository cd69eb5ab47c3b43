//! Cross-cutting HTTP policy: CORS with credentials for the allowed origins only, the CSRF
//! refusal of unsafe requests from other origins, and the security headers of every response.

use poem::{
    Response,
    http::{HeaderMap, HeaderValue, Method, header},
};

/// Origins allowed to call with credentials, and what the headers need to know.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    allowed: Vec<String>,
    /// Whether `PUBLIC_URL` is https (then HSTS is sent).
    https: bool,
}

/// What the origin check decided for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginCheck {
    /// No `Origin` header: not a cross-origin browser request.
    NoOrigin,
    /// An allowed origin.
    Allowed(String),
    /// An origin that is not allowed.
    Refused,
}

/// Methods that change state; from a foreign origin they are refused (the cookie is
/// `SameSite=None`, so the browser would send it along).
fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl OriginPolicy {
    /// `allowed`: `FRONTEND_URL`, `CORS_ORIGINS`, and Confab's own origin (its docs page).
    pub fn new(mut allowed: Vec<String>, public_url: &str) -> Self {
        allowed.push(public_url.trim_end_matches('/').to_owned());
        Self {
            https: public_url.starts_with("https://"),
            allowed,
        }
    }

    /// Checks a request's `Origin`.
    pub fn check(&self, headers: &HeaderMap) -> OriginCheck {
        match headers
            .get(header::ORIGIN)
            .map(|o| o.to_str().unwrap_or_default())
        {
            None => OriginCheck::NoOrigin,
            Some(origin) if self.allowed.iter().any(|a| a == origin) => {
                OriginCheck::Allowed(origin.to_owned())
            }
            Some(_) => OriginCheck::Refused,
        }
    }

    /// Whether the request must be refused with `403 ORIGIN_NOT_ALLOWED`: a preflight from a
    /// foreign origin, or an unsafe method from one.
    pub fn refuses(&self, check: &OriginCheck, method: &Method) -> bool {
        *check == OriginCheck::Refused && (is_unsafe(method) || *method == Method::OPTIONS)
    }

    /// The answer to a CORS preflight from an allowed origin.
    pub fn preflight(&self, origin: &str, requested_headers: Option<&HeaderValue>) -> Response {
        let mut response = Response::builder()
            .status(poem::http::StatusCode::NO_CONTENT)
            .header(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "GET, POST, PUT, PATCH, DELETE",
            )
            .header(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                requested_headers
                    .cloned()
                    .unwrap_or_else(|| HeaderValue::from_static("content-type, authorization")),
            )
            .header(header::ACCESS_CONTROL_MAX_AGE, "600")
            .finish();
        self.add_cors(response.headers_mut(), origin);
        response
    }

    /// CORS headers of a response to an allowed origin.
    pub fn add_cors(&self, headers: &mut HeaderMap, origin: &str) {
        if let Ok(value) = HeaderValue::from_str(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(
                "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after",
            ),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }

    /// The security headers every response carries. The docs page gets a CSP that lets it load
    /// its own script, styles and documents, and nothing else (Swagger UI runs under it: no inline
    /// script or style, no eval; `e2e/tests/docs.test.mjs` fails on any violation Chromium
    /// reports); API responses get one that allows nothing.
    pub fn add_security_headers(&self, headers: &mut HeaderMap, is_docs_page: bool) {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        let csp = if is_docs_page {
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        } else {
            "default-src 'none'; frame-ancestors 'none'"
        };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
        if self.https {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
}

/// Wraps the whole app (HTTP and Socket.IO): refuses foreign unsafe requests and preflights,
/// answers allowed preflights, adds CORS headers for allowed origins and the security headers to
/// every response.
pub fn wrap<E: poem::Endpoint + 'static>(
    ep: E,
    policy: std::sync::Arc<OriginPolicy>,
) -> impl poem::Endpoint<Output = Response> {
    use poem::IntoResponse;
    let ep = std::sync::Arc::new(ep);
    poem::endpoint::make(move |req: poem::Request| {
        let (ep, policy) = (ep.clone(), policy.clone());
        async move {
            let check = policy.check(req.headers());
            let is_docs_page = req.uri().path() == "/";
            let mut response = if policy.refuses(&check, req.method()) {
                poem::error::ResponseError::as_response(&crate::error::ApiError::OriginNotAllowed)
            } else if let (OriginCheck::Allowed(origin), true) = (
                &check,
                req.method() == Method::OPTIONS
                    && req
                        .headers()
                        .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD),
            ) {
                policy.preflight(
                    origin,
                    req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS),
                )
            } else {
                match ep.call(req).await {
                    Ok(response) => response.into_response(),
                    Err(err) => err.into_response(),
                }
            };
            if let OriginCheck::Allowed(origin) = &check {
                policy.add_cors(response.headers_mut(), origin);
            }
            policy.add_security_headers(response.headers_mut(), is_docs_page);
            Ok::<_, poem::Error>(response)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn only_listed_origins_and_our_own_are_allowed() {
        let policy = OriginPolicy::new(
            vec!["https://chat.example.com".into()],
            "https://api.example.com/",
        );
        assert_eq!(policy.check(&headers(None)), OriginCheck::NoOrigin);
        assert!(matches!(
            policy.check(&headers(Some("https://chat.example.com"))),
            OriginCheck::Allowed(_)
        ));
        assert!(matches!(
            policy.check(&headers(Some("https://api.example.com"))),
            OriginCheck::Allowed(_)
        ));
        assert_eq!(
            policy.check(&headers(Some("https://evil.example"))),
            OriginCheck::Refused
        );
        assert_eq!(
            policy.check(&headers(Some("https://chat.example.com.evil.example"))),
            OriginCheck::Refused
        );
    }

    #[test]
    fn foreign_origins_may_read_nothing_with_credentials_and_change_nothing() {
        let policy = OriginPolicy::new(vec![], "http://localhost:7200");
        let refused = OriginCheck::Refused;
        assert!(policy.refuses(&refused, &Method::POST));
        assert!(policy.refuses(&refused, &Method::DELETE));
        assert!(policy.refuses(&refused, &Method::OPTIONS));
        assert!(
            !policy.refuses(&refused, &Method::GET),
            "a GET just gets no CORS headers"
        );
        assert!(!policy.refuses(&OriginCheck::NoOrigin, &Method::POST));
    }
}
