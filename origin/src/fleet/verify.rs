//! `POST {FLEET_URL}/api/v1/pat/verify`: is this cloud PAT valid, and whose is it?
//! Anything but a well-formed 200 is no answer — the caller fails closed with 503.

use serde::{Deserialize, Serialize};
use tollgate_shared::Token;

use super::{read_capped, Fleet, ReadError};

pub const VERIFY_PATH: &str = "/api/v1/pat/verify";
/// The largest answer read from the verifier.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Serialize)]
struct VerifyRequest<'a> {
    token: &'a str,
}

/// Fleet's answer. `reason` is one of format_invalid, checksum_invalid,
/// token_not_found, token_revoked, token_expired, owner_mismatch, instance_mismatch;
/// any value is accepted (it is only logged).
#[derive(Debug, Deserialize)]
struct VerifyAnswer {
    valid: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    owner_id: Option<String>,
    #[serde(default)]
    instance_id: Option<String>,
}

/// What Fleet decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid, owned by `owner_id` (not yet checked against our users), if Fleet said.
    Valid {
        owner_id: Option<String>,
        instance_id: Option<String>,
    },
    Invalid {
        reason: String,
    },
}

/// Fleet could not be asked, or did not answer usably. The detail is for the log only.
#[derive(Debug, thiserror::Error)]
#[error("cloud pat verifier unavailable: {0}")]
pub struct VerifierUnavailable(pub String);

impl Fleet {
    pub async fn verify(&self, token: &Token<'_>) -> Result<Verdict, VerifierUnavailable> {
        let response = self
            .verify_client
            .post(self.url(VERIFY_PATH))
            .json(&VerifyRequest {
                token: token.expose(),
            })
            .send()
            .await
            // Without the URL: it is ours, but the error text should not grow with it.
            .map_err(|e| VerifierUnavailable(e.without_url().to_string()))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(VerifierUnavailable(format!("verifier answered {status}")));
        }
        let body = read_capped(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => {
                    VerifierUnavailable(format!("answer over {MAX_ANSWER_BYTES} bytes"))
                }
                ReadError::Transport(e) => VerifierUnavailable(e.without_url().to_string()),
            })?;
        let answer: VerifyAnswer = serde_json::from_slice(&body)
            .map_err(|e| VerifierUnavailable(format!("undecodable answer: {e}")))?;
        Ok(if answer.valid {
            Verdict::Valid {
                owner_id: answer.owner_id,
                instance_id: answer.instance_id,
            }
        } else {
            Verdict::Invalid {
                reason: answer.reason.unwrap_or_else(|| "unspecified".to_owned()),
            }
        })
    }
}
