//! `tollgate-origin pat create --email E --name N [--expires-in-days D]
//! [--workspace W] [--read-only]`.

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
        /// Bind the token to this workspace id (the user must be a member).
        #[arg(long = "workspace")]
        workspace_id: Option<String>,
        /// Only `GET` and `HEAD` (and its own renewal).
        #[arg(long)]
        read_only: bool,
    },
}

pub async fn run(database_url: &str, command: PatCommand) -> CliResult {
    let PatCommand::Create {
        email,
        name,
        expires_in_days,
        workspace_id,
        read_only,
    } = command;
    let (name, days) = pats::validate(Some(&name), expires_in_days)?;
    let pool = connect(database_url)?;
    let user = user_by_email(&pool.get().await?, &email).await?;
    let scope = pats::requested_scope(workspace_id.as_deref(), read_only.then_some("read"))?;
    // An operator at the command line may mint any scope for the user.
    let created = pats::mint(&pool, user.id, pats::Granter::UNSCOPED, &name, days, scope).await?;
    serde_json::to_value(created).map_err(|e| CliError(e.to_string()))
}
