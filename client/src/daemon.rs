//! `tollgate run`: the daemon loop. First a preflight renewal (so a PAT that is about to
//! expire is extended before anything depends on it), then its runtimes are registered,
//! then a heartbeat every 30 s and a renewal every 3 days, while the event stream
//! (`events`) listens for the daemon token's revocation. It never exits on its own: a
//! refused credential is a WARN a person must act on (`tollgate login`, or a new
//! enrollment), other failures are retried on the next tick.

use std::time::Duration;

use tokio::time::{interval, MissedTickBehavior};
use uuid::Uuid;

use crate::{events, Client, ClientError};

/// How often the loop does what; `TOLLGATE_HEARTBEAT_SECS` and `TOLLGATE_RENEW_SECS`
/// shorten them (tests).
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    pub heartbeat: Duration,
    pub renewal: Duration,
}

impl Intervals {
    pub fn from_env() -> Intervals {
        let secs = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|s| *s > 0)
                .unwrap_or(default)
        };
        Intervals {
            heartbeat: Duration::from_secs(secs("TOLLGATE_HEARTBEAT_SECS", 30)),
            renewal: Duration::from_secs(secs("TOLLGATE_RENEW_SECS", 3 * 24 * 3600)),
        }
    }
}

/// Renews a PAT and says how it went; daemon tokens do not expire (revocation retires
/// them) and are not renewed.
pub async fn renew_once(client: &Client) {
    if !client.credentials().is_pat() {
        return;
    }
    let prefix = client.credentials().token.display_prefix().to_owned();
    match client.renew().await {
        Ok(r) if r.renewed => tracing::info!(%prefix, expires_at = %r.expires_at, "PAT renewed"),
        Ok(r) => tracing::debug!(%prefix, expires_at = %r.expires_at, "PAT not due for renewal"),
        Err(ClientError::Refused { status: 401, .. }) => refused(client),
        Err(e) => tracing::debug!(%prefix, error = %e, "renewal failed; will retry"),
    }
}

/// A refused credential: a person must act, so it is a WARN, and the loop goes on
/// (a fixed credentials file is picked up on restart).
fn refused(client: &Client) {
    let prefix = client.credentials().token.display_prefix();
    if client.credentials().is_pat() {
        tracing::warn!(%prefix, "PAT is no longer valid — run \"tollgate login\" again");
    } else {
        tracing::warn!(
            %prefix,
            "daemon token is no longer valid (revoked, or its owner left the workspace) — \
             enroll again with a new install token"
        );
    }
}

/// Until the daemon's token is revoked, as its event stream says (a PAT has none).
async fn revoked(client: &Client) -> String {
    if !client.credentials().is_pat() {
        match events::follow(client).await {
            events::Ended::Revoked(why) => return why,
            events::Ended::NotOffered => tracing::debug!("no event stream for this credential"),
        }
    }
    std::future::pending().await
}

/// Runs until it is stopped. When the event stream says the daemon token is revoked,
/// the work stops at once (no more registrations, heartbeats or renewals with it) and
/// the WARN says what to do; the process stays up, as it does when a heartbeat is
/// refused, so a supervisor does not restart it into the same refusal.
pub async fn run(client: Client, runtimes: Vec<String>, every: Intervals) {
    renew_once(&client).await;
    let mut registered: Vec<(String, Option<Uuid>)> =
        runtimes.into_iter().map(|name| (name, None)).collect();
    let mut heartbeat = interval(every.heartbeat);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut renewal = interval(every.renewal);
    renewal.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Both fire at once at first: the preflight renewal above stands for the first one.
    renewal.tick().await;
    let revoked = revoked(&client);
    tokio::pin!(revoked);
    loop {
        tokio::select! {
            why = &mut revoked => {
                tracing::info!(%why, "event stream: this daemon's token was revoked");
                refused(&client);
                break;
            }
            _ = heartbeat.tick() => beat(&client, &mut registered).await,
            _ = renewal.tick() => renew_once(&client).await,
        }
    }
    std::future::pending::<()>().await;
}

async fn beat(client: &Client, registered: &mut [(String, Option<Uuid>)]) {
    for (name, id) in registered.iter_mut().filter(|(_, id)| id.is_none()) {
        match client.register_runtime(name).await {
            Ok(new) => {
                tracing::info!(runtime = %name, id = %new, "runtime registered");
                *id = Some(new);
            }
            Err(e) => {
                tracing::debug!(runtime = %name, error = %e, "registration failed; will retry")
            }
        }
    }
    let ids: Vec<Uuid> = registered.iter().filter_map(|(_, id)| *id).collect();
    if ids.is_empty() {
        return;
    }
    if let Err(e) = client.heartbeat(&ids).await {
        if matches!(e, ClientError::Refused { status: 401, .. }) {
            refused(client);
            return;
        }
        tracing::debug!(error = %e, "heartbeat failed; will retry");
        if matches!(e, ClientError::Refused { status: 404, .. }) {
            // Runtimes gone on the server (cleaned up, say): register them again.
            for (_, id) in registered.iter_mut() {
                *id = None;
            }
        }
    }
}
