//! The console for self-hosters without an edge: `CONSOLE_DIR` (what
//! `scripts/build-console` writes to `build/assets/`) served under `/console/`, with the
//! headers of the directory's `_headers` file — the very file Workers static assets
//! apply at the edge, so both serve the console with one Content-Security-Policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{Redirect, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

/// Where the console is served from.
pub const PATH: &str = "/console/";

/// A built console: its directory, and the headers every answer under it carries.
#[derive(Debug, Clone)]
pub struct Console {
    root: PathBuf,
    headers: Arc<HeaderMap>,
}

impl Console {
    /// The console built into `root`, refused unless it has its page and its headers:
    /// a console without its Content-Security-Policy is not served at all.
    pub fn open(root: &Path) -> Result<Console, String> {
        let page = root.join("console").join("index.html");
        if !page.is_file() {
            return Err(format!(
                "has no console/index.html (build it with scripts/build-console): {}",
                root.display()
            ));
        }
        let rules = std::fs::read_to_string(root.join("_headers"))
            .map_err(|e| format!("has no readable _headers ({e}): {}", root.display()))?;
        let headers = headers_for(&rules, PATH)?;
        if !headers.contains_key("content-security-policy") {
            return Err("_headers sets no Content-Security-Policy for /console/".to_owned());
        }
        Ok(Console {
            root: root.to_owned(),
            headers: Arc::new(headers),
        })
    }

    /// `/console` (redirected to `/console/`) and the files under `/console/`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let files = ServeDir::new(&self.root);
        let headers = self.headers.clone();
        Router::new()
            .route("/console", get(|| async { Redirect::permanent(PATH) }))
            .route_service("/console/", files.clone())
            // Workers static assets serve `device.html` at its name without the suffix.
            .route_service(
                tollgate_shared::device::VERIFICATION_PATH,
                ServeFile::new(self.root.join("console/device.html")),
            )
            .route_service("/console/{*file}", files)
            .layer(axum::middleware::map_response(
                move |mut response: Response| {
                    let headers = headers.clone();
                    async move {
                        for (name, value) in headers.iter() {
                            response.headers_mut().insert(name, value.clone());
                        }
                        response
                    }
                },
            ))
    }
}

/// The headers `_headers` gives a path under `prefix`: those of every rule whose
/// pattern is `/*` or starts with `prefix` (the patterns of Cloudflare's format this
/// project uses: a path, a `*` at its end). Lines are a pattern, or an indented
/// `Name: value` of the pattern above; `#` starts a comment.
fn headers_for(rules: &str, prefix: &str) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    let mut applies = false;
    for (n, line) in rules.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            applies = trimmed == "/*" || trimmed.starts_with(prefix);
            continue;
        }
        let (name, value) = trimmed
            .split_once(':')
            .ok_or_else(|| format!("_headers line {}: not `Name: value`", n + 1))?;
        if applies {
            let name = HeaderName::try_from(name.trim())
                .map_err(|e| format!("_headers line {}: {e}", n + 1))?;
            let value = HeaderValue::try_from(value.trim())
                .map_err(|e| format!("_headers line {}: {e}", n + 1))?;
            headers.insert(name, value);
        }
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_for_the_console_and_for_everything_apply_and_no_others() {
        let rules = "# comment\n/*\n  X-A: 1\n/console/*\n  Content-Security-Policy: default-src 'none'\n  X-B: 2\n/other/*\n  X-C: 3\n";
        let headers = headers_for(rules, PATH).unwrap();
        assert_eq!(headers["x-a"], "1");
        assert_eq!(headers["x-b"], "2");
        assert_eq!(headers["content-security-policy"], "default-src 'none'");
        assert!(!headers.contains_key("x-c"));
    }

    #[test]
    fn a_malformed_line_is_refused() {
        assert!(headers_for("/console/*\n  no colon here\n", PATH).is_err());
        assert!(headers_for("/console/*\n  Bad Name: x\n", PATH).is_err());
    }

    #[test]
    fn the_repositorys_own_headers_file_sets_what_the_console_needs() {
        let rules = include_str!("../../console/static/_headers");
        let headers = headers_for(rules, PATH).unwrap();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.contains_key("referrer-policy"));
    }
}
