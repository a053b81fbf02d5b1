//! What every handler shares.

use std::sync::Arc;

use deadpool_postgres::Pool;
use tollgate_shared::SigningKey;

use crate::metrics::Metrics;
use crate::outbox::{Outbox, OutboxSettings, Purger};
use crate::resolver::Resolver;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub metrics: Arc<Metrics>,
    /// `EDGE_ORIGIN_SECRET`: the only thing that makes stamped identity trustworthy.
    pub edge_key: Option<Arc<SigningKey>>,
    pub resolver: Resolver,
    pub outbox: Arc<Outbox>,
}

impl AppState {
    pub fn new(
        pool: Pool,
        edge_key: Option<SigningKey>,
        purger: Option<Purger>,
        outbox: OutboxSettings,
    ) -> Result<AppState, prometheus::Error> {
        let metrics = Arc::new(Metrics::new()?);
        Ok(AppState {
            resolver: Resolver::new(pool.clone(), metrics.clone()),
            outbox: Arc::new(Outbox::new(pool.clone(), purger, metrics.clone(), outbox)),
            pool,
            metrics,
            edge_key: edge_key.map(Arc::new),
        })
    }
}
