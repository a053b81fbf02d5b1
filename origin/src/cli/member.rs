//! `tollgate-origin member add --workspace W --email E --role R`.

use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use super::{connect, user_by_email, CliError, CliResult, Role};
use crate::db::members;

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a user to a workspace (or change their role); prints {workspace_id,user_id,role}.
    Add {
        #[arg(long)]
        workspace: Uuid,
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
    },
}

pub async fn run(database_url: &str, command: MemberCommand) -> CliResult {
    let MemberCommand::Add {
        workspace,
        email,
        role,
    } = command;
    let pool = connect(database_url)?;
    let mut client = pool.get().await?;
    let user = user_by_email(&client, &email).await?;
    // Under the membership's lock, as the API changes roles: serialized with a removal
    // and with everything that holds the membership.
    let tx = client.transaction().await?;
    members::lock(&tx, workspace, user.id).await?;
    let changed = members::set_role(&tx, workspace, user.id, role)
        .await
        .map_err(|e| {
            if e.is_foreign_key_violation() {
                CliError(format!("no workspace with id {workspace}"))
            } else {
                CliError::from(e)
            }
        })?;
    if !changed {
        return Err(CliError(format!(
            "a workspace must keep an owner: {} is the only owner of {workspace}",
            user.email
        )));
    }
    tx.commit().await?;
    Ok(json!({ "workspace_id": workspace, "user_id": user.id, "role": role }))
}
