//! The origin trusts only signatures (docs/ARCHITECTURE.md "Origin trusts only signatures").
//!
//! [`edge_trust`] runs on every request: a request with an edge signature is trusted as
//! stamped if the signature verifies and is at most 60 s old, and refused with
//! `401 invalid signature` otherwise — never a fallback. A request without one has the
//! identity headers stripped, so a client can never set them.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tollgate_shared::headers::{
    SIGNED_IDENTITY_HEADERS, STRIPPED_HEADERS, X_CLIENT_ADDRESS, X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP,
};
use tollgate_shared::session;
use tollgate_shared::signing::{Body, SignedRequest};
use tollgate_shared::{Actor, AuthError, SigningKey};

use super::error::AppError;
use crate::state::AppState;

/// Set by [`edge_trust`] on requests whose edge signature verified. `None` inside means
/// the edge forwarded the request without identity (a public route).
#[derive(Debug, Clone)]
pub struct EdgeVerified(pub Option<Actor>);

/// Set by [`edge_trust`] on every request it lets through: whom the request came from,
/// for the sign-in limits and the session record. The edge's signed `X-Client-Address`
/// (`CF-Connecting-IP`) when it came through the edge, else the connection's peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<ClientAddress, Self::Rejection> {
        let known = parts.extensions.get::<ClientAddress>().cloned();
        Ok(known.unwrap_or_else(|| ClientAddress("unknown".to_owned())))
    }
}

impl ClientAddress {
    /// The address to record, if one is known.
    pub fn known(&self) -> Option<&str> {
        Some(self.0.as_str()).filter(|a| !a.is_empty() && *a != "unknown")
    }

    /// An unsigned request's: the peer the server accepted (`serve`), if it knows one.
    fn of_peer(req: &Request) -> ClientAddress {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>();
        ClientAddress(peer.map_or_else(|| "unknown".to_owned(), |p| p.0.ip().to_string()))
    }
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Verifies `X-Edge-Timestamp`/`X-Edge-Signature` over `body`; the signature covers the
/// method, the path and query exactly as received, the client address and the eight
/// identity headers.
pub fn verify_edge_signature(
    key: &SigningKey,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body<'_>,
) -> Result<(), AuthError> {
    let (Some(timestamp), Some(signature)) = (
        header_str(headers, X_EDGE_TIMESTAMP),
        header_str(headers, X_EDGE_SIGNATURE),
    ) else {
        return Err(AuthError::InvalidSignature);
    };
    let request = SignedRequest {
        method: method.as_str(),
        path_and_query: uri.path_and_query().map_or("/", |pq| pq.as_str()),
        body,
        client: header_str(headers, X_CLIENT_ADDRESS).unwrap_or(""),
        identity: SIGNED_IDENTITY_HEADERS.map(|name| header_str(headers, name).unwrap_or("")),
    };
    key.verify(
        &request,
        timestamp,
        signature,
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| {
        tracing::info!(reason = %e, "edge signature refused");
        AuthError::InvalidSignature
    })
}

/// A bearer header or a session cookie: what an edge-only origin must not accept
/// unsigned. Public routes without credentials still answer. The cookie is found by the
/// shared rule, on each value read as the credential extractors read it (non-UTF-8 bytes
/// replaced), so whatever would authenticate here is refused here.
fn carries_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(axum::http::header::AUTHORIZATION)
        || headers.get_all(axum::http::header::COOKIE).iter().any(|c| {
            session::cookie(&String::from_utf8_lossy(c.as_bytes()), session::COOKIE).is_some()
        })
}

pub async fn edge_trust(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // `/internal/*` signs the body digest: its own router verifies that (`internal`).
    if req.uri().path().starts_with("/internal/") {
        return next.run(req).await;
    }
    let headers = req.headers();
    let signed = headers.contains_key(X_EDGE_SIGNATURE) || headers.contains_key(X_EDGE_TIMESTAMP);
    if !signed {
        if state.require_edge && carries_credentials(headers) {
            return AppError::Auth(AuthError::EdgeRequired).into_response();
        }
        for name in STRIPPED_HEADERS {
            req.headers_mut().remove(name);
        }
        let client = ClientAddress::of_peer(&req);
        req.extensions_mut().insert(client);
        return next.run(req).await;
    }
    let verified = match state.edge_key.as_deref() {
        // No secret configured: this origin trusts no edge.
        None => Err(AuthError::InvalidSignature),
        Some(key) => verify_edge_signature(key, req.method(), req.uri(), headers, Body::Unsigned),
    }
    .and_then(|()| {
        Actor::from_headers(|name| header_str(headers, name)).map_err(|e| {
            tracing::info!(reason = %e, "signed identity refused");
            AuthError::InvalidSignature
        })
    });
    match verified {
        Ok(actor) => {
            let client = header_str(req.headers(), X_CLIENT_ADDRESS).unwrap_or("unknown");
            let client = ClientAddress(client.to_owned());
            req.extensions_mut().insert(EdgeVerified(actor));
            req.extensions_mut().insert(client);
            next.run(req).await
        }
        Err(e) => AppError::Auth(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::{AUTHORIZATION, COOKIE};
    use axum::http::HeaderValue;

    use super::*;

    fn with(name: axum::http::HeaderName, values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(name.clone(), HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_session_cookie_is_found_as_the_edge_finds_it() {
        for values in [
            &[&b"tollgate_session=x"[..]][..],
            &[b"tollgate_session =x"],
            &[b"a=b;\ttollgate_session=x "],
            &[b"a=b", b"tollgate_session=x"],
            &[b"\xff=1; tollgate_session=x"],
        ] {
            assert!(carries_credentials(&with(COOKIE, values)), "{values:?}");
        }
        for values in [
            &[&b"other=1"[..]][..],
            &[b"xtollgate_session=x"],
            &[b"tollgate_session="],
            &[b"\xc2\xa0tollgate_session=x"],
        ] {
            assert!(!carries_credentials(&with(COOKIE, values)), "{values:?}");
        }
        assert!(carries_credentials(&with(AUTHORIZATION, &[b"Bearer x"])));
        assert!(!carries_credentials(&HeaderMap::new()));
    }
}
