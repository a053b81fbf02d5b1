//! The one task per process that listens: it hears every commit that wrote events or
//! ended a credential, on any origin, and tells the registry. Postgres delivers
//! notifications in commit order, and they are handled one at a time, so a stream sees
//! events (and its own end) in that order. While the connection is down no stream is
//! open: losing it closes them all (1012) and new ones get 503, since what was
//! committed meanwhile would not reach them.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::watch;
use tokio_postgres::Notification;
use tollgate_shared::streams::Ending;
use uuid::Uuid;

use super::Streams;
use crate::db::listen::{listen, Listening};
use crate::db::{ended, events, with_client};

/// Wait between two connection attempts.
const RECONNECT: Duration = Duration::from_secs(1);

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
                streams.set_listening(true);
                tracing::info!("event streams listening");
                loop {
                    tokio::select! {
                        note = notifications.recv() => match note {
                            Some(note) => handle(&streams, &pool, &note).await,
                            None => break,
                        },
                        _ = stop.changed() => {
                            streams.set_listening(false);
                            return;
                        }
                    }
                }
                drop(client);
                streams.set_listening(false);
                tracing::warn!("event stream listener lost; streams closed, reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "event stream listener cannot connect"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn handle(streams: &Streams, pool: &Pool, note: &Notification) {
    match note.channel() {
        events::CHANNEL => {
            let Some((workspace_id, first, last)) = announced(note.payload()) else {
                tracing::warn!("unreadable event announcement");
                return;
            };
            if !streams.follows(workspace_id) {
                return;
            }
            let read = with_client(pool, move |db| {
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
        ended::CHANNEL => {
            streams.end_credential(note.payload());
        }
        _ => {}
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
