//! `users`.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Row> for User {
    fn from(row: Row) -> User {
        User {
            id: row.get("id"),
            email: row.get("email"),
            name: row.get("name"),
            created_at: row.get("created_at"),
        }
    }
}

pub async fn insert(db: &impl GenericClient, email: &str, name: Option<&str>) -> StoreResult<User> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO users (email, name) VALUES ($1, $2)
             RETURNING id, email, name, created_at",
        )
        .await?;
    Ok(db.query_one(&stmt, &[&email, &name]).await?.into())
}

pub async fn find_by_id(db: &impl GenericClient, id: Uuid) -> StoreResult<Option<User>> {
    let stmt = db
        .prepare_cached("SELECT id, email, name, created_at FROM users WHERE id = $1")
        .await?;
    Ok(db.query_opt(&stmt, &[&id]).await?.map(User::from))
}

/// The user with `email` (normalized already), created with no name if there is none.
/// Concurrent calls for one new address create it once (the unique email: the loser's
/// insert does nothing, and its next statement sees the winner's row).
pub async fn find_or_create(db: &impl GenericClient, email: &str) -> StoreResult<User> {
    let insert = db
        .prepare_cached(
            "INSERT INTO users (email) VALUES ($1) ON CONFLICT (email) DO NOTHING
             RETURNING id, email, name, created_at",
        )
        .await?;
    if let Some(row) = db.query_opt(&insert, &[&email]).await? {
        tracing::info!(user_id = %row.get::<_, Uuid>("id"), "user created by an invitation");
        return Ok(row.into());
    }
    // Deleted again between the two statements: worth a retry (503), not a 500.
    find_by_email(db, email).await?.ok_or_else(|| {
        super::StoreError::Unavailable("the user was deleted while being added".to_owned())
    })
}

/// The user with `email` (normalized) and whether the account is suspended, its row
/// held `FOR SHARE` until the transaction ends: a suspension (which locks the row) waits
/// for it, or came first.
pub async fn hold_by_email(
    db: &impl GenericClient,
    email: &str,
) -> StoreResult<Option<(User, bool)>> {
    let stmt = db
        .prepare_cached(
            "SELECT id, email, name, created_at, suspended_at IS NOT NULL AS suspended
             FROM users WHERE email = $1 FOR SHARE",
        )
        .await?;
    Ok(db.query_opt(&stmt, &[&email]).await?.map(|row| {
        let suspended: bool = row.get("suspended");
        (User::from(row), suspended)
    }))
}

/// The user `id` if the account is not suspended: whom a credential may act for.
pub async fn find_active_by_id(db: &impl GenericClient, id: Uuid) -> StoreResult<Option<User>> {
    let stmt = db
        .prepare_cached(
            "SELECT id, email, name, created_at FROM users WHERE id = $1 AND suspended_at IS NULL",
        )
        .await?;
    Ok(db.query_opt(&stmt, &[&id]).await?.map(User::from))
}

/// Suspends (`Some(reason)`, the reason possibly empty) or unsuspends (`None`) the user
/// `id`; a suspension keeps its first time. Whether the user exists.
pub async fn set_suspended(
    db: &impl GenericClient,
    id: Uuid,
    suspension: Option<&str>,
) -> StoreResult<bool> {
    // FOR UPDATE, not the UPDATE's own lock: it also makes a concurrent insert of a
    // credential for the user (its foreign key's KEY SHARE lock) wait, so one made
    // meanwhile is seen by the statements that queue the purge, and purged too.
    let lock = db
        .prepare_cached("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .await?;
    db.query_opt(&lock, &[&id]).await?;
    let stmt = db
        .prepare_cached(
            "UPDATE users
             SET suspended_at = CASE WHEN $2 THEN coalesce(suspended_at, now()) END,
                 suspended_reason = $3
             WHERE id = $1",
        )
        .await?;
    let reason = suspension.filter(|r| !r.is_empty());
    Ok(db
        .execute(&stmt, &[&id, &suspension.is_some(), &reason])
        .await?
        == 1)
}

pub async fn find_by_email(db: &impl GenericClient, email: &str) -> StoreResult<Option<User>> {
    let stmt = db
        .prepare_cached("SELECT id, email, name, created_at FROM users WHERE email = $1")
        .await?;
    Ok(db.query_opt(&stmt, &[&email]).await?.map(User::from))
}
