//! The API as tests call it, whoever serves it: [`Api`] is the origin's router called in
//! process (`origin/tests/http`) or the whole stack through the edge ([`crate::stack`]),
//! so that one set of [`crate::fixtures`] serves both. A [`TestResponse`] is what came
//! back; [`assert_refused`] checks a refusal against the shared authentication errors.

use std::future::Future;

use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use tollgate_shared::AuthError;

/// Something that answers the API's routes.
pub trait Api: Sync {
    /// `method path`, with `token` as a bearer credential and `body` as JSON.
    fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> impl Future<Output = TestResponse> + Send;

    fn get(&self, path: &str, token: Option<&str>) -> impl Future<Output = TestResponse> + Send {
        self.call(Method::GET, path, token, None)
    }

    /// Told each secret a fixture was given, so that a test can check later that none
    /// reached a log (the stack does; the origin's tests need not).
    fn keep(&self, _secret: &str) {}
}

/// An [`Api`] shared between tasks.
impl<A: Api + Send> Api for std::sync::Arc<A> {
    fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> impl Future<Output = TestResponse> + Send {
        (**self).call(method, path, token, body)
    }

    fn keep(&self, secret: &str) {
        (**self).keep(secret);
    }
}

/// An answer, read to its end.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON; `Null` when it is empty or no JSON.
    pub body: Value,
}

impl TestResponse {
    pub fn new(status: StatusCode, headers: HeaderMap, bytes: &[u8]) -> TestResponse {
        TestResponse {
            status,
            headers,
            text: String::from_utf8_lossy(bytes).into_owned(),
            body: serde_json::from_slice(bytes).unwrap_or(Value::Null),
        }
    }

    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no error field>")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A 401 or 403 is one of the shared authentication errors and carries exactly its
    /// RFC 6750 challenge (none on a 403); any other status passes.
    pub fn assert_challenge(&self) {
        if !matches!(self.status.as_u16(), 401 | 403) {
            return;
        }
        let Some(expected) = AuthError::ALL
            .into_iter()
            .find(|e| e.message() == self.error())
        else {
            panic!("{}: {} is no AuthError", self.status, self.text);
        };
        assert_eq!(self.status.as_u16(), expected.status(), "{}", self.text);
        assert_eq!(
            self.header("www-authenticate"),
            expected.challenge(),
            "{}",
            self.text
        );
    }
}

/// Checks that `response` is exactly `expected`: its status, its JSON message and its
/// `WWW-Authenticate` challenge (none on a 403), as the edge and the origin both answer.
pub async fn assert_refused(response: reqwest::Response, expected: AuthError) {
    assert_eq!(
        response.status().as_u16(),
        expected.status(),
        "{expected:?}"
    );
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(challenge.as_deref(), expected.challenge(), "{expected:?}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], expected.message());
}
