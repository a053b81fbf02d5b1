//! `tollgate`: enroll this machine's daemon with an install token, and check who it is.
//! Each command prints one line (or JSON for `whoami`); errors say what to do.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tollgate_client::{credentials, default_daemon_id, enroll, Client, ClientError};

#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about = "Tollgate daemon client")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exchange a single-use install token for this daemon's token and save it.
    Enroll {
        /// The edge's URL, e.g. https://api.example.com
        #[arg(long)]
        server: String,
        /// The mit_… token an admin minted (valid 15 minutes, once). From the
        /// environment, it stays out of shell history and `ps`.
        #[arg(long, env = "TOLLGATE_INSTALL_TOKEN", hide_env_values = true)]
        install_token: String,
        /// Defaults to a stable id derived from this machine's host name.
        #[arg(long)]
        daemon_id: Option<String>,
    },
    /// Show who the saved credentials authenticate as.
    Whoami,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), ClientError> {
    let home = credentials::home()?;
    match command {
        Command::Enroll {
            server,
            install_token,
            daemon_id,
        } => {
            let daemon_id = daemon_id.unwrap_or_else(default_daemon_id);
            let creds = enroll(&server, &install_token, &daemon_id).await?;
            let path = credentials::save(&home, &creds)?;
            println!(
                "enrolled daemon {} in workspace {} (credentials: {})",
                creds.daemon_id,
                creds.workspace_id,
                path.display()
            );
        }
        Command::Whoami => {
            let client = Client::new(credentials::load(&home)?)?;
            println!("{}", client.whoami().await?);
        }
    }
    Ok(())
}
