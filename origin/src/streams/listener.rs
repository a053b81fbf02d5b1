//! The one task per process that listens: it hears every commit that wrote events or
//! ended a credential, on any origin, and tells the registry. An ended credential is
//! handled the moment it is heard (in memory: nothing waits on the database); event
//! announcements go, in commit order, to one reader that fetches and delivers them, so
//! a stream sees events in id order and no slow read holds a close back. While the
//! connection is down no stream is open: losing it closes them all (1012) and new ones
//! get 503, since what was committed meanwhile would not reach them. A connection is
//! lost when it ends, when a heartbeat goes unanswered (a network that drops packets
//! ends nothing by itself), or when the reader falls too far behind.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_postgres::Client;
use tollgate_shared::streams::Ending;
use uuid::Uuid;

use super::Streams;
use crate::db::listen::{listen, Listening};
use crate::db::{ended, events, with_client};

/// Wait between two connection attempts.
const RECONNECT: Duration = Duration::from_secs(1);
/// The listening connection is asked something this often...
const HEARTBEAT: Duration = Duration::from_secs(1);
/// ...and lost if it does not answer within this: a connection that went silent is
/// given up within 3 s (a Postgres that is only busy answers an empty query well
/// within it, and a false alarm costs every stream a reconnect).
const HEARTBEAT_WAIT: Duration = Duration::from_secs(2);
/// Event announcements waiting for the reader at most; past it the listener starts
/// over (1012) rather than hold more in memory.
const BACKLOG: usize = 4096;

/// Listens until `stop` turns true, reconnecting whenever the connection is lost; at
/// the stop, every stream is closed (1012: reconnect elsewhere).
pub async fn run(
    streams: Arc<Streams>,
    pool: Pool,
    database_url: String,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match listen(&database_url, &[events::CHANNEL, ended::CHANNEL]).await {
            Ok(Listening {
                client,
                mut notifications,
            }) => {
                let client = Arc::new(client);
                let (announce, backlog) = mpsc::channel(BACKLOG);
                let mut tasks = Tasks {
                    reader: tokio::spawn(read(streams.clone(), pool.clone(), backlog)),
                    heartbeat: tokio::spawn(heartbeat(client.clone())),
                };
                streams.set_listening(true);
                tracing::info!("event streams listening");
                let why = loop {
                    tokio::select! {
                        note = notifications.recv() => match note {
                            None => break "connection ended",
                            Some(note) => match note.channel() {
                                ended::CHANNEL => {
                                    streams.end_credential(note.payload());
                                }
                                events::CHANNEL => match announced(note.payload()) {
                                    None => tracing::warn!("unreadable event announcement"),
                                    Some(a) if !streams.follows(a.0) => {}
                                    Some(a) => {
                                        if announce.try_send(a).is_err() {
                                            break "event reader fell behind";
                                        }
                                    }
                                },
                                _ => {}
                            },
                        },
                        _ = &mut tasks.heartbeat => break "heartbeat unanswered",
                        _ = &mut tasks.reader => break "event reader stopped",
                        _ = stop.changed() => {
                            streams.set_listening(false);
                            return;
                        }
                    }
                };
                drop(tasks);
                drop(client);
                streams.set_listening(false);
                tracing::warn!(
                    why,
                    "event stream listener lost; streams closed, reconnecting"
                );
            }
            Err(e) => tracing::warn!(error = %e, "event stream listener cannot connect"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The connection's reader and heartbeat: stopped with it.
struct Tasks {
    reader: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.reader.abort();
        self.heartbeat.abort();
    }
}

/// Returns when the connection fails to answer within [`HEARTBEAT_WAIT`].
async fn heartbeat(client: Arc<Client>) {
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        beat.tick().await;
        match tokio::time::timeout(HEARTBEAT_WAIT, client.simple_query("")).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
    }
}

/// Reads each announced range of events, in the order announced, and delivers it.
async fn read(streams: Arc<Streams>, pool: Pool, mut backlog: mpsc::Receiver<(Uuid, i64, i64)>) {
    while let Some((workspace_id, first, last)) = backlog.recv().await {
        let read = with_client(&pool, move |db| {
            Box::pin(async move { events::between(db, workspace_id, first, last).await })
        });
        match read.await {
            Ok(page) => streams.deliver(workspace_id, &page.events),
            Err(e) => {
                // They would miss these events: closed, they catch up with ?after=.
                let closed = streams.end_workspace(workspace_id, Ending::Restarting);
                tracing::warn!(error = %e, %workspace_id, closed, "events could not be read for the streams");
            }
        }
    }
}

/// `{workspace_id}:{first_id}:{last_id}`, as `db::events::record` announces.
fn announced(payload: &str) -> Option<(Uuid, i64, i64)> {
    let mut parts = payload.split(':');
    let workspace_id = parts.next()?.parse().ok()?;
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    parts
        .next()
        .is_none()
        .then_some((workspace_id, first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_read_back() {
        let w = Uuid::new_v4();
        assert_eq!(announced(&format!("{w}:3:9")), Some((w, 3, 9)));
        for bad in ["", "x:1:2", &format!("{w}:1"), &format!("{w}:1:2:3")] {
            assert_eq!(announced(bad), None, "{bad}");
        }
    }
}
