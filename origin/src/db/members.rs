//! `members`: who belongs to which workspace, with which role.

use uuid::Uuid;

use super::{GenericClient, StoreResult};

pub const ROLES: [&str; 3] = ["owner", "admin", "member"];

/// Adds a member, or changes the role of an existing one.
pub async fn upsert(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> StoreResult<()> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO members (workspace_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role",
        )
        .await?;
    db.execute(&stmt, &[&workspace_id, &user_id, &role]).await?;
    Ok(())
}
