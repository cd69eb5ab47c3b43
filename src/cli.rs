//! The `confab` command line (clap): `confab` (or `confab serve`) runs the server; the other
//! subcommands (`migrate`, `session create`, `db stop`, `healthcheck`) are small administrative
//! tasks. `confab help <command>` describes each. `src/main.rs` only parses and calls [`run`].

use std::{net::IpAddr, path::Path, process::ExitCode};

use clap::{Args, Parser, Subcommand};
use migration::MigratorTrait;

use crate::{
    config::{Config, ExposeSecret},
    embedded_db::{EmbeddedDbError, EmbeddedPostgres},
    startup::Application,
    telemetry::{self, LogOutput},
};

/// A real-time direct-message chat backend: REST and Socket.IO on one port, PostgreSQL underneath.
///
/// Configuration comes from the environment and `.env` (see `.env.example`). Without DATABASE_URL,
/// Confab runs an embedded PostgreSQL cluster under DATA_DIR.
#[derive(Parser)]
#[command(name = "confab", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    ///
    /// With the embedded database, the cluster must exist already (the server creates it).
    Migrate,
    /// Sessions for bots, scripts and load tests.
    #[command(subcommand)]
    Session(SessionCommand),
    /// The embedded PostgreSQL cluster under DATA_DIR.
    #[command(subcommand)]
    Db(DbCommand),
    /// Exit 0 when the local server's /health answers 200 (for container health checks).
    Healthcheck,
}

#[derive(Subcommand)]
enum SessionCommand {
    /// Create the user if needed and print a session token (a Bearer token) on stdout.
    ///
    /// Only the token goes to stdout, so `TOKEN=$(confab session create --username bot)` works;
    /// logs go to stderr. Works while the server runs on the embedded database (it joins the
    /// running cluster), but never creates a cluster of its own.
    Create(SessionCreate),
}

#[derive(Args)]
struct SessionCreate {
    /// The user's name: letters, digits, `-`, `_`, `.`; at most 32 characters.
    #[arg(long, value_name = "NAME", value_parser = parse_username)]
    username: String,
    /// The user's e-mail address, stored when the user is created.
    #[arg(long, value_name = "E")]
    email: Option<String>,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Stop the embedded PostgreSQL cluster under DATA_DIR, if it runs.
    ///
    /// Refuses while a Confab server uses the cluster (the server stops it itself on exit).
    Stop {
        /// Stop the cluster even though a server is using it.
        #[arg(long)]
        force: bool,
    },
}

fn parse_username(raw: &str) -> Result<String, String> {
    if !raw.is_empty() && crate::data::user::username_base(raw) == raw {
        Ok(raw.to_owned())
    } else {
        Err("use 1 to 32 of: ASCII letters, digits, `-`, `_`, `.`".to_owned())
    }
}

/// Runs the parsed command line. Usage errors never get here: clap exits with 2 for them (and with
/// 0 for `--help`/`--version`) before any configuration is read.
pub async fn run(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Serve);
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // The server's logs are its output; other commands keep stdout for their result.
    let output = match command {
        Command::Serve => LogOutput::Stdout,
        _ => LogOutput::Stderr,
    };
    let _telemetry = match telemetry::init(&config.log, output) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Session(SessionCommand::Create(request)) => create_session(config, request).await,
        Command::Db(DbCommand::Stop { force }) => stop_embedded(&config, force),
        Command::Healthcheck => healthcheck(&config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The server's log (stdout, maybe JSON) records it too; other commands log to stderr
            // already, where the line below is enough.
            if output == LogOutput::Stdout {
                tracing::error!(error = %format!("{e:#}"), "confab stopped with an error");
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether a command owns the embedded cluster for its whole run and creates it when missing (the
/// server), or uses an existing one, shared with a running server if there is one (`migrate`,
/// `session create`).
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
    let data_dir = config.database.data_dir.clone();
    if usage == ClusterUse::SharedWithServer
        && EmbeddedPostgres::existing_cluster_dir(&data_dir).is_none()
    {
        // A typo in DATA_DIR must not quietly produce an empty second database.
        anyhow::bail!(
            "no embedded PostgreSQL cluster under DATA_DIR={} (looked in {}); this command uses an \
             existing database and does not create one. Start the server once (`confab serve`) to \
             create it, run this command with the server's DATA_DIR, or set DATABASE_URL",
            absolute(&data_dir).display(),
            absolute(&data_dir.join("postgres")).display(),
        );
    }
    tracing::info!(data_dir = %data_dir.display(), "DATABASE_URL is unset: using the embedded PostgreSQL");
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

fn absolute(path: &Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    check_port_is_free(config.http.host, config.http.port)?;
    let providers = config.enabled_providers();
    with_database(config, ClusterUse::Exclusive, |config, url| async move {
        let public_url = config.http.public_url.clone();
        let app = Application::build(config, &url).await?;
        tracing::info!(port = app.port(), docs = %public_url, sign_in = ?providers, "Confab is ready");
        if providers.is_empty() {
            tracing::info!(
                "no sign-in provider is configured (GITHUB_CLIENT_ID/GOOGLE_CLIENT_ID); \
                 get a session token with `confab session create --username NAME`"
            );
        }
        app.run_until_stopped().await?;
        Ok(())
    })
    .await
}

/// Fails early, with a hint, when the listening port is taken: before the embedded database spends
/// seconds starting. The probe is released at once and `Application::build` binds again (std sets
/// SO_REUSEADDR); another program could take the port in between, which `build` then reports.
fn check_port_is_free(host: IpAddr, port: u16) -> anyhow::Result<()> {
    if port == 0 {
        return Ok(());
    }
    match std::net::TcpListener::bind((host, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => anyhow::bail!(
            "port {port} is in use on {host}; set PORT=... to a free port (or stop the program using it)"
        ),
        Err(e) => anyhow::bail!("cannot listen on {host}:{port}: {e}; check HOST and PORT"),
    }
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    with_database(
        config,
        ClusterUse::SharedWithServer,
        |config, url| async move {
            let db = crate::data::connect(&url, config.database.pool_size).await?;
            migration::Migrator::up(&db, None).await?;
            tracing::info!("migrations applied");
            Ok(())
        },
    )
    .await
}

/// Creates the user if needed and prints a session token, through the same session code a
/// browser sign-in uses (the row in `sessions`, the JWT, the expiry).
async fn create_session(config: Config, request: SessionCreate) -> anyhow::Result<()> {
    with_database(
        config,
        ClusterUse::SharedWithServer,
        |config, url| async move {
            let db = crate::data::connect(&url, 2).await?;
            migration::Migrator::up(&db, None).await?;
            let user = crate::data::user::find_or_create_user_by_username(
                &db,
                &request.username,
                request.email.as_deref(),
            )
            .await?;
            let sessions = crate::session::Sessions::new(&config);
            let issued = sessions.issue(&db, user.id).await?;
            tracing::info!(user.id = %user.id, "session created");
            // The only line on stdout.
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

fn stop_embedded(config: &Config, force: bool) -> anyhow::Result<()> {
    let data_dir = &config.database.data_dir;
    if EmbeddedPostgres::stop_if_running(data_dir, force)? {
        println!(
            "stopped the embedded PostgreSQL under {}",
            data_dir.display()
        );
    } else {
        println!("no embedded PostgreSQL runs under {}", data_dir.display());
    }
    Ok(())
}
