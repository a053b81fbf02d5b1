//! `tollgate login` through the browser: RFC 8628's device authorization grant on the
//! exactly-once machinery. A client [`start`]s a grant; a signed-in person looks it up
//! by its user code and [`decide`]s it (one conditional statement); the client's polls
//! ([`poll`]) wait, slow down, or — once — get a new PAT, minted in the transaction that
//! consumes the approved grant, so of concurrent polls exactly one gets a token.

use serde::Serialize;
use tollgate_shared::device::{self, INTERVAL_SECS, TOKEN_DAYS};
use tollgate_shared::session::SessionKey;
use tollgate_shared::{Access, Scope};
use uuid::Uuid;

use crate::db::device_grants::{self, NewGrant, Pending, Polled};
use crate::db::{in_transaction, members, with_client};
use crate::domain_error::{DomainError, DomainResult};
use crate::pats::{self, CreatedPat};
use crate::refusal::Refusal;

/// What a client is told to show its person (RFC 8628 §3.2), and its secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    /// The client's secret for polling: never shown to the person.
    pub device_code: String,
    /// `XXXX-XXXX`, for the person to check or type.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i32,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("device_code", &"…")
            .field("user_code", &self.user_code)
            .finish_non_exhaustive()
    }
}

/// Stores a new pending grant for `client_name`, asking for a token bound to
/// `workspace_id` if given; `public_url` is where people reach the console.
pub async fn start(
    pool: &deadpool_postgres::Pool,
    key: &SessionKey,
    public_url: &reqwest::Url,
    (client_name, client_address): (String, Option<String>),
    workspace_id: Option<Uuid>,
) -> DomainResult<Started> {
    let random = |e: getrandom::Error| DomainError::Internal(e.to_string());
    // Two grants drawing the same user code is a one-in-billions event; draw again.
    for _ in 0..3 {
        let device_code = device::new_device_code().map_err(random)?;
        let user_code = device::new_user_code().map_err(random)?;
        let device_digest = device::digest(key, "device", &device_code);
        let user_digest = device::digest(key, "user", &user_code);
        let (name, address) = (client_name.clone(), client_address.clone());
        let inserted = with_client(pool, move |db| {
            Box::pin(async move {
                let grant = NewGrant {
                    device_digest: &device_digest,
                    user_digest: &user_digest,
                    client_name: &name,
                    client_address: address.as_deref(),
                    workspace_id,
                    interval_secs: INTERVAL_SECS,
                };
                Ok::<_, DomainError>(device_grants::insert(db, &grant).await?)
            })
        })
        .await?;
        if inserted {
            let mut page = public_url.clone();
            page.set_path(device::VERIFICATION_PATH);
            let shown = device::display_user_code(&user_code);
            let mut complete = page.clone();
            complete.query_pairs_mut().append_pair("user_code", &shown);
            tracing::info!(workspace = workspace_id.is_some(), "device grant started");
            return Ok(Started {
                device_code,
                user_code: shown,
                verification_uri: page.to_string(),
                verification_uri_complete: complete.to_string(),
                expires_in: device::EXPIRES_IN_SECS,
                interval: INTERVAL_SECS,
            });
        }
    }
    Err(DomainError::Internal(
        "no free user code in three draws".to_owned(),
    ))
}

/// The digest of what a person typed, or `user code not found` when it cannot be one.
fn user_digest(key: &SessionKey, typed: &str) -> DomainResult<[u8; 32]> {
    let code = device::normalize_user_code(typed).ok_or(Refusal::UserCodeNotFound)?;
    Ok(device::digest(key, "user", &code))
}

/// The live pending grant of the code `viewer` typed, for them to check before deciding.
pub async fn pending(
    pool: &deadpool_postgres::Pool,
    key: &SessionKey,
    typed: &str,
    viewer: Uuid,
) -> DomainResult<Pending> {
    let digest = user_digest(key, typed)?;
    with_client(pool, move |db| {
        Box::pin(async move {
            device_grants::pending(db, &digest, viewer)
                .await?
                .ok_or_else(|| Refusal::UserCodeNotFound.into())
        })
    })
    .await
}

/// `by`, signed in as `session`, approves (or denies) the live pending grant of the code
/// they typed, once. A grant asking for a workspace is approved only by a member of it;
/// an approval counts while `session` lives (see `device_grants::consume`).
pub async fn decide(
    pool: &deadpool_postgres::Pool,
    key: &SessionKey,
    typed: &str,
    (by, session): (Uuid, Uuid),
    approve: bool,
) -> DomainResult<()> {
    let digest = user_digest(key, typed)?;
    in_transaction(pool, move |tx| {
        Box::pin(async move {
            let workspace = device_grants::decide(tx, &digest, (by, session), approve)
                .await?
                .ok_or(Refusal::UserCodeNotFound)?;
            if let (true, Some(workspace_id)) = (approve, workspace) {
                if members::hold(tx, workspace_id, &[by]).await?.is_empty() {
                    // Rolled back: the grant stays pending, for a member to approve.
                    return Err(Refusal::WorkspaceNotFound.into());
                }
            }
            tracing::info!(approve, "device grant decided");
            Ok(())
        })
    })
    .await
}

/// A poll with `device_code`: the new PAT once (named after the client, [`TOKEN_DAYS`]
/// days, bound to the workspace asked for), else RFC 8628's answer as a refusal —
/// `authorization_pending`, `slow_down`, `access_denied`, `expired_token` (also for a
/// grant already consumed), `invalid_grant` for a code never issued.
pub async fn poll(
    pool: &deadpool_postgres::Pool,
    key: &SessionKey,
    device_code: &str,
) -> DomainResult<CreatedPat> {
    let digest = device::digest(key, "device", device_code);
    // The poll is recorded whatever it finds: committed, then answered.
    let outcome = in_transaction(pool, move |tx| {
        Box::pin(async move {
            if let Some(approved) = device_grants::consume(tx, &digest).await? {
                let scope = Scope {
                    workspace: approved.workspace_id,
                    access: Access::Write,
                };
                let name = &approved.client_name;
                let minted =
                    pats::insert(tx, approved.user_id, name, Some(TOKEN_DAYS), scope).await;
                return match minted {
                    Ok(pat) => {
                        device_grants::set_token(tx, approved.id, pat.view.id).await?;
                        Ok::<_, DomainError>(Ok(pat))
                    }
                    // The approver has left the workspace since: no token, ever.
                    Err(DomainError::Refused(Refusal::WorkspaceNotFound)) => {
                        device_grants::deny_consumed(tx, approved.id).await?;
                        Ok(Err(Refusal::AccessDenied))
                    }
                    Err(other) => Err(other),
                };
            }
            let refusal = match device_grants::poll(tx, &digest).await? {
                None => Refusal::InvalidGrant,
                Some(polled) => answer(&polled),
            };
            Ok(Err(refusal))
        })
    })
    .await?;
    if outcome.is_ok() {
        tracing::info!("device grant exchanged for a token");
    }
    outcome.map_err(DomainError::from)
}

/// RFC 8628 §3.5's answer to a poll that got no token.
fn answer(polled: &Polled) -> Refusal {
    match polled.status.as_str() {
        "consumed" => Refusal::ExpiredToken,
        _ if polled.expired => Refusal::ExpiredToken,
        // Approved but not consumable: its session has ended or its person is suspended.
        "denied" | "approved" => Refusal::AccessDenied,
        _ if polled.too_soon => Refusal::SlowDown,
        _ => Refusal::AuthorizationPending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polled(status: &str, expired: bool, too_soon: bool) -> Polled {
        Polled {
            status: status.to_owned(),
            expired,
            too_soon,
        }
    }

    #[test]
    fn each_state_has_its_rfc_answer() {
        assert_eq!(
            answer(&polled("pending", false, false)),
            Refusal::AuthorizationPending
        );
        assert_eq!(answer(&polled("pending", false, true)), Refusal::SlowDown);
        assert_eq!(
            answer(&polled("pending", true, true)),
            Refusal::ExpiredToken
        );
        assert_eq!(
            answer(&polled("denied", false, true)),
            Refusal::AccessDenied
        );
        assert_eq!(
            answer(&polled("denied", true, false)),
            Refusal::ExpiredToken
        );
        assert_eq!(
            answer(&polled("consumed", false, false)),
            Refusal::ExpiredToken
        );
        // Approved but not consumable: expired, or its approver's session is over.
        assert_eq!(
            answer(&polled("approved", true, false)),
            Refusal::ExpiredToken
        );
        assert_eq!(
            answer(&polled("approved", false, true)),
            Refusal::AccessDenied
        );
    }
}
