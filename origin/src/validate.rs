//! The one home of the rules for what people type: names (of tokens, workspaces,
//! runtimes, agents), email addresses and daemon ids — used alike by the API, the admin
//! CLI and the tests' fixtures.

use serde_json::Value;

use crate::domain_error::DomainResult;
use crate::refusal::Refusal;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DAEMON_ID_BYTES: usize = 128;

/// A name: trimmed, 1 to 100 characters, no control characters (Postgres refuses NUL,
/// and no name needs the others), nor the invisible characters that reorder or hide
/// text (a device's name is shown to the person asked to approve it: `tollgate CLI on
/// <U+202E>…` must not read as something else).
pub fn name(value: Option<&str>) -> DomainResult<String> {
    let name = value.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(Refusal::NameRequired.into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Refusal::NameTooLong.into());
    }
    if name
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err(Refusal::NameHasControl.into());
    }
    Ok(name.to_owned())
}

/// The longest email address there is (RFC 5321's path limit, less its brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

/// An email address as stored: trimmed, lower case, one `@` with something on each
/// side, no whitespace or control characters, at most [`MAX_EMAIL_BYTES`]; `None` when it
/// is not one.
pub fn email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    if email.len() > MAX_EMAIL_BYTES {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let clean = !email.chars().any(|c| c.is_whitespace() || c.is_control());
    (!local.is_empty() && !domain.is_empty() && clean).then_some(email)
}

/// `daemon_id` from a request body: present, non-empty, at most 128 bytes of
/// `[A-Za-z0-9._-]` (it ends up in headers and log lines).
pub fn daemon_id(value: Option<&Value>) -> DomainResult<String> {
    let invalid = Refusal::InvalidDaemonId.into();
    match value {
        None | Some(Value::Null) => Err(Refusal::DaemonIdRequired.into()),
        Some(Value::String(s)) if s.is_empty() => Err(Refusal::DaemonIdRequired.into()),
        Some(Value::String(s)) => {
            let ok = s.len() <= MAX_DAEMON_ID_BYTES
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if ok {
                Ok(s.clone())
            } else {
                Err(invalid)
            }
        }
        Some(_) => Err(invalid),
    }
}

/// Unicode's bidirectional controls, zero-width characters and the byte-order mark
/// (the format characters that matter in one line of text).
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        let msg = |v: &str| name(Some(v)).unwrap_err().to_string();
        assert_eq!(name(Some("  ci  ")).unwrap(), "ci");
        assert_eq!(msg("   "), "name is required");
        assert_eq!(name(None).unwrap_err().to_string(), "name is required");
        assert_eq!(msg(&"x".repeat(101)), "name is too long");
        assert!(
            name(Some(&"é".repeat(100))).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(msg("a\u{7}b"), "name must not contain control characters");
        // Text that reorders or hides itself is refused with the control characters.
        for hidden in [
            "CLI on \u{202E}kcab",
            "a\u{200B}b",
            "\u{2066}x\u{2069}",
            "\u{FEFF}ci",
        ] {
            assert_eq!(
                msg(hidden),
                "name must not contain control characters",
                "{hidden:?}"
            );
        }
        assert!(name(Some("tollgate CLI on büro-7 (テスト)")).is_ok());
    }

    #[test]
    fn emails() {
        assert_eq!(
            email(" Ada@Example.COM ").as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(email("nope"), None);
        assert_eq!(email("@x"), None);
        assert_eq!(email("a b@x"), None);
        assert_eq!(email("a\u{0}@x"), None);
        let longest = format!("{}@example.com", "a".repeat(MAX_EMAIL_BYTES - 12));
        assert_eq!(email(&longest).as_deref(), Some(longest.as_str()));
        assert_eq!(email(&format!("a{longest}")), None);
    }

    #[test]
    fn daemon_ids() {
        let msg = |v: Option<Value>| daemon_id(v.as_ref()).unwrap_err().to_string();
        assert_eq!(
            daemon_id(Some(&json!("host-1.local_2"))).unwrap(),
            "host-1.local_2"
        );
        assert_eq!(msg(None), "daemon_id is required");
        assert_eq!(msg(Some(json!(null))), "daemon_id is required");
        assert_eq!(msg(Some(json!(""))), "daemon_id is required");
        for bad in [
            json!("a b"),
            json!("é"),
            json!("x".repeat(129)),
            json!(5),
            json!("a/b"),
        ] {
            assert_eq!(msg(Some(bad.clone())), "invalid daemon_id", "{bad}");
        }
        assert!(daemon_id(Some(&json!("x".repeat(128)))).is_ok());
    }
}
