//! `tollgate-origin session mint --email E [--ttl-secs S]`: a session JWT for a user,
//! signed with `JWT_SECRET` (for tests, tools and a front end's sign-in to hand out).

use clap::Subcommand;
use serde_json::json;
use tollgate_shared::session;

use crate::config;

use super::{connect, user_by_email, CliError, CliResult};

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Mint a session JWT; prints {"token","expires_at"}.
    Mint {
        #[arg(long)]
        email: String,
        /// Lifetime in seconds (default one hour).
        #[arg(long, default_value_t = 3600)]
        ttl_secs: u32,
    },
}

pub async fn run(database_url: &str, command: SessionCommand) -> CliResult {
    let SessionCommand::Mint { email, ttl_secs } = command;
    let key = config::session_key(config::env)
        .map_err(|e| CliError(e.to_string()))?
        .ok_or_else(|| CliError("JWT_SECRET is not set".to_owned()))?;
    if ttl_secs == 0 {
        return Err(CliError("--ttl-secs must be positive".to_owned()));
    }
    let pool = connect(database_url)?;
    let client = pool.get().await?;
    let user = user_by_email(&client, &email).await?;
    let now = chrono::Utc::now().timestamp();
    let exp = now + i64::from(ttl_secs);
    let token = session::mint(&key, user.id, Some(&user.email), now, exp);
    let expires_at = chrono::DateTime::from_timestamp(exp, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    Ok(json!({ "token": token, "expires_at": expires_at }))
}
