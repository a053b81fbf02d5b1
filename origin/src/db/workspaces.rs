//! `workspaces`.

use uuid::Uuid;

use super::GenericClient;

pub async fn insert(db: &impl GenericClient, name: &str) -> Result<Uuid, tokio_postgres::Error> {
    let stmt = db
        .prepare_cached("INSERT INTO workspaces (name) VALUES ($1) RETURNING id")
        .await?;
    Ok(db.query_one(&stmt, &[&name]).await?.get(0))
}
