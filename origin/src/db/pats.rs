//! `personal_access_tokens`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tollgate_shared::{Access, Scope, TokenHash};
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
    /// The one workspace the token works in; `null`: every workspace of its user.
    pub workspace_id: Option<Uuid>,
    /// `write` (anything its user may) or `read` (`GET` and `HEAD` only).
    pub access: Access,
}

const VIEW_COLUMNS: &str =
    "id, name, token_prefix, expires_at, last_used_at, created_at, workspace_id, access";

/// A stored access, which the table's CHECK keeps to the two names.
fn access(row: &Row) -> Access {
    Access::from_name(row.get("access")).unwrap_or(Access::Read)
}

impl PatView {
    pub fn scope(&self) -> Scope {
        Scope {
            workspace: self.workspace_id,
            access: self.access,
        }
    }
}

impl From<Row> for PatView {
    fn from(row: Row) -> PatView {
        PatView {
            id: row.get("id"),
            name: row.get("name"),
            token_prefix: row.get("token_prefix"),
            expires_at: row.get("expires_at"),
            last_used_at: row.get("last_used_at"),
            created_at: row.get("created_at"),
            workspace_id: row.get("workspace_id"),
            access: access(&row),
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
    pub scope: Scope,
}

pub async fn insert(db: &impl GenericClient, pat: &NewPat<'_>) -> StoreResult<PatView> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO personal_access_tokens
                 (user_id, name, token_hash, token_prefix, expires_at, workspace_id, access)
             VALUES ($1, $2, $3, $4, now() + make_interval(days => $5::int), $6, $7)
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
                &pat.scope.workspace,
                &pat.scope.access.as_str(),
            ],
        )
        .await?;
    Ok(PatView::from(row))
}

/// The caller's tokens that are not revoked, expired ones included (so people see what
/// to replace), newest first; with `bound_to`, only those bound to that workspace.
pub async fn list_for_user(
    db: &impl GenericClient,
    user_id: Uuid,
    bound_to: Option<Uuid>,
) -> StoreResult<Vec<PatView>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {VIEW_COLUMNS} FROM personal_access_tokens
             WHERE user_id = $1 AND NOT revoked
               AND ($2::uuid IS NULL OR workspace_id = $2)
             ORDER BY created_at DESC, id DESC"
        ))
        .await?;
    let rows = db.query(&stmt, &[&user_id, &bound_to]).await?;
    Ok(rows.into_iter().map(PatView::from).collect())
}

/// What the resolver needs of a usable token.
#[derive(Debug, Clone)]
pub struct ActivePat {
    pub id: Uuid,
    pub user_id: Uuid,
    pub scope: Scope,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The database's clock, so expiry is judged by one clock.
    pub now: DateTime<Utc>,
}

/// A token that is neither revoked nor expired, by hash. A token bound to a workspace
/// also needs its user to be a member there: its removal revokes it, and this holds even
/// for one minted in a race with the removal.
pub async fn find_active_by_hash(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<ActivePat>> {
    let stmt = db
        .prepare_cached(
            "SELECT p.id, p.user_id, p.workspace_id, p.access, p.expires_at, p.last_used_at,
                    now() AS now
             FROM personal_access_tokens p
             WHERE p.token_hash = $1 AND NOT p.revoked
               AND (p.expires_at IS NULL OR p.expires_at > now())
               AND (p.workspace_id IS NULL OR EXISTS (
                   SELECT 1 FROM members m
                   WHERE m.workspace_id = p.workspace_id AND m.user_id = p.user_id))
               AND EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id AND u.suspended_at IS NULL)",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str()])
        .await?
        .map(|row| ActivePat {
            id: row.get("id"),
            user_id: row.get("user_id"),
            scope: Scope {
                workspace: row.get("workspace_id"),
                access: access(&row),
            },
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

/// Revokes the caller's own token (with `bound_to`, only one bound to that workspace).
/// Returns its hash when this call revoked it; `None` when it was already revoked,
/// belongs to someone else, is out of reach or does not exist.
pub async fn revoke(
    db: &impl GenericClient,
    id: Uuid,
    user_id: Uuid,
    bound_to: Option<Uuid>,
) -> StoreResult<Option<TokenHash>> {
    let stmt = db
        .prepare_cached(
            "UPDATE personal_access_tokens SET revoked = true
             WHERE id = $1 AND user_id = $2 AND NOT revoked
               AND ($3::uuid IS NULL OR workspace_id = $3)
             RETURNING token_hash",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &user_id, &bound_to])
        .await?
        .and_then(|row| TokenHash::from_hex(row.get("token_hash"))))
}

/// A live PAT a leak report revoked, and whom to tell.
#[derive(Debug, Clone)]
pub struct LeakedPat {
    pub id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub token_prefix: String,
    pub hash: TokenHash,
}

/// Revokes the live (unrevoked, unexpired) PATs among `hashes`, in one statement; those
/// this call revoked, with their owners' addresses.
pub async fn revoke_leaked(
    db: &impl GenericClient,
    hashes: &[&str],
) -> StoreResult<Vec<LeakedPat>> {
    let stmt = db
        .prepare_cached(
            "WITH revoked AS (
                 UPDATE personal_access_tokens SET revoked = true
                 WHERE token_hash = ANY($1) AND NOT revoked
                   AND (expires_at IS NULL OR expires_at > now())
                 RETURNING id, user_id, name, token_prefix, token_hash
             )
             SELECT r.id, r.user_id, u.email, r.name, r.token_prefix, r.token_hash
             FROM revoked r JOIN users u ON u.id = r.user_id",
        )
        .await?;
    let rows = db.query(&stmt, &[&hashes]).await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(LeakedPat {
                id: row.get(0),
                user_id: row.get(1),
                email: row.get(2),
                name: row.get(3),
                token_prefix: row.get(4),
                hash: TokenHash::from_hex(row.get(5))?,
            })
        })
        .collect())
}

/// The hashes of `user_id`'s live tokens (for purging them when the account is
/// suspended: they come back when it is not).
pub async fn live_hashes(db: &impl GenericClient, user_id: Uuid) -> StoreResult<Vec<TokenHash>> {
    let stmt = db
        .prepare_cached(
            "SELECT token_hash FROM personal_access_tokens
             WHERE user_id = $1 AND NOT revoked AND (expires_at IS NULL OR expires_at > now())",
        )
        .await?;
    Ok(super::hashes(&db.query(&stmt, &[&user_id]).await?))
}

/// Revokes `user_id`'s tokens bound to `workspace_id` (their removal from it: such
/// tokens have no other use). Returns the hashes this call revoked, for purging.
pub async fn revoke_bound(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Vec<TokenHash>> {
    let stmt = db
        .prepare_cached(
            "UPDATE personal_access_tokens SET revoked = true
             WHERE workspace_id = $1 AND user_id = $2 AND NOT revoked
             RETURNING token_hash",
        )
        .await?;
    Ok(super::hashes(
        &db.query(&stmt, &[&workspace_id, &user_id]).await?,
    ))
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

/// A live token's expiry (`Some(None)`: it never expires), its row held `FOR SHARE`
/// until the transaction ends; `None` when it is revoked, expired or unknown.
pub async fn hold_live(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<Option<DateTime<Utc>>>> {
    let stmt = db
        .prepare_cached(
            "SELECT expires_at FROM personal_access_tokens
             WHERE token_hash = $1 AND NOT revoked
               AND (expires_at IS NULL OR expires_at > now())
             FOR SHARE",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str()])
        .await?
        .map(|row| row.get(0)))
}

/// Whether a token minted now for `expires_in_days` (`None`: never expires) would expire
/// by `limit`, by the database's clock.
pub async fn expires_by(
    db: &impl GenericClient,
    expires_in_days: Option<i32>,
    limit: DateTime<Utc>,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "SELECT $1::int IS NOT NULL AND now() + make_interval(days => $1::int) <= $2",
        )
        .await?;
    Ok(db
        .query_one(&stmt, &[&expires_in_days, &limit])
        .await?
        .get(0))
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
