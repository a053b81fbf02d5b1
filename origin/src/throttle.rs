//! The origin's own rate limits (the sign-in routes'): fixed windows counted in this
//! process, bounded in memory. The edge counts per address too (its Rate Limiting
//! bindings); this is what holds without an edge, and for what only the origin sees
//! (the email address in a body). Each replica counts for itself.

use std::collections::HashMap;
use std::sync::Mutex;

use tollgate_shared::limits::Limit;

/// Counters kept at most (a key is at most an email address: ~300 bytes each).
const CAPACITY: usize = 100_000;
/// How often a full table is swept of the windows that are over, at most: the sweep
/// reads every counter, so a flood must not make every request pay for one.
const SWEEP_EVERY_SECS: i64 = 10;

/// (limit, key) → (when the window ends, requests counted in it).
type Windows = HashMap<(&'static str, String), (i64, u32)>;

/// Seconds to wait, from [`Throttle::hit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

#[derive(Default)]
pub struct Throttle {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    windows: Windows,
    /// When a full table was last swept.
    swept_at: i64,
}

/// Over a limit: its words, and the seconds until its window ends (or, with the table
/// full, until the next sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub message: &'static str,
    pub retry_after: u64,
}

impl Throttle {
    /// Counts one request of `key` under `limit` now (see [`Throttle::hit`]).
    pub fn count(&self, limit: &Limit, key: &str) -> Result<(), Limited> {
        self.hit(limit, key, chrono::Utc::now().timestamp())
            .map_err(|RetryAfter(retry_after)| Limited {
                message: limit.message,
                retry_after,
            })
    }

    /// Gives back one request of `key` counted under `limit` in the current window: for
    /// limits that count only failures (wrong codes), each attempt takes a slot first —
    /// so parallel attempts cannot all slip under the limit — and one that did not fail
    /// returns it.
    pub fn refund(&self, limit: &Limit, key: &str) {
        let now = chrono::Utc::now().timestamp();
        let period = i64::from(limit.period_secs.max(1));
        let ends = (now.div_euclid(period) + 1) * period;
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((window_ends, n)) = inner.windows.get_mut(&(limit.name, key.to_owned())) {
            if *window_ends == ends {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Counts one request of `key` under `limit` at `now` (unix seconds): `Err` once the
    /// window already holds `limit.count` (the refused request is not counted). A table
    /// full of live windows refuses new keys until a sweep makes room: a flood of
    /// addresses must not wipe the counts of the ones being limited.
    pub fn hit(&self, limit: &Limit, key: &str, now: i64) -> Result<(), RetryAfter> {
        let period = i64::from(limit.period_secs.max(1));
        let ends = (now.div_euclid(period) + 1) * period;
        // Counters hold no invariant a panic could break half-way.
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let id = (limit.name, key.to_owned());
        if inner.windows.len() >= CAPACITY && !inner.windows.contains_key(&id) {
            if now - inner.swept_at >= SWEEP_EVERY_SECS {
                inner
                    .windows
                    .retain(|_, (window_ends, _)| *window_ends > now);
                inner.swept_at = now;
            }
            if inner.windows.len() >= CAPACITY {
                return Err(RetryAfter(SWEEP_EVERY_SECS.unsigned_abs()));
            }
        }
        let entry = inner.windows.entry(id).or_insert((ends, 0));
        if entry.0 != ends {
            *entry = (ends, 0);
        }
        if entry.1 >= limit.count {
            return Err(RetryAfter(u64::try_from(ends - now).unwrap_or(1)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::limits::{SENDS_PER_ADDRESS, SENDS_PER_EMAIL};

    #[test]
    fn a_window_holds_its_count_then_refuses_until_it_ends() {
        let throttle = Throttle::default();
        let at = 1_000_040; // 20 s into a minute window
        for _ in 0..5 {
            assert_eq!(throttle.hit(&SENDS_PER_ADDRESS, "a", at), Ok(()));
        }
        assert_eq!(
            throttle.hit(&SENDS_PER_ADDRESS, "a", at),
            Err(RetryAfter(40))
        );
        assert_eq!(
            throttle.hit(&SENDS_PER_ADDRESS, "a", at + 39),
            Err(RetryAfter(1))
        );
        // Other keys and other limits count apart.
        assert_eq!(throttle.hit(&SENDS_PER_ADDRESS, "b", at), Ok(()));
        assert_eq!(throttle.hit(&SENDS_PER_EMAIL, "a", at), Ok(()));
        // The next window starts over.
        assert_eq!(throttle.hit(&SENDS_PER_ADDRESS, "a", at + 40), Ok(()));
    }

    #[test]
    fn a_refund_gives_back_one_request_of_the_current_window() {
        let throttle = Throttle::default();
        let limit = tollgate_shared::limits::WRONG_USER_CODES_PER_SESSION;
        for _ in 0..5 {
            assert!(throttle.count(&limit, "s").is_ok());
        }
        assert!(throttle.count(&limit, "s").is_err());
        throttle.refund(&limit, "s");
        assert!(throttle.count(&limit, "s").is_ok());
        assert!(throttle.count(&limit, "s").is_err());
        // Nothing to give back: nothing happens.
        throttle.refund(&limit, "nobody");
    }

    #[test]
    fn ten_minute_windows() {
        let throttle = Throttle::default();
        for _ in 0..3 {
            assert_eq!(
                throttle.hit(&SENDS_PER_EMAIL, "ada@example.com", 600),
                Ok(())
            );
        }
        assert_eq!(
            throttle.hit(&SENDS_PER_EMAIL, "ada@example.com", 900),
            Err(RetryAfter(300))
        );
    }

    #[test]
    fn a_full_table_keeps_its_counts_and_refuses_new_keys_until_a_sweep_frees_room() {
        let throttle = Throttle::default();
        let at = 6_000; // the start of a minute window
        for i in 0..CAPACITY {
            assert_eq!(throttle.hit(&SENDS_PER_ADDRESS, &i.to_string(), at), Ok(()));
        }
        // The keys already counted keep counting; a new one waits for a sweep.
        assert_eq!(throttle.hit(&SENDS_PER_ADDRESS, "0", at), Ok(()));
        assert_eq!(
            throttle.hit(&SENDS_PER_ADDRESS, "new", at),
            Err(RetryAfter(10))
        );
        // Once their windows are over, the sweep makes room.
        assert_eq!(throttle.hit(&SENDS_PER_ADDRESS, "new", at + 60), Ok(()));
    }
}
