//! `tollgate-origin pat create --email E --name N [--expires-in-days D]`.

use clap::Subcommand;

use super::{connect, user_by_email, CliError, CliResult};
use crate::pats;

#[derive(Debug, Subcommand)]
pub enum PatCommand {
    /// Mint a PAT for a user; prints the same object as POST /api/tokens.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, allow_negative_numbers = true)]
        expires_in_days: Option<i64>,
    },
}

pub async fn run(database_url: &str, command: PatCommand) -> CliResult {
    let PatCommand::Create {
        email,
        name,
        expires_in_days,
    } = command;
    let (name, days) = pats::validate(Some(&name), expires_in_days)?;
    let pool = connect(database_url)?;
    let client = pool.get().await?;
    let user = user_by_email(&client, &email).await?;
    let created = pats::mint(&client, user.id, &name, days).await?;
    serde_json::to_value(created).map_err(|e| CliError(e.to_string()))
}
