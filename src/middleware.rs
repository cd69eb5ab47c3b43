//! The request edge around every HTTP route (not `/socket.io`): request id, tracing span, rate
//! limit, body limit, the error envelope, metrics and the one log line per request.
//!
//! This is the single place where errors are logged: 5xx at `error!` with the whole cause chain, 4xx
//! at `debug!`. Handlers return errors and never log them.

use std::{sync::Arc, time::Instant};

use poem::{
    Body, Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, header},
};
use tracing::Instrument;

use crate::{
    error::{ApiError, Location},
    metrics::HttpLabels,
    rate_limit::{Decision, RateKey, client_ip},
    route_methods::RouteMethods,
    state::AppState,
    wire::ErrorCode,
};

/// The largest request body accepted (the original's limit).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const REQUEST_ID: &str = "x-request-id";

/// Plain poem handlers outside the OpenAPI document: docs and infrastructure.
const PLAIN_ROUTES: &[&str] = &[
    "/",
    "/status",
    "/metrics",
    "/json",
    "/yaml",
    "/asyncapi.json",
    "/asyncapi.yaml",
];

/// Probes that load balancers and Prometheus call every few seconds: their log line is `debug!`,
/// so they do not drown the requests people make.
const PROBES: &[&str] = &["/status", "/health", "/metrics"];

/// Wraps `ep` in the request edge.
/// Wraps `ep` in the request edge; `methods` gives a 405 its `Allow` header.
pub fn edge<E: Endpoint + 'static>(
    ep: E,
    state: AppState,
    methods: Arc<RouteMethods>,
) -> impl Endpoint<Output = Response> {
    let ep = Arc::new(ep);
    poem::endpoint::make(move |req: Request| {
        let ep = ep.clone();
        let state = state.clone();
        let methods = methods.clone();
        async move { Ok::<_, poem::Error>(handle(ep.as_ref(), &state, &methods, req).await) }
    })
}

/// Infrastructure and docs are never rate-limited (load balancers and the docs page poll them).
fn is_rate_limited(path: &str) -> bool {
    !(PLAIN_ROUTES.contains(&path) || path == "/health" || path.starts_with("/static/"))
}

/// Whose budget the request spends: the user of a correctly signed token, else the client IP.
/// The decoded token stays with the request, so authentication does not verify it again.
fn rate_key(state: &AppState, req: &mut Request) -> Option<RateKey> {
    let decoded = crate::session::auth::decode_request_token(state, req);
    let user = decoded
        .as_ref()
        .and_then(|d| d.claims.as_ref().ok())
        .map(|claims| claims.sub);
    if let Some(decoded) = decoded {
        req.extensions_mut().insert(decoded);
    }
    if let Some(user) = user {
        return Some(RateKey::User(user));
    }
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    client_ip(peer, forwarded, state.config.http.trust_proxy).map(RateKey::Ip)
}

/// A path or query parameter carrying U+0000, which PostgreSQL cannot store or compare in text:
/// refused here for every route (contract §1), before any handler or query sees it. A search
/// `query` is `INVALID_QUERY`; anything else `SCHEMA_VALIDATION_ERROR` naming the parameter.
/// (Body fields are checked by their types, e.g. message content.)
fn unstorable_text(req: &Request) -> Option<ApiError> {
    let has_nul = |raw: &str| {
        let spaced = raw.replace('+', " ");
        urlencoding::decode(&spaced).is_ok_and(|text| text.contains('\0'))
    };
    let reason = || "must not contain U+0000".to_owned();
    if has_nul(req.uri().path()) {
        return Some(ApiError::Validation {
            location: Location::Params,
            field: "id".into(),
            reason: reason(),
        });
    }
    let query = req.uri().query().unwrap_or_default();
    let (name, _) = query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(name, value)| has_nul(name) || has_nul(value))?;
    if name == "query" {
        return Some(ApiError::InvalidQuery("Search query cannot contain U+0000"));
    }
    Some(ApiError::Validation {
        location: Location::Querystring,
        field: urlencoding::decode(name).map_or_else(|_| name.to_owned(), |n| n.replace('\0', "")),
        reason: reason(),
    })
}

fn add_rate_headers(response: &mut Response, decision: Decision) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", decision.limit.into());
    headers.insert("x-ratelimit-remaining", decision.remaining.into());
    headers.insert("x-ratelimit-reset", decision.reset_secs.into());
}

async fn handle<E: Endpoint>(
    ep: &E,
    state: &AppState,
    methods: &RouteMethods,
    mut req: Request,
) -> Response {
    let metrics = &state.metrics;
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_acceptable_request_id(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = req.method().to_string();
    // The path only: query strings can carry OAuth codes and states.
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!(
        "request",
        request.id = %request_id,
        http.method = %method,
        http.path = %path,
        http.route = tracing::field::Empty,
        http.status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );

    async move {
        let decision = is_rate_limited(&path)
            .then(|| rate_key(state, &mut req))
            .flatten()
            .map(|key| state.rate_limits.check(&key));
        let result = match (decision, limit_body(&mut req).await) {
            (Some(d), _) if !d.allowed => Err(ApiError::RateLimited(d.reset_secs).into()),
            (_, Err(err)) => Err(err.into()),
            (_, Ok(())) => match unstorable_text(&req) {
                Some(err) => Err(err.into()),
                None => ep.call(req).await.map(IntoResponse::into_response),
            },
        };
        let mut response = match result {
            Ok(resp) => resp,
            Err(err) => {
                let api_error = ApiError::from_poem(err, &method, &path);
                log_error(&api_error);
                let mut response = poem::error::ResponseError::as_response(&api_error);
                if api_error.code() == ErrorCode::MethodNotAllowed {
                    // RFC 9110 §15.5.6: a 405 lists the methods the path does answer.
                    if let Ok(allow) = HeaderValue::from_str(&methods.allow(&path)) {
                        response.headers_mut().insert(header::ALLOW, allow);
                    }
                }
                response
            }
        };
        // The route template, whatever answered (operation, plain route or error): one label style.
        let route = methods.template(&path).unwrap_or("unmatched");
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        if let Some(decision) = decision {
            add_rate_headers(&mut response, decision);
        }
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        let span = tracing::Span::current();
        span.record("http.route", route);
        span.record("http.status", status);
        span.record("duration_ms", elapsed.as_secs_f64() * 1000.0);
        if PROBES.contains(&path.as_str()) {
            tracing::debug!("request completed");
        } else {
            tracing::info!("request completed");
        }
        metrics.observe_request(
            HttpLabels {
                method: method.clone(),
                route: route.to_owned(),
                status,
            },
            elapsed.as_secs_f64(),
        );
        response
    }
    .instrument(span)
    .await
}

/// Rejects bodies over [`MAX_BODY_BYTES`] before a handler sees them: at once by `Content-Length`,
/// or while reading a chunked body.
async fn limit_body(req: &mut Request) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > MAX_BODY_BYTES as u64 => Err(ApiError::BodyTooLarge),
        Some(_) => Ok(()),
        None if req
            .headers()
            .contains_key(poem::http::header::TRANSFER_ENCODING) =>
        {
            let body = req.take_body();
            match body.into_bytes_limit(MAX_BODY_BYTES).await {
                Ok(bytes) => {
                    req.set_body(Body::from_bytes(bytes));
                    Ok(())
                }
                Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(ApiError::BodyTooLarge),
                Err(e) => Err(ApiError::InvalidJson(format!(
                    "could not read the body: {e}"
                ))),
            }
        }
        None => Ok(()),
    }
}

fn log_error(err: &ApiError) {
    if err.status().is_server_error() {
        // `{:#}` on anyhow prints the whole cause chain.
        match err {
            ApiError::Internal(cause) | ApiError::Unavailable(cause) => {
                tracing::error!(error.code = err.code().as_str(), error.cause = %format!("{cause:#}"), "request failed");
            }
            _ => tracing::error!(error.code = err.code().as_str(), "request failed"),
        }
    } else {
        tracing::debug!(error.code = err.code().as_str(), error.message = %err, "request refused");
    }
}

/// A client-sent request id is reused only when it is short and plain, so it cannot forge log lines.
fn is_acceptable_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_that_could_forge_log_lines_are_replaced() {
        assert!(is_acceptable_request_id(
            "0191b2c3-abcd-7def-8000-000000000000"
        ));
        assert!(!is_acceptable_request_id("abc\ninjected"));
        assert!(!is_acceptable_request_id(""));
        assert!(!is_acceptable_request_id(&"a".repeat(129)));
    }
}
