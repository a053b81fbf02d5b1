//! Routes a browser may call only from our own pages (signing in): a request another
//! site made is refused, so no page elsewhere can sign a visitor in to an account of its
//! choosing (login CSRF — the sign-in routes take any content type, and a cross-site
//! form can post JSON-looking text). Browsers say where a request comes from:
//! `Sec-Fetch-Site` (`same-origin`, `same-site`, `cross-site`, `none`) and `Origin`.
//! Tools such as curl send neither and are let through.

use axum::http::HeaderMap;
use reqwest::Url;
use tollgate_shared::AuthError;

/// `Err(403 cross-site request refused)` for a request from another site: one whose
/// `Sec-Fetch-Site` is `cross-site` or `same-site` (a sibling subdomain is another
/// site's page too), or whose `Origin` is not `public_url`'s (when it is known).
pub fn refuse_cross_site(headers: &HeaderMap, public_url: Option<&Url>) -> Result<(), AuthError> {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    if matches!(header("sec-fetch-site"), Some("cross-site" | "same-site")) {
        return Err(AuthError::CrossSite);
    }
    if let (Some(origin), Some(ours)) = (header("origin"), public_url) {
        if origin != ours.origin().ascii_serialization() {
            return Err(AuthError::CrossSite);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn other_sites_are_refused_and_our_pages_and_tools_are_not() {
        let ours: Url = "https://tollgate.example".parse().unwrap();
        let ours = Some(&ours);
        for ok in [
            headers(&[]),
            headers(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "https://tollgate.example"),
            ]),
            headers(&[("sec-fetch-site", "none")]),
        ] {
            assert_eq!(refuse_cross_site(&ok, ours), Ok(()), "{ok:?}");
        }
        for refused in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "null")]),
            headers(&[("origin", "http://tollgate.example")]),
        ] {
            assert_eq!(
                refuse_cross_site(&refused, ours),
                Err(AuthError::CrossSite),
                "{refused:?}"
            );
        }
        // Without PUBLIC_URL only Sec-Fetch-Site can tell.
        let origin_only = headers(&[("origin", "https://evil.example")]);
        assert_eq!(refuse_cross_site(&origin_only, None), Ok(()));
        let cross = headers(&[("sec-fetch-site", "cross-site")]);
        assert_eq!(refuse_cross_site(&cross, None), Err(AuthError::CrossSite));
    }
}
