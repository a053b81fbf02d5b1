//! The daemon id a machine uses when none is given: stable across runs and reinstalls,
//! derived from the host name, and within the server's `[A-Za-z0-9._-]{1,128}`.

use sha2::{Digest, Sha256};

pub fn default_daemon_id() -> String {
    from_hostname(&hostname())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "daemon".to_owned())
}

/// The host name's allowed characters (at most 100), then 8 hex of its sha256, so two
/// names that clean up alike stay apart.
fn from_hostname(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    let digest = Sha256::digest(name.as_bytes());
    let suffix: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{clean}-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_valid() {
        let id = from_hostname("Ada's MacBook Pro");
        assert_eq!(id, from_hostname("Ada's MacBook Pro"));
        assert!(id.starts_with("Ada-s-MacBook-Pro-"));
        assert_ne!(id, from_hostname("Ada-s-MacBook-Pro"));
        let long = from_hostname(&"h".repeat(300));
        assert!(long.len() <= 128);
        assert!(default_daemon_id()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')));
    }
}
