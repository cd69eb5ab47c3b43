//! The `confab` binary: `confab` (or `confab serve`) runs the server, `confab migrate` applies
//! pending migrations and exits, `confab db stop` stops an embedded cluster left running.

use std::process::ExitCode;

use confab::{
    config::{Config, ExposeSecret},
    embedded_db::{EmbeddedDbError, EmbeddedPostgres},
    startup::Application,
    telemetry,
};
use migration::MigratorTrait;

const USAGE: &str = "usage: confab [serve | migrate | session create --username NAME [--email E] | db stop]\n\
    \n  serve            run the server (the default)\
    \n  migrate          apply pending database migrations and exit\
    \n  session create   create the user if needed and print a session token (a Bearer token\
    \n                   for bots, scripts and load tests)\
    \n  db stop          stop the embedded PostgreSQL cluster under DATA_DIR, if it runs\
    \n  healthcheck      exit 0 when the local server's /health answers 200 (for container checks)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command: Vec<&str> = args.iter().map(String::as_str).collect();
    if matches!(command.as_slice(), ["-h" | "--help" | "help"]) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let _telemetry = match telemetry::init(&config.log) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command.as_slice() {
        [] | ["serve"] => serve(config).await,
        ["migrate"] => migrate(config).await,
        ["db", "stop"] => stop_embedded(&config),
        ["healthcheck"] => healthcheck(&config).await,
        ["session", "create", rest @ ..] => match SessionRequest::parse(rest) {
            Some(request) => create_session(config, request).await,
            None => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "confab stopped with an error");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether a command owns the embedded cluster for its whole run (the server) or may share one a
/// running server already owns (`migrate`, `session create`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClusterUse {
    Exclusive,
    SharedWithServer,
}

/// Runs `f` with a database URL: the configured server's, or the embedded cluster's. A cluster
/// this command started is stopped afterwards whatever `f` returned; one a running server owns is
/// left to it.
async fn with_database<F, Fut>(config: Config, usage: ClusterUse, f: F) -> anyhow::Result<()>
where
    F: FnOnce(Config, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if let Some(url) = &config.database.url {
        let url = url.expose_secret().to_owned();
        return f(config, url).await;
    }
    tracing::info!(data_dir = %config.database.data_dir.display(), "DATABASE_URL is unset: using the embedded PostgreSQL");
    let data_dir = config.database.data_dir.clone();
    let started =
        tokio::task::spawn_blocking(move || match EmbeddedPostgres::start_exclusive(&data_dir) {
            Err(EmbeddedDbError::Locked(_)) if usage == ClusterUse::SharedWithServer => {
                EmbeddedPostgres::start_shared(&data_dir).map(|pg| (pg, false))
            }
            other => other.map(|pg| (pg, true)),
        })
        .await??;
    let (embedded, owned) = started;
    let url = embedded.database_url();
    let result = f(config, url).await;
    if owned {
        tracing::info!("stopping the embedded PostgreSQL");
        tokio::task::spawn_blocking(move || embedded.stop()).await??;
    }
    result
}

async fn serve(config: Config) -> anyhow::Result<()> {
    with_database(config, ClusterUse::Exclusive, |config, url| async move {
        let public_url = config.http.public_url.clone();
        let app = Application::build(config, &url).await?;
        tracing::info!(port = app.port(), docs = %public_url, "Confab is ready");
        app.run_until_stopped().await?;
        Ok(())
    })
    .await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    with_database(
        config,
        ClusterUse::SharedWithServer,
        |config, url| async move {
            let db = confab::data::connect(&url, config.database.pool_size).await?;
            migration::Migrator::up(&db, None).await?;
            tracing::info!("migrations applied");
            Ok(())
        },
    )
    .await
}

/// The arguments of `confab session create`.
struct SessionRequest {
    username: String,
    email: Option<String>,
}

impl SessionRequest {
    fn parse(args: &[&str]) -> Option<Self> {
        let mut username = None;
        let mut email = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--username" => username = args.next().map(|s| (*s).to_owned()),
                "--email" => email = args.next().map(|s| (*s).to_owned()),
                _ => return None,
            }
        }
        let username =
            username.filter(|u| !u.is_empty() && confab::data::user::username_base(u) == *u)?;
        Some(Self { username, email })
    }
}

/// Creates the user if needed and prints a session token, through the same session code a
/// browser sign-in uses (the row in `sessions`, the JWT, the expiry).
async fn create_session(config: Config, request: SessionRequest) -> anyhow::Result<()> {
    with_database(
        config,
        ClusterUse::SharedWithServer,
        |config, url| async move {
            let db = confab::data::connect(&url, 2).await?;
            migration::Migrator::up(&db, None).await?;
            let user = confab::data::user::find_or_create_user_by_username(
                &db,
                &request.username,
                request.email.as_deref(),
            )
            .await?;
            let sessions = confab::session::Sessions::new(&config);
            let issued = sessions.issue(&db, user.id).await?;
            tracing::info!(user.id = %user.id, "session created");
            println!("{}", issued.token);
            Ok(())
        },
    )
    .await
}

/// Asks the local server's `/health`; for a container's HEALTHCHECK (no curl in the image).
async fn healthcheck(config: &Config) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{}/health", config.http.port);
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?
        .get(&url)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url} answered {}",
        response.status()
    );
    Ok(())
}

fn stop_embedded(config: &Config) -> anyhow::Result<()> {
    let stopped = EmbeddedPostgres::stop_if_running(&config.database.data_dir)?;
    if stopped {
        println!(
            "stopped the embedded PostgreSQL under {}",
            config.database.data_dir.display()
        );
    } else {
        println!(
            "no embedded PostgreSQL runs under {}",
            config.database.data_dir.display()
        );
    }
    Ok(())
}
