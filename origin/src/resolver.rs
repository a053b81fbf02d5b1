//! Token → actor, the one resolver behind both `POST /internal/auth/resolve` (edge
//! cache misses) and requests that come straight to the origin. Our own kinds are
//! looked up in Postgres by hash; cloud PATs are asked of Fleet with the token itself.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tollgate_shared::expiring::ExpiringMap;
use tollgate_shared::{ttl_for_expiry, Actor, Token, TokenHash, TokenKind};
use uuid::Uuid;

use crate::db::{bounded, daemon_tokens, pats, tasks, users, with_client, StoreResult};
use crate::domain_error::{DomainError, DomainResult};
use crate::fleet::{Fleet, Verdict};
use crate::metrics::{Metrics, ResolveOutcome};

/// How long the edge may cache a token expiring at `expires_at`, by the database's
/// clock: whole seconds, rounded against the token (now up, expiry down).
fn cache_ttl(expires_at: Option<DateTime<Utc>>, db_now: DateTime<Utc>) -> Option<u64> {
    let now = db_now.timestamp() + i64::from(db_now.timestamp_subsec_nanos() > 0);
    ttl_for_expiry(expires_at.map(|e| e.timestamp()), now)
}

/// Cloud PATs verified by Fleet, remembered at most this many at once.
const VERIFIED_CAPACITY: usize = 100_000;

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
    fleet: Option<Arc<Fleet>>,
    /// Fleet's positive answers by token hash, with when they stop being believed.
    /// Shared by direct requests and the edge's misses, so that one verification is
    /// believed for `verified_ttl` in all, never longer: the edge is told only what is
    /// left of it.
    verified: Arc<ExpiringMap<Actor>>,
    verified_ttl: i64,
}

impl Resolver {
    pub fn new(
        pool: Pool,
        metrics: Arc<Metrics>,
        fleet: Option<Arc<Fleet>>,
        verified_ttl_secs: u64,
    ) -> Resolver {
        Resolver {
            pool,
            metrics,
            fleet,
            verified: Arc::new(ExpiringMap::new(VERIFIED_CAPACITY)),
            verified_ttl: i64::try_from(verified_ttl_secs).unwrap_or(i64::MAX),
        }
    }

    /// A presented token of any kind.
    pub async fn resolve_token(&self, token: &Token<'_>) -> DomainResult<Option<Resolved>> {
        match token.kind {
            TokenKind::Cloud => {
                let result = self.resolve_cloud(token).await;
                self.count(token.kind, &result);
                result
            }
            kind => self.resolve(kind, &token.hash()).await,
        }
    }

    /// One of our own kinds, by hash. `Ok(None)` means the token is unknown, revoked
    /// or expired: a 401, never cached. Cloud PATs need the token ([`Self::resolve_token`]).
    pub async fn resolve(
        &self,
        kind: TokenKind,
        hash: &TokenHash,
    ) -> DomainResult<Option<Resolved>> {
        let result = match kind {
            TokenKind::Pat => bounded(self.resolve_pat(hash)).await,
            TokenKind::Daemon => bounded(self.resolve_daemon(hash)).await,
            TokenKind::Task => bounded(self.resolve_task(hash)).await,
            // Install tokens are only ever exchanged.
            TokenKind::Install | TokenKind::Cloud => Ok(None),
        }
        .map_err(DomainError::from);
        self.count(kind, &result);
        result
    }

    fn count(&self, kind: TokenKind, result: &DomainResult<Option<Resolved>>) {
        let outcome = match result {
            Ok(Some(_)) => ResolveOutcome::Ok,
            Ok(None) => ResolveOutcome::Invalid,
            Err(_) => ResolveOutcome::Error,
        };
        self.metrics.resolve(kind.as_str(), outcome);
    }

    /// Fleet decides; a positive answer is believed for `verified_ttl`, nothing else is
    /// remembered. Fails closed: without `FLEET_URL` no cloud PAT is valid, and an
    /// answer we cannot read is a 503, never a 401 or a 200.
    async fn resolve_cloud(&self, token: &Token<'_>) -> DomainResult<Option<Resolved>> {
        let hash = token.hash();
        let now = Utc::now().timestamp();
        if let Some((actor, until)) = self.verified.get(hash.as_str(), now) {
            // Fleet's verdict is remembered; the owner's suspension is asked each time.
            if self
                .local_user(Some(&actor.user_id().to_string()))
                .await?
                .is_none()
            {
                return Ok(None);
            }
            return Ok(Some(Resolved {
                actor,
                ttl_secs: u64::try_from(until - now).unwrap_or(0),
            }));
        }
        let Some(fleet) = &self.fleet else {
            tracing::info!(reason = "fleet_not_configured", "cloud pat refused");
            return Ok(None);
        };
        let owner = match fleet.verify(token).await {
            Err(e) => {
                tracing::warn!(error = %e, "cloud pat verifier unavailable");
                return Err(DomainError::VerifierUnavailable);
            }
            Ok(Verdict::Invalid { reason }) => {
                tracing::info!(%reason, "cloud pat refused");
                return Ok(None);
            }
            Ok(Verdict::Valid {
                owner_id,
                instance_id,
            }) => {
                tracing::debug!(
                    instance_id = instance_id.as_deref().unwrap_or("-"),
                    "cloud pat verified"
                );
                owner_id
            }
        };
        let Some(user_id) = self.local_user(owner.as_deref()).await? else {
            tracing::info!(reason = "owner_unknown", "cloud pat refused");
            return Ok(None);
        };
        let actor = Actor::CloudPat { user_id };
        // Whole seconds from now: the edge is told the same bound.
        self.verified
            .insert(hash.as_str(), actor.clone(), now + self.verified_ttl);
        Ok(Some(Resolved {
            actor,
            ttl_secs: u64::try_from(self.verified_ttl).unwrap_or(0),
        }))
    }

    /// The user Fleet named, if it is one of ours. The database being down is a 503.
    async fn local_user(&self, owner_id: Option<&str>) -> DomainResult<Option<Uuid>> {
        let Some(id) = owner_id.and_then(|o| Uuid::parse_str(o).ok()) else {
            return Ok(None);
        };
        let found = with_client(&self.pool, move |db| {
            // A suspended owner's cloud node acts for nobody.
            Box::pin(async move { users::find_active_by_id(db, id).await })
        })
        .await?;
        Ok(found.map(|u| u.id))
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
                user_id: token.user_id,
                workspace_id: token.workspace_id,
                daemon_id: token.daemon_id,
            },
            ttl_secs,
        }))
    }

    /// Asked on every request (the edge never caches task tokens): valid while the row
    /// exists, has not expired, its task has not ended and the member who queued it is
    /// still in the workspace.
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
                scope: pat.scope,
            },
            ttl_secs,
        }))
    }
}
