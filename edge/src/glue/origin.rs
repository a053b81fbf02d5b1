//! The two calls to the origin: the resolver on a cache miss (as [`flow::Origin`]), and
//! the forward [`crate::incoming::Incoming::plan`] planned. Redirects are passed back,
//! never followed; each call is bounded in time (see [`deadline`]).

use js_sys::Uint8Array;
use tollgate_shared::wire::RESOLVE_PATH;
use wasm_bindgen::JsValue;
use worker::{console_warn, Delay, Fetch, Headers, Method, Request, RequestInit};
use worker::{RequestRedirect, Response};

use super::{set_all, stream};
use crate::body::{self, Forwarded};
use crate::config::Config;
use crate::deadline::{self, Unanswered};
use crate::errors::EdgeError;
use crate::flow::{self, OriginError};
use crate::forward::{self, Outgoing};
use crate::incoming::Incoming;
use crate::resolve::{self, OriginAnswer};

/// `POST {ORIGIN_URL}/internal/auth/resolve`, bounded by [`resolve::TIMEOUT`].
pub struct Resolver(pub &'static Config);

impl flow::Origin for Resolver {
    async fn resolve(&self, body: &str, ts: &str, sig: &str) -> Result<OriginAnswer, OriginError> {
        let headers = Headers::new();
        set_all(&headers, resolve::call_headers(ts, sig)).map_err(|_| OriginError::Unreachable)?;
        let url = forward::origin_url(&self.0.origin, RESOLVE_PATH);
        let request = request(Method::Post, &url, headers, Some(JsValue::from_str(body)));
        let request = request.map_err(|_| OriginError::Unreachable)?;
        let call = async move {
            let mut response = Fetch::Request(request).send().await?;
            let (status, headers) = (response.status_code(), response.headers().clone());
            let body = response.bytes().await?;
            let header = |name: &str| headers.get(name).ok().flatten();
            Ok::<_, worker::Error>(OriginAnswer::read(status, header, body))
        };
        let answer = deadline::within(call, resolve::TIMEOUT, Delay::from).await;
        answer.map_err(logged("resolve call"))
    }
}

/// Forwards the request as `plan` says; the origin's answer goes back as it came, but
/// for the request id.
pub async fn forward(
    req: Request,
    incoming: &Incoming,
    plan: Outgoing,
) -> Result<Response, EdgeError> {
    let headers: Headers = forward::kept(&incoming.headers).collect();
    set_all(&headers, plan.stamped).map_err(|_| EdgeError::BadRequest)?;
    let body = match plan.body {
        Forwarded::Nothing => None,
        Forwarded::Stream => req.inner().body().map(JsValue::from),
        Forwarded::Read(cap) => {
            let read = stream::read(&req, incoming.body_cap(cap)?).await?;
            body::sent(read).map(|bytes| Uint8Array::from(bytes.as_slice()).into())
        }
    };
    let request = request(req.method(), &plan.url, headers, body);
    let request = Fetch::Request(request.map_err(|_| EdgeError::BadRequest)?);
    let response = deadline::within(request.send(), plan.timeout, Delay::from).await;
    let response = response.map_err(logged("forward"));
    let response = response.map_err(forward::unanswered)?;
    // Fetched headers are immutable: the answer goes back with a copy.
    let headers = forward::passed_back(response.headers().entries(), &incoming.request_id);
    Ok(response.with_headers(headers.into_iter().collect()))
}

fn request(
    method: Method,
    url: &str,
    headers: Headers,
    body: Option<JsValue>,
) -> worker::Result<Request> {
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(headers)
        .with_body(body);
    Request::new_with_init(url, init.with_redirect(RequestRedirect::Manual))
}

/// Logs why a call (`what`) had no answer, and says what that is to the flow.
fn logged(what: &str) -> impl Fn(Unanswered) -> OriginError + '_ {
    move |unanswered| {
        console_warn!("{what} {unanswered}");
        OriginError::from(unanswered)
    }
}
