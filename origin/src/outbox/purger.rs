//! The HTTP side of a purge: one signed `POST {"keys": [...]}` to the edge.

use std::time::Duration;

use reqwest::Url;
use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP};
use tollgate_shared::signing::Request;
use tollgate_shared::wire::PurgeRequest;
use tollgate_shared::SigningKey;

/// A revoking request waits at most this long for the edge.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct Purger {
    client: reqwest::Client,
    url: Url,
    key: SigningKey,
}

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("purge request failed: {0}")]
    Transport(String),
    #[error("edge answered {0}")]
    Status(reqwest::StatusCode),
}

impl Purger {
    pub fn new(url: Url, key: SigningKey) -> Result<Purger, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(DELIVERY_TIMEOUT)
            .build()?;
        Ok(Purger { client, url, key })
    }

    /// Delivers `keys`; only a 2xx counts.
    pub async fn deliver(&self, keys: &[String]) -> Result<(), PurgeError> {
        let body = serde_json::to_vec(&PurgeRequest {
            keys: keys.to_vec(),
        })
        .map_err(|e| PurgeError::Transport(e.to_string()))?;
        let path_and_query = match self.url.query() {
            Some(q) => format!("{}?{q}", self.url.path()),
            None => self.url.path().to_owned(),
        };
        let (timestamp, signature) = self.key.sign(
            &Request::internal("POST", &path_and_query, &body),
            chrono::Utc::now().timestamp(),
        );
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(X_EDGE_TIMESTAMP, timestamp)
            .header(X_EDGE_SIGNATURE, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| PurgeError::Transport(e.without_url().to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(PurgeError::Status(response.status()))
        }
    }
}
