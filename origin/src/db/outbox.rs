//! `cache_invalidations`: the purge outbox (see `crate::outbox` for how it is drained).

use super::{GenericClient, StoreResult};

/// Longest wait between two delivery attempts of one row.
pub const MAX_BACKOFF_SECS: i32 = 60;
/// Keys per purge call; the worker deletes each with one KV operation.
pub const BATCH: i64 = 50;

/// Queues keys in the caller's transaction. The revoking request tries them once itself
/// right after commit, which counts as the first attempt; the dispatcher takes over
/// after the first backoff.
pub async fn insert(db: &impl GenericClient, keys: &[String]) -> StoreResult<Vec<i64>> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO cache_invalidations (cache_key, attempts, next_attempt_at)
             SELECT k, 1, now() + interval '2 seconds' FROM unnest($1::text[]) AS k
             RETURNING id",
        )
        .await?;
    let rows = db.query(&stmt, &[&keys]).await?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// Queues a second purge of `keys`, due in `delay_secs`; the dispatcher delivers it.
/// `now()` is the transaction's start: [`retime_echo`] moves them to the commit.
pub async fn insert_echo(
    db: &impl GenericClient,
    keys: &[String],
    delay_secs: i32,
) -> StoreResult<Vec<i64>> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO cache_invalidations (cache_key, attempts, next_attempt_at)
             SELECT k, 0, now() + make_interval(secs => $2::int) FROM unnest($1::text[]) AS k
             RETURNING id",
        )
        .await?;
    let rows = db.query(&stmt, &[&keys, &delay_secs]).await?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// Right after the commit that queued them: second purges due `delay_secs` from now. A
/// revocation that waited on locks would otherwise have its second purge due too soon
/// after the commit to catch a stale write landing after the first. Only rows still
/// waiting for their first attempt move.
pub async fn retime_echo(
    db: &impl GenericClient,
    ids: &[i64],
    delay_secs: i32,
) -> StoreResult<u64> {
    let stmt = db
        .prepare_cached(
            "UPDATE cache_invalidations SET next_attempt_at = now() + make_interval(secs => $2::int)
             WHERE id = ANY($1) AND attempts = 0",
        )
        .await?;
    Ok(db.execute(&stmt, &[&ids, &delay_secs]).await?)
}

pub async fn delete(db: &impl GenericClient, ids: &[i64]) -> StoreResult<u64> {
    let stmt = db
        .prepare_cached("DELETE FROM cache_invalidations WHERE id = ANY($1)")
        .await?;
    Ok(db.execute(&stmt, &[&ids]).await?)
}

/// Claims due rows for one delivery attempt: pushes their next attempt out by the
/// exponential backoff (2^attempts s, capped at 60 s) in the same statement, so other
/// origin instances skip them until then. Returns `(id, cache_key)` pairs.
pub async fn claim_due(db: &impl GenericClient) -> StoreResult<Vec<(i64, String)>> {
    let stmt = db
        .prepare_cached(
            "UPDATE cache_invalidations c
             SET attempts = c.attempts + 1,
                 next_attempt_at = now()
                     + make_interval(secs => least($2::int, power(2, least(c.attempts + 1, 16))::int))
             WHERE c.id IN (
                 SELECT id FROM cache_invalidations
                 WHERE next_attempt_at <= now()
                 ORDER BY next_attempt_at, id
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED)
             RETURNING c.id, c.cache_key",
        )
        .await?;
    let rows = db.query(&stmt, &[&BATCH, &MAX_BACKOFF_SECS]).await?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}
