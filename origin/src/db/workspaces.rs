//! `workspaces`.

use uuid::Uuid;

use super::{GenericClient, StoreResult};
use crate::model::Role;

pub async fn insert(db: &impl GenericClient, name: &str) -> StoreResult<Uuid> {
    let stmt = db
        .prepare_cached("INSERT INTO workspaces (name) VALUES ($1) RETURNING id")
        .await?;
    Ok(db.query_one(&stmt, &[&name]).await?.get(0))
}

/// A workspace with the caller's role in it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WorkspaceRole {
    pub id: Uuid,
    pub name: String,
    /// `owner`, `admin` or `member`.
    #[schema(value_type = String)]
    pub role: Role,
}

/// The workspaces `user_id` belongs to, with the role there, oldest first.
pub async fn list_for_user(
    db: &impl GenericClient,
    user_id: Uuid,
) -> StoreResult<Vec<WorkspaceRole>> {
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
        .map(|r| WorkspaceRole {
            id: r.get(0),
            name: r.get(1),
            role: r.get(2),
        })
        .collect())
}
