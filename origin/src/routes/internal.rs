//! `POST /internal/auth/resolve`: the edge asks who a token belongs to on a cache miss.
//! The internal router has verified the edge's signature over the body digest.

use axum::extract::State;
use axum::Json;
use tollgate_shared::wire::{ResolveAnswer, ResolveRequest};
use tollgate_shared::{token, AuthError, TokenKind};

use crate::http::internal::EdgeSigned;
use crate::http::{AppError, AppResult};
use crate::state::AppState;

pub async fn resolve(
    State(state): State<AppState>,
    EdgeSigned(request): EdgeSigned<ResolveRequest>,
) -> AppResult<Json<ResolveAnswer>> {
    let invalid_body = AppError::BadRequest("invalid request body");
    let hash = match (request.kind, request.hash, &request.token) {
        // Cloud PATs are verified by Fleet with the raw token.
        (TokenKind::Cloud, _, Some(raw)) => token::parse(raw.expose())
            .ok()
            .filter(|t| t.kind == TokenKind::Cloud)
            .ok_or(AuthError::InvalidToken)?
            .hash(),
        (TokenKind::Cloud, _, None) => return Err(invalid_body),
        (_, Some(hash), _) => hash,
        (_, None, _) => return Err(invalid_body),
    };
    let resolved = state
        .resolver
        .resolve(request.kind, &hash)
        .await?
        .ok_or(AuthError::InvalidToken)?;
    Ok(Json(ResolveAnswer {
        identity: resolved.actor,
        ttl_secs: resolved.ttl_secs,
    }))
}
