//! Logging: tracing to stdout (pretty or JSON) and, when `LOG_DIR` is set, to daily-rotated files.
//! Commands whose stdout is their result (`confab session create` prints a token) log to stderr.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogConfig, LogFormat};

/// Keeps the background log writers alive; drop it last so buffered lines are flushed.
pub struct TelemetryGuard {
    _guards: Vec<WorkerGuard>,
}

/// Where log lines go besides `LOG_DIR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOutput {
    /// The server: logs are its output.
    Stdout,
    /// Commands that print a result on stdout.
    Stderr,
}

/// Installs the global subscriber. sqlx's per-statement INFO lines are turned down unless the filter
/// names sqlx itself.
pub fn init(config: &LogConfig, output: LogOutput) -> Result<TelemetryGuard, String> {
    let mut directive = config.filter.clone();
    if !directive.contains("sqlx") {
        directive.push_str(",sqlx=warn");
    }
    let filter = |d: &str| {
        EnvFilter::try_new(d).map_err(|e| format!("configuration error: LOG_LEVEL: `{d}`: {e}"))
    };

    let mut guards = Vec::new();
    let writer: Box<dyn std::io::Write + Send> = match output {
        LogOutput::Stdout => Box::new(std::io::stdout()),
        LogOutput::Stderr => Box::new(std::io::stderr()),
    };
    let (stdout, guard) = tracing_appender::non_blocking(writer);
    guards.push(guard);
    let stdout_layer = match config.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(stdout)
            .with_filter(filter(&directive)?)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(stdout)
            .with_filter(filter(&directive)?)
            .boxed(),
    };
    let file_layer = match &config.dir {
        Some(dir) => {
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("confab")
                .filename_suffix("log")
                .build(dir)
                .map_err(|e| format!("configuration error: LOG_DIR: {}: {e}", dir.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            guards.push(guard);
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer)
                    .with_filter(filter(&directive)?),
            )
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(stdout_layer)
        .with(file_layer)
        .try_init()
        .map_err(|e| format!("could not install the log subscriber: {e}"))?;
    Ok(TelemetryGuard { _guards: guards })
}
