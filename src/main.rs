//! The `confab` binary. The command line and its commands live in `confab::cli`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    confab::cli::run(confab::cli::Cli::parse()).await
}
