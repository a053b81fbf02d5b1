//! Which credentials each class of route accepts, written once and read by both the
//! edge (before any I/O) and the origin (for requests that come to it directly and for
//! identities the edge stamped). A new token kind is a new cell of [`admit`].

use crate::bearer::bearer;
use crate::errors::AuthError;
use crate::session::{self, COOKIE};
use crate::token::{self, Token, TokenKind};

/// The authenticated route classes of docs/ARCHITECTURE.md "Route classes"; which path is
/// which is [`crate::routes::classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Everything under `/api/` that is neither public nor a daemon route.
    User,
    /// `/api/daemon/*`.
    Daemon,
}

pub use crate::actor::Credential;

impl RouteClass {
    /// The answer to a request of this class without `Authorization`.
    pub fn missing(self) -> AuthError {
        match self {
            RouteClass::User => AuthError::MissingAuthorization,
            RouteClass::Daemon => AuthError::MissingAuthorizationHeader,
        }
    }
}

/// Route class × credential → accept, or the refusal to answer.
///
/// Install tokens are only ever exchanged, never used to authenticate. Which user
/// routes a machine (task token, cloud PAT) may call beyond this is the extractor's
/// business (`403 this endpoint is only available to human actors`).
pub fn admit(class: RouteClass, credential: Credential) -> Result<(), AuthError> {
    use Credential::{Session, Token};
    match (class, credential) {
        (
            RouteClass::User,
            Token(TokenKind::Pat | TokenKind::Task | TokenKind::Cloud) | Session,
        ) => Ok(()),
        // A person may run a daemon by hand with a PAT, a cloud node runs one with its
        // cloud PAT; daemons take no cookies.
        (RouteClass::Daemon, Token(TokenKind::Daemon | TokenKind::Pat | TokenKind::Cloud)) => {
            Ok(())
        }
        // Spelled out, so that a new kind or class must be placed in this table.
        (RouteClass::User, Token(TokenKind::Daemon | TokenKind::Install))
        | (RouteClass::Daemon, Token(TokenKind::Task | TokenKind::Install) | Session) => {
            Err(AuthError::InvalidToken)
        }
    }
}

/// Only one of our tokens, from `Authorization` (no session, no cookie): the token half
/// of [`extract`], whose rules it follows.
pub fn bearer_token(
    class: RouteClass,
    authorization: Option<&str>,
) -> Result<Token<'_>, AuthError> {
    let presented = Offered {
        authorization,
        cookie: None,
        method: "GET",
        csrf: None,
    };
    match extract(class, &presented)? {
        Extracted::Token(token) => Ok(token),
        Extracted::Session(_) => Err(AuthError::InvalidToken),
    }
}

/// A credential as presented, checked with zero I/O.
#[derive(Debug, Clone, Copy)]
pub enum Extracted<'a> {
    Token(Token<'a>),
    /// A session JWT, still to be verified (at the edge, with no lookup).
    Session(&'a str),
}

/// What a request presents: its `Authorization` (repeated headers joined with `", "`),
/// its `Cookie` header, method and `X-CSRF-Token`.
#[derive(Debug, Clone, Copy)]
pub struct Offered<'a> {
    pub authorization: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub method: &'a str,
    pub csrf: Option<&'a str>,
}

/// The credential of a request of `class`, checked with zero I/O: `Authorization: Bearer`
/// (one of our tokens — known prefix, valid checksum, a kind the class takes — or a
/// session JWT), else — on user routes only — the session cookie, which for unsafe
/// methods needs a valid `X-CSRF-Token`, checked before anything is looked up.
///
/// `authorization` is the header as both sides see it: several `Authorization` headers
/// joined with `", "` (as the Workers runtime joins them), bytes that are not UTF-8
/// replaced. A comma cannot be part of a bearer credential (RFC 6750 `b64token`), so
/// one means two credentials, and which to believe is not ours to guess.
pub fn extract<'a>(class: RouteClass, p: &Offered<'a>) -> Result<Extracted<'a>, AuthError> {
    if let Some(value) = p.authorization {
        if value.contains(',') {
            return Err(AuthError::InvalidAuthorizationFormat);
        }
        let raw = bearer(value).ok_or(AuthError::InvalidAuthorizationFormat)?;
        if session::looks_like_jwt(raw)
            && !TokenKind::ALL.iter().any(|k| raw.starts_with(k.prefix()))
        {
            admit(class, Credential::Session)?;
            return Ok(Extracted::Session(raw));
        }
        let token = token::parse(raw).map_err(|_| AuthError::InvalidToken)?;
        admit(class, Credential::Token(token.kind))?;
        return Ok(Extracted::Token(token));
    }
    if class == RouteClass::User {
        if let Some(jwt) = p.cookie.and_then(|c| session::cookie(c, COOKIE)) {
            if session::needs_csrf(p.method) && !session::csrf_valid(jwt, p.csrf) {
                return Err(AuthError::CsrfFailed);
            }
            admit(class, Credential::Session)?;
            return Ok(Extracted::Session(jwt));
        }
    }
    Err(class.missing())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawToken;

    #[test]
    fn the_table() {
        use Credential::{Session, Token};
        let user = [
            Token(TokenKind::Pat),
            Token(TokenKind::Task),
            Token(TokenKind::Cloud),
            Session,
        ];
        let daemon = [
            Token(TokenKind::Daemon),
            Token(TokenKind::Pat),
            Token(TokenKind::Cloud),
        ];
        let all = TokenKind::ALL.map(Token);
        for c in all.into_iter().chain([Session]) {
            assert_eq!(
                admit(RouteClass::User, c).is_ok(),
                user.contains(&c),
                "user {c:?}"
            );
            assert_eq!(
                admit(RouteClass::Daemon, c).is_ok(),
                daemon.contains(&c),
                "daemon {c:?}"
            );
            if let Err(e) = admit(RouteClass::User, c) {
                assert_eq!(e, AuthError::InvalidToken);
            }
        }
    }

    #[test]
    fn sessions_from_a_bearer_or_a_cookie_with_csrf() {
        let jwt = "aaa.bbb.ccc";
        let get = |authorization, cookie, method, csrf| {
            let p = Offered {
                authorization,
                cookie,
                method,
                csrf,
            };
            extract(RouteClass::User, &p).map(|c| matches!(c, Extracted::Session(_)))
        };
        let bearer = format!("Bearer {jwt}");
        let cookie = format!("theme=x; {COOKIE}={jwt}");
        assert_eq!(
            get(Some(&bearer), None, "POST", None),
            Ok(true),
            "bearer needs no CSRF"
        );
        assert_eq!(get(None, Some(&cookie), "GET", None), Ok(true));
        assert_eq!(
            get(None, Some(&cookie), "POST", None),
            Err(AuthError::CsrfFailed)
        );
        assert_eq!(
            get(None, Some(&cookie), "DELETE", Some("00.11")),
            Err(AuthError::CsrfFailed)
        );
        let token = session::csrf_token(jwt, [1; 16]);
        assert_eq!(get(None, Some(&cookie), "POST", Some(&token)), Ok(true));
        assert_eq!(
            get(None, None, "GET", None),
            Err(AuthError::MissingAuthorization)
        );
        // Daemon routes take neither cookies nor sessions.
        let p = Offered {
            authorization: None,
            cookie: Some(&cookie),
            method: "GET",
            csrf: None,
        };
        assert_eq!(
            extract(RouteClass::Daemon, &p).map(|_| ()),
            Err(AuthError::MissingAuthorizationHeader)
        );
        let p = Offered {
            authorization: Some(&bearer),
            cookie: None,
            method: "GET",
            csrf: None,
        };
        assert_eq!(
            extract(RouteClass::Daemon, &p).map(|_| ()),
            Err(AuthError::InvalidToken)
        );
        // One of our prefixes is a token, whatever its dots.
        let p = Offered {
            authorization: Some("Bearer mul_a.b.c"),
            cookie: None,
            method: "GET",
            csrf: None,
        };
        assert_eq!(
            extract(RouteClass::User, &p).map(|_| ()),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn bearer_extraction() {
        let t = RawToken::generate(TokenKind::Pat).unwrap();
        let header = format!("Bearer {}", t.expose());
        let ok = bearer_token(RouteClass::User, Some(&header)).unwrap();
        assert_eq!((ok.kind, ok.expose()), (TokenKind::Pat, t.expose()));
        let lower = format!("bearer {}", t.expose());
        assert!(bearer_token(RouteClass::User, Some(&lower)).is_ok());
        assert_eq!(
            bearer_token(RouteClass::User, None).unwrap_err(),
            AuthError::MissingAuthorization
        );
        assert_eq!(
            bearer_token(RouteClass::Daemon, None).unwrap_err(),
            AuthError::MissingAuthorizationHeader
        );
        let basic = format!("Basic {}", t.expose());
        assert_eq!(
            bearer_token(RouteClass::User, Some(&basic)).unwrap_err(),
            AuthError::InvalidAuthorizationFormat
        );
        assert!(
            bearer_token(RouteClass::Daemon, Some(&header)).is_ok(),
            "a PAT on a daemon route: a person running a daemon by hand"
        );
        for kind in [TokenKind::Task, TokenKind::Install] {
            let t = RawToken::generate(kind).unwrap();
            let h = format!("Bearer {}", t.expose());
            assert_eq!(
                bearer_token(RouteClass::Daemon, Some(&h)).unwrap_err(),
                AuthError::InvalidToken
            );
        }
        let twice = format!("{header}, {header}");
        assert_eq!(
            bearer_token(RouteClass::User, Some(&twice)).unwrap_err(),
            AuthError::InvalidAuthorizationFormat,
            "two credentials"
        );
        assert_eq!(
            bearer_token(RouteClass::User, Some("Bearer t\u{f6}k\u{e9}n")).unwrap_err(),
            AuthError::InvalidToken,
            "non-ASCII is a bad token, not a bad format"
        );
        let daemon = RawToken::generate(TokenKind::Daemon).unwrap();
        let header = format!("Bearer {}", daemon.expose());
        assert!(bearer_token(RouteClass::Daemon, Some(&header)).is_ok());
        assert_eq!(
            bearer_token(RouteClass::User, Some(&header)).unwrap_err(),
            AuthError::InvalidToken
        );
    }
}
