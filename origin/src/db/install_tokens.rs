//! `install_tokens`: short-lived, single-use tokens a daemon exchanges for its own.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tollgate_shared::TokenHash;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// An install token as its issuer sees it after minting (the token itself is added by
/// the caller, once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InstallTokenView {
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// The member the daemon it enrolls will act for.
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// An install token as the workspace's admins follow it: whether a daemon has used it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InstallTokenStatus {
    #[serde(flatten)]
    pub view: InstallTokenView,
    /// When it was exchanged for a daemon token; `None` while it waits.
    pub used_at: Option<DateTime<Utc>>,
    /// The daemon that used it.
    pub daemon_id: Option<String>,
}

/// The install token `id` of the workspace, as [`InstallTokenStatus`] shows it.
pub async fn status(
    db: &impl GenericClient,
    workspace_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<InstallTokenStatus>> {
    let stmt = db
        .prepare_cached(
            "SELECT id, workspace_id, user_id, expires_at, created_at, used_at, used_by_daemon_id
             FROM install_tokens WHERE id = $1 AND workspace_id = $2",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &workspace_id])
        .await?
        .map(|r| InstallTokenStatus {
            view: InstallTokenView {
                id: r.get(0),
                workspace_id: r.get(1),
                user_id: r.get(2),
                expires_at: r.get(3),
                created_at: r.get(4),
            },
            used_at: r.get(5),
            daemon_id: r.get(6),
        }))
}

/// How long an install token can be exchanged.
pub const LIFETIME_MINUTES: i32 = 15;

/// An install token minted by `created_by` for the member `user_id`; `None` when
/// `user_id` is not a member of the workspace (checked by the statement itself).
pub async fn insert(
    db: &impl GenericClient,
    hash: &TokenHash,
    workspace_id: Uuid,
    created_by: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<InstallTokenView>> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO install_tokens (token_hash, workspace_id, created_by, user_id, expires_at)
             SELECT $1, $2, $3, m.user_id, now() + make_interval(mins => $5::int)
             FROM members m JOIN users u ON u.id = m.user_id AND u.suspended_at IS NULL
             WHERE m.workspace_id = $2 AND m.user_id = $4
             RETURNING id, workspace_id, user_id, expires_at, created_at",
        )
        .await?;
    let row = db
        .query_opt(
            &stmt,
            &[
                &hash.as_str(),
                &workspace_id,
                &created_by,
                &user_id,
                &LIFETIME_MINUTES,
            ],
        )
        .await?;
    Ok(row.map(|row| InstallTokenView {
        id: row.get(0),
        workspace_id: row.get(1),
        user_id: row.get(2),
        expires_at: row.get(3),
        created_at: row.get(4),
    }))
}

/// The workspace, member and issuer of a token, whatever its state: whose memberships
/// an exchange must hold before it decides.
pub async fn parties(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<(Uuid, [Uuid; 2])>> {
    let stmt = db
        .prepare_cached(
            "SELECT workspace_id, user_id, created_by FROM install_tokens WHERE token_hash = $1",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str()])
        .await?
        .map(|row| (row.get(0), [row.get(1), row.get(2)])))
}

/// What a successful exchange consumed.
#[derive(Debug, Clone, Copy)]
pub struct Consumed {
    pub workspace_id: Uuid,
    pub issuer: Uuid,
    pub user_id: Uuid,
}

/// The one statement that decides an exchange: it marks the token used if, and only
/// if, it is unused, unexpired, its member is still in the workspace and its issuer is
/// still an owner or admin there. Of any number of concurrent calls, at most one gets
/// `Some`.
pub async fn consume(
    db: &impl GenericClient,
    hash: &TokenHash,
    daemon_id: &str,
) -> StoreResult<Option<Consumed>> {
    let stmt = db
        .prepare_cached(
            "UPDATE install_tokens t
             SET used_at = now(), used_by_daemon_id = $2
             WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
               AND EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id
                           WHERE m.workspace_id = t.workspace_id AND m.user_id = t.user_id
                             AND u.suspended_at IS NULL)
               AND EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id
                           WHERE m.workspace_id = t.workspace_id
                             AND m.user_id = t.created_by
                             AND m.role IN ('owner', 'admin')
                             AND u.suspended_at IS NULL)
             RETURNING t.workspace_id, t.created_by, t.user_id",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str(), &daemon_id])
        .await?
        .map(|row| Consumed {
            workspace_id: row.get(0),
            issuer: row.get(1),
            user_id: row.get(2),
        }))
}

/// Why a token could not be consumed, in the order the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotConsumed {
    UnknownOrExpired,
    AlreadyUsed,
    MemberGone,
    IssuerNotAuthorized,
}

/// Reads why [`consume`] refused: only to choose the message, never to decide.
pub async fn why_not_consumed(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<NotConsumed> {
    let stmt = db
        .prepare_cached(
            "SELECT t.expires_at <= now(), t.used_at IS NOT NULL,
                    NOT EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id
                                WHERE m.workspace_id = t.workspace_id AND m.user_id = t.user_id
                                  AND u.suspended_at IS NULL)
             FROM install_tokens t WHERE t.token_hash = $1",
        )
        .await?;
    Ok(match db.query_opt(&stmt, &[&hash.as_str()]).await? {
        None => NotConsumed::UnknownOrExpired,
        Some(row) if row.get::<_, bool>(0) => NotConsumed::UnknownOrExpired,
        Some(row) if row.get::<_, bool>(1) => NotConsumed::AlreadyUsed,
        Some(row) if row.get::<_, bool>(2) => NotConsumed::MemberGone,
        Some(_) => NotConsumed::IssuerNotAuthorized,
    })
}
