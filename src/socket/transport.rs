//! Serves socketioxide from inside poem on the same port.
//!
//! poem's tower-compat wrapper keeps hyper's upgrade handle to itself, so a WebSocket upgrade passed
//! through it answers 101 and then goes silent (polling keeps working, which hides the bug). This
//! endpoint therefore performs WebSocket upgrades itself: it validates the Engine.IO request, answers
//! 101, and hands the upgraded stream with the original request head (query with `EIO`/`sid`, headers
//! with the cookie and origin) to socketioxide. Long-polling requests go through tower-compat, which
//! handles them correctly.

use engineioxide::service::NotFoundService;
use poem::{
    Endpoint, EndpointExt, Request, Response,
    endpoint::{BoxEndpoint, TowerCompatExt},
    http::{HeaderValue, StatusCode, header},
};
use socketioxide::service::SocketIoService;
use tower::ServiceExt;

use super::events::Realtime;

/// The `/socket.io` endpoint (mount with `nest_no_strip`: socketioxide wants the full path).
pub struct SocketIoEndpoint {
    service: SocketIoService<NotFoundService, super::Adapter>,
    polling: BoxEndpoint<'static, Response>,
    realtime: Realtime,
}

impl SocketIoEndpoint {
    /// Wraps socketioxide's service; `realtime` tells when the server is closing.
    pub fn new(
        service: SocketIoService<NotFoundService, super::Adapter>,
        realtime: Realtime,
    ) -> Self {
        Self {
            polling: service.clone().compat().map_to_response().boxed(),
            service,
            realtime,
        }
    }
}

/// Whether the request opens a new Engine.IO session (no `sid` yet).
fn is_new_session(req: &Request) -> bool {
    !req.uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .any(|pair| pair.starts_with("sid="))
}

impl Endpoint for SocketIoEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if self.realtime.is_closing() && is_new_session(&req) {
            // A transport-level refusal: socket.io-client retries it with backoff, where a
            // Socket.IO-level refusal ("Invalid namespace") would make it give up.
            return Ok(Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header(header::RETRY_AFTER, "1")
                .body("Server is shutting down"));
        }
        if !is_upgrade_request(&req) {
            return self.polling.call(req).await;
        }
        let Some(accept_key) = validated_websocket_key(&req) else {
            return Ok(plain(StatusCode::BAD_REQUEST, "Bad WebSocket handshake"));
        };
        let on_upgrade = match req.take_upgrade() {
            Ok(on_upgrade) => on_upgrade,
            Err(_) => {
                return Ok(plain(
                    StatusCode::BAD_REQUEST,
                    "Connection cannot be upgraded",
                ));
            }
        };
        let head = detached_head(&req);

        let service = self.service.clone();
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(stream) => {
                    if let Err(e) = service.oneshot((stream, head)).await {
                        tracing::debug!(error = %e, "rejected websocket engine.io request");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "websocket upgrade did not complete"),
            }
        });

        Ok(Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, accept_key)
            .finish())
    }
}

/// The request head socketioxide keeps for the socket's whole life (its handshake reads the
/// cookie, origin and authorization from it), copied out of hyper's read buffer. The parsed head
/// shares that buffer (16 KB once grown), so keeping the original headers would pin it for every
/// connection: measured with massif, a third of the heap of 2,000 idle sockets.
fn detached_head(req: &Request) -> http::Request<()> {
    const KEPT: [header::HeaderName; 5] = [
        header::COOKIE,
        header::ORIGIN,
        header::AUTHORIZATION,
        header::USER_AGENT,
        header::HOST,
    ];
    let mut head = http::Request::new(());
    *head.method_mut() = req.method().clone();
    *head.uri_mut() = req
        .uri()
        .to_string()
        .parse()
        .unwrap_or_else(|_| req.uri().clone());
    *head.version_mut() = req.version();
    for name in KEPT {
        for value in req.headers().get_all(&name) {
            if let Ok(copy) = HeaderValue::from_bytes(value.as_bytes()) {
                head.headers_mut().append(name.clone(), copy);
            }
        }
    }
    head
}

fn is_upgrade_request(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Checks the RFC 6455 and Engine.IO v4 requirements before answering 101, so a bad request gets a
/// plain 400 instead of an upgraded connection that is closed at once. Returns the accept key.
fn validated_websocket_key(req: &Request) -> Option<HeaderValue> {
    let headers = req.headers();
    let connection_upgrade = headers
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        });
    let version_13 = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let query = req.uri().query().unwrap_or_default();
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    let engine_io_ws = param("EIO") == Some("4") && param("transport") == Some("websocket");
    if !(req.method() == poem::http::Method::GET
        && connection_upgrade
        && version_13
        && engine_io_ws)
    {
        return None;
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
    HeaderValue::from_str(&tungstenite::handshake::derive_accept_key(key.as_bytes())).ok()
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    Response::builder().status(status).body(text)
}
