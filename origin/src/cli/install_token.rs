//! `tollgate-origin install-token create --workspace W --email ISSUER [--for-email
//! MEMBER]`: an install token minted for automation (provisioning many machines), with
//! the same rules as the API: the issuer must be an owner or admin of the workspace,
//! and the daemon it enrolls acts for the member (the issuer by default).

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
        /// The member the daemon will act for (default: the issuer).
        #[arg(long)]
        for_email: Option<String>,
    },
}

pub async fn run(database_url: &str, command: InstallTokenCommand) -> CliResult {
    let InstallTokenCommand::Create {
        workspace,
        email,
        for_email,
    } = command;
    let pool = connect(database_url)?;
    let client = pool.get().await?;
    let issuer = user_by_email(&client, &email).await?;
    let role = workspaces::role(&client, workspace, issuer.id).await?;
    let member = match for_email {
        Some(email) => user_by_email(&client, &email).await?.id,
        None => issuer.id,
    };
    let minted = daemons::mint_install_token(&client, workspace, (issuer.id, role), member).await?;
    serde_json::to_value(minted).map_err(|e| CliError(e.to_string()))
}
