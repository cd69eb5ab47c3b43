//! Infrastructure routes: `/status`, `/health`, `/metrics`. No authentication, no rate limit.

use poem::{Response, handler, http::StatusCode, web::Data};
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::{ConnAcquireErr, DbErr};

use super::{Tag, json_body::JsonBody};
use crate::state::AppState;

/// The infrastructure area of the API.
pub struct InfraApi {
    state: AppState,
}

impl InfraApi {
    /// Creates the area over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// The result of one dependency check.
#[derive(Debug, Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// `ok` or `unavailable`.
    pub status: String,
    /// How long the check took, in milliseconds.
    pub latency_ms: Option<f64>,
}

/// Readiness of the server and its dependencies.
#[derive(Debug, Object, serde::Serialize)]
#[oai(example)]
pub struct Health {
    /// `ok` when every check passed; `degraded` when only Redis is down (this instance serves
    /// REST and its own sockets; events between instances wait for Redis, contract §7);
    /// `unavailable` when the database is down.
    pub status: String,
    /// The database check.
    pub database: Check,
    /// `ok` or `down`; present only when `REDIS_URL` is set (contract §7).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
}

impl poem_openapi::types::Example for Health {
    fn example() -> Self {
        Self {
            status: "ok".into(),
            database: Check {
                status: "ok".into(),
                latency_ms: Some(0.79),
            },
            redis: Some("ok".into()),
        }
    }
}

/// Responses of `GET /health`.
#[derive(ApiResponse)]
pub enum HealthResponse {
    /// Every dependency answers.
    #[oai(status = 200)]
    Healthy(JsonBody<Health>),
    /// A dependency is down; load balancers should route elsewhere.
    #[oai(status = 503)]
    Unhealthy(JsonBody<Health>),
}

#[OpenApi(tag = "Tag::Infrastructure")]
impl InfraApi {
    /// Readiness check
    ///
    /// Checks the database with a trivial query, and Redis with `PING` when `REDIS_URL` is set.
    /// `200` while the database answers (Redis down included: contract §7), `503` otherwise.
    #[oai(path = "/health", method = "get", operation_id = "health")]
    async fn health(&self) -> HealthResponse {
        let database = tokio::time::timeout(HEALTH_TIMEOUT, crate::data::ping(&self.state.db));
        let redis = async {
            match &self.state.redis {
                Some(link) => Some(link.ping().await),
                None => None,
            }
        };
        let (ping, redis_up) = tokio::join!(database, redis);
        let redis = redis_up.map(|up| if up { "ok" } else { "down" }.to_owned());
        let degraded = redis_up == Some(false);
        match ping.unwrap_or_else(|_| Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))) {
            Ok(latency) => HealthResponse::Healthy(JsonBody(Health {
                status: if degraded { "degraded" } else { "ok" }.into(),
                database: Check {
                    status: "ok".into(),
                    // Two decimals: the last digits of a float division are noise.
                    latency_ms: Some((latency.as_secs_f64() * 100_000.0).round() / 100.0),
                },
                redis,
            })),
            Err(e) => {
                tracing::warn!(error = %e, "health check: database unavailable");
                HealthResponse::Unhealthy(JsonBody(Health {
                    status: "unavailable".into(),
                    database: Check {
                        status: "unavailable".into(),
                        latency_ms: None,
                    },
                    redis,
                }))
            }
        }
    }
}

/// `/health` answers within this, even when the database does not (contract §4: 2 s).
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1500);

/// `GET /status`: plain `OK` while the process serves requests (no dependency check).
#[handler]
pub fn get_status() -> Response {
    Response::builder()
        .content_type("text/plain; charset=utf-8")
        .body("OK")
}

/// `GET /metrics`: Prometheus text format.
#[handler]
pub fn get_metrics(state: Data<&AppState>) -> Response {
    let pool = state.db.get_postgres_connection_pool();
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(Some(pool)))
}
