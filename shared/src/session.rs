//! Session JWTs (HS256, `JWT_SECRET`): verified at the edge with no lookup and by the
//! origin's own resolver, and minted by the admin CLI. Only HS256 is accepted — the
//! header's `alg` is checked, never trusted to choose (`none`, RS256 … are refused).
//!
//! And the CSRF token a browser sends with cookie-authenticated unsafe requests:
//! `hex(16-byte nonce) + "." + hex(HMAC-SHA256(key = the cookie value's bytes,
//! msg = the nonce's 32 lowercase hex characters))`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::actor::Actor;
use crate::errors::AuthError;
use crate::hex;

/// The cookie a browser session lives in.
pub const COOKIE: &str = "tollgate_session";
/// The cookie the page reads the CSRF token from (not HttpOnly, unlike [`COOKIE`]).
pub const CSRF_COOKIE: &str = "tollgate_csrf";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

type HmacSha256 = Hmac<Sha256>;

/// `JWT_SECRET`, as its raw UTF-8 bytes. Redacts itself.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl SessionKey {
    pub fn new(secret: &str) -> SessionKey {
        SessionKey(secret.as_bytes().to_vec())
    }

    /// The raw key, for the other MACs made under it (`sign_in::code_digest`).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(…)")
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// The session's record (`sessions.id`): what signing out and revoking end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
}

/// Does this bearer value look like a JWT rather than one of our tokens?
pub fn looks_like_jwt(value: &str) -> bool {
    value.bytes().filter(|&b| b == b'.').count() == 2
}

/// A verified session JWT: who it is, and the record it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub actor: Actor,
    /// `sid`: the `sessions` row, which can be revoked before `exp`.
    pub id: Uuid,
}

/// The session a JWT stands for at `now`: signature (constant time), `alg` HS256,
/// `exp` (and `nbf`) first — `invalid token` — then `sub` a UUID — `invalid claims` —
/// then `sid` a UUID (a JWT from before sessions were records has none: `invalid token`).
pub fn verify(key: &SessionKey, jwt: &str, now: i64) -> Result<Session, AuthError> {
    let invalid = AuthError::InvalidToken;
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid);
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(invalid)?;
    if header.alg != "HS256" {
        return Err(invalid);
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid)?;
    let mut mac = key.mac();
    // What is signed is everything before the last dot: `header.payload`.
    let signed = jwt.rsplit_once('.').map_or("", |(signed, _)| signed);
    mac.update(signed.as_bytes());
    mac.verify_slice(&signature).map_err(|_| invalid)?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(invalid)?;
    if now >= claims.exp || claims.nbf.is_some_and(|nbf| now < nbf) {
        return Err(invalid);
    }
    let user_id = claims
        .sub
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or(AuthError::InvalidClaims)?;
    // The email is stamped into a signed header: nothing that could break a line.
    let email = match claims.email {
        Some(e) if e.chars().any(char::is_control) => return Err(AuthError::InvalidClaims),
        other => other.filter(|e| !e.is_empty()),
    };
    let id = claims
        .sid
        .as_deref()
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or(invalid)?;
    Ok(Session {
        actor: Actor::Session { user_id, email },
        id,
    })
}

/// What a session JWT says: whose, which record, valid from `iat` until `exp` (unix
/// seconds).
#[derive(Debug, Clone, Copy)]
pub struct Minted<'a> {
    pub user_id: Uuid,
    pub email: Option<&'a str>,
    pub session_id: Uuid,
    pub iat: i64,
    pub exp: i64,
}

/// A session JWT for `m`.
pub fn mint(key: &SessionKey, m: &Minted<'_>) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = Claims {
        sub: Some(m.user_id.to_string()),
        email: m.email.map(str::to_owned),
        sid: Some(m.session_id.to_string()),
        exp: m.exp,
        iat: Some(m.iat),
        nbf: None,
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let signed = format!("{header}.{payload}");
    let mut mac = key.mac();
    mac.update(signed.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{signature}")
}

/// The revocation log's key for session `id`: signing out or revoking a session puts it
/// there, and every edge refuses the session within 2 s (the origin at once).
pub fn revocation_key(id: Uuid) -> String {
    format!("tollgate:auth:session:{id}")
}

/// Methods that change state: a cookie alone is not enough for them.
pub fn needs_csrf(method: &str) -> bool {
    matches!(
        method.to_ascii_uppercase().as_str(),
        "POST" | "PUT" | "PATCH" | "DELETE"
    )
}

/// The CSRF MAC of a nonce (its 32 lowercase hex characters) under the cookie's value.
fn csrf_mac(cookie_value: &str, nonce_hex: &str) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(cookie_value.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(nonce_hex.as_bytes());
    mac
}

/// Checks `X-CSRF-Token` against the session cookie's value, in constant time.
pub fn csrf_valid(cookie_value: &str, header: Option<&str>) -> bool {
    let Some((nonce, tag)) = header.and_then(|h| h.split_once('.')) else {
        return false;
    };
    if nonce.len() != 32 || !hex::is_lower_hex(nonce) {
        return false;
    }
    let Some(tag) = hex::decode(tag) else {
        return false;
    };
    csrf_mac(cookie_value, nonce).verify_slice(&tag).is_ok()
}

/// The CSRF token for `cookie_value` with `nonce` (what a front end computes).
pub fn csrf_token(cookie_value: &str, nonce: [u8; 16]) -> String {
    let nonce = ::hex::encode(nonce);
    let tag = csrf_mac(cookie_value, &nonce).finalize().into_bytes();
    format!("{nonce}.{}", ::hex::encode(tag))
}

/// The value of `name` in a `Cookie` header (`a=1; b=2`), read as RFC 6265 §5.2 says:
/// pairs split on `;`, each on its first `=`, name and value stripped of leading and
/// trailing WSP. The edge and the origin both decide with this one rule, so a name
/// one side takes for the session cookie is the session cookie to the other as well.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (trim_wsp(k) == name)
            .then(|| trim_wsp(v))
            .filter(|v| !v.is_empty())
    })
}

/// RFC 5234's WSP — space and horizontal tab only: `str::trim` would also strip other
/// Unicode whitespace, which RFC 6265 leaves in the name.
fn trim_wsp(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests;
