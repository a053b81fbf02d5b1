//! The two calls to the origin: the resolver on a cache miss (as [`flow::Origin`]), and
//! the forward of a request as [`forward::plan`] planned it. Redirects are passed back,
//! never followed; each call is bounded in time.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{select, Either};
use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP, X_REQUEST_ID};
use tollgate_shared::wire::RESOLVE_PATH;
use wasm_bindgen::JsValue;
use worker::{console_warn, Delay, Fetch, Headers, Method, Request, RequestInit};
use worker::{RequestRedirect, Response};

use super::{set_all, stream};
use crate::body::Forwarded;
use crate::config::Config;
use crate::errors::EdgeError;
use crate::flow::{self, OriginError};
use crate::forward::{self, Outgoing};
use crate::resolve::{self, OriginAnswer};

/// A cache miss waits at most this long for the origin's resolver.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// `POST {ORIGIN_URL}/internal/auth/resolve`, bounded by [`RESOLVE_TIMEOUT`].
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
            let header = |name: &str| response.headers().get(name).ok().flatten();
            let (timestamp, signature) = (header(X_EDGE_TIMESTAMP), header(X_EDGE_SIGNATURE));
            let status = response.status_code();
            let body = response.bytes().await?;
            Ok::<_, worker::Error>(OriginAnswer {
                status,
                body,
                timestamp,
                signature,
            })
        };
        within(call, RESOLVE_TIMEOUT, "resolve call").await
    }
}

/// Forwards the request as it came, minus the dropped headers, plus the stamped ones;
/// passes the origin's answer back unchanged but for the request id.
pub async fn forward(mut req: Request, plan: Outgoing, rid: &str) -> Result<Response, EdgeError> {
    let kept = req.headers().entries();
    let headers: Headers = kept
        .filter(|(name, _)| !forward::is_dropped(name))
        .collect();
    let stamped = plan
        .stamped
        .iter()
        .map(|(name, value)| (*name, value.as_str()));
    set_all(&headers, stamped).map_err(|_| EdgeError::BadRequest)?;
    let body = match plan.body {
        Forwarded::Nothing => None,
        Forwarded::Stream => req.inner().body().map(JsValue::from),
        Forwarded::Read(cap) => {
            let bytes = stream::read_capped(&mut req, cap).await?;
            (!bytes.is_empty()).then(|| js_sys::Uint8Array::from(bytes.as_slice()).into())
        }
    };
    let request = request(req.method(), &plan.url, headers, body);
    let request = Fetch::Request(request.map_err(|_| EdgeError::BadRequest)?);
    let response = within(request.send(), plan.timeout, "forward").await;
    let response = response.map_err(forward::unanswered)?;
    // Fetched headers are immutable: copy them to add the request id, unless the origin
    // echoed the one it was given or (proxying) the one the next hop chose.
    let out: Headers = response.headers().entries().collect();
    if !out.has(X_REQUEST_ID).unwrap_or(false) {
        let _ = out.set(X_REQUEST_ID, rid);
    }
    Ok(response.with_headers(out))
}

fn request(
    method: Method,
    url: &str,
    headers: Headers,
    body: Option<JsValue>,
) -> worker::Result<Request> {
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    let init = init.with_body(body).with_redirect(RequestRedirect::Manual);
    Request::new_with_init(url, init)
}

/// `call`'s answer within `limit`, or why there was none (logged as `what`).
async fn within<T>(
    call: impl Future<Output = worker::Result<T>>,
    limit: Duration,
    what: &str,
) -> Result<T, OriginError> {
    match select(pin!(call), pin!(Delay::from(limit))).await {
        Either::Left((Ok(answer), _)) => Ok(answer),
        Either::Left((Err(e), _)) => {
            console_warn!("{what} failed: {e}");
            Err(OriginError::Unreachable)
        }
        Either::Right(_) => {
            console_warn!("{what} got no answer within {limit:?}");
            Err(OriginError::Timeout)
        }
    }
}
