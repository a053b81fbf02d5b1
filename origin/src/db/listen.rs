//! A connection outside the pool that `LISTEN`s: the event streams' one way of hearing
//! what other transactions, on any origin, committed (`crate::streams::listener`).

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_postgres::tls::TlsStream;
use tokio_postgres::{AsyncMessage, Client, Connection, NoTls, Notification};

use super::tls::Target;
use super::{bound, ConnectError};

/// A listening connection: dropping the client closes it. The receiver ends when the
/// connection does (lost, or closed by the server).
pub struct Listening {
    pub client: Client,
    pub notifications: mpsc::UnboundedReceiver<Notification>,
}

/// Connects as the pool does (TLS, timeouts, keepalives) and listens on `channels`.
pub async fn listen(database_url: &str, channels: &[&str]) -> Result<Listening, ConnectError> {
    let Target {
        mut config, tls, ..
    } = Target::parse(database_url)?;
    bound(&mut config);
    // Named for its process: an operator (or a test) can tell which origin's it is.
    config.application_name(tollgate_shared::streams::listener_name(std::process::id()));
    let (tx, notifications) = mpsc::unbounded_channel();
    let client = match tls {
        Some(tls) => {
            let (client, connection) = config.connect(tls).await?;
            tokio::spawn(drive(connection, tx));
            client
        }
        None => {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(drive(connection, tx));
            client
        }
    };
    let listen: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
    client.batch_execute(&listen).await?;
    Ok(Listening {
        client,
        notifications,
    })
}

/// Polls the connection, passing its notifications on, until it ends.
async fn drive<S, T>(mut connection: Connection<S, T>, tx: mpsc::UnboundedSender<Notification>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: TlsStream + Unpin,
{
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    while let Some(message) = messages.next().await {
        match message {
            Ok(AsyncMessage::Notification(n)) => {
                if tx.send(n).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %super::tls::describe(&e), "event listener connection ended");
                return;
            }
        }
    }
}
