//! The `confab` binary: `confab` (or `confab serve`) runs the server, `confab migrate` applies
//! pending migrations and exits, `confab db stop` stops an embedded cluster left running.

use std::process::ExitCode;

use confab::{config::Config, embedded_db::EmbeddedPostgres, startup::Application, telemetry};
use migration::MigratorTrait;

const USAGE: &str = "usage: confab [serve | migrate | db stop]\n\
    \n  serve      run the server (the default)\
    \n  migrate    apply pending database migrations and exit\
    \n  db stop    stop the embedded PostgreSQL cluster under DATA_DIR, if it runs";

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

/// Runs `f` with a database URL: the configured server's, or the embedded cluster's, which is
/// stopped afterwards whatever `f` returned.
async fn with_database<F, Fut>(config: Config, f: F) -> anyhow::Result<()>
where
    F: FnOnce(Config, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if let Some(url) = &config.database_url {
        let url = url.expose().to_owned();
        return f(config, url).await;
    }
    tracing::info!(data_dir = %config.data_dir.display(), "DATABASE_URL is unset: starting the embedded PostgreSQL");
    let data_dir = config.data_dir.clone();
    let embedded =
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start_exclusive(&data_dir)).await??;
    let url = embedded.database_url();
    let result = f(config, url).await;
    tracing::info!("stopping the embedded PostgreSQL");
    tokio::task::spawn_blocking(move || embedded.stop()).await??;
    result
}

async fn serve(config: Config) -> anyhow::Result<()> {
    with_database(config, |config, url| async move {
        let public_url = config.public_url.clone();
        let app = Application::build(config, &url).await?;
        tracing::info!(port = app.port(), docs = %public_url, "Confab is ready");
        app.run_until_stopped().await?;
        Ok(())
    })
    .await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    with_database(config, |config, url| async move {
        let db = confab::data::connect(&url, config.database_pool_size).await?;
        migration::Migrator::up(&db, None).await?;
        tracing::info!("migrations applied");
        Ok(())
    })
    .await
}

fn stop_embedded(config: &Config) -> anyhow::Result<()> {
    let stopped = EmbeddedPostgres::stop_if_running(&config.data_dir)?;
    if stopped {
        println!(
            "stopped the embedded PostgreSQL under {}",
            config.data_dir.display()
        );
    } else {
        println!(
            "no embedded PostgreSQL runs under {}",
            config.data_dir.display()
        );
    }
    Ok(())
}
