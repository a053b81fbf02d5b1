//! `tollgate-origin session mint --email E [--ttl-secs S]`: a session JWT for a user,
//! signed with `JWT_SECRET` (for tests, tools and a front end's sign-in to hand out).

use crate::config;
use crate::sessions::{self, Opening};
use clap::Subcommand;
use serde_json::json;

use super::{connect, user_by_email, CliError, CliResult};

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Mint a session JWT; prints {"token","expires_at"}.
    Mint {
        #[arg(long)]
        email: String,
        /// Lifetime in seconds (default one hour; at most SESSION_TTL_DAYS).
        #[arg(long, default_value_t = 3600)]
        ttl_secs: u32,
    },
}

pub async fn run(database_url: &str, command: SessionCommand) -> CliResult {
    let SessionCommand::Mint { email, ttl_secs } = command;
    let key = config::session_key(config::env)
        .map_err(|e| CliError(e.to_string()))?
        .ok_or_else(|| CliError("JWT_SECRET is not set".to_owned()))?;
    let cap_days = config::session_ttl_days(config::env).map_err(|e| CliError(e.to_string()))?;
    let cap_secs = u64::from(cap_days) * 86_400;
    if ttl_secs == 0 || u64::from(ttl_secs) > cap_secs {
        return Err(CliError(format!(
            "--ttl-secs must be from 1 to {cap_secs} (SESSION_TTL_DAYS is {cap_days})"
        )));
    }
    let pool = connect(database_url)?;
    let client = pool.get().await?;
    let user = user_by_email(&client, &email).await?;
    if crate::db::users::find_active_by_id(&client, user.id)
        .await?
        .is_none()
    {
        return Err(CliError(format!("account suspended: {}", user.email)));
    }
    let opening = Opening::new(
        i64::from(ttl_secs),
        Some("tollgate-origin session mint"),
        None,
    );
    let opened = sessions::open(&client, &key, &user, &opening).await?;
    let expires_at = opened
        .expires_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(json!({ "token": opened.jwt, "expires_at": expires_at, "session_id": opened.id }))
}
