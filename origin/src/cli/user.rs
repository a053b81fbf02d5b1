//! `tollgate-origin user create --email E [--name N]`.

use clap::Subcommand;
use serde_json::json;

use super::{connect, CliError, CliResult};
use crate::db::users;
use crate::validate;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints {id,email,name}.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
}

pub async fn run(database_url: &str, command: UserCommand) -> CliResult {
    let UserCommand::Create { email, name } = command;
    let normalized =
        validate::email(&email).ok_or_else(|| CliError(format!("invalid email: {email:?}")))?;
    let name = match name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(validate::name(Some(n))?),
    };
    let pool = connect(database_url)?;
    let client = pool.get().await?;
    let user = users::insert(&client, &normalized, name.as_deref())
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                CliError(format!("a user with email {normalized} already exists"))
            } else {
                CliError::from(e)
            }
        })?;
    Ok(json!({ "id": user.id, "email": user.email, "name": user.name }))
}
