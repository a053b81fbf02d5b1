//! `tollgate-client`: what runs on a user's machine. [`enroll`] trades a single-use
//! install token for a daemon token, [`credentials`] keeps it (mode 0600, written
//! atomically), and [`Client`] calls `/api/daemon/*` with it. The binary `tollgate`
//! (`main.rs`) is the command line over this.

pub mod credentials;
mod daemon_id;
mod error;

use std::time::Duration;

use serde_json::Value;
use tollgate_shared::settings::check_transport;
use tollgate_shared::wire::{ExchangeAnswer, ExchangeRequest};
use tollgate_shared::RawToken;

pub use credentials::Credentials;
pub use daemon_id::default_daemon_id;
pub use error::ClientError;

fn http() -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ClientError::Setup(e.to_string()))
}

/// `server` without a trailing slash, and only over TLS unless it is this machine.
fn server_url(server: &str) -> Result<String, ClientError> {
    let server = server.trim_end_matches('/');
    check_transport(server).map_err(|e| ClientError::Setup(format!("--server {e}")))?;
    Ok(server.to_owned())
}

/// Exchanges `install_token` for a daemon token; nothing is written here.
pub async fn enroll(
    server: &str,
    install_token: &str,
    daemon_id: &str,
) -> Result<Credentials, ClientError> {
    let server = server_url(server)?;
    let body = ExchangeRequest {
        token: RawToken::from_presented(install_token),
        daemon_id: daemon_id.to_owned(),
    };
    let response = http()?
        .post(format!("{server}/api/install-tokens/exchange"))
        .json(&body)
        .send()
        .await
        .map_err(|e| ClientError::Unreachable(server.clone(), e.without_url().to_string()))?;
    let answer: ExchangeAnswer = error::json_or_refusal(response).await?;
    Ok(Credentials {
        server_url: server,
        workspace_id: answer.workspace_id,
        daemon_id: answer.daemon_id,
        token: answer.token,
    })
}

/// Calls `/api/daemon/*` as the enrolled daemon.
pub struct Client {
    credentials: Credentials,
    http: reqwest::Client,
}

impl Client {
    pub fn new(credentials: Credentials) -> Result<Client, ClientError> {
        server_url(&credentials.server_url)?;
        Ok(Client {
            credentials,
            http: http()?,
        })
    }

    /// `GET /api/daemon/whoami`.
    pub async fn whoami(&self) -> Result<Value, ClientError> {
        let url = format!("{}/api/daemon/whoami", self.credentials.server_url);
        let response = self
            .http
            .get(url)
            .bearer_auth(self.credentials.token.expose())
            .send()
            .await
            .map_err(|e| {
                ClientError::Unreachable(
                    self.credentials.server_url.clone(),
                    e.without_url().to_string(),
                )
            })?;
        error::json_or_refusal(response).await
    }
}
