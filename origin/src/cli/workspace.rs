//! `tollgate-origin workspace create --name N --owner-email E`.

use clap::Subcommand;
use serde_json::json;

use super::{connect, user_by_email, CliResult};
use crate::workspaces;

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace owned by an existing user; prints {id,name}.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
    },
}

pub async fn run(database_url: &str, command: WorkspaceCommand) -> CliResult {
    let WorkspaceCommand::Create { name, owner_email } = command;
    let pool = connect(database_url)?;
    let owner = user_by_email(&pool.get().await?, &owner_email).await?;
    let created = workspaces::create(&pool, Some(&name), owner.id).await?;
    Ok(json!({ "id": created.id, "name": created.name }))
}
