//! `tollgate-origin`: `serve`, `migrate` and admin commands. See `lib.rs` for the map.

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;
use tollgate_origin::cli::{self, Cli, CliError, Command};
use tollgate_origin::config::{self, Config};
use tollgate_origin::db::migrate;
use tollgate_origin::{serve, telemetry};

/// Measured in `scripts/bench` (BENCHMARKS.md): glibc's malloc and free were a tenth of
/// the resolver's CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve => {
            let config = match Config::from_env(cli.database_url) {
                Ok(config) => config,
                Err(e) => return fail(&e.to_string()),
            };
            telemetry::init(config.log_format);
            return match serve::serve(config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e.to_string()),
            };
        }
        Command::Openapi { internal } => {
            let docs = tollgate_origin::app::api_documents();
            let doc = if internal { docs.internal } else { docs.public };
            println!("{}", String::from_utf8_lossy(&doc));
            return ExitCode::SUCCESS;
        }
        command => {
            // Admin commands keep stdout for their JSON; warnings go to stderr.
            telemetry::init_quiet();
            let url = match config::database_url(cli.database_url, config::env) {
                Ok(url) => url,
                Err(e) => return fail(&e.to_string()),
            };
            admin(&url, command).await
        }
    };
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.0),
    }
}

async fn admin(url: &str, command: Command) -> cli::CliResult {
    match command {
        Command::Migrate => {
            let applied = migrate::run(url)
                .await
                .map_err(|e| CliError(e.to_string()))?;
            Ok(json!({ "applied": applied }))
        }
        Command::User { command } => cli::user::run(url, command).await,
        Command::Workspace { command } => cli::workspace::run(url, command).await,
        Command::Member { command } => cli::member::run(url, command).await,
        Command::Pat { command } => cli::pat::run(url, command).await,
        Command::InstallToken { command } => cli::install_token::run(url, command).await,
        Command::Session { command } => cli::session::run(url, command).await,
        Command::Serve | Command::Openapi { .. } => {
            Err(CliError("not an admin command".to_owned()))
        }
    }
}

fn fail(message: &str) -> ExitCode {
    // One line: operators grep for it and CI logs show it whole.
    eprintln!("error: {}", message.replace('\n', " "));
    ExitCode::FAILURE
}
