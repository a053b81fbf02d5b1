//! Every SQL statement, one function each, taking `&impl GenericClient` so the same
//! function runs on a pooled client or inside a transaction. Failures are
//! [`StoreError`]s: whether the database was unreachable or the statement failed, never
//! an HTTP answer (the HTTP layer and the CLI each say it their own way).

pub mod members;
pub mod migrate;
pub mod outbox;
pub mod pats;
pub mod users;
pub mod workspaces;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::error::SqlState;
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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connection refused, lost or timed out: worth a retry, not a bug.
    #[error("database unavailable")]
    Unavailable,
    #[error("database error: {0}")]
    Statement(tokio_postgres::Error),
    #[error("connection pool error: {0}")]
    Pool(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A unique-constraint violation (a 409, not a 500).
    pub fn is_unique_violation(&self) -> bool {
        self.sql_state() == Some(&SqlState::UNIQUE_VIOLATION)
    }

    pub fn is_foreign_key_violation(&self) -> bool {
        self.sql_state() == Some(&SqlState::FOREIGN_KEY_VIOLATION)
    }

    fn sql_state(&self) -> Option<&SqlState> {
        match self {
            StoreError::Statement(e) => e.code(),
            _ => None,
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        if is_unavailable(&e) {
            StoreError::Unavailable
        } else {
            StoreError::Statement(e)
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        use deadpool_postgres::PoolError;
        match e {
            PoolError::Backend(e) => StoreError::from(e),
            // Timeouts and failed connects are the database not answering.
            PoolError::Timeout(_) | PoolError::PostCreateHook(_) => StoreError::Unavailable,
            other => StoreError::Pool(other.to_string()),
        }
    }
}

/// Connection loss, refused connects and "cannot connect now" states: a 503 the
/// client may retry, not a bug.
fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08") || c.starts_with("57P") || c == "53300"
        }
        // No SQLSTATE: the error came from the socket, not from the server.
        None => e.as_db_error().is_none(),
    }
}

/// `SELECT 1`: does the database answer?
pub async fn ping(db: &impl GenericClient) -> StoreResult<()> {
    db.execute("SELECT 1", &[]).await?;
    Ok(())
}
