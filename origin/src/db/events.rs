//! `events`: what happened in a workspace, written in the same transaction as what it
//! records.

use serde_json::Value;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// The channel a commit announces a workspace's new events on, as
/// `{workspace_id}:{first_id}:{last_id}` (see [`record`]).
pub const CHANNEL: &str = "tollgate_events";

/// Records `events` (kind, payload) in order and announces them on [`CHANNEL`], both in
/// the caller's transaction: a listener hears of them if and only if they commit.
///
/// The workspace's event lock is taken first and held until the transaction ends, so
/// one workspace's events commit in id order: a stream that has delivered id `n` has
/// seen every event of the workspace up to `n`, which is what makes `?after=n` exact
/// (no event with a smaller id can commit later). Call it last in a transaction, after
/// every row lock: waiting on it then never closes a cycle. A transaction that records
/// in several workspaces records them in id order ([`record_each`]).
pub async fn record(
    db: &impl GenericClient,
    workspace_id: Uuid,
    events: Vec<(&'static str, Value)>,
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let lock = db
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended('events:' || $1::text, 0))")
        .await?;
    db.execute(&lock, &[&workspace_id.to_string()]).await?;
    let (kinds, payloads): (Vec<&str>, Vec<Value>) = events.into_iter().unzip();
    let stmt = db
        .prepare_cached(
            "WITH written AS (
                 INSERT INTO events (workspace_id, kind, payload)
                 SELECT $1, k, p FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS e(k, p, n)
                 ORDER BY n
                 RETURNING id
             )
             SELECT pg_notify($4, $1::text || ':' || min(id) || ':' || max(id))
             FROM written",
        )
        .await?;
    db.execute(&stmt, &[&workspace_id, &kinds, &payloads, &CHANNEL])
        .await?;
    Ok(())
}

/// [`record`] for several workspaces in one transaction: in workspace id order, so two
/// such transactions take the workspaces' event locks in the same order.
pub async fn record_each(
    db: &impl GenericClient,
    mut events: Vec<(Uuid, &'static str, Value)>,
) -> StoreResult<()> {
    events.sort_by_key(|(workspace_id, _, _)| *workspace_id);
    let mut events = events.into_iter().peekable();
    while let Some((workspace_id, kind, payload)) = events.next() {
        let mut batch = vec![(kind, payload)];
        while let Some((_, kind, payload)) = events.next_if(|(w, _, _)| *w == workspace_id) {
            batch.push((kind, payload));
        }
        record(db, workspace_id, batch).await?;
    }
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

/// Events in one page of a feed at most.
pub const PAGE: usize = 100;

/// A page of a workspace's events after `after`, in id order.
pub async fn after(db: &impl GenericClient, workspace_id: Uuid, after: i64) -> StoreResult<Events> {
    let stmt = db
        .prepare_cached(
            "SELECT id, kind, payload, created_at FROM events
             WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .await?;
    let rows = db
        .query(&stmt, &[&workspace_id, &after, &(PAGE as i64)])
        .await?;
    Ok(Events::from_rows(&rows))
}

/// The workspace's events from `first` to `last` (an announcement of [`record`]), in
/// id order.
pub async fn between(
    db: &impl GenericClient,
    workspace_id: Uuid,
    first: i64,
    last: i64,
) -> StoreResult<Events> {
    let stmt = db
        .prepare_cached(
            "SELECT id, kind, payload, created_at FROM events
             WHERE workspace_id = $1 AND id BETWEEN $2 AND $3 ORDER BY id",
        )
        .await?;
    let rows = db.query(&stmt, &[&workspace_id, &first, &last]).await?;
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
