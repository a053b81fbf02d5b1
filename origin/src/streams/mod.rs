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

mod end;
pub mod listener;
pub mod socket;

pub use end::EndSignal;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
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

/// The ids `map` lists under `key` (none if it lists nothing).
fn listed<K, Q>(map: &HashMap<K, HashSet<u64>>, key: &Q) -> Vec<u64>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    map.get(key).into_iter().flatten().copied().collect()
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
                let ids = listed(&registry.by_credential, key);
                registry.end(ids, Ending::Revoked)
            }
            ended::Ended::Person(user) => {
                let ids = listed(&registry.by_user, &user);
                registry.end(ids, Ending::Revoked)
            }
            ended::Ended::Member {
                workspace_id,
                user_id,
            } => {
                let mut ids = listed(&registry.by_user, &user_id);
                ids.retain(|id| {
                    registry
                        .sockets
                        .get(id)
                        .is_some_and(|e| e.opened.workspace_id == workspace_id)
                });
                registry.end(ids, Ending::NotAMember)
            }
            ended::Ended::Unreadable => 0,
        }
    }

    /// Closes every stream of `workspace_id` (its events could not be read).
    pub fn end_workspace(&self, workspace_id: Uuid, why: Ending) -> usize {
        let registry = self.registry();
        let ids = listed(&registry.by_workspace, &workspace_id);
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
mod tests;
