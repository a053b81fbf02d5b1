//! Daemons: install tokens minted by workspace admins, exchanged exactly once for a
//! daemon token bound to the workspace and the daemon, and revoked by admins.

use chrono::SecondsFormat;
use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::Value;
use tollgate_shared::wire::ExchangeAnswer;
use tollgate_shared::{cache_key, AuthError, RawToken, TokenHash, TokenKind};
use uuid::Uuid;

use crate::db::daemon_tokens::{self, NewDaemonToken};
use crate::db::install_tokens::{self, InstallTokenView, Refusal};
use crate::db::{bounded, GenericClient};
use crate::http::{AppError, AppResult};
use crate::outbox::Outbox;

/// The one response that carries a new install token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MintedInstallToken {
    #[serde(flatten)]
    pub view: InstallTokenView,
    #[schema(value_type = String)]
    pub token: RawToken,
}

pub const MAX_DAEMON_ID_BYTES: usize = 128;

/// `daemon_id` from a request body: present, non-empty, at most 128 bytes of
/// `[A-Za-z0-9._-]` (it ends up in headers and log lines).
pub fn daemon_id(value: Option<&Value>) -> AppResult<String> {
    let invalid = AppError::BadRequest("invalid daemon_id");
    match value {
        None | Some(Value::Null) => Err(AppError::BadRequest("daemon_id is required")),
        Some(Value::String(s)) if s.is_empty() => {
            Err(AppError::BadRequest("daemon_id is required"))
        }
        Some(Value::String(s)) => {
            let ok = s.len() <= MAX_DAEMON_ID_BYTES
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if ok {
                Ok(s.clone())
            } else {
                Err(invalid)
            }
        }
        Some(_) => Err(invalid),
    }
}

pub async fn mint_install_token(
    db: &impl GenericClient,
    workspace_id: Uuid,
    issuer: Uuid,
) -> AppResult<MintedInstallToken> {
    let raw =
        RawToken::generate(TokenKind::Install).map_err(|e| AppError::Internal(e.to_string()))?;
    let view = install_tokens::insert(db, &raw.hash(), workspace_id, issuer).await?;
    tracing::info!(install_token_id = %view.id, %workspace_id, "install token minted");
    Ok(MintedInstallToken { view, token: raw })
}

/// Exchanges an install token for a daemon token: one conditional `UPDATE` decides
/// (unused, unexpired, issuer still owner or admin), and the daemon token is inserted in
/// the same transaction, so of any number of concurrent exchanges exactly one succeeds
/// and nothing half-done survives a failure.
pub async fn exchange(pool: &Pool, raw: &str, daemon_id: &str) -> AppResult<ExchangeAnswer> {
    let hash = TokenHash::of(raw);
    bounded(async {
        let mut db = pool.get().await?;
        let tx = db.transaction().await?;
        let Some((workspace_id, issuer)) = install_tokens::consume(&tx, &hash, daemon_id).await?
        else {
            // Only to choose the message: the decision above is final.
            let refusal = install_tokens::refusal(&tx, &hash).await?;
            return Err(AppError::Auth(match refusal {
                Refusal::UnknownOrExpired => AuthError::InvalidInstallToken,
                Refusal::AlreadyUsed => AuthError::InstallTokenAlreadyUsed,
                Refusal::IssuerNotAuthorized => AuthError::IssuerNotAuthorized,
            }));
        };
        let token =
            RawToken::generate(TokenKind::Daemon).map_err(|e| AppError::Internal(e.to_string()))?;
        let view = daemon_tokens::insert(
            &tx,
            &NewDaemonToken {
                hash: &token.hash(),
                prefix: token.display_prefix(),
                workspace_id,
                daemon_id,
                owner_id: issuer,
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(daemon_token_id = %view.id, %workspace_id, daemon_id, "daemon enrolled");
        Ok(ExchangeAnswer {
            token,
            workspace_id,
            daemon_id: view.daemon_id,
            expires_at: view.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    })
    .await
}

/// Revokes a daemon token of the workspace and purges it from the edge before
/// returning. Idempotent.
pub async fn revoke_daemon_token(
    pool: &Pool,
    outbox: &Outbox,
    workspace_id: Uuid,
    token_id: Uuid,
) -> AppResult<()> {
    let queued = bounded(async {
        let mut db = pool.get().await?;
        let tx = db.transaction().await?;
        let Some(hash) = daemon_tokens::revoke(&tx, token_id, workspace_id).await? else {
            return Ok(None);
        };
        let queued = outbox
            .enqueue(&tx, vec![cache_key(TokenKind::Daemon, &hash).to_string()])
            .await?;
        tx.commit().await?;
        Ok::<_, AppError>(Some(queued))
    })
    .await?;
    if let Some(queued) = queued {
        tracing::info!(%token_id, %workspace_id, "daemon token revoked");
        outbox.flush(queued).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn daemon_ids() {
        let msg = |v: Option<Value>| daemon_id(v.as_ref()).unwrap_err().to_string();
        assert_eq!(
            daemon_id(Some(&json!("host-1.local_2"))).unwrap(),
            "host-1.local_2"
        );
        assert_eq!(msg(None), "daemon_id is required");
        assert_eq!(msg(Some(json!(null))), "daemon_id is required");
        assert_eq!(msg(Some(json!(""))), "daemon_id is required");
        for bad in [
            json!("a b"),
            json!("é"),
            json!("x".repeat(129)),
            json!(5),
            json!("a/b"),
        ] {
            assert_eq!(msg(Some(bad.clone())), "invalid daemon_id", "{bad}");
        }
        assert!(daemon_id(Some(&json!("x".repeat(128)))).is_ok());
    }
}
