//! Fleet: the separate service that mints and verifies cloud PATs (`mcn_`) and runs
//! cloud runtimes. Tollgate never stores a cloud PAT; it asks Fleet ([`verify`]) and
//! proxies the runtime API to it ([`proxy`]). Neither client follows redirects: a
//! redirect would carry a raw token, or a user's request, somewhere we did not choose.

pub mod proxy;
pub mod verify;

use std::time::Duration;

use reqwest::Response;
use tollgate_shared::wire::CLOUD_RUNTIME_TIMEOUT_SECS;

pub use verify::{Verdict, VerifierUnavailable};

/// How Tollgate talks to Fleet; `FLEET_URL` is the only one that is a setting, the rest
/// are the contract (and shortened by tests).
#[derive(Debug, Clone)]
pub struct FleetSettings {
    /// `FLEET_URL` without its trailing slash; `None` = no cloud PAT is valid and the
    /// runtime proxy is not configured.
    pub url: Option<String>,
    /// Below the edge's 5 s resolve timeout, so that our 503 is the one a client gets.
    pub verify_timeout: Duration,
    /// A proxied call that takes longer is answered 504.
    pub proxy_timeout: Duration,
    /// How long a positive verification is believed (in memory here, in KV at the edge).
    pub positive_ttl_secs: u64,
}

impl Default for FleetSettings {
    fn default() -> FleetSettings {
        FleetSettings {
            url: None,
            verify_timeout: Duration::from_secs(3),
            proxy_timeout: Duration::from_secs(CLOUD_RUNTIME_TIMEOUT_SECS),
            positive_ttl_secs: tollgate_shared::cache::CLOUD_TTL_SECS,
        }
    }
}

/// A configured Fleet.
#[derive(Debug)]
pub struct Fleet {
    base: String,
    verify_client: reqwest::Client,
    proxy_client: reqwest::Client,
}

impl Fleet {
    /// `None` when `FLEET_URL` is not set.
    pub fn new(settings: &FleetSettings) -> Result<Option<Fleet>, reqwest::Error> {
        let Some(url) = &settings.url else {
            return Ok(None);
        };
        let client = |timeout: Duration| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // The whole exchange, body included: a trickling answer is a slow one.
                .timeout(timeout)
                .connect_timeout(timeout)
                .build()
        };
        Ok(Some(Fleet {
            base: url.trim_end_matches('/').to_owned(),
            verify_client: client(settings.verify_timeout)?,
            proxy_client: client(settings.proxy_timeout)?,
        }))
    }

    /// `{FLEET_URL}{path}`; `path` starts with `/`.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Why reading an answer failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    TooLarge,
    Transport(reqwest::Error),
}

/// The answer's body, refused as soon as it passes `limit` bytes (whatever
/// `Content-Length` claims): a broken or hostile Fleet cannot make us buffer more.
pub(crate) async fn read_capped(
    mut response: Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
