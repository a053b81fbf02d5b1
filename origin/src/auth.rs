//! Who is calling (DESIGN.md "Origin trusts only signatures").
//!
//! [`edge_trust`] runs on every request: a request with an edge signature is trusted as
//! stamped if the signature verifies and is at most 60 s old, and refused with
//! `401 invalid signature` otherwise — never a fallback. A request without one has the
//! identity headers stripped, so a client can never set them. [`Caller`] then gives
//! handlers the identity: stamped by the edge, or resolved here from the bearer token.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tollgate_shared::bearer::bearer;
use tollgate_shared::identity::{
    SIGNED_IDENTITY_HEADERS, STRIPPED_HEADERS, X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP,
};
use tollgate_shared::signing::{Body, Request as Signed};
use tollgate_shared::{token, ActorSource, Identity, SigningKey, TokenKind};
use uuid::Uuid;

use crate::error::AppError;
use crate::resolver;
use crate::state::AppState;

/// Set by [`edge_trust`] on requests whose edge signature verified. `None` inside means
/// the edge forwarded the request without identity (a public route).
#[derive(Debug, Clone)]
pub struct EdgeVerified(pub Option<Identity>);

/// The caller of an authenticated endpoint.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
}

impl Caller {
    /// The user behind the call: every actor but daemons has one.
    pub fn user_id(&self) -> Result<Uuid, AppError> {
        self.identity
            .user_id
            .as_deref()
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or(AppError::Forbidden(HUMAN_ONLY))
    }

    /// Minting tokens and changing membership need a person, not a machine.
    pub fn require_human(&self) -> Result<Uuid, AppError> {
        if !self.identity.actor_source.is_human() {
            return Err(AppError::Forbidden(HUMAN_ONLY));
        }
        self.user_id()
    }
}

pub const HUMAN_ONLY: &str = "this endpoint is only available to human actors";

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The seven signed identity values as received (empty when absent).
pub fn received_identity_values(headers: &HeaderMap) -> [&str; 7] {
    SIGNED_IDENTITY_HEADERS.map(|name| header_str(headers, name).unwrap_or(""))
}

/// Verifies `X-Edge-Timestamp`/`X-Edge-Signature` over `body`; the signature covers the
/// path and query exactly as received.
pub fn verify_edge_signature(
    key: &SigningKey,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body<'_>,
) -> Result<(), AppError> {
    let invalid = AppError::InvalidCredentials("invalid signature");
    let (Some(timestamp), Some(signature)) = (
        header_str(headers, X_EDGE_TIMESTAMP),
        header_str(headers, X_EDGE_SIGNATURE),
    ) else {
        return Err(invalid);
    };
    let request = Signed {
        method: method.as_str(),
        path_and_query: uri.path_and_query().map_or("/", |pq| pq.as_str()),
        body,
        identity: received_identity_values(headers),
    };
    key.verify(
        &request,
        timestamp,
        signature,
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| {
        tracing::info!(reason = %e, "edge signature refused");
        invalid
    })
}

pub async fn edge_trust(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // `/internal/*` signs the body digest; its handlers verify that themselves.
    if req.uri().path().starts_with("/internal/") {
        return next.run(req).await;
    }
    let headers = req.headers();
    let signed = headers.contains_key(X_EDGE_SIGNATURE) || headers.contains_key(X_EDGE_TIMESTAMP);
    if !signed {
        for name in STRIPPED_HEADERS {
            req.headers_mut().remove(name);
        }
        return next.run(req).await;
    }
    let Some(key) = state.edge_key.as_deref() else {
        // No secret configured: this origin trusts no edge.
        return AppError::InvalidCredentials("invalid signature").into_response();
    };
    if let Err(e) = verify_edge_signature(key, req.method(), req.uri(), headers, Body::Unsigned) {
        return e.into_response();
    }
    let identity = match Identity::from_headers(|name| header_str(headers, name)) {
        Ok(identity) => identity,
        Err(_) => return AppError::InvalidCredentials("invalid signature").into_response(),
    };
    req.extensions_mut().insert(EdgeVerified(identity));
    next.run(req).await
}

/// The bearer token of a request: `Authorization: Bearer <token>`, scheme
/// case-insensitive (RFC 6750).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AppError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AppError::Unauthorized("missing authorization"))?;
    value
        .to_str()
        .ok()
        .and_then(bearer)
        .ok_or(AppError::Unauthorized("invalid authorization format"))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, AppError> {
        if let Some(EdgeVerified(identity)) = parts.extensions.get::<EdgeVerified>() {
            let identity = identity
                .clone()
                .ok_or(AppError::Unauthorized("missing authorization"))?;
            return Ok(Caller { identity });
        }
        let raw = bearer_token(&parts.headers)?;
        let token = token::parse(raw).map_err(|_| AppError::invalid_token())?;
        // The user routes accept user credentials only.
        if !matches!(token.kind, TokenKind::Pat) {
            return Err(AppError::invalid_token());
        }
        let resolved = resolver::resolve(state, token.kind, &token.hash())
            .await?
            .ok_or_else(AppError::invalid_token)?;
        debug_assert_eq!(resolved.identity.actor_source, ActorSource::Pat);
        Ok(Caller {
            identity: resolved.identity,
        })
    }
}
