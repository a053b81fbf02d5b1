//! The mail settings: `SMTP_URL` (with `SMTP_CA_FILE`) or `MAIL_DIR`, and `MAIL_FROM`.

use reqwest::Url;
use tollgate_shared::settings::is_loopback;

use super::ConfigError;
use crate::mail::{MailSettings, MailTransport, SmtpSettings, SmtpTls};

const SMTP_URL_RULE: &str = "must be smtps://host:port, or smtp://host:port?tls=required for \
     STARTTLS (plain smtp:// only to this machine)";

/// The one reader of `SMTP_URL`, `SMTP_CA_FILE`, `MAIL_DIR` and `MAIL_FROM`: where mail
/// goes, from whom. Neither `SMTP_URL` nor `MAIL_DIR`: `None`.
pub fn mail(get: impl Fn(&str) -> Option<String>) -> Result<Option<MailSettings>, ConfigError> {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let transport = match (get("SMTP_URL"), get("MAIL_DIR")) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(ConfigError::Rule(
                "MAIL_DIR",
                "cannot be set with SMTP_URL: mail goes one way".to_owned(),
            ))
        }
        (None, Some(dir)) => MailTransport::Dir(dir.trim().into()),
        (Some(url), None) => {
            let mut smtp = smtp_url(url.trim())?;
            smtp.ca_file = get("SMTP_CA_FILE").map(|f| f.trim().into());
            MailTransport::Smtp(smtp)
        }
    };
    let from = get("MAIL_FROM").ok_or_else(|| {
        ConfigError::Rule(
            "MAIL_FROM",
            "is not set: mail needs a sender (e.g. \"Tollgate <no-reply@example.com>\")".to_owned(),
        )
    })?;
    let from = from
        .trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| {
            ConfigError::Invalid("MAIL_FROM", e.to_string())
        })?;
    Ok(Some(MailSettings { transport, from }))
}

/// `SMTP_URL`: `smtps://[user:password@]host[:465]`, `smtp://…host[:587]?tls=required`,
/// or plain `smtp://…host[:25]` to this machine only.
fn smtp_url(url: &str) -> Result<SmtpSettings, ConfigError> {
    let rule = || ConfigError::Rule("SMTP_URL", SMTP_URL_RULE.to_owned());
    let parsed = Url::parse(url).map_err(|e| ConfigError::Invalid("SMTP_URL", e.to_string()))?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(rule)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let tls_required = match query.as_slice() {
        [] => false,
        [(k, v)] if k == "tls" && v == "required" => true,
        _ => return Err(rule()),
    };
    let (tls, default_port) = match parsed.scheme() {
        "smtps" if !tls_required => (SmtpTls::Implicit, 465),
        "smtp" if tls_required => (SmtpTls::StartTls, 587),
        "smtp" if is_loopback(&host) => (SmtpTls::None, 25),
        _ => return Err(rule()),
    };
    if !matches!(parsed.path(), "" | "/") {
        return Err(rule());
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| {
                ConfigError::Invalid("SMTP_URL", "user or password is not UTF-8".to_owned())
            })
    };
    let credentials = match (parsed.username(), parsed.password()) {
        ("", None) => None,
        (user, password) => Some((decode(user)?, decode(password.unwrap_or(""))?)),
    };
    Ok(SmtpSettings {
        host,
        port: parsed.port().unwrap_or(default_port),
        tls,
        credentials,
        ca_file: None,
    })
}
