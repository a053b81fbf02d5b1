//! Every SQL statement, one function each, taking `&impl GenericClient` so the same
//! function runs on a pooled client or inside a transaction. Failures are
//! [`StoreError`]s: whether the database was unreachable or the statement failed, never
//! an HTTP answer (the HTTP layer and the CLI each say it their own way).

pub mod account_events;
pub mod agents;
pub mod daemon_tokens;
pub mod device_grants;
pub mod ended;
pub mod events;
pub mod install_tokens;
pub mod listen;
pub mod members;
pub mod migrate;
pub mod outbox;
pub mod pats;
pub mod removal;
pub mod runtimes;
pub mod sessions;
pub mod sign_in_codes;
pub mod tasks;
pub mod tls;
pub mod users;
pub mod workspaces;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

pub use tls::{Target, TargetError};

pub use deadpool_postgres::GenericClient;

/// How long a request waits for the database before answering 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PoolSetupError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("could not build the connection pool: {0}")]
    Build(String),
}

/// Bounds on a connection so that a Postgres that stalls (rather than stops) is noticed:
/// a connect that hangs, and a peer that vanished without closing.
fn bound(config: &mut tokio_postgres::Config) {
    config.connect_timeout(CONNECT_TIMEOUT);
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(10));
    config.keepalives_interval(Duration::from_secs(2));
    config.keepalives_retries(3);
    if config.get_application_name().is_none() {
        config.application_name("tollgate-origin");
    }
}

pub fn pool(database_url: &str, max_size: usize) -> Result<Pool, PoolSetupError> {
    let Target {
        mut config, tls, ..
    } = Target::parse(database_url)?;
    bound(&mut config);
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match tls {
        Some(tls) => Manager::from_config(config, tls, manager_config),
        None => Manager::from_config(config, NoTls, manager_config),
    };
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
    /// Connection refused, lost or timed out: worth a retry, not a bug. The detail is
    /// for operators (logs, admin commands), never for API clients.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {}", tls::describe(.0))]
    Statement(tokio_postgres::Error),
    #[error("connection pool error: {0}")]
    Pool(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The token hashes in the first column of `rows` (a `RETURNING token_hash` or a select
/// of one): what a revocation queues for purging.
pub fn hashes(rows: &[tokio_postgres::Row]) -> Vec<tollgate_shared::TokenHash> {
    rows.iter()
        .filter_map(|row| tollgate_shared::TokenHash::from_hex(row.get(0)))
        .collect()
}

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
            StoreError::Unavailable(tls::describe(&e))
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
            PoolError::Timeout(t) => {
                StoreError::Unavailable(format!("timed out waiting for a connection ({t:?})"))
            }
            PoolError::PostCreateHook(e) => StoreError::Unavailable(tls::describe(&e)),
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
            c.starts_with("08")
                || c.starts_with("57P")
                // A deadlock or serialization failure: the statement was rolled back and
                // may be retried (two owners removed at the same moment, say).
                || c == "40P01"
                || c == "40001"
                || c.starts_with("28")
                || c == "3D000"
                || c == "53300"
        }
        // No SQLSTATE: the error came from the socket, not from the server.
        None => e.as_db_error().is_none(),
    }
}

/// How long one database operation (a checkout and its statements) may take before the
/// request gives up with 503. A Postgres that stalls rather than stops never closes the
/// socket, so without this a request would wait as long as the client does.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Runs `work` within [`DEADLINE`]; past it the database counts as unavailable.
pub async fn bounded<T, E: From<StoreError>>(
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    match tokio::time::timeout(DEADLINE, work).await {
        Ok(result) => result,
        Err(_) => Err(E::from(StoreError::Unavailable(format!(
            "no answer within {} s",
            DEADLINE.as_secs()
        )))),
    }
}

/// The future a unit of database work returns, borrowing its connection.
pub type Work<'c, T, E> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>>;

/// One bounded operation on a pooled connection: the checkout and `work`, together
/// within [`DEADLINE`].
pub async fn with_client<T, E>(
    pool: &Pool,
    work: impl for<'c> FnOnce(&'c deadpool_postgres::Client) -> Work<'c, T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    bounded(async {
        let client = pool.get().await.map_err(StoreError::from)?;
        work(&client).await
    })
    .await
}

/// [`with_client`] in one transaction: committed when `work` succeeds, rolled back
/// (dropped) when it fails, so nothing half-done survives.
pub async fn in_transaction<T, E>(
    pool: &Pool,
    work: impl for<'c, 't> FnOnce(&'c deadpool_postgres::Transaction<'t>) -> Work<'c, T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    transaction(pool, work, End::Commit).await
}

/// Runs `work` in one transaction and rolls it back, whatever it did: for answers that
/// must compute exactly what a change would do without making it (a removal's preview).
pub async fn rolled_back<T, E>(
    pool: &Pool,
    work: impl for<'c, 't> FnOnce(&'c deadpool_postgres::Transaction<'t>) -> Work<'c, T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    transaction(pool, work, End::Rollback).await
}

/// How a transaction whose work succeeded ends.
enum End {
    Commit,
    Rollback,
}

async fn transaction<T, E>(
    pool: &Pool,
    work: impl for<'c, 't> FnOnce(&'c deadpool_postgres::Transaction<'t>) -> Work<'c, T, E>,
    end: End,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    bounded(async {
        let mut client = pool.get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let value = work(&tx).await?;
        match end {
            End::Commit => tx.commit().await,
            End::Rollback => tx.rollback().await,
        }
        .map_err(StoreError::from)?;
        Ok(value)
    })
    .await
}

/// One connection outside the pool (migrations): the client, and the task that drives
/// the connection until the client is dropped.
pub async fn connect(
    database_url: &str,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), ConnectError> {
    let Target {
        mut config, tls, ..
    } = Target::parse(database_url)?;
    bound(&mut config);
    Ok(match tls {
        Some(tls) => {
            let (client, connection) = config.connect(tls).await?;
            (client, tokio::spawn(async move { drop(connection.await) }))
        }
        None => {
            let (client, connection) = config.connect(NoTls).await?;
            (client, tokio::spawn(async move { drop(connection.await) }))
        }
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("DATABASE_URL: cannot connect to the database: {}", tls::describe(.0))]
    Connect(#[from] tokio_postgres::Error),
}

/// `SELECT 1`: does the database answer?
pub async fn ping(db: &impl GenericClient) -> StoreResult<()> {
    db.execute("SELECT 1", &[]).await?;
    Ok(())
}
