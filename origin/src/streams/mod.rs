//! Realtime events over WebSocket (docs/ARCHITECTURE.md "Event streams"). Every stream
//! this process holds is registered here, with the workspace it follows, the person it
//! acts for and the key its credential ends by. The [`listener`] hears, on one Postgres
//! connection, every commit that writes events (`db::events::record`) or ends a
//! credential (`db::ended::announce`), whichever process made it, and tells this
//! registry; each socket's own task ([`socket`]) writes what it is given and closes
//! when it is told to.
//!
//! A stream is registered before its credential is checked again and before its replay
//! is read, so that nothing committed after that check can pass it by unheard.

pub mod listener;
pub mod socket;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tollgate_shared::streams::{Ending, PER_CREDENTIAL};
use uuid::Uuid;

use crate::db::ended;
use crate::db::events::Event;

/// The bounds of every stream (`STREAM_PING_SECS`, `STREAM_IDLE_SECS`, `STREAMS_MAX`,
/// `STREAM_BUFFER`; `config::streams` reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSettings {
    /// A ping this often; it is also when the credential is checked again.
    pub ping: Duration,
    /// Closed (1001) when nothing was heard from the client for this long.
    pub idle: Duration,
    /// Open streams in this process at most; one more is 429.
    pub max_total: usize,
    /// Open streams in this process acting for one person at most, whatever their
    /// credentials: one person minting tokens cannot take every place.
    pub max_per_person: usize,
    /// Events queued for one socket at most; a client that lets more pile up is closed
    /// with 1013 rather than held in memory.
    pub buffer: usize,
}

impl Default for StreamSettings {
    fn default() -> StreamSettings {
        StreamSettings {
            ping: Duration::from_secs(30),
            idle: Duration::from_secs(90),
            max_total: 10_000,
            max_per_person: 1_000,
            buffer: 256,
        }
    }
}

/// Who a stream is for: what it follows, whom it acts for, and the key its credential
/// ends by (the edge's cache key of its token, or its session's revocation key).
#[derive(Clone)]
pub struct Opened {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub credential: String,
}

/// Holds a token's hash: not shown.
impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("workspace_id", &self.workspace_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// One event as a socket sends it: serialized once for every socket of the workspace.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: i64,
    pub text: Arc<str>,
}

impl Frame {
    pub fn of(event: &Event) -> Frame {
        Frame {
            id: event.id,
            // An Event (strings, numbers, JSON) always serializes.
            text: serde_json::to_string(event).unwrap_or_default().into(),
        }
    }
}

/// How a socket is told to close: the first reason given wins.
#[derive(Debug, Default)]
pub struct EndSignal {
    why: Mutex<Option<Ending>>,
    notify: Notify,
}

impl EndSignal {
    pub fn end(&self, why: Ending) {
        let mut slot = self.why.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(why);
            self.notify.notify_one();
        }
    }

    pub fn get(&self) -> Option<Ending> {
        *self.why.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Until the socket is told to close, and why.
    pub async fn wait(&self) -> Ending {
        loop {
            if let Some(why) = self.get() {
                return why;
            }
            self.notify.notified().await;
        }
    }
}

struct Entry {
    opened: Opened,
    frames: mpsc::Sender<Frame>,
    end: Arc<EndSignal>,
}

#[derive(Default)]
struct Registry {
    /// Whether the listener is connected: read and changed under the same lock as the
    /// maps, so no stream registers between losing the listener and closing them all.
    listening: bool,
    sockets: HashMap<u64, Entry>,
    by_workspace: HashMap<Uuid, HashSet<u64>>,
    by_credential: HashMap<String, HashSet<u64>>,
    by_user: HashMap<Uuid, HashSet<u64>>,
}

fn index<K: std::hash::Hash + Eq>(map: &mut HashMap<K, HashSet<u64>>, key: K, id: u64) {
    map.entry(key).or_default().insert(id);
}

fn unindex<K: std::hash::Hash + Eq>(map: &mut HashMap<K, HashSet<u64>>, key: &K, id: u64) {
    if let Some(ids) = map.get_mut(key) {
        ids.remove(&id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}

impl Registry {
    fn end(&self, ids: impl IntoIterator<Item = u64>, why: Ending) -> usize {
        let mut n = 0;
        for id in ids {
            if let Some(entry) = self.sockets.get(&id) {
                entry.end.end(why);
                n += 1;
            }
        }
        n
    }
}

/// Why a stream could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The listener is not connected: no event could be promised (503).
    Unavailable,
    /// [`PER_CREDENTIAL`] are open with this credential already (429).
    TooManyForCredential,
    /// `STREAMS_PER_PERSON` act for this person in this process (429).
    TooManyForPerson,
    /// `STREAMS_MAX` are open in this process (429).
    TooMany,
}

pub struct Streams {
    settings: StreamSettings,
    registry: Mutex<Registry>,
    next_id: AtomicU64,
}

impl Streams {
    pub fn new(settings: StreamSettings) -> Arc<Streams> {
        Arc::new(Streams {
            settings,
            registry: Mutex::default(),
            next_id: AtomicU64::new(1),
        })
    }

    pub fn settings(&self) -> StreamSettings {
        self.settings
    }

    // A panic while holding the lock leaves the maps whole (each change is one insert
    // or remove), so the registry stays usable.
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a stream: from now on it is given its workspace's events and told when
    /// its credential ends. Dropping the registration unregisters it.
    pub fn register(self: &Arc<Self>, opened: Opened) -> Result<Registration, Refused> {
        let mut registry = self.registry();
        if !registry.listening {
            return Err(Refused::Unavailable);
        }
        if registry.sockets.len() >= self.settings.max_total {
            return Err(Refused::TooMany);
        }
        let same = registry.by_credential.get(&opened.credential);
        if same.is_some_and(|ids| ids.len() >= PER_CREDENTIAL) {
            return Err(Refused::TooManyForCredential);
        }
        let theirs = registry.by_user.get(&opened.user_id);
        if theirs.is_some_and(|ids| ids.len() >= self.settings.max_per_person) {
            return Err(Refused::TooManyForPerson);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (frames, queued) = mpsc::channel(self.settings.buffer);
        let end = Arc::new(EndSignal::default());
        index(&mut registry.by_workspace, opened.workspace_id, id);
        index(&mut registry.by_credential, opened.credential.clone(), id);
        index(&mut registry.by_user, opened.user_id, id);
        registry.sockets.insert(
            id,
            Entry {
                opened: opened.clone(),
                frames,
                end: end.clone(),
            },
        );
        Ok(Registration {
            streams: self.clone(),
            id,
            frames: queued,
            end,
            opened,
        })
    }

    fn unregister(&self, id: u64) {
        let mut registry = self.registry();
        if let Some(entry) = registry.sockets.remove(&id) {
            let Opened {
                workspace_id,
                user_id,
                credential,
            } = entry.opened;
            unindex(&mut registry.by_workspace, &workspace_id, id);
            unindex(&mut registry.by_credential, &credential, id);
            unindex(&mut registry.by_user, &user_id, id);
        }
    }

    /// Streams open in this process.
    pub fn open(&self) -> usize {
        self.registry().sockets.len()
    }

    /// Whether any stream here follows `workspace_id` (if none, its events need not be
    /// read).
    pub fn follows(&self, workspace_id: Uuid) -> bool {
        self.registry().by_workspace.contains_key(&workspace_id)
    }

    /// Gives the workspace's newly committed `events` (in id order) to each of its
    /// streams. A `member:removed` first closes the removed person's streams of the
    /// workspace (4403), so they are given nothing from then on; a stream whose queue is
    /// full is closed (1013).
    pub fn deliver(&self, workspace_id: Uuid, events: &[Event]) {
        let registry = self.registry();
        let Some(ids) = registry.by_workspace.get(&workspace_id) else {
            return;
        };
        let mut ids: Vec<u64> = ids.iter().copied().collect();
        for event in events {
            if event.kind == "member:removed" {
                if let Some(gone) = removed_member(event) {
                    let theirs = registry.by_user.get(&gone).cloned().unwrap_or_default();
                    ids.retain(|id| {
                        let is_theirs = theirs.contains(id);
                        if is_theirs {
                            registry.end([*id], Ending::NotAMember);
                        }
                        !is_theirs
                    });
                }
            }
            let frame = Frame::of(event);
            for id in &ids {
                let Some(entry) = registry.sockets.get(id) else {
                    continue;
                };
                if let Err(mpsc::error::TrySendError::Full(_)) =
                    entry.frames.try_send(frame.clone())
                {
                    entry.end.end(Ending::SlowConsumer);
                }
            }
        }
    }

    /// Closes what an ended key names (`db::ended`): the streams opened with that
    /// credential (4401), every stream acting for a suspended person (4401), or a
    /// removed member's streams of that workspace (4403). How many.
    pub fn end_credential(&self, key: &str) -> usize {
        let registry = self.registry();
        match ended::Ended::of(key) {
            ended::Ended::Credential(key) => {
                let ids: Vec<u64> = registry
                    .by_credential
                    .get(key)
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                registry.end(ids, Ending::Revoked)
            }
            ended::Ended::Person(user) => {
                let ids: Vec<u64> = registry
                    .by_user
                    .get(&user)
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                registry.end(ids, Ending::Revoked)
            }
            ended::Ended::Member {
                workspace_id,
                user_id,
            } => {
                let ids: Vec<u64> = registry
                    .by_user
                    .get(&user_id)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|id| {
                        registry
                            .sockets
                            .get(id)
                            .is_some_and(|e| e.opened.workspace_id == workspace_id)
                    })
                    .collect();
                registry.end(ids, Ending::NotAMember)
            }
            ended::Ended::Unreadable => 0,
        }
    }

    /// Closes every stream of `workspace_id` (its events could not be read).
    pub fn end_workspace(&self, workspace_id: Uuid, why: Ending) -> usize {
        let registry = self.registry();
        let ids: Vec<u64> = registry
            .by_workspace
            .get(&workspace_id)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        registry.end(ids, why)
    }

    /// Whether the listener is connected. Losing it closes every stream (1012): events
    /// committed meanwhile would not reach them, and they catch up with `?after=`.
    pub fn set_listening(&self, listening: bool) {
        let mut registry = self.registry();
        registry.listening = listening;
        if !listening {
            registry.end(
                registry.sockets.keys().copied().collect::<Vec<_>>(),
                Ending::Restarting,
            );
        }
    }
}

/// The person a `member:removed` event removed.
fn removed_member(event: &Event) -> Option<Uuid> {
    event.payload.get("user_id")?.as_str()?.parse().ok()
}

/// A registered stream: its queue of events and its end signal. Dropped, it is gone
/// from the registry.
pub struct Registration {
    streams: Arc<Streams>,
    id: u64,
    pub frames: mpsc::Receiver<Frame>,
    pub end: Arc<EndSignal>,
    pub opened: Opened,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.streams.unregister(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(max_total: usize, buffer: usize) -> StreamSettings {
        StreamSettings {
            max_total,
            buffer,
            ..StreamSettings::default()
        }
    }

    #[test]
    fn one_person_holds_at_most_their_share_whatever_their_credentials() {
        let streams = Streams::new(StreamSettings {
            max_per_person: 3,
            ..settings(100, 4)
        });
        streams.set_listening(true);
        let (w, alice) = (Uuid::new_v4(), Uuid::new_v4());
        let held: Vec<_> = ["a1", "a2", "a3"]
            .iter()
            .map(|key| streams.register(opened(w, alice, key)).unwrap())
            .collect();
        assert_eq!(
            streams.register(opened(w, alice, "a4")).err(),
            Some(Refused::TooManyForPerson)
        );
        let bob = streams.register(opened(w, Uuid::new_v4(), "b1"));
        assert!(bob.is_ok(), "someone else still gets a place");
        drop(held);
        assert!(streams.register(opened(w, alice, "a4")).is_ok());
    }

    fn opened(workspace_id: Uuid, user_id: Uuid, credential: &str) -> Opened {
        Opened {
            workspace_id,
            user_id,
            credential: credential.to_owned(),
        }
    }

    fn event(id: i64, kind: &str, payload: serde_json::Value) -> Event {
        Event {
            id,
            kind: kind.to_owned(),
            payload,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn nothing_is_registered_without_a_listener_and_limits_hold() {
        let streams = Streams::new(settings(PER_CREDENTIAL + 1, 4));
        let (w, u) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            streams.register(opened(w, u, "k")).err(),
            Some(Refused::Unavailable)
        );
        streams.set_listening(true);
        let held: Vec<_> = (0..PER_CREDENTIAL)
            .map(|_| streams.register(opened(w, u, "k")).unwrap())
            .collect();
        assert_eq!(
            streams.register(opened(w, u, "k")).err(),
            Some(Refused::TooManyForCredential)
        );
        let other = streams.register(opened(w, u, "other")).unwrap();
        assert_eq!(
            streams.register(opened(w, u, "third")).err(),
            Some(Refused::TooMany)
        );
        drop(other);
        drop(held);
        assert_eq!(streams.open(), 0);
        assert!(!streams.follows(w));
    }

    #[test]
    fn events_reach_the_workspace_and_endings_reach_their_streams() {
        let streams = Streams::new(settings(100, 2));
        streams.set_listening(true);
        let (w, elsewhere) = (Uuid::new_v4(), Uuid::new_v4());
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let mut a = streams.register(opened(w, alice, "a")).unwrap();
        let mut b = streams.register(opened(w, bob, "b")).unwrap();
        let mut far = streams.register(opened(elsewhere, bob, "b2")).unwrap();
        streams.deliver(w, &[event(7, "runtime:online", json!({}))]);
        assert_eq!(a.frames.try_recv().unwrap().id, 7);
        assert_eq!(b.frames.try_recv().unwrap().id, 7);
        assert!(far.frames.try_recv().is_err());
        // Bob removed: his stream of w ends 4403 and is given nothing more.
        let removed = event(8, "member:removed", json!({ "user_id": bob.to_string() }));
        streams.deliver(w, &[removed]);
        assert_eq!(b.end.get(), Some(Ending::NotAMember));
        assert!(b.frames.try_recv().is_err());
        assert_eq!(a.frames.try_recv().unwrap().id, 8);
        assert_eq!(far.end.get(), None);
        // A credential's key ends its streams; a person's key all of theirs.
        assert_eq!(streams.end_credential("a"), 1);
        assert_eq!(a.end.get(), Some(Ending::Revoked));
        assert_eq!(streams.end_credential(&ended::user_key(bob)), 2);
        assert_eq!(streams.end_credential("user:not-a-uuid"), 0);
        assert_eq!(far.end.get(), Some(Ending::Revoked));
        // The first reason stands.
        assert_eq!(b.end.get(), Some(Ending::NotAMember));
    }

    #[test]
    fn a_members_key_ends_their_streams_of_that_workspace_only() {
        let streams = Streams::new(settings(10, 2));
        streams.set_listening(true);
        let (w, elsewhere, bob) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let here = streams.register(opened(w, bob, "b")).unwrap();
        let daemon = streams.register(opened(w, bob, "d")).unwrap();
        let far = streams.register(opened(elsewhere, bob, "b")).unwrap();
        let other = streams.register(opened(w, Uuid::new_v4(), "o")).unwrap();
        assert_eq!(streams.end_credential(&ended::member_key(w, bob)), 2);
        assert_eq!(here.end.get(), Some(Ending::NotAMember));
        assert_eq!(daemon.end.get(), Some(Ending::NotAMember));
        assert_eq!(far.end.get(), None);
        assert_eq!(other.end.get(), None);
    }

    #[test]
    fn a_full_queue_closes_the_stream() {
        let streams = Streams::new(settings(10, 2));
        streams.set_listening(true);
        let w = Uuid::new_v4();
        let slow = streams.register(opened(w, Uuid::new_v4(), "s")).unwrap();
        let batch: Vec<Event> = (1..=3).map(|id| event(id, "x", json!({}))).collect();
        streams.deliver(w, &batch);
        assert_eq!(slow.end.get(), Some(Ending::SlowConsumer));
    }

    #[test]
    fn losing_the_listener_closes_every_stream() {
        let streams = Streams::new(settings(10, 2));
        streams.set_listening(true);
        let s = streams
            .register(opened(Uuid::new_v4(), Uuid::new_v4(), "s"))
            .unwrap();
        streams.set_listening(false);
        assert_eq!(s.end.get(), Some(Ending::Restarting));
        assert_eq!(
            streams
                .register(opened(Uuid::new_v4(), Uuid::new_v4(), "t"))
                .err(),
            Some(Refused::Unavailable)
        );
    }
}
