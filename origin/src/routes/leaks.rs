//! `POST /api/tokens/revoke-leaked`: anyone who finds one of our tokens reports it, and
//! it stops working (`crate::leaks`). Public, 60 reports an hour per client address; the
//! answer is `202 {"received": n}` whatever the strings were, so it tells nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tollgate_shared::client::client_key;
use tollgate_shared::leaks::{MAX_SOURCE_BYTES, MAX_TOKENS};
use tollgate_shared::limits::REPORTS_PER_ADDRESS;

use crate::http::edge_trust::ClientAddress;
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult};
use crate::leaks;
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;

/// What was found. No `Debug`: it holds the tokens.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LeakReport {
    /// At most 1,000 strings; those that are our live PATs, daemon tokens or task tokens
    /// are ended. Install tokens and cloud PATs are ignored.
    tokens: Option<Vec<String>>,
    /// Where they were found: a URL or a few words, at most 2 KiB. Shown to the owner.
    source: Option<String>,
}

/// How many strings the report held.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Received {
    pub received: usize,
}

refusals! {
    RevokeLeakedRefusals = [
        Refusal::TokensRequired,
        Refusal::TooManyTokens,
        Refusal::SourceTooLong,
        Refusal::InvalidRequestBody,
        AppError::PayloadTooLarge => "over 1 MiB",
        AppError::TooManyRequests { message: REPORTS_PER_ADDRESS.message, retry_after: 3600 } => "60 an hour per client address; Retry-After says when",
    ]
}

#[utoipa::path(
    post,
    path = "/api/tokens/revoke-leaked",
    tag = "tokens",
    operation_id = "revoke_leaked",
    request_body = LeakReport,
    responses(
        (status = 202, description = "Received. Every string that was one of our live tokens is ended — refused everywhere within 2 s — and its owner told; the answer is the same whatever the strings were", body = Received),
        RevokeLeakedRefusals
    )
)]
pub async fn revoke_leaked(
    State(state): State<AppState>,
    client: ClientAddress,
    body: Result<JsonBody<LeakReport>, AppError>,
) -> AppResult<(StatusCode, Json<Received>)> {
    state
        .throttle
        .count(&REPORTS_PER_ADDRESS, &client_key(&client.0))?;
    let JsonBody(report) = body?;
    let tokens = report.tokens.ok_or(Refusal::TokensRequired)?;
    if tokens.len() > MAX_TOKENS {
        return Err(Refusal::TooManyTokens.into());
    }
    let source = match report.source {
        Some(s) if s.len() > MAX_SOURCE_BYTES => return Err(Refusal::SourceTooLong.into()),
        s => clean(s),
    };
    let leaked = leaks::revoke(&state.outbox, &tokens, source.as_deref()).await?;
    if let Some(mailer) = &state.mailer {
        for l in &leaked {
            mailer.send_later(leaks::notice(l, source.as_deref()), "leak notice");
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Received {
            received: tokens.len(),
        }),
    ))
}

/// The source as the owner is shown it: control characters (a line break in a mail, an
/// escape in a terminal) as spaces, trimmed; empty is none.
fn clean(source: Option<String>) -> Option<String> {
    let source = source?;
    let cleaned: String = source
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Some(cleaned.trim().to_owned()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_lose_control_characters() {
        assert_eq!(clean(None), None);
        assert_eq!(clean(Some("  \n ".to_owned())), None);
        assert_eq!(
            clean(Some(" https://x.example/a\r\nBcc: y\u{1b}[2J ".to_owned())).as_deref(),
            Some("https://x.example/a  Bcc: y [2J")
        );
    }
}
