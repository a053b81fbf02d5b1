//! The origin's own rate limits (the sign-in routes'): fixed windows counted in this
//! process, bounded in memory. The edge counts per address too (its Rate Limiting
//! bindings); this is what holds without an edge, and for what only the origin sees
//! (the email address in a body). Each replica counts for itself.

use std::collections::HashMap;
use std::sync::Mutex;

use tollgate_shared::sign_in::Limit;

/// Counters kept at most; past it the windows that are over go first, then all.
const CAPACITY: usize = 100_000;

/// (limit, key) → (when the window ends, requests counted in it).
type Windows = HashMap<(&'static str, String), (i64, u32)>;

#[derive(Default)]
pub struct Throttle {
    windows: Mutex<Windows>,
}

/// Over the limit: seconds until the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl Throttle {
    /// Counts one request of `key` under `limit` at `now` (unix seconds): `Err` once the
    /// window already holds `limit.count` (the refused request is not counted).
    pub fn hit(&self, limit: &Limit, key: &str, now: i64) -> Result<(), RetryAfter> {
        let period = i64::from(limit.period_secs.max(1));
        let ends = (now.div_euclid(period) + 1) * period;
        // A poisoned lock counts nothing: the edge's limit and the code's own rules
        // (single use, five tries) still hold.
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        if windows.len() >= CAPACITY {
            windows.retain(|_, (window_ends, _)| *window_ends > now);
            if windows.len() >= CAPACITY {
                windows.clear();
            }
        }
        let entry = windows
            .entry((limit.name, key.to_owned()))
            .or_insert((ends, 0));
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
    use tollgate_shared::sign_in::{SENDS_PER_ADDRESS, SENDS_PER_EMAIL};

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
}
