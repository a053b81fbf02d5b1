//! `POST /internal/auth/resolve`: the edge asks who a token belongs to on a cache miss.
//! Signed by the edge over the body digest; 404 when this origin trusts no edge.

use axum::extract::{Request, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tollgate_shared::signing::Body;
use tollgate_shared::{token, Identity, TokenHash, TokenKind};

use crate::auth::verify_edge_signature;
use crate::error::{AppError, AppResult};
use crate::json::read_body;
use crate::resolver;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct ResolveRequest {
    kind: String,
    hash: Option<String>,
    token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ResolveResponse {
    identity: Identity,
    ttl_secs: u64,
}

pub async fn resolve(
    State(state): State<AppState>,
    req: Request,
) -> AppResult<Json<ResolveResponse>> {
    // Without a secret `/internal/*` does not exist, whatever the method.
    let Some(key) = state.edge_key.clone() else {
        return Err(AppError::NotFound);
    };
    if req.method() != axum::http::Method::POST {
        return Err(AppError::MethodNotAllowed);
    }
    // Reading the body consumes the request; keep what the signature covers.
    let (method, uri, headers) = (
        req.method().clone(),
        req.uri().clone(),
        req.headers().clone(),
    );
    let body = read_body(req, &state).await?;
    verify_edge_signature(&key, &method, &uri, &headers, Body::Digest(&body))?;

    let request: ResolveRequest =
        serde_json::from_slice(&body).map_err(|_| AppError::BadRequest("invalid request body"))?;
    let kind =
        TokenKind::from_name(&request.kind).ok_or(AppError::BadRequest("invalid request body"))?;
    let hash = match (kind, request.hash, request.token) {
        // Cloud PATs are verified by Fleet with the raw token.
        (TokenKind::Cloud, _, Some(raw)) => token::parse(&raw)
            .ok()
            .filter(|t| t.kind == TokenKind::Cloud)
            .ok_or_else(AppError::invalid_token)?
            .hash(),
        (TokenKind::Cloud, _, None) => return Err(AppError::BadRequest("invalid request body")),
        (_, Some(hash), _) => {
            TokenHash::from_hex(&hash).ok_or(AppError::BadRequest("invalid request body"))?
        }
        (_, None, _) => return Err(AppError::BadRequest("invalid request body")),
    };
    let resolved = resolver::resolve(&state, kind, &hash)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    Ok(Json(ResolveResponse {
        identity: resolved.identity,
        ttl_secs: resolved.ttl_secs,
    }))
}
