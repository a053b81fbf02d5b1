//! A small in-memory map whose entries expire, bounded in entries (oldest out first).
//! One piece for both in-process caches: the edge's isolate-local negative cache and
//! the origin's cache of cloud PATs Fleet verified. Times are unix seconds, passed in,
//! so that tests need no clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Never contended at the edge (one request at a time per isolate thread); at the
/// origin held only for a lookup or an insert, never across I/O.
pub struct ExpiringMap<V> {
    capacity: usize,
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    entries: HashMap<String, (V, i64)>,
    /// Insertion order, for evicting the oldest once over capacity.
    order: VecDeque<String>,
}

impl<V: Clone> ExpiringMap<V> {
    pub fn new(capacity: usize) -> ExpiringMap<V> {
        ExpiringMap {
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// The value under `key` and when it expires, if it has not yet (`now < until`).
    /// A poisoned lock reads as a miss: a cache may forget, never invent.
    pub fn get(&self, key: &str, now: i64) -> Option<(V, i64)> {
        let inner = self.inner.lock().ok()?;
        inner
            .entries
            .get(key)
            .filter(|(_, until)| now < *until)
            .cloned()
    }

    /// Keeps `value` under `key` until `until`, replacing what was there.
    pub fn insert(&self, key: &str, value: V, until: i64) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner
            .entries
            .insert(key.to_owned(), (value, until))
            .is_none()
        {
            inner.order.push_back(key.to_owned());
        }
        while inner.order.len() > self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.entries.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.order.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let map = ExpiringMap::new(10);
        assert_eq!(map.get("k", 100), None);
        map.insert("k", 7, 130);
        assert_eq!(map.get("k", 100), Some((7, 130)));
        assert_eq!(map.get("k", 129), Some((7, 130)));
        assert_eq!(map.get("k", 130), None);
        assert_eq!(map.get("other", 100), None);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn bounded_oldest_first() {
        let map = ExpiringMap::new(100);
        for i in 0..105 {
            map.insert(&format!("k{i}"), (), 200);
        }
        assert_eq!(map.len(), 100);
        assert_eq!(map.get("k0", 100), None);
        assert_eq!(map.get("k4", 100), None);
        assert!(map.get("k5", 100).is_some());
        assert!(map.get("k104", 100).is_some());
        // Replacing a key does not grow the map.
        map.insert("k5", (), 300);
        assert_eq!(map.len(), 100);
        assert_eq!(map.get("k5", 250), Some(((), 300)));
    }
}
