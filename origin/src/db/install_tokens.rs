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
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// How long an install token can be exchanged.
pub const LIFETIME_MINUTES: i32 = 15;

pub async fn insert(
    db: &impl GenericClient,
    hash: &TokenHash,
    workspace_id: Uuid,
    created_by: Uuid,
) -> StoreResult<InstallTokenView> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO install_tokens (token_hash, workspace_id, created_by, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(mins => $4::int))
             RETURNING id, workspace_id, expires_at, created_at",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[
                &hash.as_str(),
                &workspace_id,
                &created_by,
                &LIFETIME_MINUTES,
            ],
        )
        .await?;
    Ok(InstallTokenView {
        id: row.get(0),
        workspace_id: row.get(1),
        expires_at: row.get(2),
        created_at: row.get(3),
    })
}

/// The one statement that decides an exchange: it marks the token used if, and only
/// if, it is unused, unexpired and its issuer is still an owner or admin of the
/// workspace. Of any number of concurrent calls, at most one gets `Some`:
/// `(workspace_id, issuer)`.
pub async fn consume(
    db: &impl GenericClient,
    hash: &TokenHash,
    daemon_id: &str,
) -> StoreResult<Option<(Uuid, Uuid)>> {
    let stmt = db
        .prepare_cached(
            "UPDATE install_tokens t
             SET used_at = now(), used_by_daemon_id = $2
             WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
               AND EXISTS (SELECT 1 FROM members m
                           WHERE m.workspace_id = t.workspace_id
                             AND m.user_id = t.created_by
                             AND m.role IN ('owner', 'admin'))
             RETURNING t.workspace_id, t.created_by",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str(), &daemon_id])
        .await?
        .map(|row| (row.get(0), row.get(1))))
}

/// Why a token could not be consumed, in the order the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownOrExpired,
    AlreadyUsed,
    IssuerNotAuthorized,
}

/// Reads why [`consume`] refused: only to choose the message, never to decide.
pub async fn refusal(db: &impl GenericClient, hash: &TokenHash) -> StoreResult<Refusal> {
    let stmt = db
        .prepare_cached(
            "SELECT expires_at <= now(), used_at IS NOT NULL FROM install_tokens
             WHERE token_hash = $1",
        )
        .await?;
    Ok(match db.query_opt(&stmt, &[&hash.as_str()]).await? {
        None => Refusal::UnknownOrExpired,
        Some(row) if row.get::<_, bool>(0) => Refusal::UnknownOrExpired,
        Some(row) if row.get::<_, bool>(1) => Refusal::AlreadyUsed,
        Some(_) => Refusal::IssuerNotAuthorized,
    })
}
