//! Minting and revoking personal access tokens: the rules shared by the HTTP API and
//! the admin CLI.

use deadpool_postgres::Pool;
use serde::Serialize;
use tollgate_shared::{cache_key, Access, AuthError, RawToken, Scope, TokenHash, TokenKind};
use uuid::Uuid;

use crate::db::pats::{self as store, PatView};
use crate::db::{in_transaction, members};
use crate::domain_error::{DomainError, DomainResult};
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::{validate, workspaces};

pub const MAX_EXPIRES_IN_DAYS: i64 = 3650;

/// The one response that ever carries the raw token (which still redacts itself in
/// `Debug`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedPat {
    #[serde(flatten)]
    pub view: PatView,
    #[schema(value_type = String)]
    pub token: RawToken,
}

/// Checks a requested name and lifetime; returns the trimmed name and the lifetime in
/// days (`None`: never expires; absent or ≤ 0 means that).
pub fn validate(
    name: Option<&str>,
    expires_in_days: Option<i64>,
) -> DomainResult<(String, Option<i32>)> {
    let name = validate::name(name)?;
    let days = match expires_in_days {
        None => None,
        Some(d) if d <= 0 => None,
        Some(d) if d > MAX_EXPIRES_IN_DAYS => return Err(Refusal::ExpiryTooLong.into()),
        // At most 3650 here, so it fits.
        Some(d) => i32::try_from(d).ok(),
    };
    Ok((name, days))
}

/// The scope a token is asked for: `workspace_id` parsed as a path's id is (not a
/// UUID: no such workspace), `access` one of its two names (absent: `write`).
pub fn requested_scope(workspace_id: Option<&str>, access: Option<&str>) -> DomainResult<Scope> {
    let workspace = workspace_id.map(workspaces::parse_id).transpose()?;
    let access = match access {
        None => Access::Write,
        Some(name) => Access::from_name(name).ok_or(Refusal::InvalidAccess)?,
    };
    Ok(Scope { workspace, access })
}

/// Who grants a new PAT: the scope of their own credential, and, when that is a scoped
/// PAT, the PAT itself, which what it mints must not outlive.
#[derive(Debug, Clone, Copy)]
pub struct Granter {
    pub scope: Scope,
    pub token: Option<TokenHash>,
}

impl Granter {
    /// An operator at the command line, a session, an unscoped PAT.
    pub const UNSCOPED: Granter = Granter {
        scope: Scope::UNSCOPED,
        token: None,
    };
}

/// Mints a PAT of `scope` for `user_id`, never wider than what `by` has
/// (`403 token cannot grant more than it has`): not a wider scope, and, from a scoped
/// PAT with an expiry, not a token that outlives it. Bound only to a workspace the user
/// is a member of, checked under the membership's lock (a removal waits for the insert,
/// then revokes the token; or it came first, and the workspace is not found).
pub async fn mint(
    pool: &Pool,
    user_id: Uuid,
    by: Granter,
    name: &str,
    expires_in_days: Option<i32>,
    scope: Scope,
) -> DomainResult<CreatedPat> {
    if !by.scope.may_grant(scope) {
        return Err(AuthError::CannotGrant.into());
    }
    // A scoped PAT is always presented in `Authorization`; without it there is no
    // expiry to stay under, so nothing is minted.
    let outlived = match (by.scope.is_unscoped(), by.token) {
        (true, _) => None,
        (false, Some(own)) => Some(own),
        (false, None) => return Err(AuthError::CannotGrant.into()),
    };
    let name = name.to_owned();
    in_transaction(pool, move |tx| {
        Box::pin(async move {
            if let Some(own) = outlived {
                // Held until the commit: a revocation of the granting token either
                // came first (nothing is minted) or waits for this one.
                let limit = store::hold_live(tx, &own)
                    .await?
                    .ok_or(AuthError::InvalidToken)?;
                if let Some(limit) = limit {
                    if !store::expires_by(tx, expires_in_days, limit).await? {
                        return Err(AuthError::CannotGrant.into());
                    }
                }
            }
            insert(tx, user_id, &name, expires_in_days, scope).await
        })
    })
    .await
}

/// In `tx`: a new PAT of `scope` for `user_id` — the caller has checked that whoever
/// grants it may. Bound only to a workspace the user is a member of, checked under the
/// membership's lock, held until `tx` ends (a removal waits for the insert, then revokes
/// the token; or it came first, and the workspace is not found).
pub async fn insert(
    tx: &deadpool_postgres::Transaction<'_>,
    user_id: Uuid,
    name: &str,
    expires_in_days: Option<i32>,
    scope: Scope,
) -> DomainResult<CreatedPat> {
    let raw = RawToken::generate(TokenKind::Pat)?;
    if let Some(workspace_id) = scope.workspace {
        if members::hold(tx, workspace_id, &[user_id])
            .await?
            .is_empty()
        {
            return Err(Refusal::WorkspaceNotFound.into());
        }
    }
    let pat = store::NewPat {
        user_id,
        name,
        hash: &raw.hash(),
        prefix: raw.display_prefix(),
        expires_in_days,
        scope,
    };
    let view = store::insert(tx, &pat).await.map_err(|e| {
        if e.is_foreign_key_violation() {
            // The caller's user is gone (an identity still cached at the edge, or
            // stamped just before the row was deleted): no identity, not a 500.
            DomainError::Auth(AuthError::InvalidToken)
        } else {
            DomainError::from(e)
        }
    })?;
    tracing::info!(token_id = %view.id, prefix = %view.token_prefix, bound = view.workspace_id.is_some(), access = view.access.as_str(), "personal access token created");
    Ok(CreatedPat { view, token: raw })
}

/// Revokes the caller's token and, in the same transaction, queues its cache key for
/// purging; then tries the purge once before returning. Idempotent: a token that is
/// already revoked, someone else's, unknown, or out of a bound caller's reach (`by`:
/// only tokens bound to its own workspace) changes nothing.
pub async fn revoke(outbox: &Outbox, user_id: Uuid, by: Scope, token_id: Uuid) -> DomainResult<()> {
    outbox
        .revoking(move |tx| {
            Box::pin(async move {
                let Some(hash) = store::revoke(tx, token_id, user_id, by.workspace).await? else {
                    return Ok(((), Vec::new()));
                };
                tracing::info!(%token_id, "personal access token revoked");
                Ok::<_, DomainError>(((), vec![cache_key(TokenKind::Pat, &hash).to_string()]))
            })
        })
        .await
}

/// What a renewal answers: the expiry after it (`""` for a token that never expires) and
/// whether this very call extended it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Renewal {
    pub expires_at: String,
    pub renewed: bool,
}

fn rfc3339(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Renews the PAT `hash` for `user_id`: the conditional `UPDATE` decides (exactly one of
/// any number of concurrent renewals extends it), and the token's cache key is queued
/// for purging in the same transaction, so the edge re-resolves it and serves the new
/// expiry.
pub async fn renew(outbox: &Outbox, user_id: Uuid, hash: &TokenHash) -> DomainResult<Renewal> {
    let hash = *hash;
    outbox
        .revoking(move |tx| {
            Box::pin(async move {
                let standing = store::standing(tx, &hash)
                    .await?
                    .filter(|s| !s.dead)
                    .ok_or(AuthError::TokenNoLongerValid)?;
                if standing.user_id != user_id {
                    return Err(AuthError::TokenNotCallers.into());
                }
                if !standing.renewable {
                    // No expiry, or 7 days or more left: nothing to write.
                    let renewal = Renewal {
                        expires_at: rfc3339(standing.expires_at),
                        renewed: false,
                    };
                    return Ok((renewal, Vec::new()));
                }
                let Some(new) = store::renew(tx, standing.id).await? else {
                    // A concurrent renewal won (or the token died meanwhile): report
                    // what is now (a new statement sees what the winner committed).
                    let current = store::standing(tx, &hash)
                        .await?
                        .filter(|s| !s.dead)
                        .ok_or(AuthError::TokenNoLongerValid)?;
                    let renewal = Renewal {
                        expires_at: rfc3339(current.expires_at),
                        renewed: false,
                    };
                    return Ok((renewal, Vec::new()));
                };
                tracing::info!("personal access token renewed");
                let renewal = Renewal {
                    expires_at: rfc3339(Some(new)),
                    renewed: true,
                };
                Ok::<_, DomainError>((renewal, vec![cache_key(TokenKind::Pat, &hash).to_string()]))
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: DomainResult<(String, Option<i32>)>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn names() {
        assert_eq!(msg(validate(None, None)), "name is required");
        assert_eq!(msg(validate(Some(" \t "), None)), "name is required");
        assert_eq!(validate(Some(" ci "), None).unwrap().0, "ci");
        assert!(validate(Some(&"é".repeat(100)), None).is_ok());
        assert_eq!(
            msg(validate(Some(&"a".repeat(101)), None)),
            "name is too long"
        );
        for bad in ["\u{0}abc", "a\nb", "tab\there", "\u{7f}"] {
            assert_eq!(
                msg(validate(Some(bad), None)),
                "name must not contain control characters",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn created_pats_show_the_token_once_and_never_in_debug() {
        let raw = RawToken::generate(TokenKind::Pat).unwrap();
        let created = CreatedPat {
            view: PatView {
                id: Uuid::nil(),
                name: "ci".into(),
                token_prefix: raw.display_prefix().into(),
                expires_at: None,
                last_used_at: None,
                created_at: chrono::Utc::now(),
                workspace_id: None,
                access: Access::Write,
            },
            token: raw.clone(),
        };
        assert!(!format!("{created:?}").contains(&raw.expose()[12..]));
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["token"], raw.expose());
    }

    #[test]
    fn lifetimes() {
        assert_eq!(validate(Some("a"), Some(0)).unwrap().1, None);
        assert_eq!(validate(Some("a"), Some(-5)).unwrap().1, None);
        assert_eq!(validate(Some("a"), Some(3650)).unwrap().1, Some(3650));
        assert_eq!(
            msg(validate(Some("a"), Some(3651))),
            "expires_in_days must be at most 3650"
        );
        assert_eq!(
            msg(validate(Some("a"), Some(i64::MAX))),
            "expires_in_days must be at most 3650"
        );
    }
}
