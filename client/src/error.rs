//! What went wrong, in words for the person at the terminal: the server's own message
//! and what to do about it.

use serde::de::DeserializeOwned;
use tollgate_shared::{wire, AuthError};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Setup(String),
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    #[error("the server refused: {message} ({status}){suffix}", suffix = hint_suffix(message))]
    Refused { status: u16, message: String },
    #[error("the server's answer was not understood: {0}")]
    Protocol(String),
    #[error("credentials: {0}")]
    Credentials(String),
}

/// A refusal's hint, if there is one, as the end of its message.
fn hint_suffix(message: &str) -> String {
    hint(message).map(|h| format!(" — {h}")).unwrap_or_default()
}

/// What a person can do about a refusal: decided on the server's documented errors
/// (the shared enums and wire constants), not on text of the client's own.
fn hint(message: &str) -> Option<&'static str> {
    if message == wire::DAEMON_ID_TAKEN {
        return Some("another member's daemon has this id; enroll with --daemon-id <another>");
    }
    Some(match AuthError::from_message(message)? {
        AuthError::InstallTokenAlreadyUsed => "ask an admin for a new install token",
        AuthError::InvalidInstallToken => {
            "check the token, or ask an admin for a new one (they expire after 15 minutes)"
        }
        AuthError::IssuerNotAuthorized => {
            "its issuer can no longer add daemons; ask a current admin for a new install token"
        }
        AuthError::MemberGone => "the member it was for has left the workspace",
        AuthError::InvalidToken => {
            "this daemon's token was revoked; enroll again with a new install token"
        }
        _ => return None,
    })
}

/// The JSON of a 2xx, or the server's `{"error": …}` as a [`ClientError::Refused`].
pub(crate) async fn json_or_refusal<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ClientError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ClientError::Protocol(e.without_url().to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()));
    }
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.to_string());
    Err(ClientError::Refused {
        status: status.as_u16(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_a_hint() {
        let e = ClientError::Refused {
            status: 401,
            message: "install_token_already_used".into(),
        };
        assert_eq!(
            e.to_string(),
            "the server refused: install_token_already_used (401) — ask an admin for a new install token"
        );
        let e = ClientError::Refused {
            status: 500,
            message: "internal error".into(),
        };
        assert_eq!(e.to_string(), "the server refused: internal error (500)");
    }
}
