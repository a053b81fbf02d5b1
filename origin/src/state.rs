//! What every handler shares.

use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio::sync::Notify;
use tollgate_shared::SigningKey;

use crate::metrics::Metrics;
use crate::purge::Purger;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub metrics: Arc<Metrics>,
    /// `EDGE_ORIGIN_SECRET`: the only thing that makes stamped identity trustworthy.
    pub edge_key: Option<Arc<SigningKey>>,
    /// Sends purges to the edge; `None` when the origin runs alone.
    pub purger: Option<Arc<Purger>>,
    /// Wakes the background purge dispatcher.
    pub purge_wakeup: Arc<Notify>,
}

impl AppState {
    pub fn new(
        pool: Pool,
        edge_key: Option<SigningKey>,
        purger: Option<Purger>,
    ) -> Result<AppState, prometheus::Error> {
        Ok(AppState {
            pool,
            metrics: Arc::new(Metrics::new()?),
            edge_key: edge_key.map(Arc::new),
            purger: purger.map(Arc::new),
            purge_wakeup: Arc::new(Notify::new()),
        })
    }
}
