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

pub async fn find_by_email(db: &impl GenericClient, email: &str) -> StoreResult<Option<User>> {
    let stmt = db
        .prepare_cached("SELECT id, email, name, created_at FROM users WHERE email = $1")
        .await?;
    Ok(db.query_opt(&stmt, &[&email]).await?.map(User::from))
}
