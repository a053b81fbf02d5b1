//! Who may act on a workspace: the checks every workspace-scoped route shares.

use deadpool_postgres::GenericClient;
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::db::members;
use crate::http::{AppError, AppResult};
use crate::model::Role;

pub const NOT_FOUND: AppError = AppError::Missing("workspace not found");

/// The workspace id of a path: one that is not even a UUID does not exist either.
pub fn parse_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| NOT_FOUND)
}

/// The caller's role; a workspace that does not exist and one the caller is not a
/// member of answer the same 404, so ids cannot be probed.
pub async fn role(db: &impl GenericClient, workspace_id: Uuid, user_id: Uuid) -> AppResult<Role> {
    members::role_of(db, workspace_id, user_id)
        .await?
        .ok_or(NOT_FOUND)
}

/// Owners and admins only; other members get 403.
pub async fn require_admin(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> AppResult<()> {
    admin(role(db, workspace_id, user_id).await?)
}

/// Owners and admins only; other members get 403.
pub fn admin(role: Role) -> AppResult<()> {
    if role.is_admin() {
        Ok(())
    } else {
        Err(AuthError::InsufficientPermissions.into())
    }
}
