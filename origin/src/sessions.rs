//! Ending sessions: signing out, revoking one, revoking all others. The records are
//! revoked and their ids queued for the revocation log in one transaction, so the origin
//! refuses them at once and every edge within 2 s.

use tollgate_shared::{session, AuthError};
use uuid::Uuid;

use crate::db::sessions::{self as store, Which};
use crate::domain_error::{DomainError, DomainResult};
use crate::outbox::Outbox;

/// Revokes `user_id`'s sessions `which` says, for a caller whose own session is `by`
/// (none for a PAT); how many this call revoked. The caller's session is held live for
/// the transaction: one revoked meanwhile ends nothing more (`401 invalid token`).
pub async fn revoke(
    outbox: &Outbox,
    user_id: Uuid,
    by: Option<Uuid>,
    which: Which,
) -> DomainResult<usize> {
    outbox
        .revoking(move |tx| {
            Box::pin(async move {
                if let Some(own) = by {
                    if !store::hold_live(tx, own, user_id).await? {
                        return Err(AuthError::InvalidToken.into());
                    }
                }
                let revoked = store::revoke(tx, user_id, which).await?;
                let keys: Vec<String> = revoked
                    .iter()
                    .map(|id| session::revocation_key(*id))
                    .collect();
                tracing::info!(%user_id, sessions = revoked.len(), "sessions revoked");
                Ok::<_, DomainError>((revoked.len(), keys))
            })
        })
        .await
}
