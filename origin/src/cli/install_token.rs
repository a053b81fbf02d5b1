//! `tollgate-origin install-token create --workspace W --email E`: an install token
//! minted for automation (provisioning many machines), with the same rules as the API:
//! the user must be an owner or admin of the workspace.

use clap::Subcommand;
use uuid::Uuid;

use super::{connect, user_by_email, CliError, CliResult};
use crate::{daemons, workspaces};

#[derive(Debug, Subcommand)]
pub enum InstallTokenCommand {
    /// Mint an install token (15 minutes, single use); prints the same object as the API.
    Create {
        #[arg(long)]
        workspace: Uuid,
        /// The issuer: an owner or admin of the workspace.
        #[arg(long)]
        email: String,
    },
}

pub async fn run(database_url: &str, command: InstallTokenCommand) -> CliResult {
    let InstallTokenCommand::Create { workspace, email } = command;
    let pool = connect(database_url)?;
    let client = pool.get().await?;
    let user = user_by_email(&client, &email).await?;
    workspaces::require_admin(&client, workspace, user.id).await?;
    let minted = daemons::mint_install_token(&client, workspace, user.id).await?;
    serde_json::to_value(minted).map_err(|e| CliError(e.to_string()))
}
