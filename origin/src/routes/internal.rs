//! `POST /internal/auth/resolve`: the edge asks who a token belongs to on a cache miss.
//! The internal router has verified the edge's signature over the body digest.

use axum::extract::State;
use axum::Json;
use tollgate_shared::wire::{ResolveAnswer, ResolveRequest};
use tollgate_shared::{token, AuthError, TokenKind};

use crate::http::internal::EdgeSigned;
use crate::http::{AppError, AppResult};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;

refusals! {
    ResolveRefusals = [
        Refusal::InvalidRequestBody,
        AuthError::InvalidToken,
        AuthError::InvalidSignature,
        AppError::NotFound => "the origin has no EDGE_ORIGIN_SECRET",
        AppError::DatabaseUnavailable,
        AppError::VerifierUnavailable,
    ]
}

#[utoipa::path(
    post,
    path = "/internal/auth/resolve",
    tag = "internal",
    operation_id = "resolve",
    request_body = ResolveRequest,
    responses(
        (
            status = 200,
            description = "Who the token belongs to and how long the edge may cache that",
            body = ResolveAnswer
        ),
        ResolveRefusals
    ),
    security(("edge_signature" = [], "edge_timestamp" = []))
)]
pub async fn resolve(
    State(state): State<AppState>,
    EdgeSigned(request): EdgeSigned<ResolveRequest>,
) -> AppResult<Json<ResolveAnswer>> {
    // A body of neither shape was refused as `invalid request body` by `EdgeSigned`.
    let resolved = match &request {
        // Cloud PATs are verified by Fleet with the raw token.
        ResolveRequest::CloudPat { token: raw } => {
            let token = token::parse(raw.expose())
                .ok()
                .filter(|t| t.kind == TokenKind::Cloud)
                .ok_or(AuthError::InvalidToken)?;
            state.resolver.resolve_token(&token).await?
        }
        ResolveRequest::ByHash { kind, hash } => state.resolver.resolve(*kind, hash).await?,
    }
    .ok_or(AuthError::InvalidToken)?;
    Ok(Json(ResolveAnswer {
        identity: resolved.actor,
        ttl_secs: resolved.ttl_secs,
    }))
}
