//! Prometheus metrics: HTTP requests by route and status, open sockets, the database pool.
//!
//! The route label is the route template the path matched (`/conversations/{id}`, `/health`), never
//! the raw path, so a scan of random URLs cannot blow up the number of series.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels of one HTTP series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// HTTP method.
    pub method: String,
    /// The route template (`/messages/{id}`); `unmatched` for unknown paths.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    durations: Family<HttpLabels, Histogram>,
    /// Socket.IO connections currently open on this instance.
    pub open_sockets: Gauge,
    db_connections: Gauge,
    db_idle: Gauge,
    db_max: Gauge,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~8 s: chat requests live at the low end, slow queries show at the top.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 15,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("confab");
        let requests = Family::<HttpLabels, Counter>::default();
        let durations =
            Family::<HttpLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        let open_sockets = Gauge::default();
        let db_connections = Gauge::default();
        let db_idle = Gauge::default();
        let db_max = Gauge::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            durations.clone(),
        );
        registry.register(
            "socket_connections",
            "Socket.IO connections open on this instance",
            open_sockets.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections in the pool (busy and idle)",
            db_connections.clone(),
        );
        registry.register("db_pool_idle", "Idle database connections", db_idle.clone());
        registry.register("db_pool_max", "Maximum database pool size", db_max.clone());
        Self {
            registry,
            requests,
            durations,
            open_sockets,
            db_connections,
            db_idle,
            db_max,
        }
    }

    /// Records one finished HTTP request.
    pub fn observe_request(&self, labels: HttpLabels, seconds: f64) {
        self.durations.get_or_create(&labels).observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }

    /// Renders the Prometheus text format, sampling the database pool first.
    pub fn render(&self, pool: Option<&sea_orm::sqlx::PgPool>) -> String {
        if let Some(pool) = pool {
            self.db_connections.set(i64::from(pool.size()));
            self.db_idle
                .set(i64::try_from(pool.num_idle()).unwrap_or(i64::MAX));
            self.db_max
                .set(i64::from(pool.options().get_max_connections()));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
