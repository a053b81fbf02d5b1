//! `sign_in_codes`: one live code per email address, keyed and stored as digests.
//! Storing and checking a code are each one statement, and the same statement whether or
//! not the address has an account.

use tollgate_shared::sign_in::{CODE_TTL_SECS, MAX_WRONG_TRIES};

use super::{GenericClient, StoreResult};

/// Rows swept per send: those expired over an hour ago (bounded work per call).
const SWEEP_PER_SEND: i64 = 20;

/// Replaces the code of the address whose digest is `address` by `digest`, valid for
/// [`CODE_TTL_SECS`] with no wrong tries; and sweeps a few rows long expired.
pub async fn replace(db: &impl GenericClient, address: &[u8], digest: &[u8]) -> StoreResult<()> {
    let stmt = db
        .prepare_cached(
            "WITH swept AS (
                 DELETE FROM sign_in_codes WHERE address IN (
                     SELECT address FROM sign_in_codes
                     WHERE expires_at < now() - interval '1 hour' AND address <> $1
                     LIMIT $4)
             )
             INSERT INTO sign_in_codes (address, digest, expires_at)
             VALUES ($1, $2, now() + make_interval(secs => $3::bigint))
             ON CONFLICT (address) DO UPDATE
                SET digest = EXCLUDED.digest, created_at = now(),
                    expires_at = EXCLUDED.expires_at, wrong_tries = 0, used_at = NULL",
        )
        .await?;
    db.execute(&stmt, &[&address, &digest, &CODE_TTL_SECS, &SWEEP_PER_SEND])
        .await?;
    Ok(())
}

/// What checking a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The right code, now used.
    Consumed,
    /// A live code, and this was not it: one more wrong try counted.
    Wrong,
    /// No live code for the address (none sent, expired, used or burned).
    NoCode,
}

/// Checks `digest` against the live code of `address`, in one conditional statement:
/// the right one is used up (of concurrent checks exactly one sees it live), a wrong one
/// counts a try, and the [`MAX_WRONG_TRIES`]th wrong try burns the code.
pub async fn check(db: &impl GenericClient, address: &[u8], digest: &[u8]) -> StoreResult<Checked> {
    let stmt = db
        .prepare_cached(
            "UPDATE sign_in_codes
             SET used_at = CASE WHEN digest = $2 THEN now() END,
                 wrong_tries = wrong_tries + CASE WHEN digest = $2 THEN 0 ELSE 1 END
             WHERE address = $1
               AND used_at IS NULL AND expires_at > now() AND wrong_tries < $3
             RETURNING used_at IS NOT NULL",
        )
        .await?;
    let row = db
        .query_opt(&stmt, &[&address, &digest, &MAX_WRONG_TRIES])
        .await?;
    Ok(match row {
        None => Checked::NoCode,
        Some(row) if row.get::<_, bool>(0) => Checked::Consumed,
        Some(_) => Checked::Wrong,
    })
}
