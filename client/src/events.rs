//! The daemon's event stream (`GET /api/daemon/events/stream`): `tollgate run` keeps
//! it open with its daemon token, so that it hears of its own revocation when it
//! happens instead of at the next heartbeat. Other closes and lost connections are
//! retried, from the last event id seen (`?after=`), with a growing pause.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tollgate_shared::streams::{Ending, DAEMON_STREAM_PATH};

use crate::Client;

/// The first pause before reconnecting; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// How the stream ended for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The daemon token is revoked (or its member is gone): the close code's reason, or
    /// what the server answered.
    Revoked(String),
    /// The server does not give this credential a stream (a PAT runs the daemon).
    NotOffered,
}

/// One event as the stream sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    #[serde(default)]
    pub payload: Value,
}

/// What one connection came to.
enum Outcome {
    Ended(Ended),
    /// Lost or closed for a reason that passes: connect again.
    Retry(String),
}

/// `http(s)://…` → `ws(s)://…` of the daemon's stream, after event `after`.
fn stream_url(server: &str, after: Option<i64>) -> String {
    let server = server
        .strip_prefix("https://")
        .map(|rest| format!("wss://{rest}"))
        .or_else(|| server.strip_prefix("http://").map(|r| format!("ws://{r}")))
        .unwrap_or_else(|| server.to_owned());
    match after {
        Some(id) => format!("{server}{DAEMON_STREAM_PATH}?after={id}"),
        None => format!("{server}{DAEMON_STREAM_PATH}"),
    }
}

/// Follows the stream until the daemon's own credential ends, and says why.
pub async fn follow(client: &Client) -> Ended {
    let mut after = None;
    let mut pause = FIRST_PAUSE;
    loop {
        match connect_once(client, &mut after, &mut pause).await {
            Outcome::Ended(ended) => return ended,
            Outcome::Retry(why) => {
                tracing::debug!(%why, ?pause, "event stream lost; reconnecting");
                tokio::time::sleep(jittered(pause)).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

/// Somewhere between half of `pause` and all of it plus half: daemons that lost their
/// streams together (an origin restarting) do not all come back in the same instant.
fn jittered(pause: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    // A fresh RandomState is randomly keyed: enough randomness for a spread.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    pause / 2 + pause.mul_f64((random % 1000) as f64 / 1000.0)
}

async fn connect_once(client: &Client, after: &mut Option<i64>, pause: &mut Duration) -> Outcome {
    let credentials = client.credentials();
    let url = stream_url(&credentials.server_url, *after);
    let mut request = match url.as_str().into_client_request() {
        Ok(request) => request,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let bearer = format!("Bearer {}", credentials.token.expose());
    let Ok(mut bearer) = HeaderValue::from_str(&bearer) else {
        return Outcome::Ended(Ended::Revoked("unusable token".to_owned()));
    };
    bearer.set_sensitive(true);
    request.headers_mut().insert("authorization", bearer);
    let connect = tokio_tungstenite::connect_async(request);
    let (mut socket, _) = match tokio::time::timeout(crate::CALL_TIMEOUT, connect).await {
        Err(_) => return Outcome::Retry("handshake timed out".to_owned()),
        Ok(Err(WsError::Http(response))) => {
            return match response.status().as_u16() {
                401 => Outcome::Ended(Ended::Revoked("refused (401)".to_owned())),
                403 => Outcome::Ended(Ended::NotOffered),
                status => Outcome::Retry(format!("answered {status}")),
            };
        }
        Ok(Err(e)) => return Outcome::Retry(e.to_string()),
        Ok(Ok(connected)) => connected,
    };
    tracing::debug!("event stream open");
    *pause = FIRST_PAUSE;
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => match serde_json::from_str::<Event>(&text) {
                Ok(event) => {
                    *after = Some(event.id);
                    tracing::debug!(id = event.id, kind = %event.kind, "event");
                    if is_own_revocation(client, &event) && own_token_refused(client).await {
                        return Outcome::Ended(Ended::Revoked(event.kind));
                    }
                }
                Err(e) => tracing::debug!(error = %e, "unreadable event"),
            },
            Ok(Message::Ping(payload)) => {
                let _ = socket.send(Message::Pong(payload)).await;
            }
            Ok(Message::Close(frame)) => {
                let code = frame.as_ref().map(|f| u16::from(f.code));
                return closed(code.unwrap_or(u16::from(CloseCode::Status)));
            }
            Ok(_) => {}
            Err(e) => return Outcome::Retry(e.to_string()),
        }
    }
    Outcome::Retry("connection closed".to_owned())
}

/// A `daemon:revoked` of this daemon's id. The id outlives its tokens (enrolling the
/// machine again revokes the old one), so it is only a reason to ask.
fn is_own_revocation(client: &Client, event: &Event) -> bool {
    let own = client.credentials().daemon_id.as_deref();
    event.kind == "daemon:revoked" && own.is_some() && event.payload["daemon_id"].as_str() == own
}

/// Whether the server now refuses this daemon's token.
async fn own_token_refused(client: &Client) -> bool {
    matches!(
        client.whoami().await,
        Err(crate::ClientError::Refused { status: 401, .. })
    )
}

/// A close: the credential's end is for good, anything else is retried.
fn closed(code: u16) -> Outcome {
    match Ending::from_code(code) {
        Some(why @ (Ending::Revoked | Ending::NotAMember)) => {
            Outcome::Ended(Ended::Revoked(why.reason().to_owned()))
        }
        Some(why) => Outcome::Retry(why.reason().to_owned()),
        None => Outcome::Retry(format!("closed ({code})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_url_follows_the_server_scheme() {
        assert_eq!(
            stream_url("https://t.example", None),
            "wss://t.example/api/daemon/events/stream"
        );
        assert_eq!(
            stream_url("http://127.0.0.1:8787", Some(41)),
            "ws://127.0.0.1:8787/api/daemon/events/stream?after=41"
        );
    }

    #[test]
    fn pauses_are_spread_around_their_length() {
        let pause = Duration::from_secs(4);
        let pauses: Vec<Duration> = (0..64).map(|_| jittered(pause)).collect();
        assert!(pauses.iter().all(|p| *p >= pause / 2 && *p < pause * 3 / 2));
        assert!(pauses.iter().any(|p| *p != pauses[0]), "no spread");
    }

    #[test]
    fn only_the_credential_ending_is_for_good() {
        assert!(matches!(closed(4401), Outcome::Ended(Ended::Revoked(_))));
        assert!(matches!(closed(4403), Outcome::Ended(Ended::Revoked(_))));
        for passing in [1000, 1001, 1006, 1012, 1013] {
            assert!(matches!(closed(passing), Outcome::Retry(_)), "{passing}");
        }
    }
}
