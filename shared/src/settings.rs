//! Rules for the settings both sides read, so that neither can start in a state that
//! silently loses security: a guessable shared secret, or a link nothing protects.

/// HMAC-SHA256 keys shorter than this are refused: the secret is all that makes a
/// stamped identity trustworthy.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error("must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)")]
    ShortSecret,
    #[error("must be an https:// URL unless its host is loopback or localhost")]
    Insecure,
    #[error("is not an http(s) URL")]
    NotUrl,
}

pub fn check_secret(secret: &str) -> Result<(), SettingError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(SettingError::ShortSecret);
    }
    Ok(())
}

/// `https://…` anywhere; `http://…` only to this machine, where nothing is on the wire.
pub fn check_transport(url: &str) -> Result<(), SettingError> {
    let (scheme, rest) = url.split_once("://").ok_or(SettingError::NotUrl)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Userinfo is not part of the host.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err(SettingError::NotUrl);
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err(SettingError::Insecure),
        _ => Err(SettingError::NotUrl),
    }
}

/// Whether `host` (a name or an address, IPv6 without brackets) is this machine.
pub fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") || host == "::1" {
        return true;
    }
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4 && octets[0] == "127" && octets.iter().all(|o| o.parse::<u8>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        assert_eq!(check_secret("short"), Err(SettingError::ShortSecret));
        assert_eq!(
            check_secret(&"x".repeat(31)),
            Err(SettingError::ShortSecret)
        );
        assert_eq!(check_secret(&"x".repeat(32)), Ok(()));
    }

    #[test]
    fn transports() {
        for ok in [
            "https://origin.example.com",
            "HTTPS://edge.example/__tollgate/purge",
            "http://127.0.0.1:8080",
            "http://127.8.9.10/x",
            "http://localhost:8787/__tollgate/purge",
            "http://[::1]:8080",
            "http://user@localhost/",
        ] {
            assert_eq!(check_transport(ok), Ok(()), "{ok}");
        }
        for insecure in [
            "http://origin.example.com",
            "http://10.0.0.1:8080",
            "http://127.0.0.1.evil.example/",
            "http://localhost@evil.example/",
            "http://[::2]/",
            "http://1270.0.0.1/",
        ] {
            assert_eq!(
                check_transport(insecure),
                Err(SettingError::Insecure),
                "{insecure}"
            );
        }
        for bad in ["origin.example.com", "ftp://x", "http://", "https:///x"] {
            assert_eq!(check_transport(bad), Err(SettingError::NotUrl), "{bad}");
        }
    }
}
