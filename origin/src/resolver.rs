//! Token → actor, the one resolver behind both `POST /internal/auth/resolve` (edge
//! cache misses) and requests that come straight to the origin.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tollgate_shared::{ttl_for_expiry, Actor, TokenHash, TokenKind};

use crate::db::{bounded, daemon_tokens, pats, tasks, StoreResult};
use crate::metrics::{Metrics, ResolveOutcome};

/// How long the edge may cache a token expiring at `expires_at`, by the database's
/// clock: whole seconds, rounded against the token (now up, expiry down).
fn cache_ttl(expires_at: Option<DateTime<Utc>>, db_now: DateTime<Utc>) -> Option<u64> {
    let now = db_now.timestamp() + i64::from(db_now.timestamp_subsec_nanos() > 0);
    ttl_for_expiry(expires_at.map(|e| e.timestamp()), now)
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub actor: Actor,
    /// How long the edge may cache this answer.
    pub ttl_secs: u64,
}

#[derive(Clone)]
pub struct Resolver {
    pool: Pool,
    metrics: Arc<Metrics>,
}

impl Resolver {
    pub fn new(pool: Pool, metrics: Arc<Metrics>) -> Resolver {
        Resolver { pool, metrics }
    }

    /// `Ok(None)` means the token is unknown, revoked or expired: a 401, never cached.
    pub async fn resolve(
        &self,
        kind: TokenKind,
        hash: &TokenHash,
    ) -> StoreResult<Option<Resolved>> {
        let result = match kind {
            TokenKind::Pat => bounded(self.resolve_pat(hash)).await,
            TokenKind::Daemon => bounded(self.resolve_daemon(hash)).await,
            TokenKind::Task => bounded(self.resolve_task(hash)).await,
            // Cloud PATs resolve here with their issue; install tokens are only ever
            // exchanged.
            TokenKind::Install | TokenKind::Cloud => Ok(None),
        };
        let outcome = match &result {
            Ok(Some(_)) => ResolveOutcome::Ok,
            Ok(None) => ResolveOutcome::Invalid,
            Err(_) => ResolveOutcome::Error,
        };
        self.metrics.resolve(kind.as_str(), outcome);
        result
    }

    async fn resolve_daemon(&self, hash: &TokenHash) -> StoreResult<Option<Resolved>> {
        let db = self.pool.get().await?;
        self.metrics.token_lookups.inc();
        let Some(token) = daemon_tokens::find_active_by_hash(&db, hash).await? else {
            return Ok(None);
        };
        let Some(ttl_secs) = cache_ttl(Some(token.expires_at), token.now) else {
            return Ok(None);
        };
        Ok(Some(Resolved {
            actor: Actor::Daemon {
                workspace_id: token.workspace_id,
                daemon_id: token.daemon_id,
            },
            ttl_secs,
        }))
    }

    /// Asked on every request (the edge never caches task tokens): valid while the row
    /// exists, has not expired and its task has not ended.
    async fn resolve_task(&self, hash: &TokenHash) -> StoreResult<Option<Resolved>> {
        let db = self.pool.get().await?;
        self.metrics.token_lookups.inc();
        Ok(tasks::find_active_token(&db, hash)
            .await?
            .map(|t| Resolved {
                actor: Actor::TaskToken {
                    user_id: t.user_id,
                    workspace_id: t.workspace_id,
                    agent_id: t.agent_id,
                    task_id: t.task_id,
                },
                // Never cached; the edge does not store it whatever this says.
                ttl_secs: 0,
            }))
    }

    async fn resolve_pat(&self, hash: &TokenHash) -> StoreResult<Option<Resolved>> {
        let db = self.pool.get().await?;
        self.metrics.token_lookups.inc();
        let Some(pat) = pats::find_active_by_hash(&db, hash).await? else {
            return Ok(None);
        };
        let Some(ttl_secs) = cache_ttl(pat.expires_at, pat.now) else {
            return Ok(None);
        };
        let stale = pat
            .last_used_at
            .is_none_or(|at| (pat.now - at).num_seconds() >= 60);
        if stale {
            pats::touch_last_used(&db, pat.id).await?;
        }
        Ok(Some(Resolved {
            actor: Actor::Pat {
                user_id: pat.user_id,
            },
            ttl_secs,
        }))
    }
}
