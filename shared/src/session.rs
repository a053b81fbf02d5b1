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

/// The session a JWT stands for at `now`: signature (constant time), `alg` HS256,
/// `exp` (and `nbf`) first — `invalid token` — then `sub` a UUID — `invalid claims`.
pub fn verify(key: &SessionKey, jwt: &str, now: i64) -> Result<Actor, AuthError> {
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
    Ok(Actor::Session { user_id, email })
}

/// A session JWT for `user_id`, valid from `iat` until `exp` (unix seconds).
pub fn mint(key: &SessionKey, user_id: Uuid, email: Option<&str>, iat: i64, exp: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = Claims {
        sub: Some(user_id.to_string()),
        email: email.map(str::to_owned),
        exp,
        iat: Some(iat),
        nbf: None,
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let signed = format!("{header}.{payload}");
    let mut mac = key.mac();
    mac.update(signed.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{signature}")
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
mod tests {
    use super::*;

    const SECRET: &str = "jwt-secret-of-at-least-32-bytes!!";
    const USER: &str = "7d4f9c2e-0000-4000-8000-000000000001";
    // Computed independently with Python (hmac, base64, json).
    const FIXED_JWT: &str = concat!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        ".eyJzdWIiOiI3ZDRmOWMyZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJlbWFpbCI6ImFkYUBleGFt",
        "cGxlLmNvbSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ",
        ".pFcWQbTJZuJh8CrMU1UM66JsjWoZWRVUAPzKQkOYzqY",
    );
    const FIXED_CSRF: &str = concat!(
        "00112233445566778899aabbccddeeff",
        ".19bccce893dcb62a4b4d9fa3785b844fed354e7369767d9d6ec3e250dd85856c",
    );

    fn key() -> SessionKey {
        SessionKey::new(SECRET)
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    /// A JWT with any header and payload, signed with `secret`.
    fn forge(header: &str, payload: &str, secret: &str) -> String {
        let signed = format!("{}.{}", b64(header), b64(payload));
        let mut mac = SessionKey::new(secret).mac();
        mac.update(signed.as_bytes());
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn fixed_vector() {
        let actor = verify(&key(), FIXED_JWT, 1_700_000_100).unwrap();
        assert_eq!(
            actor,
            Actor::Session {
                user_id: USER.parse().unwrap(),
                email: Some("ada@example.com".into())
            }
        );
        assert_eq!(
            verify(&key(), FIXED_JWT, 1_700_003_600),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn minted_tokens_verify() {
        let jwt = mint(&key(), USER.parse().unwrap(), None, 100, 200);
        assert!(looks_like_jwt(&jwt));
        assert_eq!(
            verify(&key(), &jwt, 150).unwrap(),
            Actor::Session {
                user_id: USER.parse().unwrap(),
                email: None
            }
        );
    }

    #[test]
    fn refusals() {
        let good_claims = format!(r#"{{"sub":"{USER}","exp":2000}}"#);
        let cases = [
            (
                forge(r#"{"alg":"none"}"#, &good_claims, SECRET),
                AuthError::InvalidToken,
            ),
            (
                format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&good_claims)),
                AuthError::InvalidToken,
            ),
            (
                forge(r#"{"alg":"RS256"}"#, &good_claims, SECRET),
                AuthError::InvalidToken,
            ),
            (
                forge(r#"{"alg":"hs256"}"#, &good_claims, SECRET),
                AuthError::InvalidToken,
            ),
            (
                forge(
                    r#"{"alg":"HS256"}"#,
                    &good_claims,
                    "another-secret-of-32-bytes-or-more",
                ),
                AuthError::InvalidToken,
            ),
            (
                forge(r#"{"alg":"HS256"}"#, r#"{"sub":"x","exp":10}"#, SECRET),
                AuthError::InvalidToken,
            ),
            (
                forge(
                    r#"{"alg":"HS256"}"#,
                    r#"{"sub":"not-a-uuid","exp":2000}"#,
                    SECRET,
                ),
                AuthError::InvalidClaims,
            ),
            (
                forge(r#"{"alg":"HS256"}"#, r#"{"sub":" ","exp":2000}"#, SECRET),
                AuthError::InvalidClaims,
            ),
            (
                forge(r#"{"alg":"HS256"}"#, r#"{"exp":2000}"#, SECRET),
                AuthError::InvalidClaims,
            ),
            (
                forge(
                    r#"{"alg":"HS256"}"#,
                    &format!(r#"{{"sub":"{USER}","exp":2000,"nbf":1500}}"#),
                    SECRET,
                ),
                AuthError::InvalidToken,
            ),
            (
                forge(r#"{"alg":"HS256"}"#, r#"{"sub":"x"}"#, SECRET),
                AuthError::InvalidToken,
            ),
            ("a.b".to_owned(), AuthError::InvalidToken),
            ("a.b.c.d".to_owned(), AuthError::InvalidToken),
        ];
        for (jwt, expected) in cases {
            assert_eq!(verify(&key(), &jwt, 1000), Err(expected), "{jwt}");
        }
        // A tampered payload under the original signature.
        let jwt = forge(r#"{"alg":"HS256"}"#, &good_claims, SECRET);
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let other = b64(&format!(r#"{{"sub":"{}","exp":2000}}"#, Uuid::nil()));
        parts[1] = &other;
        assert_eq!(
            verify(&key(), &parts.join("."), 1000),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn csrf() {
        assert!(csrf_valid("abc.def.ghi", Some(FIXED_CSRF)));
        let nonce = [7u8; 16];
        let token = csrf_token("cookie-value", nonce);
        assert!(csrf_valid("cookie-value", Some(&token)));
        assert!(!csrf_valid("another-cookie", Some(&token)));
        assert!(!csrf_valid("cookie-value", None));
        assert!(!csrf_valid("cookie-value", Some("garbage")));
        assert!(!csrf_valid("cookie-value", Some(&token.to_uppercase())));
        assert!(
            needs_csrf("POST") && needs_csrf("delete") && !needs_csrf("GET") && !needs_csrf("HEAD")
        );
    }

    #[test]
    fn cookies() {
        assert_eq!(
            cookie("theme=dark; tollgate_session=abc", COOKIE),
            Some("abc")
        );
        assert_eq!(cookie("tollgate_session=", COOKIE), None);
        assert_eq!(cookie("xtollgate_session=abc", COOKIE), None);
        assert_eq!(cookie("", COOKIE), None);
    }

    #[test]
    fn cookie_names_and_values_lose_only_wsp() {
        for header in [
            "tollgate_session =abc",
            "tollgate_session= abc",
            "\ttollgate_session=abc ",
            "a=b;\ttollgate_session\t=\tabc\t",
            "a=b;tollgate_session=abc",
            "  tollgate_session  =  abc  ; theme=dark",
        ] {
            assert_eq!(cookie(header, COOKIE), Some("abc"), "{header:?}");
        }
        // Only the first `=` splits: the rest belongs to the value.
        assert_eq!(cookie("tollgate_session=a=b", COOKIE), Some("a=b"));
        for header in [
            "xtollgate_session=abc",
            "tollgate_sessionx=abc",
            "tollgate_session",
            "tollgate_session =",
            "\u{a0}tollgate_session=abc",
            "tollgate_session\u{a0}=abc",
            "\u{2003}tollgate_session=abc",
            "\ntollgate_session=abc",
            "\rtollgate_session=abc",
            "\u{b}tollgate_session=abc",
            "tollgate session=abc",
        ] {
            assert_eq!(cookie(header, COOKIE), None, "{header:?}");
        }
        // Other whitespace in a value is the value's: the JWT check refuses it.
        assert_eq!(
            cookie("tollgate_session=abc\u{a0}", COOKIE),
            Some("abc\u{a0}")
        );
    }

    #[test]
    fn key_redacts_itself() {
        assert_eq!(format!("{:?}", key()), "SessionKey(…)");
    }
}
