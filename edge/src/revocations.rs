//! The isolate's copy of the revocation log (see `revocation_log`), and the rule a cache
//! hit is judged by: a KV entry is believed only when this copy is at most
//! [`FRESH_MS`] behind the log and does not hold its key. Otherwise the hit becomes a
//! miss and the origin decides — slower, never open.
//!
//! The bound: the purge appends to the log before it answers the origin, and a decision
//! at time `t` believes a copy only if it is the log as of at least `t - 1.5 s`
//! ([`USABLE_MS`]): the log's clock at its answer, however the answer travelled (a
//! cached one is at most 1 s old). A key revoked before that is refused. One request at
//! a time catches up; while it reads, the others use the copy for up to
//! [`USABLE_MS`], so a burst of requests makes one read, not one each. A copy past that
//! — the log unreadable or slow — clears nothing: every hit resolves.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use crate::revocation_log::{oldest_kept, Page};

/// A copy older than this is brought up to date before a hit is believed.
pub const FRESH_MS: i64 = 1_000;
/// A copy older than this is not used at all: every hit resolves at the origin.
pub const USABLE_MS: i64 = 1_500;
/// After a failed read, the log is not asked again for this long (hits resolve).
pub const RETRY_MS: i64 = 1_000;
/// A read this old is no longer waited for (its request may have gone away).
pub const READ_MS: i64 = 1_000;
/// Pages read in one catch-up at most; a longer log is read over several requests.
pub const MAX_PAGES: usize = 4;

/// What the copy says about a cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// In the log: the entry is stale, whatever KV says.
    Revoked,
    /// Not in a copy at most [`STALE_MS`] old.
    Clear,
    /// The copy is too old (or there is none): ask the origin.
    Unknown,
}

/// The copy's keys are `tollgate:auth:<kind>:<sha256 hex>` and come only from the
/// origin's signed purges: their last 16 characters (64 bits of a digest) hash as well as
/// anything, at a fraction of SipHash's cost on the hit path. (Collisions would cost
/// time, never a wrong answer: the map compares whole keys.)
struct TailHasher(u64);

impl Default for TailHasher {
    fn default() -> TailHasher {
        TailHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in &bytes[bytes.len().saturating_sub(16)..] {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Keys = HashMap<String, i64, BuildHasherDefault<TailHasher>>;

#[derive(Debug, Default)]
struct Copy {
    epoch: Option<String>,
    /// The newest sequence number applied.
    after: u64,
    /// The log's clock at its last complete answer.
    as_of_ms: Option<i64>,
    /// A catch-up stopped at a page boundary: read on regardless of freshness.
    partial: bool,
    failed_at_ms: Option<i64>,
    /// When the read now under way began.
    reading_since_ms: Option<i64>,
    /// The log overflowed: until then nothing is cleared.
    overflow_until_ms: i64,
    /// Revoked key → when it was appended.
    keys: Keys,
}

/// One per isolate (a `static` in the glue), shared by its concurrent requests.
#[derive(Debug, Default)]
pub struct Revocations {
    copy: Mutex<Copy>,
}

impl Revocations {
    fn copy(&self) -> std::sync::MutexGuard<'_, Copy> {
        // A panic while holding it cannot leave the copy half-applied in a way that
        // opens anything: at worst it is older than it says, and `as_of_ms` bounds that.
        self.copy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The sequence number to read after, when this request must catch the copy up now
    /// (it then counts as reading until it applies an answer or fails); `None` when the
    /// copy is fresh, another request is reading, or the log failed a moment ago.
    pub fn next_read(&self, now_ms: i64) -> Option<u64> {
        let mut copy = self.copy();
        let within = |since: Option<i64>, limit: i64| {
            since.is_some_and(|at| now_ms.saturating_sub(at) < limit)
        };
        let fresh = copy
            .as_of_ms
            .is_some_and(|as_of| now_ms.saturating_sub(as_of) <= FRESH_MS);
        if (fresh && !copy.partial)
            || within(copy.failed_at_ms, RETRY_MS)
            || within(copy.reading_since_ms, READ_MS)
        {
            return None;
        }
        copy.reading_since_ms = Some(now_ms);
        Some(copy.after)
    }

    /// Applies an answer to "after `asked`". `false` when the page does not continue
    /// the copy (another request moved it meanwhile): the caller stops reading.
    pub fn apply(&self, asked: u64, page: Page, now_ms: i64) -> bool {
        let mut copy = self.copy();
        copy.reading_since_ms = None;
        if copy.epoch.as_deref() != Some(page.epoch.as_str()) {
            // A log that started over: its numbering is new, so the copy reads it again
            // from 0 (a page after anything else skips its first entries). The keys it
            // holds stay until their own time is up: the new log may not have them, and
            // KV may still.
            copy.epoch = Some(page.epoch.clone());
            copy.after = 0;
            copy.as_of_ms = None;
            copy.partial = asked != 0;
            if asked != 0 {
                return true;
            }
        } else if copy.after != asked {
            return false;
        }
        copy.overflow_until_ms = copy.overflow_until_ms.max(page.overflow_until_ms);
        for entry in page.entries {
            if entry.seq > copy.after {
                copy.after = entry.seq;
            }
            copy.keys.insert(entry.key, entry.at_ms);
        }
        copy.failed_at_ms = None;
        copy.partial = page.more;
        if !page.more {
            // Never fresher than this isolate's own clock: a log clock ahead of it (skew,
            // or an answer from the future) must not stop the copy reading.
            let as_of = page.as_of_ms.min(now_ms);
            copy.as_of_ms = Some(copy.as_of_ms.map_or(as_of, |a| a.max(as_of)));
        }
        let oldest = oldest_kept(now_ms);
        copy.keys.retain(|_, at| *at >= oldest);
        true
    }

    /// The log could not be read (or answered nonsense).
    pub fn failed(&self, now_ms: i64) {
        let mut copy = self.copy();
        copy.failed_at_ms = Some(now_ms);
        copy.reading_since_ms = None;
    }

    pub fn verdict(&self, key: &str, now_ms: i64) -> Verdict {
        let copy = self.copy();
        if copy.keys.contains_key(key) {
            return Verdict::Revoked;
        }
        if now_ms < copy.overflow_until_ms {
            return Verdict::Unknown;
        }
        match copy.as_of_ms {
            Some(as_of) if !copy.partial && now_ms.saturating_sub(as_of) <= USABLE_MS => {
                Verdict::Clear
            }
            _ => Verdict::Unknown,
        }
    }

    /// Keys held, for tests and the bench.
    pub fn len(&self) -> usize {
        self.copy().keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation_log::{Entry, RETENTION_MS};

    const T: i64 = 1_700_000_000_000;

    fn entry(seq: u64, key: &str, at_ms: i64) -> Entry {
        Entry {
            seq,
            key: key.to_owned(),
            at_ms,
        }
    }

    fn page(epoch: &str, entries: Vec<Entry>, more: bool, as_of_ms: i64) -> Page {
        Page {
            epoch: epoch.to_owned(),
            entries,
            more,
            as_of_ms,
            overflow_until_ms: 0,
        }
    }

    #[test]
    fn a_new_copy_knows_nothing_and_reads_from_the_start() {
        let r = Revocations::default();
        assert_eq!(r.verdict("k", T), Verdict::Unknown);
        assert_eq!(r.next_read(T), Some(0));
    }

    #[test]
    fn a_fresh_copy_clears_what_it_does_not_hold_and_refuses_what_it_does() {
        let r = Revocations::default();
        assert!(r.apply(0, page("e", vec![entry(1, "a", T)], false, T), T));
        assert_eq!(r.verdict("a", T), Verdict::Revoked);
        assert_eq!(r.verdict("b", T), Verdict::Clear);
        assert_eq!(r.next_read(T + FRESH_MS), None, "fresh for a second");
        assert_eq!(
            r.next_read(T + FRESH_MS + 1),
            Some(1),
            "then catch up after 1"
        );
        assert_eq!(r.verdict("b", T + USABLE_MS), Verdict::Clear);
        assert_eq!(r.verdict("b", T + USABLE_MS + 1), Verdict::Unknown);
        assert_eq!(r.verdict("a", T + USABLE_MS + 1), Verdict::Revoked);
    }

    #[test]
    fn freshness_is_the_logs_clock_not_the_time_of_reading() {
        let r = Revocations::default();
        // A cached answer the log gave 900 ms ago is fresh for 100 ms more only.
        assert!(r.apply(0, page("e", vec![], false, T - 900), T));
        assert_eq!(r.next_read(T + 100), None);
        assert_eq!(r.next_read(T + 101), Some(0));
        // An older answer never makes the copy older.
        assert!(r.apply(0, page("e", vec![], false, T - 5_000), T));
        assert_eq!(r.next_read(T + 100), None);
    }

    #[test]
    fn one_request_reads_while_the_others_use_the_copy_a_little_longer() {
        let r = Revocations::default();
        assert!(r.apply(0, page("e", vec![], false, T), T));
        let late = T + FRESH_MS + 100;
        assert_eq!(r.next_read(late), Some(0), "the first to find it old reads");
        assert_eq!(r.next_read(late + 1), None, "the others do not");
        assert_eq!(
            r.verdict("x", late + 1),
            Verdict::Clear,
            "and use the copy meanwhile"
        );
        assert_eq!(
            r.verdict("x", T + USABLE_MS + 1),
            Verdict::Unknown,
            "not beyond 1.5 s"
        );
        // A read whose request went away is not waited for forever.
        assert_eq!(r.next_read(late + READ_MS), Some(0));
        assert!(r.apply(0, page("e", vec![], false, late + READ_MS), late + READ_MS));
        assert_eq!(r.next_read(late + READ_MS + 1), None, "fresh again");
    }

    #[test]
    fn a_long_log_is_read_page_by_page() {
        let r = Revocations::default();
        assert!(r.apply(0, page("e", vec![entry(1, "a", T)], true, T), T));
        assert_eq!(r.verdict("b", T), Verdict::Unknown, "not complete yet");
        assert_eq!(r.next_read(T), Some(1));
        assert!(r.apply(1, page("e", vec![entry(2, "b", T)], false, T), T));
        assert_eq!(r.verdict("b", T), Verdict::Revoked);
        assert_eq!(r.verdict("c", T), Verdict::Clear);
        assert_eq!(r.next_read(T), None);
    }

    #[test]
    fn a_page_that_does_not_continue_the_copy_is_not_applied() {
        let r = Revocations::default();
        assert!(r.apply(
            0,
            page("e", vec![entry(1, "a", T), entry(2, "b", T)], false, T),
            T
        ));
        // A slower request that asked after 0 arrives late.
        assert!(!r.apply(0, page("e", vec![entry(1, "a", T)], false, T + 10), T));
        assert_eq!(r.next_read(T + 10 + FRESH_MS + 1), Some(2));
    }

    #[test]
    fn a_log_that_started_over_is_read_again_and_its_old_keys_kept() {
        let r = Revocations::default();
        assert!(r.apply(0, page("old", vec![entry(7, "a", T)], false, T), T + 10));
        // The new log's entries after 7 are not all it has: read it from the start.
        assert!(r.apply(
            7,
            page("new", vec![entry(8, "c", T)], false, T + 10),
            T + 10
        ));
        assert_eq!(
            r.verdict("c", T + 10),
            Verdict::Unknown,
            "not applied, copy incomplete"
        );
        assert_eq!(r.verdict("x", T + 10), Verdict::Unknown);
        assert_eq!(r.next_read(T + 10), Some(0));
        let new = page("new", vec![entry(1, "b", T)], false, T + 10);
        assert!(r.apply(0, new, T + 10));
        // What the old log revoked stays revoked: KV may still hold it.
        assert_eq!(r.verdict("a", T + 10), Verdict::Revoked);
        assert_eq!(r.verdict("b", T + 10), Verdict::Revoked);
        assert_eq!(r.verdict("x", T + 10), Verdict::Clear);
        assert_eq!(r.next_read(T + 10 + FRESH_MS + 1), Some(1));
    }

    #[test]
    fn a_log_clock_ahead_of_ours_does_not_make_the_copy_fresher() {
        let r = Revocations::default();
        assert!(r.apply(0, page("e", vec![], false, T + 60_000), T));
        assert_eq!(
            r.next_read(T + FRESH_MS + 1),
            Some(0),
            "fresh from T, not T + 60 s"
        );
        assert_eq!(r.verdict("x", T + USABLE_MS + 1), Verdict::Unknown);
    }

    #[test]
    fn an_overflowed_log_clears_nothing_until_its_dropped_rows_would_have_expired() {
        let r = Revocations::default();
        let mut overflowed = page("e", vec![], false, T);
        overflowed.overflow_until_ms = T + 5_000;
        assert!(r.apply(0, overflowed, T));
        assert_eq!(r.verdict("x", T), Verdict::Unknown);
        // Later pages without the mark do not lift it early.
        assert!(r.apply(0, page("e", vec![], false, T + 4_000), T + 4_000));
        assert_eq!(r.verdict("x", T + 4_000), Verdict::Unknown);
        assert!(r.apply(0, page("e", vec![], false, T + 5_000), T + 5_000));
        assert_eq!(r.verdict("x", T + 5_000), Verdict::Clear);
    }

    #[test]
    fn failures_back_off_and_let_the_copy_go_stale() {
        let r = Revocations::default();
        assert!(r.apply(0, page("e", vec![], false, T), T));
        assert_eq!(r.next_read(T + 1_200), Some(0));
        r.failed(T + 1_300);
        assert_eq!(r.next_read(T + 1_400), None, "not asked again at once");
        assert_eq!(r.verdict("x", T + 1_400), Verdict::Clear, "still usable");
        assert_eq!(
            r.verdict("x", T + USABLE_MS + 1),
            Verdict::Unknown,
            "then not"
        );
        assert_eq!(r.next_read(T + 1_300 + RETRY_MS), Some(0));
    }

    #[test]
    fn entries_past_retention_are_forgotten() {
        let r = Revocations::default();
        assert!(r.apply(0, page("e", vec![entry(1, "a", T)], false, T), T));
        let later = T + RETENTION_MS + 1;
        assert!(r.apply(
            1,
            page("e", vec![entry(2, "b", later)], false, later),
            later
        ));
        assert_eq!(r.len(), 1);
        assert_eq!(r.verdict("b", later), Verdict::Revoked);
    }
}
