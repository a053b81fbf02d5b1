//! Suspending an account: in one transaction the user is marked suspended, their
//! sessions are revoked, and the cache keys of every credential that acts for them
//! (their PATs, the daemon tokens acting for them) are queued for purging, so each is
//! refused everywhere within 2 s. While suspended, every lookup of a credential acting
//! for them refuses it (task tokens and cloud PATs included: they are resolved against
//! the user each time). Unsuspending brings PATs and daemon tokens back; ended sessions
//! stay ended.

use tollgate_shared::{cache_key, session, TokenKind};
use uuid::Uuid;

use crate::db::sessions::Which;
use crate::db::{daemon_tokens, ended, pats, sessions, users, with_client};
use crate::domain_error::{DomainError, DomainResult};
use crate::outbox::Outbox;

/// What a suspension ended or purged.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Suspended {
    pub sessions_revoked: usize,
    pub tokens_purged: usize,
    /// The keys queued for the edge.
    #[serde(skip)]
    pub keys: Vec<String>,
}

/// Suspends user `id` (`reason` may be empty); `None` when there is no such user.
pub async fn suspend(outbox: &Outbox, id: Uuid, reason: &str) -> DomainResult<Option<Suspended>> {
    let reason = reason.to_owned();
    outbox
        .revoking(move |tx| {
            Box::pin(async move {
                if !users::set_suspended(tx, id, Some(&reason)).await? {
                    return Ok((None, Vec::new()));
                }
                let ended = sessions::revoke(tx, id, Which::AllBut(None)).await?;
                let mut keys: Vec<String> =
                    ended.iter().map(|s| session::revocation_key(*s)).collect();
                let tokens = pats::live_hashes(tx, id)
                    .await?
                    .into_iter()
                    .map(|h| cache_key(TokenKind::Pat, &h))
                    .chain(
                        daemon_tokens::live_hashes_for(tx, id)
                            .await?
                            .into_iter()
                            .map(|h| cache_key(TokenKind::Daemon, &h)),
                    )
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>();
                let tokens_purged = tokens.len();
                keys.extend(tokens);
                // Task tokens are not cached, so not purged: their streams (and every
                // other stream acting for the person) end by the person's key.
                ended::announce(tx, &[ended::user_key(id)]).await?;
                let suspended = Suspended {
                    sessions_revoked: ended.len(),
                    tokens_purged,
                    keys: keys.clone(),
                };
                tracing::info!(user_id = %id, sessions = suspended.sessions_revoked, tokens = tokens_purged, "account suspended");
                Ok::<_, DomainError>((Some(suspended), keys))
            })
        })
        .await
}

/// Lifts the suspension of user `id`; whether there is such a user.
pub async fn unsuspend(outbox: &Outbox, id: Uuid) -> DomainResult<bool> {
    let found = with_client(outbox.pool(), move |db| {
        Box::pin(async move { users::set_suspended(db, id, None).await })
    })
    .await?;
    if found {
        tracing::info!(user_id = %id, "account unsuspended");
    }
    Ok(found)
}
