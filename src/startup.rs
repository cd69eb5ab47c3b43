//! Building and running the server: connect, migrate, wire the routes and Socket.IO onto one
//! listener, serve, and shut down gracefully (sockets first).

use std::{future::Future, io, pin::Pin, sync::Arc, time::Duration};

use migration::MigratorTrait;
use poem::{
    EndpointExt, IntoEndpoint, Route, Server,
    http::Method,
    listener::{Acceptor, Listener, TcpListener},
};

use crate::{
    background::BackgroundTasks,
    config::Config,
    connection::{ConnectionLimits, GuardedAcceptor},
    metrics::Metrics,
    middleware,
    route_methods::RouteMethods,
    routes::{self, docs, infra},
    socket,
    state::AppState,
};

type ServerFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// How long in-flight HTTP requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long background tasks get to finish (the message writer drains its queue) after the
/// HTTP server stopped.
const TASKS_GRACE: Duration = Duration::from_secs(5);

/// A built server, bound to its port and ready to run.
pub struct Application {
    port: u16,
    state: AppState,
    tasks: BackgroundTasks,
    serve: Box<dyn FnOnce(ShutdownSignal) -> ServerFuture + Send>,
}

/// A future that resolves when the server should stop.
pub type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Application {
    /// Connects to the database, applies pending migrations, and binds the listener. The same path
    /// serves production and the tests (which pass port 0).
    pub async fn build(config: Config, database_url: &str) -> anyhow::Result<Self> {
        let db = crate::data::connect(database_url, config.database.pool_size).await?;
        migration::Migrator::up(&db, None).await?;

        let mut tasks = BackgroundTasks::new();
        let metrics = Arc::new(Metrics::new());
        let cluster = connect_cluster(&config).await?;
        let driver = match &cluster {
            Some((cluster, _)) => crate::cluster::driver::Driver::redis(cluster.link().clone()),
            None => crate::cluster::driver::Driver::off(),
        };
        let (socket_service, io) = socket::build(&config.presence, driver);
        let (receipts, receipt_queue) = socket::delivery::Receipts::channel();
        let state = AppState {
            realtime: crate::socket::events::Realtime::new(
                io.clone(),
                db.clone(),
                receipts,
                cluster.as_ref().map(|(c, _)| c.bus.clone()),
                crate::socket::typing::Typing::new(config.presence.typing_timeout),
            ),
            presence: Arc::new(crate::socket::presence::Presence::new(
                config.presence.grace,
                cluster.as_ref().map(|(c, _)| c.presence.clone()),
            )),
            rate_limits: Arc::new(crate::rate_limit::RateLimits::new(
                crate::rate_limit::Limit {
                    per_minute: config.rate_limits.user.per_minute,
                    burst: config.rate_limits.user.burst,
                },
                crate::rate_limit::Limit {
                    per_minute: config.rate_limits.ip.per_minute,
                    burst: config.rate_limits.ip.burst,
                },
            )),
            sessions: Arc::new(crate::session::Sessions::new(&config)),
            oauth: Arc::new(crate::oauth::OAuthClients::new(&config)?),
            config: Arc::new(config),
            messages: crate::data::message_writer::MessageWriter::start(db.clone(), &mut tasks),
            redis: cluster.as_ref().map(|(c, _)| c.link().clone()),
            db,
            metrics: metrics.clone(),
        };

        if let Some((cluster, queue)) = cluster {
            let inbox = cluster.bus.subscribe().await;
            tasks.spawn_until_shutdown("bus", socket::remote::run(state.clone(), inbox));
            let realtime = state.realtime.clone();
            tasks.spawn(
                "redis link",
                cluster.link().clone().run(
                    queue,
                    move || {
                        let realtime = realtime.clone();
                        async move { realtime.catch_up_local().await }
                    },
                    tasks.shutdown_token(),
                ),
            );
            tasks.spawn_until_shutdown(
                "presence heartbeat",
                socket::presence::keep_alive(state.clone()),
            );
            tasks.spawn_until_shutdown("presence reaper", socket::presence::reap(state.clone()));
        }
        // Listening before the first socket connects: no revocation goes unnoticed between the two.
        let listener_pool =
            crate::data::session_change::listener_pool(database_url, crate::data::ACQUIRE_TIMEOUT)?;
        let changes = crate::data::session_change::listen_session_changes(&listener_pool)
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "cannot listen to session changes yet"))
            .ok();
        tasks.spawn_until_shutdown(
            "session changes",
            socket::session_watch::listen(state.clone(), listener_pool, changes),
        );
        socket::register(&io, state.clone()).await;
        tasks.spawn_until_shutdown(
            "session sweeper",
            socket::session_watch::sweep(state.clone()),
        );
        tasks.spawn(
            "delivery receipts",
            socket::delivery::run(
                state.db.clone(),
                state.realtime.clone(),
                receipt_queue,
                tasks.shutdown_token(),
            ),
        );
        tasks.spawn_until_shutdown(
            "event pruning",
            crate::background::prune_events_hourly(state.db.clone(), state.config.sync_retention),
        );
        tasks.spawn_until_shutdown(
            "full-text index upkeep",
            crate::background::flush_search_index(state.db.clone(), state.messages.clone()),
        );
        tasks.spawn_until_shutdown(
            "used OAuth state pruning",
            crate::oauth::prune_used_states(state.db.clone()),
        );
        tasks.spawn_until_shutdown(
            "rate-limit eviction",
            crate::rate_limit::evict_idle_keys(state.rate_limits.clone()),
        );
        let api = routes::openapi(&state);
        let (spec_json, spec_yaml) = routes::documents(&api)?;
        let asyncapi = routes::asyncapi::document(&state.config.http.public_url);
        // The methods of every path, for `Allow` on a 405: the OpenAPI operations, plus the plain
        // routes, which answer GET only.
        let mut methods = serde_json::from_str(&spec_json)
            .map(|spec| RouteMethods::from_openapi(&spec))
            .map_err(|e| anyhow::anyhow!("the OpenAPI document is not JSON: {e}"))?;
        let mut plain = docs::endpoints(
            docs::Documents {
                openapi: (spec_json, spec_yaml),
                asyncapi: (
                    serde_json::to_string_pretty(&asyncapi)?,
                    serde_yaml::to_string(&asyncapi)?,
                ),
            },
            &api.swagger_ui_html(),
        )?;
        plain.push(("/status", infra::get_status.boxed()));
        plain.push(("/metrics", infra::get_metrics.boxed()));
        let mut http = Route::new();
        methods.add("/", Method::GET);
        for (path, endpoint) in plain {
            methods.add(path, Method::GET);
            http = http.at(path, poem::get(endpoint));
        }
        let http = http
            .nest("/", docs::with_index(api.into_endpoint()))
            .with(poem::middleware::CookieJarManager::new())
            .data(state.clone());
        let http = middleware::edge(http, state.clone(), Arc::new(methods));
        // Socket.IO stays outside the HTTP edge: its long-lived requests are not API requests, and
        // HTTP body limits and rate limits must not apply to its polling transport.
        let app = Route::new()
            .nest_no_strip(
                "/socket.io",
                socket::transport::SocketIoEndpoint::new(socket_service, state.realtime.clone()),
            )
            .nest("/", http);
        // CORS, the CSRF refusal and the security headers cover everything, Socket.IO included.
        let origins = crate::http_policy::OriginPolicy::new(
            state.config.http.cors_origins.clone(),
            &state.config.http.public_url,
        );
        let app = crate::http_policy::wrap(app, Arc::new(origins));

        let address = format!("{}:{}", state.config.http.host, state.config.http.port);
        let acceptor = TcpListener::bind(address.clone())
            .into_acceptor()
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
        let acceptor = GuardedAcceptor::new(acceptor, connection_limits(&state.config));
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().map(|s| s.port()))
            .ok_or_else(|| anyhow::anyhow!("the listener has no TCP address"))?;

        let realtime = state.realtime.clone();
        let serve = Box::new(move |signal: ShutdownSignal| -> ServerFuture {
            Box::pin(async move {
                let shutdown = async move {
                    signal.await;
                    tracing::info!(
                        "shutting down: refusing new sockets, closing open ones, finishing requests"
                    );
                    // New Engine.IO handshakes are refused with 503 from here on (clients retry
                    // elsewhere or later), then open sockets lose their transport, so clients
                    // reconnect rather than meet a closed namespace. Upgraded WebSocket
                    // connections are invisible to poem's graceful shutdown, so this comes first;
                    // the listener then stops and requests in flight finish with their answers.
                    realtime.close().await;
                };
                Server::new_with_acceptor(acceptor)
                    .run_with_graceful_shutdown(app, shutdown, Some(SHUTDOWN_GRACE))
                    .await
            })
        });
        Ok(Self {
            port,
            state,
            tasks,
            serve,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (the tests use its database pool).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.run_until(Box::pin(shutdown_signal())).await
    }

    /// Serves until `signal` resolves, then stops the background tasks (the message writer
    /// writes what is queued first).
    pub async fn run_until(self, signal: ShutdownSignal) -> io::Result<()> {
        tracing::info!(port = self.port, "listening");
        let served = (self.serve)(signal).await;
        self.tasks.shutdown(TASKS_GRACE).await;
        tracing::info!("stopped");
        served
    }
}

/// The Redis link and its handles when `REDIS_URL` is set (contract §7). A Redis that is down at
/// start is not an error: the instance serves on its own until it comes back.
async fn connect_cluster(
    config: &Config,
) -> anyhow::Result<Option<(crate::cluster::Cluster, crate::cluster::link::PublishQueue)>> {
    use crate::config::ExposeSecret;
    let Some(url) = &config.redis.url else {
        return Ok(None);
    };
    let (link, queue) = crate::cluster::link::RedisLink::open(url.expose_secret())
        .map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
    if !link.check().await {
        tracing::warn!("redis is not reachable; serving on this instance alone until it is");
    }
    let instance = uuid::Uuid::now_v7();
    tracing::info!(instance.id = %instance, "joining the other instances over redis");
    let cluster = crate::cluster::Cluster {
        bus: crate::cluster::bus::Bus::new(link.clone(), instance),
        presence: crate::cluster::presence::PresenceStore::new(link, instance, config.presence.ttl),
    };
    Ok(Some((cluster, queue)))
}

/// The limits connections are held to; the open-file limit is raised to its hard limit first, so
/// the derived connection limit is as high as the process allows.
fn connection_limits(config: &Config) -> ConnectionLimits {
    let open_file_limit = crate::connection::raise_open_file_limit().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read or raise the open-file limit");
        1024
    });
    let max_connections = config
        .http
        .max_connections
        .unwrap_or_else(|| crate::connection::connections_within(open_file_limit));
    tracing::debug!(open_file_limit, max_connections, "connection limits");
    ConnectionLimits {
        header_timeout: config.http.header_timeout,
        idle_timeout: config.http.idle_timeout,
        max_connections,
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (container stop).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
