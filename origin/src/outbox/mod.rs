//! The purge outbox (docs/ARCHITECTURE.md "Revocation reaches the edge"): revocations queue the cache
//! keys that went stale, and [`Outbox`] makes sure the edge hears of them.
//!
//! A revocation calls [`Outbox::enqueue`] inside its own transaction, so the keys are
//! queued if and only if the revocation commits. After commit it calls
//! [`Outbox::flush`], which tries one delivery (≤ 2 s), so the very next request through
//! the edge already fails; whatever was not delivered the background
//! [`Outbox::run_dispatcher`] retries with backoff. Rows are deleted on a 2xx.
//!
//! Each revocation also queues a second, delayed purge of the same keys: a cache miss
//! resolved just before the revocation committed can write its (now stale) answer to
//! KV after the first purge landed; the edge waits at most 5 s for a resolve, so by
//! the time the second purge is due any such write is done and it is removed. Its delay
//! counts from the commit (the rows are queued in the transaction, then re-timed right
//! after it commits), not from the transaction's start. With the edge's revocation log
//! the second purge is KV hygiene: the log refuses such an entry anyway.

mod dispatcher;
pub mod purger;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::Notify;

pub use purger::{PurgeError, Purger};

use crate::db::{
    bounded, ended, outbox, with_client, GenericClient, StoreError, StoreResult, Work,
};
use crate::metrics::Metrics;

/// Timings, injectable so tests need not wait for production delays.
#[derive(Debug, Clone, Copy)]
pub struct OutboxSettings {
    /// When the second purge of each revocation is due.
    pub echo_delay: Duration,
    /// How often the dispatcher looks for due rows when nothing wakes it.
    pub poll_interval: Duration,
}

impl Default for OutboxSettings {
    fn default() -> OutboxSettings {
        OutboxSettings {
            // Twice the edge's 5 s resolve timeout.
            echo_delay: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
        }
    }
}

pub struct Outbox {
    pool: Pool,
    /// `None` when the origin runs alone: there is no edge cache to purge.
    purger: Option<Purger>,
    metrics: Arc<Metrics>,
    wakeup: Notify,
    settings: OutboxSettings,
}

/// Keys queued by a transaction, to flush once it has committed.
#[must_use = "flush it after the transaction commits"]
#[derive(Debug, Default)]
pub struct Queued {
    ids: Vec<i64>,
    keys: Vec<String>,
    /// The second purges, to re-time from the commit.
    echoes: Vec<i64>,
}

impl Outbox {
    pub fn new(
        pool: Pool,
        purger: Option<Purger>,
        metrics: Arc<Metrics>,
        settings: OutboxSettings,
    ) -> Outbox {
        Outbox {
            pool,
            purger,
            metrics,
            wakeup: Notify::new(),
            settings,
        }
    }

    /// The database the outbox writes to.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// How many of `keys` still wait for their first delivery (a flush that failed
    /// leaves them, for the dispatcher of a serving origin to retry).
    pub async fn undelivered(&self, keys: &[String]) -> StoreResult<i64> {
        let keys = keys.to_vec();
        with_client(&self.pool, move |db| {
            Box::pin(async move {
                let stmt = db
                    .prepare_cached(
                        "SELECT count(*) FROM cache_invalidations
                         WHERE attempts > 0 AND cache_key = ANY($1)",
                    )
                    .await?;
                Ok(db.query_one(&stmt, &[&keys]).await?.get(0))
            })
        })
        .await
    }

    /// Is there an edge to tell?
    pub fn delivers(&self) -> bool {
        self.purger.is_some()
    }

    /// Queues `keys` in the caller's transaction `tx`, with their delayed second purge,
    /// and announces them to the event streams.
    pub async fn enqueue(&self, tx: &impl GenericClient, keys: Vec<String>) -> StoreResult<Queued> {
        if keys.is_empty() {
            return Ok(Queued::default());
        }
        let ids = outbox::insert(tx, &keys).await?;
        // The same keys end the event streams opened with them, on every origin.
        ended::announce(tx, &keys).await?;
        let echoes = if self.delivers() {
            outbox::insert_echo(tx, &keys, self.echo_delay_secs()).await?
        } else {
            vec![]
        };
        Ok(Queued { ids, keys, echoes })
    }

    fn echo_delay_secs(&self) -> i32 {
        i32::try_from(self.settings.echo_delay.as_secs()).unwrap_or(i32::MAX)
    }

    /// The one way to revoke: runs `work` in one transaction (bounded like every
    /// database operation), queues the cache keys it returns in that same transaction —
    /// so they are queued if and only if the revocation commits — and delivers them to
    /// the edge once it has committed, before returning.
    pub async fn revoking<T, E>(
        &self,
        work: impl for<'c, 't> FnOnce(
            &'c deadpool_postgres::Transaction<'t>,
        ) -> Work<'c, (T, Vec<String>), E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let (value, queued) = bounded(async {
            let mut client = self.pool.get().await.map_err(StoreError::from)?;
            let tx = client.transaction().await.map_err(StoreError::from)?;
            let (value, keys) = work(&tx).await?;
            let queued = self.enqueue(&tx, keys).await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok::<_, E>((value, queued))
        })
        .await?;
        self.flush(queued).await;
        Ok(value)
    }

    /// Right after the transaction that queued `queued` committed: delivers it once, or
    /// drops it when there is no edge to tell. Failures are left to the dispatcher; the
    /// revocation itself stands.
    pub async fn flush(&self, queued: Queued) {
        let Queued { ids, keys, echoes } = queued;
        if ids.is_empty() {
            return;
        }
        if !echoes.is_empty() {
            let delay = self.echo_delay_secs();
            let retimed = with_client(&self.pool, move |db| {
                Box::pin(async move { outbox::retime_echo(db, &echoes, delay).await })
            });
            if let Err(e) = retimed.await {
                // They stay due from the transaction's start: earlier, never lost.
                tracing::warn!(error = %e, "could not re-time the second purges");
            }
        }
        let delivered = match &self.purger {
            None => true,
            Some(purger) => {
                let result = purger.deliver(&keys).await;
                self.metrics.purge(result.is_ok());
                if let Err(e) = &result {
                    tracing::warn!(error = %e, keys = keys.len(), "purge not delivered; will retry");
                    self.wakeup.notify_one();
                }
                result.is_ok()
            }
        };
        if delivered {
            if let Err(e) = self.delete(&ids).await {
                // Harmless: the dispatcher sends them again and purging is idempotent.
                tracing::warn!(error = %e, "could not delete delivered purge rows");
            }
        }
    }

    async fn delete(&self, ids: &[i64]) -> StoreResult<()> {
        let ids = ids.to_vec();
        with_client(&self.pool, move |db| {
            Box::pin(async move { outbox::delete(db, &ids).await.map(drop) })
        })
        .await
    }
}
