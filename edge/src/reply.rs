//! An answer the edge gives itself, not the origin's: a status, a JSON body and the
//! headers it needs. The glue turns it into a response, adding `content-type` and the
//! request id; nothing else is added on the way out.

use tollgate_shared::headers::X_REQUEST_ID;

use crate::errors::EdgeError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// JSON.
    pub body: String,
    /// Set in this order, each replacing any earlier value of its name.
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// `GET /healthz`.
    pub fn health() -> Reply {
        Reply {
            status: 200,
            body: r#"{"status":"ok"}"#.to_owned(),
            headers: vec![],
        }
    }
}

impl Reply {
    /// Every header of the response, in order: `content-type`, this reply's own, then
    /// the request id.
    pub fn headers_with<'a>(&'a self, request_id: &'a str) -> Vec<(&'a str, &'a str)> {
        let own = self
            .headers
            .iter()
            .map(|(name, value)| (*name, value.as_str()));
        [("content-type", "application/json")]
            .into_iter()
            .chain(own)
            .chain([(X_REQUEST_ID, request_id)])
            .collect()
    }
}

impl From<EdgeError> for Reply {
    fn from(e: EdgeError) -> Reply {
        Reply {
            status: e.status(),
            body: e.body(),
            headers: e
                .headers()
                .into_iter()
                .map(|(name, value)| (name, value.to_owned()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::AuthError;

    #[test]
    fn health_is_a_bare_ok() {
        let reply = Reply::health();
        assert_eq!((reply.status, reply.headers.len()), (200, 0));
        assert_eq!(
            reply.body,
            serde_json::json!({ "status": "ok" }).to_string()
        );
    }

    #[test]
    fn the_response_headers_in_order() {
        let reply = Reply::from(EdgeError::AuthUnavailable);
        assert_eq!(
            reply.headers_with("rid"),
            vec![
                ("content-type", "application/json"),
                ("retry-after", "5"),
                ("x-request-id", "rid")
            ]
        );
        assert_eq!(Reply::health().headers_with("r").len(), 2);
    }

    #[test]
    fn errors_keep_their_status_body_and_headers() {
        let reply = Reply::from(EdgeError::Auth(AuthError::InvalidToken));
        assert_eq!(reply.status, 401);
        assert_eq!(reply.body, r#"{"error":"invalid token"}"#);
        assert_eq!(
            reply.headers,
            vec![(
                "www-authenticate",
                "Bearer error=\"invalid_token\"".to_owned()
            )]
        );
        let reply = Reply::from(EdgeError::MethodNotAllowed("GET, HEAD"));
        assert_eq!(
            (reply.status, reply.headers),
            (405, vec![("allow", "GET, HEAD".to_owned())])
        );
        assert!(Reply::from(EdgeError::NotFound).headers.is_empty());
    }
}
