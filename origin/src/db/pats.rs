//! `personal_access_tokens`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tollgate_shared::TokenHash;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// A PAT as its owner sees it: never the token, never its hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatView {
    pub id: Uuid,
    pub name: String,
    pub token_prefix: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const VIEW_COLUMNS: &str = "id, name, token_prefix, expires_at, last_used_at, created_at";

impl From<Row> for PatView {
    fn from(row: Row) -> PatView {
        PatView {
            id: row.get("id"),
            name: row.get("name"),
            token_prefix: row.get("token_prefix"),
            expires_at: row.get("expires_at"),
            last_used_at: row.get("last_used_at"),
            created_at: row.get("created_at"),
        }
    }
}

pub struct NewPat<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub hash: &'a TokenHash,
    pub prefix: &'a str,
    /// `None`: never expires.
    pub expires_in_days: Option<i32>,
}

pub async fn insert(db: &impl GenericClient, pat: &NewPat<'_>) -> StoreResult<PatView> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO personal_access_tokens
                 (user_id, name, token_hash, token_prefix, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(days => $5::int))
             RETURNING {VIEW_COLUMNS}"
        ))
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[
                &pat.user_id,
                &pat.name,
                &pat.hash.as_str(),
                &pat.prefix,
                &pat.expires_in_days,
            ],
        )
        .await?;
    Ok(PatView::from(row))
}

/// The caller's tokens that are not revoked, expired ones included (so people see what
/// to replace), newest first.
pub async fn list_for_user(db: &impl GenericClient, user_id: Uuid) -> StoreResult<Vec<PatView>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {VIEW_COLUMNS} FROM personal_access_tokens
             WHERE user_id = $1 AND NOT revoked
             ORDER BY created_at DESC, id DESC"
        ))
        .await?;
    let rows = db.query(&stmt, &[&user_id]).await?;
    Ok(rows.into_iter().map(PatView::from).collect())
}

/// What the resolver needs of a usable token.
#[derive(Debug, Clone)]
pub struct ActivePat {
    pub id: Uuid,
    pub user_id: Uuid,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The database's clock, so expiry is judged by one clock.
    pub now: DateTime<Utc>,
}

/// A token that is neither revoked nor expired, by hash.
pub async fn find_active_by_hash(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<ActivePat>> {
    let stmt = db
        .prepare_cached(
            "SELECT id, user_id, expires_at, last_used_at, now() AS now
             FROM personal_access_tokens
             WHERE token_hash = $1 AND NOT revoked
               AND (expires_at IS NULL OR expires_at > now())",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str()])
        .await?
        .map(|row| ActivePat {
            id: row.get("id"),
            user_id: row.get("user_id"),
            expires_at: row.get("expires_at"),
            last_used_at: row.get("last_used_at"),
            now: row.get("now"),
        }))
}

/// Writes `last_used_at` at most once a minute per token: the condition makes racing
/// resolvers harmless and keeps hot tokens from rewriting their row on every request.
pub async fn touch_last_used(db: &impl GenericClient, id: Uuid) -> StoreResult<()> {
    let stmt = db
        .prepare_cached(
            "UPDATE personal_access_tokens SET last_used_at = now()
             WHERE id = $1
               AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        )
        .await?;
    db.execute(&stmt, &[&id]).await?;
    Ok(())
}

/// Revokes the caller's own token. Returns its hash when this call revoked it; `None`
/// when it was already revoked, belongs to someone else or does not exist.
pub async fn revoke(
    db: &impl GenericClient,
    id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<TokenHash>> {
    let stmt = db
        .prepare_cached(
            "UPDATE personal_access_tokens SET revoked = true
             WHERE id = $1 AND user_id = $2 AND NOT revoked
             RETURNING token_hash",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &user_id])
        .await?
        .and_then(|row| TokenHash::from_hex(row.get("token_hash"))))
}

/// A token's standing, whatever its state, for a renewal to judge.
#[derive(Debug, Clone)]
pub struct PatStanding {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Revoked or expired.
    pub dead: bool,
    pub expires_at: Option<DateTime<Utc>>,
    /// Under the renewal window (7 days or less left).
    pub renewable: bool,
}

/// How close to expiry a token must be before a renewal extends it.
pub const RENEWAL_WINDOW_DAYS: i32 = 7;
/// How far a renewal extends it.
pub const RENEWAL_DAYS: i32 = 90;

pub async fn standing(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<PatStanding>> {
    let stmt = db
        .prepare_cached(
            "SELECT id, user_id,
                    revoked OR (expires_at IS NOT NULL AND expires_at <= now()),
                    expires_at,
                    expires_at IS NOT NULL AND expires_at <= now() + make_interval(days => $2::int)
             FROM personal_access_tokens WHERE token_hash = $1",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str(), &RENEWAL_WINDOW_DAYS])
        .await?
        .map(|row| PatStanding {
            id: row.get(0),
            user_id: row.get(1),
            dead: row.get(2),
            expires_at: row.get(3),
            renewable: row.get(4),
        }))
}

/// The compare-and-set of a renewal: extends the token by 90 days if, and only if, it
/// is live and inside the renewal window. Of concurrent renewals one gets the new expiry;
/// the others find it outside the window and get `None`.
pub async fn renew(db: &impl GenericClient, id: Uuid) -> StoreResult<Option<DateTime<Utc>>> {
    let stmt = db
        .prepare_cached(
            "UPDATE personal_access_tokens
             SET expires_at = now() + make_interval(days => $3::int)
             WHERE id = $1 AND NOT revoked AND expires_at IS NOT NULL
               AND expires_at > now()
               AND expires_at <= now() + make_interval(days => $2::int)
             RETURNING expires_at",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &RENEWAL_WINDOW_DAYS, &RENEWAL_DAYS])
        .await?
        .map(|row| row.get(0)))
}

pub async fn expires_at(db: &impl GenericClient, id: Uuid) -> StoreResult<Option<DateTime<Utc>>> {
    let stmt = db
        .prepare_cached("SELECT expires_at FROM personal_access_tokens WHERE id = $1")
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id])
        .await?
        .and_then(|row| row.get(0)))
}
