//! Applies `migrations/*.sql` (embedded at build time) with refinery, under an advisory
//! lock so that several origins starting at once do not race each other.

use super::{connect, ConnectError};

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// Arbitrary, fixed: "tollgate" in ASCII.
const MIGRATION_LOCK: i64 = 0x746f_6c6c_6761_7465;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("migration failed: {}", super::tls::describe(.0))]
    Database(#[from] tokio_postgres::Error),
    #[error("migration failed: {0}")]
    Refinery(#[from] refinery::Error),
}

/// Returns the versions applied by this call (empty when already up to date).
pub async fn run(database_url: &str) -> Result<Vec<u32>, MigrateError> {
    run_until(database_url, None).await
}

/// Applies migrations up to and including `version` only: a database as an older
/// release left it, for testing the migrations that follow on real rows.
pub async fn run_to(database_url: &str, version: u32) -> Result<Vec<u32>, MigrateError> {
    run_until(database_url, Some(version)).await
}

async fn run_until(database_url: &str, version: Option<u32>) -> Result<Vec<u32>, MigrateError> {
    let (mut client, driver) = connect(database_url).await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let mut runner = embedded::migrations::runner();
    if let Some(version) = version {
        runner = runner.set_target(refinery::Target::Version(version));
    }
    let report = runner.run_async(&mut client).await;
    // Closing the session releases the lock even if unlocking fails.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    drop(client);
    let _ = driver.await;
    let report = report?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| m.version())
        .collect())
}
