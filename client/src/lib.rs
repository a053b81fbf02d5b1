//! `tollgate-client`: what runs on a user's machine. [`enroll`] trades a single-use
//! install token for a daemon token, [`credentials`] keeps it (mode 0600, written
//! atomically), [`Client`] calls the API with it, and [`daemon`] is the loop that keeps
//! a daemon's runtimes alive and its PAT renewed. The binary `tollgate` (`main.rs`) is
//! the command line over this.

pub mod credentials;
pub mod daemon;
mod daemon_id;
pub mod device_login;
mod error;
pub mod events;

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tollgate_shared::settings::check_transport;
use tollgate_shared::wire::{ExchangeAnswer, ExchangeRequest};
use tollgate_shared::RawToken;
use uuid::Uuid;

pub use credentials::Credentials;
pub use daemon_id::default_daemon_id;
pub use error::ClientError;

/// Every call gives up after this long; the daemon loop tries again next tick.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

fn http() -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
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
        workspace_id: Some(answer.workspace_id),
        daemon_id: Some(answer.daemon_id),
        token: answer.token,
    })
}

/// The answer to a renewal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Renewal {
    /// RFC 3339; empty for a token that never expires.
    pub expires_at: String,
    pub renewed: bool,
}

/// A PAT to create: its name, lifetime and scope.
#[derive(Debug, Clone)]
pub struct NewPat {
    pub name: String,
    /// `None`: never expires.
    pub expires_in_days: Option<i64>,
    /// Bound to this workspace; `None`: every workspace of the user.
    pub workspace: Option<Uuid>,
    /// `GET` and `HEAD` only.
    pub read_only: bool,
}

/// A PAT's scope as a person reads it, from an API answer's `workspace_id` and `access`.
pub fn describe_scope(pat: &Value) -> String {
    let workspace = match pat["workspace_id"].as_str() {
        Some(id) => format!("workspace {id} only"),
        None => "every workspace".to_owned(),
    };
    let access = match pat["access"].as_str() {
        Some("read") => "read-only",
        Some("write") => "read-write",
        _ => "access unknown",
    };
    format!("{workspace}, {access}")
}

/// Calls the API as the saved credentials.
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

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ClientError> {
        let server = &self.credentials.server_url;
        let mut request = self
            .http
            .request(method, format!("{server}{path}"))
            .bearer_auth(self.credentials.token.expose());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(server.clone(), e.without_url().to_string()))?;
        error::json_or_refusal(response).await
    }

    /// `GET /api/daemon/whoami`.
    pub async fn whoami(&self) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, "/api/daemon/whoami", None)
            .await
    }

    /// `GET /api/me`: does this PAT work?
    pub async fn me(&self) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, "/api/me", None).await
    }

    /// `POST /api/tokens`: a new PAT of the saved one's user, at most as wide as the
    /// saved one; the answer holds the token, shown this once.
    pub async fn create_pat(&self, new: &NewPat) -> Result<Value, ClientError> {
        let body = json!({
            "name": new.name,
            "expires_in_days": new.expires_in_days,
            "workspace_id": new.workspace,
            "access": if new.read_only { "read" } else { "write" },
        });
        self.call(reqwest::Method::POST, "/api/tokens", Some(body))
            .await
    }

    /// `GET /api/tokens`: the user's live PATs (a bound token sees its workspace's).
    pub async fn list_pats(&self) -> Result<Vec<Value>, ClientError> {
        self.call(reqwest::Method::GET, "/api/tokens", None).await
    }

    /// `POST /api/tokens/current/renew`: extends the PAT if it has under 7 days left.
    pub async fn renew(&self) -> Result<Renewal, ClientError> {
        self.call(reqwest::Method::POST, "/api/tokens/current/renew", None)
            .await
    }

    /// The workspace and daemon a PAT names in daemon calls (a daemon token has its own).
    fn scope(&self, mut body: Value) -> Value {
        if self.credentials.is_pat() {
            body["workspace_id"] = json!(self.credentials.workspace_id);
            body["daemon_id"] = json!(self.credentials.daemon_id);
        }
        body
    }

    /// `POST /api/daemon/runtimes`: registers (or re-registers) a runtime; its id.
    pub async fn register_runtime(&self, name: &str) -> Result<Uuid, ClientError> {
        let body = self.scope(json!({ "name": name }));
        let runtime: Value = self
            .call(reqwest::Method::POST, "/api/daemon/runtimes", Some(body))
            .await?;
        runtime["id"]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| ClientError::Protocol("runtime without an id".to_owned()))
    }

    /// `POST /api/daemon/heartbeat`.
    pub async fn heartbeat(&self, runtime_ids: &[Uuid]) -> Result<(), ClientError> {
        let body = self.scope(json!({ "runtime_ids": runtime_ids }));
        let _: Value = self
            .call(reqwest::Method::POST, "/api/daemon/heartbeat", Some(body))
            .await?;
        Ok(())
    }
}
