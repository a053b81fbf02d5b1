//! `tollgate-origin user create --email E [--name N]`, `user suspend --email E
//! [--reason R]`, `user unsuspend --email E`.

use clap::Subcommand;
use serde_json::json;

use std::sync::Arc;

use super::{connect, user_by_email, CliError, CliResult};
use crate::db::users;
use crate::metrics::Metrics;
use crate::outbox::{Outbox, OutboxSettings, Purger};
use crate::{accounts, config, validate};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints {id,email,name}.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Suspend an account: its sessions end, and every credential acting for it is
    /// refused everywhere within 2 s (purged at the edge: EDGE_PURGE_URL and
    /// EDGE_ORIGIN_SECRET as for `serve`; `--without-edge` where none is deployed).
    Suspend {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        reason: String,
        /// No edge caches identities: there is nothing to purge.
        #[arg(long)]
        without_edge: bool,
    },
    /// Lift a suspension: PATs and daemon tokens work again (sessions do not come back).
    Unsuspend {
        #[arg(long)]
        email: String,
    },
}

pub async fn run(database_url: &str, command: UserCommand) -> CliResult {
    match command {
        UserCommand::Create { email, name } => create(database_url, &email, name).await,
        UserCommand::Suspend {
            email,
            reason,
            without_edge,
        } => {
            if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
                return Err(CliError(
                    "--reason must be at most 500 characters, without control characters"
                        .to_owned(),
                ));
            }
            let (outbox, user) = outbox_for(database_url, &email).await?;
            // Without an edge to tell, the purge would be dropped: an edge that caches
            // identities would go on serving them for up to 10 minutes.
            if !outbox.delivers() && !without_edge {
                return Err(CliError(
                    "EDGE_PURGE_URL and EDGE_ORIGIN_SECRET are not set: the edge must be told \
                     (set them as for serve), or pass --without-edge if none is deployed"
                        .to_owned(),
                ));
            }
            let suspended = accounts::suspend(&outbox, user.id, &reason)
                .await?
                .ok_or_else(|| CliError(format!("no user with email {}", user.email)))?;
            // Committed either way; said plainly when the edge has not been told yet.
            let undelivered = outbox.undelivered(&suspended.keys).await?;
            if undelivered > 0 {
                return Err(CliError(format!(
                    "{} is suspended, but the edge could not be told yet: a serving origin \
                     retries the purge (until then their cached credentials may still work \
                     at the edge)",
                    user.email
                )));
            }
            Ok(json!({
                "id": user.id,
                "email": user.email,
                "suspended": true,
                "sessions_revoked": suspended.sessions_revoked,
                "tokens_purged": suspended.tokens_purged,
                "purge_delivered": outbox.delivers(),
            }))
        }
        UserCommand::Unsuspend { email } => {
            let (outbox, user) = outbox_for(database_url, &email).await?;
            accounts::unsuspend(&outbox, user.id).await?;
            Ok(json!({ "id": user.id, "email": user.email, "suspended": false }))
        }
    }
}

/// An outbox that delivers its purges itself when the edge is configured (otherwise a
/// serving origin's dispatcher does), and the user `email`.
async fn outbox_for(database_url: &str, email: &str) -> Result<(Outbox, users::User), CliError> {
    let pool = connect(database_url)?;
    let user = user_by_email(&pool.get().await?, email).await?;
    let (key, url) = config::edge(config::env).map_err(|e| CliError(e.to_string()))?;
    let purger = match (url, key) {
        (Some(url), Some(key)) => Some(Purger::new(url, key).map_err(|e| CliError(e.to_string()))?),
        _ => None,
    };
    let metrics = Arc::new(Metrics::new().map_err(|e| CliError(e.to_string()))?);
    Ok((
        Outbox::new(pool, purger, metrics, OutboxSettings::default()),
        user,
    ))
}

async fn create(database_url: &str, email: &str, name: Option<String>) -> CliResult {
    let normalized =
        validate::email(email).ok_or_else(|| CliError(format!("invalid email: {email:?}")))?;
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
