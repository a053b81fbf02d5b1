//! Removing a member: the statements about the membership itself (docs/ARCHITECTURE.md "Decided
//! exactly once"); what acts for the member is stopped with the statements of
//! `daemon_tokens`, `runtimes` and `tasks`, in the same transaction (`crate::members`).

use uuid::Uuid;

use super::{GenericClient, StoreResult};
use crate::model::Role;

/// The member's role, its row locked; `None` when not a member.
pub async fn member_role(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<Role>> {
    let stmt = db
        .prepare_cached(
            "SELECT role FROM members WHERE workspace_id = $1 AND user_id = $2 FOR UPDATE",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &user_id])
        .await?
        .map(|r| r.get(0)))
}

/// The owners other than `user_id`, their rows locked: two owners leaving at once
/// cannot both count on the other staying.
pub async fn other_owners(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<usize> {
    let stmt = db
        .prepare_cached(
            "SELECT user_id FROM members WHERE workspace_id = $1 AND role = $2 FOR UPDATE",
        )
        .await?;
    let rows = db.query(&stmt, &[&workspace_id, &Role::Owner]).await?;
    Ok(rows
        .iter()
        .filter(|r| r.get::<_, Uuid>(0) != user_id)
        .count())
}

pub async fn delete_member(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached("DELETE FROM members WHERE workspace_id = $1 AND user_id = $2")
        .await?;
    Ok(db.execute(&stmt, &[&workspace_id, &user_id]).await? == 1)
}
