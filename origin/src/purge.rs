//! Delivering purges to the edge (DESIGN.md "Caches and invalidation").
//!
//! A revocation writes the stale cache keys into `cache_invalidations` in its own
//! transaction. After commit the revoking request tries one delivery itself (≤ 2 s), so
//! the very next request through the edge already fails; whatever was not delivered the
//! background [`run_dispatcher`] retries with backoff. Rows are deleted on a 2xx.
//! Each revocation also queues a second, delayed purge of the same keys, which closes
//! the race with a resolve that was in flight when the revocation committed.

use std::time::Duration;

use reqwest::Url;
use serde_json::json;
use tokio::sync::watch;
use tollgate_shared::identity::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP};
use tollgate_shared::signing::Request;
use tollgate_shared::SigningKey;

use crate::db::invalidations;
use crate::state::AppState;

/// A revoking request waits at most this long for the edge.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the dispatcher looks for due rows when nothing wakes it.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Purger {
    client: reqwest::Client,
    url: Url,
    key: SigningKey,
}

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("purge request failed: {0}")]
    Transport(String),
    #[error("edge answered {0}")]
    Status(reqwest::StatusCode),
}

impl Purger {
    pub fn new(url: Url, key: SigningKey) -> Result<Purger, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(DELIVERY_TIMEOUT)
            .build()?;
        Ok(Purger { client, url, key })
    }

    /// One signed `POST {"keys": [...]}` to the edge.
    pub async fn deliver(&self, keys: &[String]) -> Result<(), PurgeError> {
        let body = serde_json::to_vec(&json!({ "keys": keys }))
            .map_err(|e| PurgeError::Transport(e.to_string()))?;
        let path_and_query = match self.url.query() {
            Some(q) => format!("{}?{q}", self.url.path()),
            None => self.url.path().to_owned(),
        };
        let (timestamp, signature) = self.key.sign(
            &Request::internal("POST", &path_and_query, &body),
            chrono::Utc::now().timestamp(),
        );
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(X_EDGE_TIMESTAMP, timestamp)
            .header(X_EDGE_SIGNATURE, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| PurgeError::Transport(e.without_url().to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(PurgeError::Status(response.status()))
        }
    }
}

/// Right after a revocation commits: deliver its rows once, or drop them when there is
/// no edge to tell. Failures are left to the dispatcher; the revocation itself stands.
pub async fn flush_after_commit(state: &AppState, ids: Vec<i64>, keys: Vec<String>) {
    if ids.is_empty() {
        return;
    }
    let delivered = match &state.purger {
        None => true,
        Some(purger) => {
            let result = purger.deliver(&keys).await;
            state.metrics.purge(result.is_ok());
            if let Err(e) = &result {
                tracing::warn!(error = %e, keys = keys.len(), "purge not delivered; will retry");
                state.purge_wakeup.notify_one();
            }
            result.is_ok()
        }
    };
    if delivered {
        if let Err(e) = delete_rows(state, &ids).await {
            // Harmless: the dispatcher sends them again and purging is idempotent.
            tracing::warn!(error = %e, "could not delete delivered purge rows");
        }
    }
}

async fn delete_rows(state: &AppState, ids: &[i64]) -> Result<(), crate::error::AppError> {
    let db = state.pool.get().await?;
    invalidations::delete(&db, ids).await?;
    Ok(())
}

/// Retries undelivered purges until `shutdown` turns true.
pub async fn run_dispatcher(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let Some(purger) = state.purger.clone() else {
        return;
    };
    loop {
        let delivered_batch = match dispatch_once(&state, &purger).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "purge dispatcher");
                false
            }
        };
        if delivered_batch {
            continue;
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = state.purge_wakeup.notified() => {}
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Claims one batch of due rows and tries to deliver it. Returns how many were delivered.
async fn dispatch_once(state: &AppState, purger: &Purger) -> Result<usize, crate::error::AppError> {
    let db = state.pool.get().await?;
    let claimed = invalidations::claim_due(&db).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let (ids, keys): (Vec<i64>, Vec<String>) = claimed.into_iter().unzip();
    match purger.deliver(&keys).await {
        Ok(()) => {
            state.metrics.purge(true);
            invalidations::delete(&db, &ids).await?;
            Ok(ids.len())
        }
        Err(e) => {
            state.metrics.purge(false);
            tracing::warn!(error = %e, keys = keys.len(), "purge retry failed; backing off");
            Ok(0)
        }
    }
}
