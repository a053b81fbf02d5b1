//! `account_events`: what happened to a person's own credentials, outside any workspace
//! (the feed of `GET /api/events`), written in the same transaction as what it records.

use serde_json::Value;
use uuid::Uuid;

use super::events::Events;
use super::{GenericClient, StoreResult};

/// Records one event for `user_id`.
pub async fn record(
    db: &impl GenericClient,
    user_id: Uuid,
    kind: &str,
    payload: &Value,
) -> StoreResult<()> {
    let stmt = db
        .prepare_cached("INSERT INTO account_events (user_id, kind, payload) VALUES ($1, $2, $3)")
        .await?;
    db.execute(&stmt, &[&user_id, &kind, payload]).await?;
    Ok(())
}

/// A page of `user_id`'s events after `after`, in id order.
pub async fn after(db: &impl GenericClient, user_id: Uuid, after: i64) -> StoreResult<Events> {
    let stmt = db
        .prepare_cached(
            "SELECT id, kind, payload, created_at FROM account_events
             WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT 100",
        )
        .await?;
    let rows = db.query(&stmt, &[&user_id, &after]).await?;
    Ok(Events::from_rows(&rows))
}
