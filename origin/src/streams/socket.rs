//! One stream's socket: the replay (`?after=`), then the live events in id order with
//! none twice, a ping every `STREAM_PING_SECS` (when the credential is also checked
//! again), and the close when the registry, the check, the idle limit or the client
//! ends it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use deadpool_postgres::Pool;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{interval_at, sleep, Instant, MissedTickBehavior};
use tollgate_shared::streams::Ending;

use super::{Frame, Registration, StreamSettings};
use crate::db::{events, with_client};

/// What a check of the stream's credential and membership found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// Still good; it expires in this long, if it expires within the next check.
    Live(Option<Duration>),
    Ended(Ending),
    /// The database could not tell: checked again at the next ping.
    Unknown,
}

pub type Check = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Checked> + Send>> + Send + Sync>;

/// A close frame is given this long to go out; then the connection is dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// A deadline that does not come (a credential without an expiry in sight).
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Why the pump stopped sending.
enum Stop {
    /// Close with this code.
    End(Ending),
    /// The client closed, or the connection is gone: nothing more to say.
    Gone,
}

pub struct Pump {
    pub pool: Pool,
    pub registration: Registration,
    /// `?after=`: replay the workspace's events after this id first.
    pub after: Option<i64>,
    pub settings: StreamSettings,
    pub check: Check,
    /// The first check's answer (made when the stream was registered).
    pub expires_in: Option<Duration>,
}

impl Pump {
    pub async fn run(self, socket: WebSocket) {
        let (mut tx, rx) = socket.split();
        let stop = self.pump(&mut tx, rx).await;
        if let Stop::End(why) = stop {
            let frame = CloseFrame {
                code: why.code(),
                reason: why.reason().into(),
            };
            let close = async {
                tx.send(Message::Close(Some(frame))).await?;
                tx.close().await
            };
            let _ = tokio::time::timeout(CLOSE_WAIT, close).await;
        }
    }

    async fn pump(
        self,
        tx: &mut SplitSink<WebSocket, Message>,
        mut rx: SplitStream<WebSocket>,
    ) -> Stop {
        let Pump {
            pool,
            mut registration,
            after,
            settings,
            check,
            expires_in,
        } = self;
        let end = registration.end.clone();
        let workspace_id = registration.opened.workspace_id;
        // Every event up to `cursor` has been sent (or was before the stream began).
        let mut cursor = 0;
        if let Some(after) = after {
            cursor = after;
            loop {
                let read = with_client(&pool, move |db| {
                    Box::pin(async move { events::after(db, workspace_id, cursor).await })
                });
                let Ok(page) = (match unless_ended(&end, read).await {
                    Ok(read) => read,
                    Err(why) => return Stop::End(why),
                }) else {
                    return Stop::End(Ending::Restarting);
                };
                for event in &page.events {
                    let frame = Frame::of(event);
                    if let Err(stop) =
                        send(tx, &end, Message::Text(frame.text.as_ref().into())).await
                    {
                        return stop;
                    }
                    cursor = event.id;
                }
                if page.events.len() < events::PAGE {
                    break;
                }
            }
        }
        let start = Instant::now();
        let mut ping = interval_at(start + settings.ping, settings.ping);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = sleep(settings.idle);
        tokio::pin!(idle);
        let expiry = sleep(expires_in.unwrap_or(NEVER));
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                biased;
                why = end.wait() => return Stop::End(why),
                frame = registration.frames.recv() => {
                    let Some(frame) = frame else { return Stop::End(Ending::Restarting) };
                    // Replayed already, or announced before the stream began.
                    if frame.id <= cursor {
                        continue;
                    }
                    if let Err(stop) = send(tx, &end, Message::Text(frame.text.as_ref().into())).await {
                        return stop;
                    }
                    cursor = frame.id;
                }
                heard = rx.next() => match heard {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Stop::Gone,
                    // Pongs, and anything else a client says, count as signs of life.
                    Some(Ok(_)) => idle.as_mut().reset(Instant::now() + settings.idle),
                },
                _ = &mut idle => return Stop::End(Ending::Idle),
                _ = &mut expiry => {
                    match unless_ended(&end, check()).await.unwrap_or_else(Checked::Ended) {
                        Checked::Ended(why) => return Stop::End(why),
                        Checked::Live(Some(left)) => expiry.as_mut().reset(Instant::now() + left),
                        Checked::Live(None) | Checked::Unknown => {
                            expiry.as_mut().reset(Instant::now() + NEVER)
                        }
                    }
                }
                _ = ping.tick() => {
                    if let Err(stop) = send(tx, &end, Message::Ping(Vec::new().into())).await {
                        return stop;
                    }
                    match unless_ended(&end, check()).await.unwrap_or_else(Checked::Ended) {
                        Checked::Ended(why) => return Stop::End(why),
                        Checked::Live(Some(left)) => expiry.as_mut().reset(Instant::now() + left),
                        Checked::Live(None) | Checked::Unknown => {}
                    }
                }
            }
        }
    }
}

/// `work`'s outcome, unless the stream is told to end first: a check or a read that
/// waits on a slow database does not hold a close back.
async fn unless_ended<T>(
    end: &super::EndSignal,
    work: impl Future<Output = T>,
) -> Result<T, Ending> {
    tokio::select! {
        done = work => Ok(done),
        why = end.wait() => Err(why),
    }
}

/// Sends `message`, unless the stream is told to end first (a client that does not read
/// can hold a send for as long as it likes).
async fn send(
    tx: &mut SplitSink<WebSocket, Message>,
    end: &super::EndSignal,
    message: Message,
) -> Result<(), Stop> {
    tokio::select! {
        sent = tx.send(message) => sent.map_err(|_| Stop::Gone),
        why = end.wait() => Err(Stop::End(why)),
    }
}
