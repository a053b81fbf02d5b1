//! The revocation log's contract: what the Durable Object (`glue::revocation_log`) keeps,
//! for how long, and how its answers look. KV is eventually consistent (a delete reaches
//! other locations within about a minute, and a location's read cache may serve an entry
//! longer); the log is one strongly consistent object that every location reads at most
//! once a second, so a revoked cache key is refused everywhere within 2 s
//! (docs/ARCHITECTURE.md "Revocation everywhere").
//!
//! The Durable Object stores rows `(seq, key, at_ms)`; everything here is pure and
//! tested on the host: the bounds, the checks of an append, and the pages of
//! "everything after sequence N".

use serde::{Deserialize, Serialize};
use tollgate_shared::cache::{CLOUD_TTL_SECS, MAX_TTL_SECS};

/// The longest a KV entry can be served: the longest entry TTL (an entry is refused
/// past its own `valid_until` whatever KV returns), plus KV's read cache (60 s), plus a
/// resolve still in flight when the revocation committed (the origin's 30 s timeout,
/// rounded up). An entry older than this protects nothing and is dropped.
pub const RETENTION_MS: i64 = {
    let longest = if MAX_TTL_SECS > CLOUD_TTL_SECS {
        MAX_TTL_SECS
    } else {
        CLOUD_TTL_SECS
    };
    (longest as i64 + 60 + 60) * 1000
};

/// At most this many keys are retained. An append that would go past it drops the
/// oldest rows to make room and marks the log as overflowed for [`RETENTION_MS`]: while
/// that lasts no copy clears any hit (every hit resolves at the origin), because a dropped
/// row may still have protected something. Refusing the append instead would let anyone
/// who can revoke fast enough leave later revocations to KV's own pace.
pub const MAX_ENTRIES: u64 = 100_000;

/// Keys per append: one purge call's worth.
pub const MAX_APPEND: usize = crate::purge::MAX_KEYS;

/// Entries per page of a catch-up answer.
pub const PAGE: u64 = 1_000;

/// The binding of the Durable Object namespace, and the name of its one object.
pub const BINDING: &str = "REVOCATION_LOG";
pub const OBJECT_NAME: &str = "global";

/// The object's own routes (reachable only through the binding).
pub const APPEND_PATH: &str = "/append";
pub const AFTER_PATH: &str = "/after/";
pub const STATS_PATH: &str = "/stats";

/// What the log keeps: our own cache keys, and session ids to come.
const KEY_PREFIXES: [&str; 1] = ["tollgate:auth:"];
const MAX_KEY_LEN: usize = 200;

/// A key the log (and so the purge) takes: ours, and of a sane length.
pub fn is_valid_key(key: &str) -> bool {
    key.len() <= MAX_KEY_LEN && KEY_PREFIXES.iter().any(|p| key.starts_with(p))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendRequest {
    pub keys: Vec<String>,
}

/// The append's answer: the newest sequence number, which covers the keys appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendAnswer {
    pub head: u64,
}

/// One revoked key with its sequence number and when it was (last) appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub key: String,
    pub at_ms: i64,
}

/// "Everything after sequence `after`", at most [`PAGE`] entries of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Which log this is: a log whose storage started over has a new epoch, and a copy
    /// of another epoch starts over too.
    pub epoch: String,
    pub entries: Vec<Entry>,
    /// More entries follow the last one here: ask again after it.
    pub more: bool,
    /// The object's clock when it answered: the copy is as fresh as this.
    pub as_of_ms: i64,
    /// Until when rows dropped to make room may still have protected something (0: none
    /// ever were): until then no copy clears a hit.
    #[serde(default)]
    pub overflow_until_ms: i64,
}

/// How much the object has served and holds (the bench reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Catch-up reads since the object started.
    pub reads: u64,
    pub retained: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendRefusal {
    /// Not JSON of the right shape, too many keys, or a key that is not ours.
    BadRequest,
}

/// The keys of an append body, deduplicated, or why it is refused.
pub fn parse_append(body: &[u8]) -> Result<Vec<String>, AppendRefusal> {
    let request: AppendRequest =
        serde_json::from_slice(body).map_err(|_| AppendRefusal::BadRequest)?;
    if request.keys.len() > MAX_APPEND || !request.keys.iter().all(|k| is_valid_key(k)) {
        return Err(AppendRefusal::BadRequest);
    }
    let mut keys = request.keys;
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

/// How many of the oldest rows must go so that `adding` new keys fit beside `retained`
/// (counted after expired ones went); more than zero means the log overflowed.
pub fn to_drop(retained: u64, adding: usize) -> u64 {
    retained
        .saturating_add(adding as u64)
        .saturating_sub(MAX_ENTRIES)
}

/// Entries appended before this are dropped, from the log and from every copy.
pub fn oldest_kept(now_ms: i64) -> i64 {
    now_ms.saturating_sub(RETENTION_MS)
}

/// `N` of `/after/N`.
pub fn parse_after(path: &str) -> Option<u64> {
    let n = path.strip_prefix(AFTER_PATH)?;
    if n.is_empty() || n.len() > 20 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// A page from the rows read with `LIMIT PAGE + 1` (the extra row only says there is
/// more).
pub fn page(epoch: String, mut rows: Vec<Entry>, as_of_ms: i64, overflow_until_ms: i64) -> Page {
    let more = rows.len() as u64 > PAGE;
    rows.truncate(PAGE as usize);
    Page {
        epoch,
        entries: rows,
        more,
        as_of_ms,
        overflow_until_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> String {
        format!("tollgate:auth:mul:{n:064x}")
    }

    #[test]
    fn retention_covers_the_longest_entry_and_kvs_read_cache() {
        assert_eq!(RETENTION_MS, (600 + 60 + 60) * 1000);
        assert!(RETENTION_MS / 1000 > MAX_TTL_SECS as i64 + 60);
        assert_eq!(oldest_kept(1_000_000), 1_000_000 - RETENTION_MS);
        assert_eq!(oldest_kept(i64::MIN), i64::MIN);
    }

    #[test]
    fn appends_take_our_keys_only_deduplicated() {
        let body = serde_json::to_vec(&AppendRequest {
            keys: vec![key(2), key(1), key(2)],
        })
        .unwrap();
        assert_eq!(parse_append(&body), Ok(vec![key(1), key(2)]));
        let theirs = br#"{"keys":["session:abc"]}"#;
        assert_eq!(parse_append(theirs), Err(AppendRefusal::BadRequest));
        let long = format!(r#"{{"keys":["tollgate:auth:{}"]}}"#, "a".repeat(300));
        assert_eq!(
            parse_append(long.as_bytes()),
            Err(AppendRefusal::BadRequest)
        );
        assert_eq!(parse_append(b"[]"), Err(AppendRefusal::BadRequest));
        assert_eq!(parse_append(br#"{"keys":[]}"#), Ok(vec![]));
    }

    #[test]
    fn appends_are_bounded_per_call_and_in_total() {
        let keys: Vec<String> = (0..=MAX_APPEND as u32).map(key).collect();
        let body = serde_json::to_vec(&AppendRequest { keys }).unwrap();
        assert_eq!(parse_append(&body), Err(AppendRefusal::BadRequest));
        assert_eq!(to_drop(MAX_ENTRIES - 2, 2), 0);
        assert_eq!(to_drop(MAX_ENTRIES - 2, 3), 1, "the oldest goes");
        assert_eq!(to_drop(u64::MAX, 1), u64::MAX - MAX_ENTRIES);
        assert!(is_valid_key("tollgate:auth:mul:abc"));
        assert!(!is_valid_key(&format!("tollgate:auth:{}", "a".repeat(200))));
    }

    #[test]
    fn after_takes_a_plain_number() {
        assert_eq!(parse_after("/after/0"), Some(0));
        assert_eq!(parse_after("/after/42"), Some(42));
        assert_eq!(parse_after("/after/"), None);
        assert_eq!(parse_after("/after/-1"), None);
        assert_eq!(parse_after("/after/1e3"), None);
        assert_eq!(parse_after("/after/99999999999999999999"), None);
        assert_eq!(parse_after("/before/1"), None);
    }

    #[test]
    fn a_page_says_whether_more_follows() {
        let rows = |n: u64| -> Vec<Entry> {
            (1..=n)
                .map(|seq| Entry {
                    seq,
                    key: key(seq as u32),
                    at_ms: 5,
                })
                .collect()
        };
        let full = page("e".into(), rows(PAGE + 1), 9, 0);
        assert!(full.more);
        assert_eq!(full.entries.len() as u64, PAGE);
        assert_eq!(full.as_of_ms, 9);
        let last = page("e".into(), rows(3), 9, 0);
        assert!(!last.more);
        assert_eq!(last.entries.len(), 3);
    }
}
