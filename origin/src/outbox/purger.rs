//! The HTTP side of a purge: one signed `POST {"keys": [...]}` to the edge.

use std::time::Duration;

use reqwest::Url;
use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP};
use tollgate_shared::signing::{SignedAnswer, SignedRequest};
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
    /// Not signed by the edge for this request: a proxy, a stale replay, a wrong host.
    #[error("the answer was not signed by the edge ({0})")]
    Unverified(String),
}

impl Purger {
    pub fn new(url: Url, key: SigningKey) -> Result<Purger, reqwest::Error> {
        let client = reqwest::Client::builder()
            // A redirect would send the signed purge somewhere else, and whatever
            // answers there proves nothing.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(DELIVERY_TIMEOUT)
            .build()?;
        Ok(Purger { client, url, key })
    }

    /// Delivers `keys`; only a 2xx that the edge signed for this request counts.
    pub async fn deliver(&self, keys: &[String]) -> Result<(), PurgeError> {
        let body = serde_json::to_vec(&PurgeRequest {
            keys: keys.to_vec(),
        })
        .map_err(|e| PurgeError::Transport(e.to_string()))?;
        let path_and_query = match self.url.query() {
            Some(q) => format!("{}?{q}", self.url.path()),
            None => self.url.path().to_owned(),
        };
        let (timestamp, signature) = self
            .key
            .sign(
                &SignedRequest::internal("POST", &path_and_query, &body),
                chrono::Utc::now().timestamp(),
            )
            .map_err(|e| PurgeError::Transport(e.to_string()))?;
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(X_EDGE_TIMESTAMP, timestamp)
            .header(X_EDGE_SIGNATURE, &signature)
            .body(body)
            .send()
            .await
            .map_err(|e| PurgeError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (answer_ts, answer_sig) = (header(X_EDGE_TIMESTAMP), header(X_EDGE_SIGNATURE));
        let answer = response
            .bytes()
            .await
            .map_err(|e| PurgeError::Transport(e.without_url().to_string()))?;
        let (Some(answer_ts), Some(answer_sig)) = (answer_ts, answer_sig) else {
            return Err(PurgeError::Unverified("unsigned".to_owned()));
        };
        self.key
            .verify_answer(
                &SignedAnswer {
                    request_signature: &signature,
                    status: status.as_u16(),
                    body: &answer,
                },
                &answer_ts,
                &answer_sig,
                chrono::Utc::now().timestamp(),
            )
            .map_err(|e| PurgeError::Unverified(e.to_string()))?;
        if status.is_success() {
            Ok(())
        } else {
            Err(PurgeError::Status(status))
        }
    }
}
