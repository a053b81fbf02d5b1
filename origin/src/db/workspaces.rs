//! `workspaces`.

use uuid::Uuid;

use super::{GenericClient, StoreResult};

pub async fn insert(db: &impl GenericClient, name: &str) -> StoreResult<Uuid> {
    let stmt = db
        .prepare_cached("INSERT INTO workspaces (name) VALUES ($1) RETURNING id")
        .await?;
    Ok(db.query_one(&stmt, &[&name]).await?.get(0))
}

/// The workspaces `user_id` belongs to, with the role there, oldest first.
pub async fn list_for_user(
    db: &impl GenericClient,
    user_id: Uuid,
) -> StoreResult<Vec<(Uuid, String, String)>> {
    let stmt = db
        .prepare_cached(
            "SELECT w.id, w.name, m.role FROM workspaces w
             JOIN members m ON m.workspace_id = w.id
             WHERE m.user_id = $1 ORDER BY w.created_at, w.id",
        )
        .await?;
    let rows = db.query(&stmt, &[&user_id]).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
