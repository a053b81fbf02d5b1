//! Every SQL statement, one function each, taking `&impl GenericClient` so the same
//! function runs on a pooled client or inside a transaction.

pub mod invalidations;
pub mod members;
pub mod tokens;
pub mod users;
pub mod workspaces;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::NoTls;

pub use deadpool_postgres::GenericClient;

/// How long a request waits for the database before answering 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PoolSetupError {
    #[error("DATABASE_URL is not a valid Postgres URL: {0}")]
    BadUrl(tokio_postgres::Error),
    #[error("could not build the connection pool: {0}")]
    Build(String),
}

pub fn pool(database_url: &str, max_size: usize) -> Result<Pool, PoolSetupError> {
    let mut config: tokio_postgres::Config =
        database_url.parse().map_err(PoolSetupError::BadUrl)?;
    config.connect_timeout(CONNECT_TIMEOUT);
    if config.get_application_name().is_none() {
        config.application_name("tollgate-origin");
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(WAIT_TIMEOUT),
            create: Some(CONNECT_TIMEOUT),
            recycle: Some(CONNECT_TIMEOUT),
        })
        .build()
        .map_err(|e| PoolSetupError::Build(e.to_string()))
}

/// Is this a unique-constraint violation (a 409, not a 500)?
pub fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}
