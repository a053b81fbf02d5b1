//! Token → identity, the one resolver behind both `POST /internal/auth/resolve` (edge
//! cache misses) and requests that come straight to the origin.

use tollgate_shared::{ttl_for_expiry, ActorSource, Identity, TokenHash, TokenKind};

use crate::db::tokens;
use crate::error::AppResult;
use crate::metrics::ResolveOutcome;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Resolved {
    pub identity: Identity,
    /// How long the edge may cache this answer.
    pub ttl_secs: u64,
}

/// `Ok(None)` means the token is unknown, revoked or expired: a 401, never cached.
pub async fn resolve(
    state: &AppState,
    kind: TokenKind,
    hash: &TokenHash,
) -> AppResult<Option<Resolved>> {
    let result = match kind {
        TokenKind::Pat => resolve_pat(state, hash).await,
        // Later kinds resolve here too; until then they are not valid anywhere.
        _ => Ok(None),
    };
    let outcome = match &result {
        Ok(Some(_)) => ResolveOutcome::Ok,
        Ok(None) => ResolveOutcome::Invalid,
        Err(_) => ResolveOutcome::Error,
    };
    state.metrics.resolve(kind.as_str(), outcome);
    result
}

async fn resolve_pat(state: &AppState, hash: &TokenHash) -> AppResult<Option<Resolved>> {
    let db = state.pool.get().await?;
    state.metrics.token_lookups.inc();
    let Some(pat) = tokens::find_active_by_hash(&db, hash).await? else {
        return Ok(None);
    };
    // Whole seconds, rounded against the token: now up, expiry down.
    let now = pat.now.timestamp() + i64::from(pat.now.timestamp_subsec_nanos() > 0);
    let Some(ttl_secs) = ttl_for_expiry(pat.expires_at.map(|e| e.timestamp()), now) else {
        return Ok(None);
    };
    let stale = pat
        .last_used_at
        .is_none_or(|at| (pat.now - at).num_seconds() >= 60);
    if stale {
        tokens::touch_last_used(&db, pat.id).await?;
    }
    Ok(Some(Resolved {
        identity: Identity::new(ActorSource::Pat).with_user(pat.user_id.to_string(), None),
        ttl_secs,
    }))
}
