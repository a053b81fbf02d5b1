//! Configuration, read once from the environment at start-up.

use std::net::SocketAddr;

use reqwest::Url;
use tollgate_shared::session::SessionKey;
use tollgate_shared::settings::{check_secret, check_transport};
use tollgate_shared::SigningKey;

mod mail;
mod streams;

pub use mail::mail;
pub use streams::streams;

use crate::mail::MailSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub listen_addr: SocketAddr,
    /// Without it the origin trusts no edge: signed requests are refused and
    /// `/internal/*` answers 404.
    pub edge_origin_secret: Option<SigningKey>,
    /// Where revocations send purges (`https://edge.example/__tollgate/purge`).
    pub edge_purge_url: Option<Url>,
    /// `ORIGIN_REQUIRE_EDGE`: requests with credentials must come signed by the edge.
    pub require_edge: bool,
    /// `METRICS_LISTEN_ADDR`: serve `/metrics` there instead of on the API listener.
    pub metrics_listen_addr: Option<SocketAddr>,
    /// `JWT_SECRET`: verifies (and the CLI mints) session JWTs; unset = no sessions.
    pub session_key: Option<SessionKey>,
    /// `SESSION_TTL_DAYS` (1 to 90, default 30): no session outlives it.
    pub session_ttl_days: u32,
    /// `FLEET_URL` without its trailing slash: verifies cloud PATs and serves the
    /// cloud-runtime proxy. Unset = no cloud PAT is valid.
    pub fleet_url: Option<String>,
    /// `SMTP_URL` or `MAIL_DIR`, with `MAIL_FROM`: how sign-in codes are mailed. Unset =
    /// no sign-in by code (`503 mail is not configured`).
    pub mail: Option<MailSettings>,
    /// `PUBLIC_URL`: where people reach Tollgate (the edge, or this origin without one).
    /// Cookies are `Secure` unless it is plain http to this machine; unset = `Secure`.
    pub public_url: Option<Url>,
    /// `CONSOLE_DIR`: the built console (`build/assets/`), served under `/console/`
    /// for self-hosters without an edge. Unset = no console here.
    pub console: Option<crate::console::Console>,
    /// The event streams' bounds (`STREAM_*`, `STREAMS_MAX`).
    pub streams: crate::streams::StreamSettings,
    pub log_format: LogFormat,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("DATABASE_URL is not set (set it, or pass --database-url)")]
    MissingDatabaseUrl,
    #[error("{0} is not valid: {1}")]
    Invalid(&'static str, String),
    /// A setting that breaks a rule, said as a sentence about it.
    #[error("{0} {1}")]
    Rule(&'static str, String),
}

pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";

/// The process environment, for the readers below.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The one reader of `DATABASE_URL`: `flag` (`--database-url`) wins when given; `serve`
/// and every admin command start here.
pub fn database_url(
    flag: Option<String>,
    get: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    flag.filter(|v| !v.trim().is_empty())
        .or_else(|| get("DATABASE_URL").filter(|v| !v.trim().is_empty()))
        .ok_or(ConfigError::MissingDatabaseUrl)
}

/// The one reader of `JWT_SECRET` (at least 32 bytes): verifies sessions when serving,
/// signs them for `session mint`. Unset: no sessions.
pub fn session_key(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<SessionKey>, ConfigError> {
    get("JWT_SECRET")
        .filter(|v| !v.trim().is_empty())
        .map(|s| {
            check_secret(&s)
                .map(|()| SessionKey::new(&s))
                .map_err(|e| ConfigError::Rule("JWT_SECRET", e.to_string()))
        })
        .transpose()
}

/// The longest a session may live, and its default.
pub const MAX_SESSION_TTL_DAYS: u32 = 90;
pub const DEFAULT_SESSION_TTL_DAYS: u32 = 30;

/// The one reader of `SESSION_TTL_DAYS`: how long sign-in sessions live, and the cap of
/// `session mint`.
pub fn session_ttl_days(get: impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    match get("SESSION_TTL_DAYS").filter(|v| !v.trim().is_empty()) {
        None => Ok(DEFAULT_SESSION_TTL_DAYS),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_SESSION_TTL_DAYS).contains(d))
            .ok_or_else(|| {
                ConfigError::Rule(
                    "SESSION_TTL_DAYS",
                    format!("must be a whole number of days from 1 to {MAX_SESSION_TTL_DAYS}"),
                )
            }),
    }
}

/// The one reader of `PUBLIC_URL`: https, or http to this machine; no path.
pub fn public_url(get: impl Fn(&str) -> Option<String>) -> Result<Option<Url>, ConfigError> {
    let Some(url) = get("PUBLIC_URL").filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let url = url.trim().trim_end_matches('/');
    check_transport(url).map_err(|e| ConfigError::Rule("PUBLIC_URL", e.to_string()))?;
    let parsed = Url::parse(url).map_err(|e| ConfigError::Invalid("PUBLIC_URL", e.to_string()))?;
    if parsed.path() != "/" || parsed.query().is_some() {
        return Err(ConfigError::Rule(
            "PUBLIC_URL",
            "must be a scheme, host and port only (no path)".to_owned(),
        ));
    }
    Ok(Some(parsed))
}

/// The one reader of `EDGE_ORIGIN_SECRET` and `EDGE_PURGE_URL` (both or neither): the
/// edge the origin trusts and purges. `serve` and the admin commands that revoke read it.
pub fn edge(
    get: impl Fn(&str) -> Option<String>,
) -> Result<(Option<SigningKey>, Option<Url>), ConfigError> {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let edge_origin_secret = get("EDGE_ORIGIN_SECRET")
        .map(|s| {
            check_secret(&s)
                .map(|()| SigningKey::new(&s))
                .map_err(|e| ConfigError::Rule("EDGE_ORIGIN_SECRET", e.to_string()))
        })
        .transpose()?;
    let edge_purge_url = get("EDGE_PURGE_URL")
        .map(|u| {
            check_transport(&u).map_err(|e| ConfigError::Rule("EDGE_PURGE_URL", e.to_string()))?;
            Url::parse(&u).map_err(|e| ConfigError::Invalid("EDGE_PURGE_URL", e.to_string()))
        })
        .transpose()?;
    match (&edge_origin_secret, &edge_purge_url) {
        (None, Some(_)) => {
            return Err(ConfigError::Invalid(
                "EDGE_PURGE_URL",
                "purges are signed: set EDGE_ORIGIN_SECRET too".to_owned(),
            ))
        }
        // Trusting an edge means it caches identities: without a purge URL a
        // revoked token would keep working there for up to 10 minutes.
        (Some(_), None) => {
            return Err(ConfigError::Rule(
                "EDGE_PURGE_URL",
                "is not set: with EDGE_ORIGIN_SECRET the edge caches identities, and \
                 revocations must be purged there (the edge's /__tollgate/purge)"
                    .to_owned(),
            ))
        }
        _ => {}
    }
    Ok((edge_origin_secret, edge_purge_url))
}

impl Config {
    /// Reads the process environment; `database_url` wins over `DATABASE_URL` when given.
    pub fn from_env(database_url: Option<String>) -> Result<Config, ConfigError> {
        Config::from_lookup(database_url, env)
    }

    pub fn from_lookup(
        database_url: Option<String>,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let database_url = self::database_url(database_url, &get)?;
        let session_key = self::session_key(&get)?;
        let session_ttl_days = self::session_ttl_days(&get)?;
        let mail = self::mail(&get)?;
        let public_url = self::public_url(&get)?;
        let streams = self::streams(&get)?;
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let console = get("CONSOLE_DIR")
            .map(|dir| {
                crate::console::Console::open(std::path::Path::new(dir.trim()))
                    .map_err(|e| ConfigError::Rule("CONSOLE_DIR", e))
            })
            .transpose()?;
        let listen_addr = get("LISTEN_ADDR")
            .unwrap_or_else(|| DEFAULT_LISTEN_ADDR.to_owned())
            .parse()
            .map_err(|e| ConfigError::Invalid("LISTEN_ADDR", format!("{e}")))?;
        let (edge_origin_secret, edge_purge_url) = self::edge(get)?;
        let require_edge = match get("ORIGIN_REQUIRE_EDGE").as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError::Invalid(
                    "ORIGIN_REQUIRE_EDGE",
                    format!("{other:?} (use true or false)"),
                ))
            }
        };
        if require_edge && edge_origin_secret.is_none() {
            return Err(ConfigError::Rule(
                "ORIGIN_REQUIRE_EDGE",
                "needs EDGE_ORIGIN_SECRET: without it no request could come through the edge"
                    .to_owned(),
            ));
        }
        let metrics_listen_addr = get("METRICS_LISTEN_ADDR")
            .map(|a| a.parse())
            .transpose()
            .map_err(|e| ConfigError::Invalid("METRICS_LISTEN_ADDR", format!("{e}")))?;
        let fleet_url = get("FLEET_URL")
            .map(|u| {
                let u = u.trim().trim_end_matches('/').to_owned();
                // Cloud PATs travel to it raw: never in clear text off this machine.
                check_transport(&u).map_err(|e| ConfigError::Rule("FLEET_URL", e.to_string()))?;
                Url::parse(&u).map_err(|e| ConfigError::Invalid("FLEET_URL", e.to_string()))?;
                Ok::<_, ConfigError>(u)
            })
            .transpose()?;
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid(
                    "LOG_FORMAT",
                    format!("{other:?} (use json or text)"),
                ))
            }
        };
        Ok(Config {
            database_url,
            listen_addr,
            edge_origin_secret,
            edge_purge_url,
            require_edge,
            metrics_listen_addr,
            session_key,
            session_ttl_days,
            fleet_url,
            mail,
            public_url,
            console,
            streams,
            log_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{MailTransport, SmtpTls};
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(None, |k| map.get(k).cloned())
    }

    #[test]
    fn database_url_is_required_and_named() {
        let err = from(&[]).unwrap_err().to_string();
        assert!(err.contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn defaults() {
        let c = from(&[("DATABASE_URL", "postgres://x/y")]).unwrap();
        assert_eq!(c.listen_addr.to_string(), DEFAULT_LISTEN_ADDR);
        assert!(c.edge_origin_secret.is_none());
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn purge_url_needs_a_secret() {
        let err = from(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("EDGE_PURGE_URL", "http://127.0.0.1:1/__tollgate/purge"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("EDGE_ORIGIN_SECRET"), "{err}");
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn fleet_url_loses_its_trailing_slash_and_must_not_be_clear_text_off_the_machine() {
        let db = ("DATABASE_URL", "postgres://x/y");
        assert_eq!(from(&[db]).unwrap().fleet_url, None);
        let c = from(&[db, ("FLEET_URL", "https://fleet.example/")]).unwrap();
        assert_eq!(c.fleet_url.as_deref(), Some("https://fleet.example"));
        let c = from(&[db, ("FLEET_URL", "http://127.0.0.1:9000")]).unwrap();
        assert_eq!(c.fleet_url.as_deref(), Some("http://127.0.0.1:9000"));
        let err = from(&[db, ("FLEET_URL", "http://fleet.internal:9000")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("FLEET_URL"), "{err}");
        let err = from(&[db, ("FLEET_URL", "fleet")]).unwrap_err().to_string();
        assert!(err.starts_with("FLEET_URL"), "{err}");
    }

    #[test]
    fn an_edge_needs_a_purge_url_and_a_long_secret() {
        let db = ("DATABASE_URL", "postgres://x/y");
        let err = from(&[db, ("EDGE_ORIGIN_SECRET", SECRET)])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EDGE_PURGE_URL"), "{err}");
        let err = from(&[
            db,
            ("EDGE_ORIGIN_SECRET", "too-short"),
            ("EDGE_PURGE_URL", "https://edge.example/__tollgate/purge"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("EDGE_ORIGIN_SECRET") && err.contains("32"),
            "{err}"
        );
        let ok = from(&[
            db,
            ("EDGE_ORIGIN_SECRET", SECRET),
            ("EDGE_PURGE_URL", "https://edge.example/__tollgate/purge"),
        ])
        .unwrap();
        assert!(ok.edge_origin_secret.is_some() && ok.edge_purge_url.is_some());
    }

    #[test]
    fn edge_only_mode_needs_an_edge() {
        let db = ("DATABASE_URL", "postgres://x/y");
        let err = from(&[db, ("ORIGIN_REQUIRE_EDGE", "true")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("ORIGIN_REQUIRE_EDGE needs EDGE_ORIGIN_SECRET"),
            "{err}"
        );
        let ok = from(&[
            db,
            ("ORIGIN_REQUIRE_EDGE", "true"),
            ("EDGE_ORIGIN_SECRET", SECRET),
            ("EDGE_PURGE_URL", "https://edge.example/__tollgate/purge"),
            ("METRICS_LISTEN_ADDR", "127.0.0.1:9100"),
        ])
        .unwrap();
        assert!(ok.require_edge);
        assert_eq!(ok.metrics_listen_addr.unwrap().port(), 9100);
        let err = from(&[db, ("ORIGIN_REQUIRE_EDGE", "yes")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("ORIGIN_REQUIRE_EDGE"), "{err}");
        let err = from(&[db, ("METRICS_LISTEN_ADDR", "nine")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("METRICS_LISTEN_ADDR"), "{err}");
    }

    #[test]
    fn purges_travel_over_tls_unless_local() {
        let db = ("DATABASE_URL", "postgres://x/y");
        let secret = ("EDGE_ORIGIN_SECRET", SECRET);
        let err = from(&[
            db,
            secret,
            ("EDGE_PURGE_URL", "http://edge.example/__tollgate/purge"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("EDGE_PURGE_URL") && err.contains("https"),
            "{err}"
        );
        assert!(from(&[
            db,
            secret,
            ("EDGE_PURGE_URL", "http://127.0.0.1:8787/__tollgate/purge")
        ])
        .is_ok());
        assert!(from(&[
            db,
            secret,
            ("EDGE_PURGE_URL", "http://localhost:8787/__tollgate/purge")
        ])
        .is_ok());
    }

    #[test]
    fn mail_goes_over_tls_unless_it_stays_on_this_machine() {
        let db = ("DATABASE_URL", "postgres://x/y");
        let sender = ("MAIL_FROM", "Tollgate <no-reply@example.com>");
        assert_eq!(from_vars(&[db]).mail, None);
        let smtp = |url: &str| match from(&[db, sender, ("SMTP_URL", url)]) {
            Ok(c) => match c.mail.unwrap().transport {
                MailTransport::Smtp(s) => Ok(s),
                other => panic!("{other:?}"),
            },
            Err(e) => Err(e.to_string()),
        };
        let s = smtp("smtps://ada:p%40ss@mail.example.com").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("mail.example.com", 465, SmtpTls::Implicit)
        );
        assert_eq!(s.credentials, Some(("ada".to_owned(), "p@ss".to_owned())));
        assert!(!format!("{s:?}").contains("p@ss"), "{s:?}");
        let s = smtp("smtp://mail.example.com?tls=required").unwrap();
        assert_eq!(
            (s.port, s.tls, s.credentials),
            (587, SmtpTls::StartTls, None)
        );
        let s = smtp("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((s.port, s.tls), (2525, SmtpTls::None));
        assert_eq!(smtp("smtp://[::1]:2525").unwrap().host, "::1");
        for bad in [
            "smtp://mail.example.com:25",
            "smtp://mail.example.com?tls=opportunistic",
            "smtps://mail.example.com?tls=required",
            "smtp://localhost?x=1",
            "http://mail.example.com",
            "smtps://mail.example.com/path",
        ] {
            let err = smtp(bad).unwrap_err();
            assert!(err.starts_with("SMTP_URL"), "{bad}: {err}");
        }
        let err = from(&[db, ("SMTP_URL", "smtps://mail.example.com")]).unwrap_err();
        assert!(err.to_string().starts_with("MAIL_FROM is not set"), "{err}");
        let err = from(&[db, ("MAIL_FROM", "not an address"), ("MAIL_DIR", "/tmp/m")]).unwrap_err();
        assert!(err.to_string().starts_with("MAIL_FROM"), "{err}");
        let both = [
            db,
            sender,
            ("MAIL_DIR", "/tmp/m"),
            ("SMTP_URL", "smtps://m.example"),
        ];
        assert!(from_vars_err(&both).starts_with("MAIL_DIR cannot be set with SMTP_URL"));
        let dir = from_vars(&[db, sender, ("MAIL_DIR", "/tmp/m")])
            .mail
            .unwrap();
        assert_eq!(dir.transport, MailTransport::Dir("/tmp/m".into()));
    }

    #[test]
    fn the_public_url_is_https_or_this_machine_and_has_no_path() {
        let db = ("DATABASE_URL", "postgres://x/y");
        assert_eq!(from_vars(&[db]).public_url, None);
        let c = from_vars(&[db, ("PUBLIC_URL", "https://tollgate.example/")]);
        assert_eq!(c.public_url.unwrap().as_str(), "https://tollgate.example/");
        let c = from_vars(&[db, ("PUBLIC_URL", "http://127.0.0.1:8787")]);
        assert_eq!(c.public_url.unwrap().port(), Some(8787));
        for bad in [
            "http://tollgate.example",
            "https://tollgate.example/console",
            "nope",
        ] {
            let err = from_vars_err(&[db, ("PUBLIC_URL", bad)]);
            assert!(err.starts_with("PUBLIC_URL"), "{bad}: {err}");
        }
    }

    fn from_vars(vars: &[(&str, &str)]) -> Config {
        from(vars).unwrap()
    }

    fn from_vars_err(vars: &[(&str, &str)]) -> String {
        from(vars).unwrap_err().to_string()
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("LISTEN_ADDR", "nope"),
            ("LOG_FORMAT", "xml"),
            ("EDGE_PURGE_URL", "::"),
        ] {
            let err = from(&[("DATABASE_URL", "postgres://x/y"), (var, value)])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
