//! Sessions: opening one (sign-in, `session mint`) makes its record and its JWT;
//! ending them (signing out, revoking one, revoking all others) revokes the records and
//! queues their ids for the revocation log in one transaction, so the origin refuses
//! them at once and every edge within 2 s.

use std::fmt;

use chrono::{DateTime, Utc};
use tollgate_shared::session::SessionKey;
use tollgate_shared::{session, AuthError};
use uuid::Uuid;

use crate::db::sessions::{self as store, NewSession, Which};
use crate::db::users::User;
use crate::db::{GenericClient, StoreResult};
use crate::domain_error::{DomainError, DomainResult};
use crate::outbox::Outbox;

/// The longest user agent and client address a session record keeps (the table's
/// checks): longer ones are cut, at a character boundary.
const MAX_USER_AGENT_CHARS: usize = 512;
const MAX_IP_CHARS: usize = 64;

/// What a new session is: how long it lives and where it was opened.
#[derive(Debug, Clone)]
pub struct Opening {
    pub ttl_secs: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl Opening {
    /// `user_agent` and `ip` as sent, cut to what the record keeps.
    pub fn new(ttl_secs: i64, user_agent: Option<&str>, ip: Option<&str>) -> Opening {
        let cut = |s: &str, max: usize| s.chars().take(max).collect::<String>();
        Opening {
            ttl_secs,
            user_agent: user_agent
                .filter(|ua| !ua.is_empty())
                .map(|ua| cut(ua, MAX_USER_AGENT_CHARS)),
            ip: ip
                .filter(|ip| !ip.is_empty())
                .map(|ip| cut(ip, MAX_IP_CHARS)),
        }
    }
}

/// A session just opened: its record's id, its JWT, when it ends.
pub struct Opened {
    pub id: Uuid,
    pub jwt: String,
    pub expires_at: DateTime<Utc>,
    /// Seconds from now to `expires_at` (the cookies' `Max-Age`).
    pub ttl_secs: i64,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("id", &self.id)
            .field("jwt", &"…")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Opens a session for `user`: its record, then the JWT that carries the record's id
/// and ends when it does (by the database's clock).
pub async fn open(
    db: &impl GenericClient,
    key: &SessionKey,
    user: &User,
    opening: &Opening,
) -> StoreResult<Opened> {
    let new = NewSession {
        user_id: user.id,
        ttl_secs: opening.ttl_secs,
        user_agent: opening.user_agent.as_deref(),
        ip: opening.ip.as_deref(),
    };
    let created = store::insert(db, &new).await?;
    let minted = session::Minted {
        user_id: user.id,
        email: Some(&user.email),
        session_id: created.id,
        iat: created.created_at.timestamp(),
        exp: created.expires_at.timestamp(),
    };
    Ok(Opened {
        id: created.id,
        jwt: session::mint(key, &minted),
        expires_at: created.expires_at,
        ttl_secs: (created.expires_at - created.created_at).num_seconds(),
    })
}

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
