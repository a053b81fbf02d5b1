//! The Worker's settings (`wrangler.toml` vars and secrets), checked once per isolate.
//! A wrong setting fails every request with `500 internal error` and one log line that
//! names it: an edge that trusted a short secret or sent identities over plain HTTP
//! would fail open, which is worse than failing loudly.

use std::sync::OnceLock;
use std::time::Duration;

use tollgate_shared::session::SessionKey;
use tollgate_shared::settings::{check_secret, check_transport};
use tollgate_shared::SigningKey;

/// How long a forwarded request may wait for the origin by default.
pub const DEFAULT_ORIGIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Config {
    /// `ORIGIN_URL`: scheme, host and port of the origin.
    pub origin: String,
    /// `EDGE_ORIGIN_SECRET`.
    pub key: SigningKey,
    /// `ORIGIN_TIMEOUT_SECS`: a forward that takes longer is answered 504.
    pub origin_timeout: Duration,
    /// `JWT_SECRET`: verifies session JWTs; without it no session is valid.
    pub sessions: Option<SessionKey>,
}

/// Reads the settings through `get` (a var or secret by name); the error is the log
/// line to write.
pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let origin = get("ORIGIN_URL").ok_or("ORIGIN_URL is not set")?;
    check_transport(&origin).map_err(|e| format!("ORIGIN_URL {e}"))?;
    let secret = get("EDGE_ORIGIN_SECRET").ok_or("EDGE_ORIGIN_SECRET is not set")?;
    check_secret(&secret).map_err(|e| format!("EDGE_ORIGIN_SECRET {e}"))?;
    let origin_timeout = match get("ORIGIN_TIMEOUT_SECS") {
        None => DEFAULT_ORIGIN_TIMEOUT,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(secs) if (1..=300).contains(&secs) => Duration::from_secs(secs),
            _ => return Err("ORIGIN_TIMEOUT_SECS must be whole seconds from 1 to 300".into()),
        },
    };
    let sessions = match get("JWT_SECRET") {
        None => None,
        Some(secret) => {
            check_secret(&secret).map_err(|e| format!("JWT_SECRET {e}"))?;
            Some(SessionKey::new(&secret))
        }
    };
    Ok(Config {
        origin,
        key: SigningKey::new(&secret),
        origin_timeout,
        sessions,
    })
}

/// The settings kept in `cell`, read through `get` by the first call that finds them
/// good. Vars and secrets cannot change while an isolate lives (a new deploy or a new
/// `wrangler dev` config starts new isolates), so they are read once; a wrong value is
/// not remembered: it fails each request until fixed.
pub fn once(
    cell: &OnceLock<Config>,
    get: impl Fn(&str) -> Option<String>,
) -> Result<&Config, String> {
    if let Some(config) = cell.get() {
        return Ok(config);
    }
    read(get).map(|config| cell.get_or_init(|| config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn read_from(vars: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        read(|n| map.get(n).map(|v| (*v).to_owned()))
    }

    #[test]
    fn good_settings() {
        let c = read_from(&[
            ("ORIGIN_URL", "https://o.example"),
            ("EDGE_ORIGIN_SECRET", SECRET),
        ])
        .unwrap();
        assert_eq!(c.origin_timeout, DEFAULT_ORIGIN_TIMEOUT);
        assert!(c.sessions.is_none());
        let err = read_from(&[
            ("ORIGIN_URL", "https://o.example"),
            ("EDGE_ORIGIN_SECRET", SECRET),
            ("JWT_SECRET", "short"),
        ])
        .unwrap_err();
        assert!(
            err.starts_with("JWT_SECRET must be at least 32 bytes"),
            "{err}"
        );
        let c = read_from(&[
            ("ORIGIN_URL", "http://127.0.0.1:8080"),
            ("EDGE_ORIGIN_SECRET", SECRET),
            ("ORIGIN_TIMEOUT_SECS", "5"),
        ])
        .unwrap();
        assert_eq!(c.origin_timeout, Duration::from_secs(5));
    }

    #[test]
    fn each_wrong_setting_is_named() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("EDGE_ORIGIN_SECRET", SECRET)], "ORIGIN_URL is not set"),
            (
                &[("ORIGIN_URL", "https://o.example")],
                "EDGE_ORIGIN_SECRET is not set",
            ),
            (
                &[
                    ("ORIGIN_URL", "http://o.example"),
                    ("EDGE_ORIGIN_SECRET", SECRET),
                ],
                "ORIGIN_URL must be an https:// URL",
            ),
            (
                &[
                    ("ORIGIN_URL", "https://o.example"),
                    ("EDGE_ORIGIN_SECRET", "short"),
                ],
                "EDGE_ORIGIN_SECRET must be at least 32 bytes",
            ),
            (
                &[
                    ("ORIGIN_URL", "https://o.example"),
                    ("EDGE_ORIGIN_SECRET", SECRET),
                    ("ORIGIN_TIMEOUT_SECS", "0"),
                ],
                "ORIGIN_TIMEOUT_SECS",
            ),
            (
                &[
                    ("ORIGIN_URL", "https://o.example"),
                    ("EDGE_ORIGIN_SECRET", SECRET),
                    ("ORIGIN_TIMEOUT_SECS", "soon"),
                ],
                "ORIGIN_TIMEOUT_SECS",
            ),
        ];
        for (vars, expected) in cases {
            let err = read_from(vars).unwrap_err();
            assert!(err.starts_with(expected), "{err}");
        }
    }

    #[test]
    fn settings_are_kept_once_good_and_never_while_wrong() {
        let cell = OnceLock::new();
        let reads = std::cell::Cell::new(0);
        let origin = std::cell::RefCell::new("http://o.example");
        let get = |name: &str| {
            reads.set(reads.get() + 1);
            match name {
                "ORIGIN_URL" => Some((*origin.borrow()).to_owned()),
                "EDGE_ORIGIN_SECRET" => Some(SECRET.to_owned()),
                _ => None,
            }
        };
        assert!(once(&cell, get).is_err(), "plain HTTP to a remote origin");
        assert!(cell.get().is_none());
        *origin.borrow_mut() = "https://o.example";
        assert_eq!(once(&cell, get).unwrap().origin, "https://o.example");
        let after_first = reads.get();
        *origin.borrow_mut() = "https://changed.example";
        assert_eq!(once(&cell, get).unwrap().origin, "https://o.example");
        assert_eq!(reads.get(), after_first, "not read again");
    }
}
