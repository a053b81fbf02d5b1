//! The two cookies of a browser session, written in one place for signing in and out:
//! `tollgate_session` (the JWT; `HttpOnly`, so page scripts cannot read it) and
//! `tollgate_csrf` (readable: the page copies it into `X-CSRF-Token` on unsafe requests;
//! the server computes it from the session value, by the rule the edge and the origin
//! check). Both `SameSite=Lax; Path=/`, and `Secure` unless `PUBLIC_URL` is plain http
//! to this machine.

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use tollgate_shared::session;

use super::AppError;

/// How the cookies are written: `Secure` or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    fn cookie(self, name: &str, value: &str, max_age: i64, http_only: bool) -> String {
        let mut cookie = format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite=Lax");
        if http_only {
            cookie.push_str("; HttpOnly");
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        cookie
    }

    /// Both cookies for session `jwt`, living `max_age` seconds (the session's own end).
    pub fn signed_in(self, jwt: &str, max_age: i64) -> Result<HeaderMap, AppError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)
            .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let csrf = session::csrf_token(jwt, nonce);
        self.headers([
            self.cookie(session::COOKIE, jwt, max_age, true),
            self.cookie(session::CSRF_COOKIE, &csrf, max_age, false),
        ])
    }

    /// Both cookies, expired: what a browser keeps of the session is gone.
    pub fn cleared(self) -> HeaderMap {
        self.headers([
            self.cookie(session::COOKIE, "", 0, true),
            self.cookie(session::CSRF_COOKIE, "", 0, false),
        ])
        .unwrap_or_default()
    }

    fn headers(self, cookies: [String; 2]) -> Result<HeaderMap, AppError> {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            let value = HeaderValue::from_str(&cookie)
                .map_err(|_| AppError::Internal("a cookie that is no header value".to_owned()))?;
            headers.append(SET_COOKIE, value);
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(headers: &HeaderMap) -> Vec<String> {
        let all = headers.get_all(SET_COOKIE).iter();
        all.map(|v| v.to_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn the_session_is_http_only_and_the_csrf_token_is_readable_and_valid() {
        let jwt = "a.b.c";
        let set = cookies(&CookiePolicy { secure: true }.signed_in(jwt, 600).unwrap());
        assert_eq!(
            set[0],
            "tollgate_session=a.b.c; Path=/; Max-Age=600; SameSite=Lax; HttpOnly; Secure"
        );
        let csrf = set[1]
            .strip_prefix("tollgate_csrf=")
            .and_then(|rest| rest.split(';').next())
            .unwrap();
        assert!(session::csrf_valid(jwt, Some(csrf)), "{csrf}");
        assert!(
            !set[1].contains("HttpOnly") && set[1].ends_with("; Secure"),
            "{}",
            set[1]
        );
    }

    #[test]
    fn loopback_http_cookies_are_not_secure_and_cleared_ones_expire() {
        let policy = CookiePolicy { secure: false };
        let set = cookies(&policy.signed_in("a.b.c", 60).unwrap());
        assert!(set.iter().all(|c| !c.contains("Secure")), "{set:?}");
        let cleared = cookies(&policy.cleared());
        assert_eq!(
            cleared,
            [
                "tollgate_session=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly",
                "tollgate_csrf=; Path=/; Max-Age=0; SameSite=Lax",
            ]
        );
    }
}
