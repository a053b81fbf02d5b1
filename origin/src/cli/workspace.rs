//! `tollgate-origin workspace create --name N --owner-email E`.

use clap::Subcommand;
use serde_json::json;

use super::{connect, text_arg, user_by_email, CliResult, Role};
use crate::db::{members, workspaces};

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
    let name = text_arg("workspace name", &name)?;
    let pool = connect(database_url)?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let owner = user_by_email(&tx, &owner_email).await?;
    let id = workspaces::insert(&tx, &name).await?;
    members::upsert(&tx, id, owner.id, Role::Owner).await?;
    tx.commit().await?;
    Ok(json!({ "id": id, "name": name }))
}
