//! `members`: who belongs to which workspace, with which role.

use uuid::Uuid;

use super::{GenericClient, StoreResult};
use crate::model::Role;

/// Adds a member, or changes the role of an existing one.
pub async fn upsert(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
    role: Role,
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

/// Adds a member or changes their role, unless that would leave the workspace without
/// an owner: `Ok(false)` when `user_id` is its only owner and `role` is not owner. The
/// owners' rows are locked by the statement itself, so two owners demoting each other
/// at once cannot both succeed.
pub async fn set_role(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "WITH owners AS (
                 SELECT user_id FROM members
                 WHERE workspace_id = $1 AND role = 'owner'
                 FOR UPDATE)
             INSERT INTO members (workspace_id, user_id, role)
             SELECT $1, $2, $3::text
             WHERE $3::text = 'owner'
                OR EXISTS (SELECT 1 FROM owners WHERE user_id <> $2)
                OR NOT EXISTS (SELECT 1 FROM owners WHERE user_id = $2)
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role
             RETURNING 1",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &user_id, &role])
        .await?
        .is_some())
}

/// The caller's role in a workspace; `None` when the workspace does not exist or the
/// user is not a member (the same answer, so non-members learn nothing).
pub async fn role_of(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<Role>> {
    let stmt = db
        .prepare_cached("SELECT role FROM members WHERE workspace_id = $1 AND user_id = $2")
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &user_id])
        .await?
        .map(|row| row.get(0)))
}

/// A member as the workspace's list shows them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    #[schema(value_type = String)]
    pub role: Role,
    #[schema(value_type = String)]
    pub joined_at: chrono::DateTime<chrono::Utc>,
}

/// The workspace's members with their user details, by join time.
pub async fn list(db: &impl GenericClient, workspace_id: Uuid) -> StoreResult<Vec<MemberView>> {
    let rows = db
        .query(
            "SELECT u.id, u.email, u.name, m.role, m.created_at FROM members m
             JOIN users u ON u.id = m.user_id
             WHERE m.workspace_id = $1 ORDER BY m.created_at, u.id",
            &[&workspace_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| MemberView {
            user_id: r.get(0),
            email: r.get(1),
            name: r.get(2),
            role: r.get(3),
            joined_at: r.get(4),
        })
        .collect())
}

/// Adds a member; `false` when they already are one.
pub async fn add(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> StoreResult<bool> {
    let n = db
        .execute(
            "INSERT INTO members (workspace_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (workspace_id, user_id) DO NOTHING",
            &[&workspace_id, &user_id, &role],
        )
        .await?;
    Ok(n == 1)
}

/// The advisory lock of one membership: a removal (or a role change) takes it
/// exclusively, everything that creates a credential or work acting for the member
/// takes it shared ([`hold`]), so the two never interleave. Advisory rather than a row
/// lock: a removal also locks the owners' rows, and shared row locks taken by others
/// on those rows could then close a cycle.
const LOCK_KEY: &str = "hashtextextended($1::text || ':' || $2::text, 0)";

/// Serializes removals and role changes of one member of one workspace, and everything
/// that [`hold`]s the membership.
pub async fn lock(db: &impl GenericClient, workspace_id: Uuid, user_id: Uuid) -> StoreResult<()> {
    let stmt = db
        .prepare_cached(&format!("SELECT pg_advisory_xact_lock({LOCK_KEY})"))
        .await?;
    db.execute(&stmt, &[&workspace_id.to_string(), &user_id.to_string()])
        .await?;
    Ok(())
}

/// Holds the memberships of `users` until the transaction ends (a removal of any of
/// them waits, and one that committed first is seen), and answers the roles of those
/// still members. Locks are taken in id order, so two holders never wait on each other.
pub async fn hold(
    db: &impl GenericClient,
    workspace_id: Uuid,
    users: &[Uuid],
) -> StoreResult<Vec<(Uuid, Role)>> {
    let mut users = users.to_vec();
    users.sort_unstable();
    users.dedup();
    let lock = db
        .prepare_cached(&format!("SELECT pg_advisory_xact_lock_shared({LOCK_KEY})"))
        .await?;
    for user in &users {
        db.execute(&lock, &[&workspace_id.to_string(), &user.to_string()])
            .await?;
    }
    let stmt = db
        .prepare_cached(
            "SELECT user_id, role FROM members WHERE workspace_id = $1 AND user_id = ANY($2)",
        )
        .await?;
    Ok(db
        .query(&stmt, &[&workspace_id, &users])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
