//! A fake Fleet: the one service we do not own, so the one we fake — over real HTTP, on
//! a loopback port of its own. Tests tell it how to answer `POST /api/v1/pat/verify`
//! and the proxied runtime API, and read back what it was asked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

/// How `POST /api/v1/pat/verify` answers.
#[derive(Debug, Clone)]
pub enum Verify {
    /// `{"valid":true,"owner_id":…}`; `None` leaves `owner_id` out.
    Valid(Option<String>),
    /// `{"valid":false,"reason":…}`.
    Invalid(&'static str),
    /// This status with a JSON body that says valid: only a 200 counts.
    Status(u16),
    /// A valid answer, after this long.
    Slow(Duration),
    /// A valid answer padded past 64 KiB.
    Oversize,
    /// 200 with a body that is not the answer.
    Garbage,
}

/// How the proxied runtime API answers.
#[derive(Debug, Clone)]
pub enum Runtime {
    /// 200 JSON describing the call, echoing `X-Request-ID`.
    Echo,
    /// This status and body (no content type), as they are.
    Raw(u16, String),
    /// An echo, after this long.
    Slow(Duration),
    /// An answer with this request id.
    RequestId(String),
}

/// One call the runtime API received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Shared {
    verify: Mutex<Verify>,
    verify_calls: AtomicUsize,
    verified_tokens: Mutex<Vec<String>>,
    runtime: Mutex<Runtime>,
    seen: Mutex<Vec<Seen>>,
}

pub struct FakeFleet {
    /// `http://127.0.0.1:port`, as `FLEET_URL`.
    pub url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeFleet {
    /// Serves on a port of its own until dropped; every token is valid for `owner`.
    pub async fn start(owner: Option<String>) -> FakeFleet {
        let shared = Arc::new(Shared {
            verify: Mutex::new(Verify::Valid(owner)),
            verify_calls: AtomicUsize::new(0),
            verified_tokens: Mutex::default(),
            runtime: Mutex::new(Runtime::Echo),
            seen: Mutex::default(),
        });
        let app = Router::new()
            .route("/api/v1/pat/verify", post(verify))
            .route("/api/v1/{*rest}", any(runtime))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeFleet { url, shared, task }
    }

    pub fn verify_with(&self, answer: Verify) {
        *self.shared.verify.lock().unwrap() = answer;
    }

    pub fn runtime_with(&self, answer: Runtime) {
        *self.shared.runtime.lock().unwrap() = answer;
    }

    /// Verifications asked for so far.
    pub fn verify_calls(&self) -> usize {
        self.shared.verify_calls.load(Ordering::SeqCst)
    }

    /// The tokens verifications carried, in order.
    pub fn verified_tokens(&self) -> Vec<String> {
        self.shared.verified_tokens.lock().unwrap().clone()
    }

    /// Runtime API calls so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeFleet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn verify(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    shared.verify_calls.fetch_add(1, Ordering::SeqCst);
    let token = body["token"].as_str().unwrap_or_default().to_owned();
    shared.verified_tokens.lock().unwrap().push(token);
    let answer = shared.verify.lock().unwrap().clone();
    let valid = |owner: Option<String>| {
        let mut v = json!({"valid": true, "instance_id": "node-1", "instance_record_id": 7});
        if let Some(owner) = owner {
            v["owner_id"] = json!(owner);
        }
        v
    };
    match answer {
        Verify::Valid(owner) => Json(valid(owner)).into_response(),
        Verify::Invalid(reason) => Json(json!({"valid": false, "reason": reason})).into_response(),
        Verify::Status(status) => (
            StatusCode::from_u16(status).unwrap(),
            Json(valid(Some(uuid::Uuid::nil().to_string()))),
        )
            .into_response(),
        Verify::Slow(delay) => {
            tokio::time::sleep(delay).await;
            Json(valid(None)).into_response()
        }
        Verify::Oversize => {
            let mut v = valid(None);
            v["padding"] = json!("x".repeat(70 * 1024));
            Json(v).into_response()
        }
        Verify::Garbage => (StatusCode::OK, "<html>not json</html>").into_response(),
    }
}

async fn runtime(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let seen = Seen {
        method: parts.method.to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers.clone(),
        body: body.clone(),
    };
    shared.seen.lock().unwrap().push(seen.clone());
    let echo = || {
        let mut response = Json(json!({
            "method": seen.method,
            "path": seen.path_and_query,
            "user_id": seen.header("x-user-id"),
            "body_bytes": body.len(),
        }))
        .into_response();
        if let Some(id) = parts.headers.get("x-request-id") {
            response.headers_mut().insert("x-request-id", id.clone());
        }
        response
    };
    let answer = shared.runtime.lock().unwrap().clone();
    match answer {
        Runtime::Echo => echo(),
        Runtime::Raw(status, text) => Response::builder()
            .status(status)
            .body(Body::from(text))
            .unwrap(),
        Runtime::Slow(delay) => {
            tokio::time::sleep(delay).await;
            echo()
        }
        Runtime::RequestId(id) => {
            let mut response = echo();
            response
                .headers_mut()
                .insert("x-request-id", id.parse().unwrap());
            response
        }
    }
}
