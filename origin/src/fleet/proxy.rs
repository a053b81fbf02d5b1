//! The cloud-runtime API, passed through to Fleet: `/api/cloud-runtime/{rest}` →
//! `{FLEET_URL}/api/v1/{rest}` with the same method, query and body, and who is asking
//! (`X-User-ID`) — never the caller's own credentials.

use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use tollgate_shared::headers::{X_REQUEST_ID, X_USER_ID};
use uuid::Uuid;

use super::{read_capped, Fleet, ReadError};

/// Fleet's own API root, which `/api/cloud-runtime` stands for.
pub const FLEET_API_ROOT: &str = "/api/v1";
/// The largest answer passed back (node listings, exec output).
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// One call to pass on.
#[derive(Debug)]
pub struct Call<'a> {
    pub method: Method,
    /// Below the API root: `/nodes/start`.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub content_type: Option<HeaderValue>,
    pub user_id: Uuid,
    pub request_id: &'a str,
    pub body: Vec<u8>,
}

/// Fleet's answer, as it came.
#[derive(Debug)]
pub struct FleetAnswer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub request_id: Option<HeaderValue>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("fleet did not answer in time")]
    Timeout,
    #[error("fleet unreachable: {0}")]
    Unreachable(String),
    #[error("fleet answer over {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
}

fn transport(e: reqwest::Error) -> ProxyError {
    if e.is_timeout() {
        ProxyError::Timeout
    } else {
        ProxyError::Unreachable(e.without_url().to_string())
    }
}

impl Fleet {
    pub async fn forward(&self, call: Call<'_>) -> Result<FleetAnswer, ProxyError> {
        let mut url = self.url(&format!("{FLEET_API_ROOT}{}", call.path));
        if let Some(query) = call.query {
            url.push('?');
            url.push_str(query);
        }
        let mut request = self
            .proxy_client
            .request(call.method, url)
            .header(X_USER_ID, call.user_id.to_string())
            .header(X_REQUEST_ID, call.request_id)
            .body(call.body);
        if let Some(content_type) = call.content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let request_id = response.headers().get(X_REQUEST_ID).cloned();
        let body = read_capped(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => ProxyError::TooLarge,
                ReadError::Transport(e) => transport(e),
            })?;
        Ok(FleetAnswer {
            status,
            body,
            request_id,
        })
    }
}
