//! Databases in the throwaway cluster, one per test: empty (the binary under test
//! migrates it), or copied from a migrated template (in-process tests, which would
//! otherwise migrate hundreds of databases).

use std::future::Future;

use tokio_postgres::{Client, NoTls};

use crate::cluster::admin_url;

/// A client of `url`, its connection driven in the background.
pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test cluster");
    tokio::spawn(conn);
    client
}

/// A client of the cluster's `postgres` database, as its superuser.
pub async fn admin() -> Client {
    connect(&format!("{}/postgres", admin_url())).await
}

/// A new database with nothing in it; returns its URL.
pub async fn fresh_database() -> String {
    create(None).await
}

async fn create(template: Option<&str>) -> String {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let from = template.map_or_else(String::new, |t| format!(" TEMPLATE {t}"));
    admin()
        .await
        .execute(&format!("CREATE DATABASE {name}{from}"), &[])
        .await
        .unwrap();
    format!("{}/{name}", admin_url())
}

/// A migrated database that each test copies (`CREATE DATABASE … TEMPLATE`).
pub struct Template {
    name: &'static str,
    ready: tokio::sync::OnceCell<()>,
}

impl Template {
    pub const fn new(name: &'static str) -> Template {
        Template {
            name,
            ready: tokio::sync::OnceCell::const_new(),
        }
    }

    /// A new database copied from the template, which `migrate` (given its URL)
    /// migrates once per test process before anyone copies it.
    pub async fn copy<F, Fut>(&self, migrate: F) -> String
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ()>,
    {
        self.ready.get_or_init(|| self.migrate(migrate)).await;
        create(Some(self.name)).await
    }

    /// One template per cluster. Always migrated once per run: a template left by an
    /// older checkout gets the newer migrations. Done before any test copies it — a copy
    /// fails while anyone is connected to the template.
    async fn migrate<F, Fut>(&self, migrate: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ()>,
    {
        let admin = admin().await;
        // Against another test process doing the same.
        admin
            .execute("SELECT pg_advisory_lock(7)", &[])
            .await
            .unwrap();
        let exists = admin
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&self.name],
            )
            .await
            .unwrap()
            .is_some();
        if !exists {
            admin
                .execute(&format!("CREATE DATABASE {}", self.name), &[])
                .await
                .unwrap();
        }
        migrate(format!("{}/{}", admin_url(), self.name)).await;
        admin
            .execute("SELECT pg_advisory_unlock(7)", &[])
            .await
            .unwrap();
    }
}

/// The schema versions in `migrations/` (`V{n}__….sql`), in order: what a fresh
/// database gets from `migrate`.
pub fn migration_versions() -> Vec<u32> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut versions: Vec<u32> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_prefix('V')?.split_once("__")?.0.parse().ok()
        })
        .collect();
    versions.sort_unstable();
    versions
}
