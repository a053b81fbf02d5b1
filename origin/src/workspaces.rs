//! Workspaces: creating one (its creator becomes its owner), and who may act on one —
//! the checks every workspace-scoped route shares.

use deadpool_postgres::GenericClient;
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::db::workspaces::{self as db_workspaces, WorkspaceRole};
use crate::db::{in_transaction, members};
use crate::domain_error::DomainResult;
use crate::model::Role;
use crate::refusal::Refusal;
use crate::validate;
use deadpool_postgres::Pool;

/// Creates a workspace named `name` (the one rule for names) owned by `owner`, in one
/// transaction: the API, the admin CLI and the tests' fixtures all create them here.
pub async fn create(pool: &Pool, name: Option<&str>, owner: Uuid) -> DomainResult<WorkspaceRole> {
    let name = validate::name(name)?;
    in_transaction(pool, move |tx| {
        Box::pin(async move {
            let id = db_workspaces::insert(tx, &name).await?;
            members::upsert(tx, id, owner, Role::Owner).await?;
            Ok(WorkspaceRole {
                id,
                name,
                role: Role::Owner,
            })
        })
    })
    .await
}

/// The workspace id of a path: one that is not even a UUID does not exist either.
pub fn parse_id(raw: &str) -> DomainResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Refusal::WorkspaceNotFound.into())
}

/// The caller's role; a workspace that does not exist and one the caller is not a
/// member of answer the same 404, so ids cannot be probed.
pub async fn role(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> DomainResult<Role> {
    members::role_of(db, workspace_id, user_id)
        .await?
        .ok_or(Refusal::WorkspaceNotFound.into())
}

/// Owners and admins only; other members get 403.
pub async fn require_admin(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> DomainResult<()> {
    admin(role(db, workspace_id, user_id).await?)
}

/// Owners and admins only; other members get 403.
pub fn admin(role: Role) -> DomainResult<()> {
    if role.is_admin() {
        Ok(())
    } else {
        Err(AuthError::InsufficientPermissions.into())
    }
}
