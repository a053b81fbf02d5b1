//! `sign_in_codes`: one live code per person, stored as a digest. Storing and checking a
//! code are each one statement that reads the address through `users`, so an address
//! without an account costs the same round trip and changes nothing.

use tollgate_shared::sign_in::{CODE_TTL_SECS, MAX_WRONG_TRIES};
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// Replaces the code of the person with `email` (normalized) by `digest`, valid for
/// [`CODE_TTL_SECS`] with no wrong tries; whether the address has an account.
pub async fn replace(db: &impl GenericClient, email: &str, digest: &[u8]) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO sign_in_codes (user_id, digest, expires_at)
             SELECT id, $2, now() + make_interval(secs => $3::bigint) FROM users WHERE email = $1
             ON CONFLICT (user_id) DO UPDATE
                SET digest = EXCLUDED.digest, created_at = now(),
                    expires_at = EXCLUDED.expires_at, wrong_tries = 0, used_at = NULL
             RETURNING user_id",
        )
        .await?;
    let stored = db
        .query_opt(&stmt, &[&email, &digest, &CODE_TTL_SECS])
        .await?;
    Ok(stored.is_some())
}

/// What checking a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The right code, now used: the person it signs in.
    Consumed(Uuid),
    /// A live code, and this was not it: one more wrong try counted.
    Wrong,
    /// No live code for the address (none sent, no account, expired, used or burned).
    NoCode,
}

/// Checks `digest` against the live code of `email`, in one conditional statement: the
/// right one is used up (of concurrent checks exactly one sees it live), a wrong one
/// counts a try, and the [`MAX_WRONG_TRIES`]th wrong try burns the code.
pub async fn check(db: &impl GenericClient, email: &str, digest: &[u8]) -> StoreResult<Checked> {
    let stmt = db
        .prepare_cached(
            "UPDATE sign_in_codes c
             SET used_at = CASE WHEN c.digest = $2 THEN now() END,
                 wrong_tries = c.wrong_tries + CASE WHEN c.digest = $2 THEN 0 ELSE 1 END
             FROM users u
             WHERE u.id = c.user_id AND u.email = $1
               AND c.used_at IS NULL AND c.expires_at > now() AND c.wrong_tries < $3
             RETURNING c.user_id, c.used_at IS NOT NULL",
        )
        .await?;
    let row = db
        .query_opt(&stmt, &[&email, &digest, &MAX_WRONG_TRIES])
        .await?;
    Ok(match row {
        None => Checked::NoCode,
        Some(row) if row.get::<_, bool>(1) => Checked::Consumed(row.get(0)),
        Some(_) => Checked::Wrong,
    })
}
