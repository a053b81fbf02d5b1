//! Event streams as a client holds them (tokio-tungstenite, the crate the origin's
//! axum and the daemon speak too): open one with a credential, read events, and see
//! how and when it was closed.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How a stream was offered: a bearer token, or a browser's cookies with its `Origin`.
pub enum With<'a> {
    Bearer(&'a str),
    Cookie {
        cookie: &'a str,
        origin: Option<&'a str>,
    },
    Nothing,
}

/// An open stream.
pub struct Stream {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// A refused handshake: its status and `{"error"}`.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub error: String,
    pub retry_after: Option<String>,
}

/// `base` (`http://…`) as a WebSocket URL with `path_and_query`.
pub fn url(base: &str, path_and_query: &str) -> String {
    let base = base
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    format!("{base}{path_and_query}")
}

/// Opens `path_and_query` at `base`.
pub async fn open(base: &str, path_and_query: &str, with: With<'_>) -> Result<Stream, Refused> {
    let mut request = url(base, path_and_query).into_client_request().unwrap();
    let headers = request.headers_mut();
    match with {
        With::Bearer(token) => {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        With::Cookie { cookie, origin } => {
            headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
            if let Some(origin) = origin {
                headers.insert("origin", HeaderValue::from_str(origin).unwrap());
            }
        }
        With::Nothing => {}
    }
    let offered = request.headers().clone();
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(Stream { socket }),
        Err(WsError::Http(response)) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // The handshake does not read a refusal's body: the same handshake again,
            // over plain HTTP, to read its `{"error"}` (and it must be refused alike).
            let mut again = reqwest::Client::new().get(format!("{base}{path_and_query}"));
            for (name, value) in &offered {
                again = again.header(name.as_str(), value.as_bytes());
            }
            let again = again.send().await.unwrap();
            assert_eq!(
                again.status().as_u16(),
                status,
                "the same handshake, refused alike"
            );
            let body: Value = again.json().await.unwrap_or(Value::Null);
            let error = body["error"].as_str().unwrap_or_default().to_owned();
            Err(Refused {
                status,
                error,
                retry_after,
            })
        }
        Err(e) => panic!("stream handshake failed: {e}"),
    }
}

/// What came next on a stream.
#[derive(Debug, PartialEq)]
pub enum Next {
    Event(Value),
    Closed(u16, String),
    /// Gone without a close frame.
    Dropped,
    /// Nothing within the wait.
    Nothing,
}

impl Stream {
    /// The next event or close within `wait` (pings are answered by the library).
    pub async fn next(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next()).await;
            match message {
                Err(_) => return Next::Nothing,
                Ok(None) | Ok(Some(Err(_))) => return Next::Dropped,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Next::Event(serde_json::from_str(&text).unwrap())
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Next::Closed(code, reason);
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// The next event, which must come within 10 s.
    pub async fn event(&mut self) -> Value {
        match self.next(Duration::from_secs(10)).await {
            Next::Event(event) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Events until one of `kind` (which is returned last), within 10 s.
    pub async fn until(&mut self, kind: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let event = self.event().await;
            let done = event["kind"] == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }

    /// The close, skipping events, within `wait`: its code, reason and when it came.
    pub async fn closed(&mut self, wait: Duration) -> (u16, String, Duration) {
        let start = Instant::now();
        loop {
            let left = wait.saturating_sub(start.elapsed());
            match self.next(left).await {
                Next::Event(_) => continue,
                Next::Closed(code, reason) => return (code, reason, start.elapsed()),
                other => panic!("expected a close within {wait:?}, got {other:?}"),
            }
        }
    }

    /// Closes from the client's side.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        let _ = self.socket.flush().await;
    }
}
