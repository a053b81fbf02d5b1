//! `tollgate login` without `--token`: RFC 8628's device authorization grant. [`start`]
//! asks the server for a grant; the person approves it in a browser — on this machine
//! or any other, so it works over SSH and on headless machines — and [`wait`] polls at
//! the interval the server gave (longer after each `slow_down`) until the new PAT comes.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tollgate_shared::device::{CODE_PATH, TOKEN_PATH};
use tollgate_shared::RawToken;
use uuid::Uuid;

use crate::{error, http, server_url, ClientError};

/// What the person is shown, and the client's secret for polling.
#[derive(Deserialize)]
pub struct Grant {
    device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .finish_non_exhaustive()
    }
}

/// Asks `server` for a grant for `client_name`, its token bound to `workspace` if given.
pub async fn start(
    server: &str,
    client_name: &str,
    workspace: Option<Uuid>,
) -> Result<Grant, ClientError> {
    let server = server_url(server)?;
    let body = json!({"client_name": client_name, "workspace_id": workspace});
    let response = http()?
        .post(format!("{server}{CODE_PATH}"))
        .json(&body)
        .send()
        .await
        .map_err(|e| ClientError::Unreachable(server.clone(), e.without_url().to_string()))?;
    error::json_or_refusal(response).await
}

#[derive(Deserialize)]
struct Granted {
    token: RawToken,
}

/// Polls until the person approves (the new PAT), denies, or the grant expires.
pub async fn wait(server: &str, grant: &Grant) -> Result<RawToken, ClientError> {
    let server = server_url(server)?;
    let http = http()?;
    let deadline = Instant::now() + Duration::from_secs(grant.expires_in);
    let mut interval = Duration::from_secs(grant.interval.max(1));
    loop {
        tokio::time::sleep(interval).await;
        if Instant::now() > deadline {
            return Err(expired());
        }
        let sent = http
            .post(format!("{server}{TOKEN_PATH}"))
            .json(&json!({"device_code": grant.device_code}))
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // The network dropped a poll: the next one may get through.
            Err(_) => continue,
        };
        match error::json_or_refusal::<Granted>(response).await {
            Ok(granted) => return Ok(granted.token),
            Err(ClientError::Refused { message, .. }) if message == "authorization_pending" => {}
            Err(ClientError::Refused { message, .. }) if message == "slow_down" => {
                interval += Duration::from_secs(5);
            }
            Err(ClientError::Refused { message, .. }) if message == "access_denied" => {
                return Err(ClientError::Setup(
                    "the login was denied in the browser".to_owned(),
                ));
            }
            Err(ClientError::Refused { message, .. }) if message == "expired_token" => {
                return Err(expired());
            }
            // Busy or briefly unavailable: the next poll, a little later, may get through.
            Err(ClientError::Refused { status, .. }) if status == 429 || status >= 500 => {
                interval += Duration::from_secs(5);
            }
            Err(other) => return Err(other),
        }
    }
}

fn expired() -> ClientError {
    ClientError::Setup("the code expired or was already used: run tollgate login again".to_owned())
}

/// Opens `url` in this machine's browser if it has one a person can see: `$BROWSER`, or
/// the desktop's opener when there is a display. Over SSH without a display, nothing.
/// Whether it tried.
pub fn open_browser(url: &str) -> bool {
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .or_else(|| {
            if cfg!(target_os = "macos") {
                Some("open".to_owned())
            } else {
                let display = ["DISPLAY", "WAYLAND_DISPLAY"]
                    .iter()
                    .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
                display.then(|| "xdg-open".to_owned())
            }
        });
    let Some(opener) = opener else {
        return false;
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}
