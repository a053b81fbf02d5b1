//! Removing a member: every statement of the one transaction that stops what they left
//! running in the workspace (DESIGN.md "Decided exactly once").

use serde_json::json;
use tollgate_shared::TokenHash;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// Task statuses that removal cancels; finished tasks are history and stay as they are.
pub const LIVE_STATUSES: [&str; 5] = [
    "queued",
    "dispatched",
    "running",
    "waiting_local_directory",
    "deferred",
];

/// Serializes removals and leaves of one member of one workspace.
pub async fn lock(db: &impl GenericClient, workspace_id: Uuid, user_id: Uuid) -> StoreResult<()> {
    let stmt = db
        .prepare_cached(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))",
        )
        .await?;
    db.execute(&stmt, &[&workspace_id.to_string(), &user_id.to_string()])
        .await?;
    Ok(())
}

/// The member's role, its row locked; `None` when not a member.
pub async fn member_role(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<String>> {
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
            "SELECT user_id FROM members WHERE workspace_id = $1 AND role = 'owner' FOR UPDATE",
        )
        .await?;
    let rows = db.query(&stmt, &[&workspace_id]).await?;
    Ok(rows
        .iter()
        .filter(|r| r.get::<_, Uuid>(0) != user_id)
        .count())
}

/// What a removal changed.
#[derive(Debug, Default)]
pub struct Revoked {
    pub runtimes: Vec<Uuid>,
    pub agents: Vec<Uuid>,
    pub tasks: Vec<Uuid>,
    pub daemon_tokens: Vec<(Uuid, TokenHash)>,
}

/// Everything but the membership itself, in one go, inside the caller's transaction.
pub async fn revoke_everything(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
    by: Uuid,
) -> StoreResult<Revoked> {
    let runtimes: Vec<Uuid> = db
        .query(
            "SELECT id FROM runtimes WHERE workspace_id = $1 AND owner_id = $2",
            &[&workspace_id, &user_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let agents: Vec<Uuid> = db
        .query(
            "UPDATE agents SET archived_at = now(), archived_by = $3
             WHERE workspace_id = $1 AND runtime_id = ANY($2) AND archived_at IS NULL
             RETURNING id",
            &[&workspace_id, &runtimes, &by],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let live: Vec<String> = LIVE_STATUSES.iter().map(|s| (*s).to_owned()).collect();
    let tasks: Vec<Uuid> = db
        .query(
            "UPDATE tasks SET status = 'cancelled', updated_at = now()
             WHERE workspace_id = $1 AND (runtime_id = ANY($2) OR agent_id = ANY($3))
               AND status = ANY($4)
             RETURNING id",
            &[&workspace_id, &runtimes, &agents, &live],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    db.execute("DELETE FROM task_tokens WHERE task_id = ANY($1)", &[&tasks])
        .await?;
    db.execute(
        "UPDATE runtimes SET status = 'offline' WHERE id = ANY($1)",
        &[&runtimes],
    )
    .await?;
    let daemon_tokens = db
        .query(
            "UPDATE daemon_tokens SET revoked_at = now()
             WHERE workspace_id = $1 AND owner_id = $2 AND revoked_at IS NULL
             RETURNING id, token_hash",
            &[&workspace_id, &user_id],
        )
        .await?
        .iter()
        .filter_map(|r| Some((r.get(0), TokenHash::from_hex(r.get(1))?)))
        .collect();
    Ok(Revoked {
        runtimes,
        agents,
        tasks,
        daemon_tokens,
    })
}

pub async fn delete_member(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<bool> {
    let n = db
        .execute(
            "DELETE FROM members WHERE workspace_id = $1 AND user_id = $2",
            &[&workspace_id, &user_id],
        )
        .await?;
    Ok(n == 1)
}

/// The events of a removal: one for the member, one per thing it stopped.
pub async fn record(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
    by: Uuid,
    revoked: &Revoked,
) -> StoreResult<()> {
    let mut events = vec![("member:removed", json!({ "user_id": user_id, "by": by }))];
    events.extend(
        revoked
            .agents
            .iter()
            .map(|id| ("agent:archived", json!({ "agent_id": id }))),
    );
    events.extend(
        revoked
            .tasks
            .iter()
            .map(|id| ("task:cancelled", json!({ "task_id": id }))),
    );
    events.extend(
        revoked
            .daemon_tokens
            .iter()
            .map(|(id, _)| ("daemon:revoked", json!({ "daemon_token_id": id }))),
    );
    let kinds: Vec<&str> = events.iter().map(|(k, _)| *k).collect();
    let payloads: Vec<serde_json::Value> = events.into_iter().map(|(_, p)| p).collect();
    db.execute(
        "INSERT INTO events (workspace_id, kind, payload)
         SELECT $1, k, p FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS e(k, p, n)
         ORDER BY n",
        &[&workspace_id, &kinds, &payloads],
    )
    .await?;
    Ok(())
}

/// A page of a workspace's events after `after`, in id order.
pub async fn events(
    db: &impl GenericClient,
    workspace_id: Uuid,
    after: i64,
) -> StoreResult<Vec<serde_json::Value>> {
    let rows = db
        .query(
            "SELECT id, kind, payload, created_at FROM events
             WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT 100",
            &[&workspace_id, &after],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let created_at: chrono::DateTime<chrono::Utc> = r.get(3);
            json!({
                "id": r.get::<_, i64>(0),
                "kind": r.get::<_, String>(1),
                "payload": r.get::<_, serde_json::Value>(2),
                "created_at": created_at,
            })
        })
        .collect())
}
