//! `events`: what happened in a workspace, written in the same transaction as what it
//! records.

use serde_json::Value;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// Records `events` (kind, payload) in order, in one statement.
pub async fn record(
    db: &impl GenericClient,
    workspace_id: Uuid,
    events: Vec<(&'static str, Value)>,
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let (kinds, payloads): (Vec<&str>, Vec<Value>) = events.into_iter().unzip();
    let stmt = db
        .prepare_cached(
            "INSERT INTO events (workspace_id, kind, payload)
             SELECT $1, k, p FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS e(k, p, n)
             ORDER BY n",
        )
        .await?;
    db.execute(&stmt, &[&workspace_id, &kinds, &payloads])
        .await?;
    Ok(())
}

/// What happened, as the workspace's feed shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    #[schema(value_type = String)]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A page of the workspace's events.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Events {
    pub events: Vec<Event>,
}

/// A page of a workspace's events after `after`, in id order.
pub async fn after(db: &impl GenericClient, workspace_id: Uuid, after: i64) -> StoreResult<Events> {
    let stmt = db
        .prepare_cached(
            "SELECT id, kind, payload, created_at FROM events
             WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT 100",
        )
        .await?;
    let rows = db.query(&stmt, &[&workspace_id, &after]).await?;
    Ok(Events::from_rows(&rows))
}

impl Events {
    /// A page from rows of `id, kind, payload, created_at` (a workspace's feed, or a
    /// person's own: `account_events`).
    pub fn from_rows(rows: &[tokio_postgres::Row]) -> Events {
        let events = rows
            .iter()
            .map(|r| Event {
                id: r.get(0),
                kind: r.get(1),
                payload: r.get(2),
                created_at: r.get(3),
            })
            .collect();
        Events { events }
    }
}
