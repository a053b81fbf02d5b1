//! The background half of the outbox: retries undelivered purges with backoff.

use tokio::sync::watch;

use super::{Outbox, Purger};
use crate::db::{bounded, outbox, StoreResult};

impl Outbox {
    /// Retries undelivered purges until `shutdown` turns true. Returns at once when
    /// there is no edge to deliver to.
    pub async fn run_dispatcher(&self, mut shutdown: watch::Receiver<bool>) {
        let Some(purger) = &self.purger else {
            return;
        };
        loop {
            let delivered_batch = match bounded(self.dispatch_once(purger)).await {
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
                _ = self.wakeup.notified() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Claims one batch of due rows and tries to deliver it. Returns how many were
    /// delivered.
    async fn dispatch_once(&self, purger: &Purger) -> StoreResult<usize> {
        let db = self.pool.get().await?;
        let claimed = outbox::claim_due(&db).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let (ids, keys): (Vec<i64>, Vec<String>) = claimed.into_iter().unzip();
        match purger.deliver(&keys).await {
            Ok(()) => {
                self.metrics.purge(true);
                outbox::delete(&db, &ids).await?;
                Ok(ids.len())
            }
            Err(e) => {
                self.metrics.purge(false);
                tracing::warn!(error = %e, keys = keys.len(), "purge retry failed; backing off");
                Ok(0)
            }
        }
    }
}
