//! Workspace membership: adding people, changing roles, and removing a member (or a
//! member leaving), which stops everything they left running in the workspace — in one
//! transaction, and at the edge through the outbox.

use deadpool_postgres::Pool;
use tollgate_shared::{cache_key, AuthError, TokenKind};
use uuid::Uuid;

use crate::db::{bounded, removal};
use crate::http::{AppError, AppResult};
use crate::outbox::Outbox;

pub const MEMBER_NOT_FOUND: AppError = AppError::Missing("member not found");
pub const LAST_OWNER: AppError = AppError::BadRequest("workspace must have at least one owner");
pub const ROLES: [&str; 3] = ["owner", "admin", "member"];

/// Who is removing: an owner or admin (`Some(role)`), or the member leaving (`None`).
pub async fn remove(
    pool: &Pool,
    outbox: &Outbox,
    workspace_id: Uuid,
    user_id: Uuid,
    by: Uuid,
    by_role: Option<&str>,
) -> AppResult<()> {
    let queued = bounded(async {
        let mut db = pool.get().await?;
        let tx = db.transaction().await?;
        removal::lock(&tx, workspace_id, user_id).await?;
        let Some(role) = removal::member_role(&tx, workspace_id, user_id).await? else {
            // Leaving a workspace one is not in, or removing someone already gone.
            return Err(match by_role {
                None => crate::workspaces::NOT_FOUND,
                Some(_) => MEMBER_NOT_FOUND,
            });
        };
        if by_role == Some("admin") && role == "owner" {
            return Err(AuthError::InsufficientPermissions.into());
        }
        if role == "owner" && removal::other_owners(&tx, workspace_id, user_id).await? == 0 {
            return Err(LAST_OWNER);
        }
        let revoked = removal::revoke_everything(&tx, workspace_id, user_id, by).await?;
        removal::delete_member(&tx, workspace_id, user_id).await?;
        removal::record(&tx, workspace_id, user_id, by, &revoked).await?;
        let keys = revoked
            .daemon_tokens
            .iter()
            .map(|(_, hash)| cache_key(TokenKind::Daemon, hash).to_string())
            .collect();
        let queued = outbox.enqueue(&tx, keys).await?;
        tx.commit().await?;
        tracing::info!(
            %workspace_id,
            %user_id,
            runtimes = revoked.runtimes.len(),
            agents = revoked.agents.len(),
            tasks = revoked.tasks.len(),
            daemon_tokens = revoked.daemon_tokens.len(),
            "member removed"
        );
        Ok::<_, AppError>(queued)
    })
    .await?;
    outbox.flush(queued).await;
    Ok(())
}
