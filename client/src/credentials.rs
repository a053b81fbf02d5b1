//! The credentials file: `$TOLLGATE_HOME/credentials.json` (else
//! `~/.tollgate/credentials.json`), readable by its owner only, and written atomically
//! (a temporary file in the same folder, synced, then renamed over the old one), so a
//! crash never leaves half a token behind.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tollgate_shared::{RawToken, TokenKind};
use uuid::Uuid;

use crate::ClientError;

pub const FILE_NAME: &str = "credentials.json";

/// What `tollgate enroll` (a daemon token, bound to its workspace and daemon) or
/// `tollgate login` (a person's PAT, optionally naming the workspace and daemon it runs
/// as) saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub server_url: String,
    #[serde(default)]
    pub workspace_id: Option<Uuid>,
    #[serde(default)]
    pub daemon_id: Option<String>,
    /// Redacted in `Debug`; written to the file only.
    pub token: RawToken,
}

impl Credentials {
    /// A PAT: renewable, and it names its workspace and daemon in daemon calls.
    pub fn is_pat(&self) -> bool {
        self.token.expose().starts_with(TokenKind::Pat.prefix())
    }
}

/// `$TOLLGATE_HOME`, else `$HOME/.tollgate`.
pub fn home() -> Result<PathBuf, ClientError> {
    if let Some(dir) = std::env::var_os("TOLLGATE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".tollgate"))
        .ok_or_else(|| ClientError::Credentials("set TOLLGATE_HOME or HOME".to_owned()))
}

pub fn save(dir: &Path, credentials: &Credentials) -> Result<PathBuf, ClientError> {
    let err = |what: &str, e: std::io::Error| ClientError::Credentials(format!("{what}: {e}"));
    fs::create_dir_all(dir).map_err(|e| err(&dir.display().to_string(), e))?;
    let path = dir.join(FILE_NAME);
    let temp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let json = serde_json::to_vec_pretty(credentials)
        .map_err(|e| ClientError::Credentials(e.to_string()))?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Created private: never world-readable, not even for a moment.
        options.mode(0o600);
    }
    let written = options
        .open(&temp)
        .and_then(|mut f| f.write_all(&json).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(err(&temp.display().to_string(), e));
    }
    fs::rename(&temp, &path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        err(&path.display().to_string(), e)
    })?;
    Ok(path)
}

pub fn load(dir: &Path) -> Result<Credentials, ClientError> {
    let path = dir.join(FILE_NAME);
    let bytes = fs::read(&path).map_err(|e| {
        ClientError::Credentials(format!(
            "{}: {e} (enroll first: tollgate enroll --server URL --install-token mit_…)",
            path.display()
        ))
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ClientError::Credentials(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> Credentials {
        Credentials {
            server_url: "https://edge.example".into(),
            workspace_id: Some(Uuid::nil()),
            daemon_id: Some("laptop".into()),
            token: RawToken::generate(TokenKind::Daemon).unwrap(),
        }
    }

    #[test]
    fn saved_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let creds = sample();
        let path = save(dir.path(), &creds).unwrap();
        assert_eq!(load(dir.path()).unwrap(), creds);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Overwritten whole, and no temporary file left behind.
        let newer = sample();
        save(dir.path(), &newer).unwrap();
        assert_eq!(load(dir.path()).unwrap(), newer);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(!format!("{creds:?}").contains(&creds.token.expose()[12..]));
    }
}
