//! `workspaces`.

use uuid::Uuid;

use super::{GenericClient, StoreResult};

pub async fn insert(db: &impl GenericClient, name: &str) -> StoreResult<Uuid> {
    let stmt = db
        .prepare_cached("INSERT INTO workspaces (name) VALUES ($1) RETURNING id")
        .await?;
    Ok(db.query_one(&stmt, &[&name]).await?.get(0))
}
