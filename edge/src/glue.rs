//! The Workers runtime side: reads the configuration (once per isolate), implements the
//! flow's `Kv` and `Origin` traits with KV and `fetch`, and turns the pure modules'
//! decisions into responses. Kept thin on purpose: the logic it calls is tested on the
//! host.

use std::future::Future;
use std::pin::pin;
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use futures_util::future::{select, Either};
use serde_json::json;
use tollgate_shared::access::{Presentation, RouteClass};
use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP, X_REQUEST_ID};
use tollgate_shared::session;
use tollgate_shared::wire::{max_body_bytes, PurgeAnswer, MAX_BODY_BYTES, RESOLVE_PATH};
use tollgate_shared::{request_id, Actor};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::kv::KvStore;
use worker::{
    console_warn, event, Context, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit,
    RequestRedirect, Response,
};

use crate::config::{self, Config};
use crate::errors::EdgeError;
use crate::flow::{self, Flow, KvError, OriginError};
use crate::negative::NegativeCache;
use crate::resolve::OriginAnswer;
use crate::route::Route;
use crate::{forward, purge, route};

/// A cache miss waits at most this long for the origin's resolver.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

type EdgeResult<T> = Result<T, EdgeError>;

/// Vars and secrets cannot change while an isolate lives (a new deploy or a new
/// `wrangler dev` config starts new isolates), so they are read on the first request
/// only. A wrong value is not remembered: it fails each request until fixed.
static CONFIG: OnceLock<Config> = OnceLock::new();

fn config(env: &Env) -> EdgeResult<&'static Config> {
    if let Some(config) = CONFIG.get() {
        return Ok(config);
    }
    // A secret in production (`wrangler secret put`); `.dev.vars` or `--var` locally.
    let read = config::read(|name| {
        env.secret(name)
            .map(|s| s.to_string())
            .or_else(|_| env.var(name).map(|v| v.to_string()))
            .ok()
    });
    match read {
        Ok(config) => Ok(CONFIG.get_or_init(|| config)),
        Err(setting) => {
            console_warn!("configuration: {setting}");
            Err(EdgeError::Misconfigured)
        }
    }
}

fn now() -> i64 {
    i64::try_from(Date::now().as_millis() / 1000).unwrap_or(i64::MAX)
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let client_id = req.headers().get(X_REQUEST_ID).ok().flatten();
    let rid = request_id::choose(client_id.as_deref());
    match handle(req, &env, &ctx, &rid).await {
        Ok(response) => Ok(response),
        Err(e) => error_response(e, &rid),
    }
}

fn error_response(e: EdgeError, rid: &str) -> worker::Result<Response> {
    json_answer(e.status(), e.body(), &e.headers(), rid)
}

/// A JSON answer with `extra` headers and the request id.
fn json_answer<V: AsRef<str>>(
    status: u16,
    body: String,
    extra: &[(&'static str, V)],
    rid: &str,
) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    for (name, value) in extra {
        headers.set(name, value.as_ref())?;
    }
    headers.set(X_REQUEST_ID, rid)?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

fn json_response(value: &impl serde::Serialize, rid: &str) -> EdgeResult<Response> {
    let mut response = Response::from_json(value).map_err(|_| EdgeError::Misconfigured)?;
    let _ = response.headers_mut().set(X_REQUEST_ID, rid);
    Ok(response)
}

async fn handle(mut req: Request, env: &Env, ctx: &Context, rid: &str) -> EdgeResult<Response> {
    // The runtime hands over a URL it has already parsed and normalized (WHATWG): only
    // its path and query are needed, not a second parser (and its Unicode tables).
    let url = req.inner().url();
    let path_and_query = route::path_and_query(&url).ok_or(EdgeError::NotFound)?;
    let path = path_and_query.split('?').next().unwrap_or_default();
    // The method as sent: the runtime's enum turns methods it does not know into GET.
    let method_name = req.inner().method();
    if !route::is_forwardable(&method_name) {
        return Err(EdgeError::MethodNotAllowed(route::ALLOW));
    }
    if req.headers().entries().count() > forward::MAX_CLIENT_HEADERS {
        return Err(EdgeError::HeadersTooLarge);
    }
    let method = req.method();
    let route = route::classify(&method_name, path);
    match route {
        Route::NotFound => Err(EdgeError::NotFound),
        Route::Health => match method {
            Method::Get | Method::Head => json_response(&json!({ "status": "ok" }), rid),
            _ => Err(EdgeError::MethodNotAllowed("GET, HEAD")),
        },
        Route::Purge => {
            let config = config(env)?;
            let request_signature = req.headers().get(X_EDGE_SIGNATURE).ok().flatten();
            let outcome = purge_route(&mut req, method, env, config, &path_and_query).await;
            let (status, body, mut extra) = match outcome {
                Ok(answer) => (
                    200,
                    serde_json::to_string(&answer).unwrap_or_default(),
                    vec![],
                ),
                Err(e) => (
                    e.status(),
                    e.body(),
                    e.headers()
                        .into_iter()
                        .map(|(n, v)| (n, v.to_owned()))
                        .collect(),
                ),
            };
            // Every answer is signed, so the origin believes only ours.
            extra.extend(purge::answer_headers(
                &config.key,
                request_signature.as_deref(),
                status,
                body.as_bytes(),
                now(),
            ));
            json_answer(status, body, &extra, rid).map_err(|_| EdgeError::Misconfigured)
        }
        Route::Public => {
            let config = config(env)?;
            forward(req, config, None, &path_and_query, rid).await
        }
        Route::User | Route::Daemon => {
            let class = if route == Route::Daemon {
                RouteClass::Daemon
            } else {
                RouteClass::User
            };
            let header = |name: &str| req.headers().get(name).ok().flatten();
            let authorization = header("authorization");
            let cookie = header("cookie");
            let csrf = header(session::CSRF_HEADER);
            // Set by Cloudflare (and by wrangler dev) from the connection, not the client.
            let client = header("cf-connecting-ip").unwrap_or_else(|| "unknown".to_owned());
            let config = config(env)?;
            let kv = WorkersKv::bind(env, Some(ctx))?;
            let origin = OriginResolver(config);
            // Bound only when a refusal needs counting: the hit path never asks.
            let limiter = WorkersLimiter(env);
            let flow = Flow {
                kv: &kv,
                origin: &origin,
                limiter: &limiter,
                negatives: &NEGATIVES,
                key: &config.key,
                sessions: config.sessions.as_ref(),
            };
            let presented = Presentation {
                authorization: authorization.as_deref(),
                cookie: cookie.as_deref(),
                method: &method_name,
                csrf: csrf.as_deref(),
            };
            let actor = flow.authenticate(class, &presented, &client, now()).await?;
            forward(req, config, Some(&actor), &path_and_query, rid).await
        }
    }
}

/// `POST /__tollgate/purge`: a bounded body, a valid signature, then the KV deletes.
async fn purge_route(
    req: &mut Request,
    method: Method,
    env: &Env,
    config: &Config,
    path_and_query: &str,
) -> EdgeResult<PurgeAnswer> {
    if method != Method::Post {
        return Err(EdgeError::MethodNotAllowed("POST"));
    }
    let body = read_capped(req, MAX_BODY_BYTES).await?;
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let keys = purge::verify_and_parse(
        &config.key,
        path_and_query,
        header(X_EDGE_TIMESTAMP).as_deref(),
        header(X_EDGE_SIGNATURE).as_deref(),
        &body,
        now(),
    )?;
    let purged = flow::purge(&WorkersKv::bind(env, None)?, &keys).await?;
    Ok(PurgeAnswer { purged })
}

/// `Content-Length`, when the client sent one.
fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// The body, at most `cap` bytes: a declared length over the cap is refused before
/// anything is read, and a body without one is read only up to the cap. Past the cap
/// the rest is read and dropped up to [`DRAIN_LIMIT`] (answering while the client is
/// still sending upsets the runtime's HTTP handling), and cancelled beyond that.
///
/// Read through the stream's own reader rather than the runtime crate's `ByteStream`,
/// so that the rest can be cancelled cleanly.
async fn read_capped(req: &mut Request, cap: usize) -> EdgeResult<Vec<u8>> {
    if declared_length(req).is_some_and(|len| len > cap as u64) {
        return Err(EdgeError::TooLarge);
    }
    let Some(stream) = req.inner().body() else {
        return Ok(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    let mut seen = 0usize;
    loop {
        let step = JsFuture::from(reader.read())
            .await
            .map_err(|_| EdgeError::BadRequest)?;
        let done = js_sys::Reflect::get(&step, &JsValue::from_str("done"))
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            return if seen > cap {
                Err(EdgeError::TooLarge)
            } else {
                Ok(body)
            };
        }
        let value = js_sys::Reflect::get(&step, &JsValue::from_str("value"))
            .map_err(|_| EdgeError::BadRequest)?;
        let chunk = js_sys::Uint8Array::new(&value);
        seen += chunk.length() as usize;
        if seen > cap.saturating_add(DRAIN_LIMIT) {
            let _ = JsFuture::from(reader.cancel()).await;
            return Err(EdgeError::TooLarge);
        }
        if seen <= cap {
            body.extend_from_slice(&chunk.to_vec());
        }
    }
}

/// How much of an over-limit body without a length is read (and dropped) past the cap
/// before the edge stops reading.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// The Rate Limiting binding that counts invalid-token outcomes per client.
const INVALID_TOKEN_LIMITER: &str = "INVALID_TOKEN_LIMITER";

/// Refusals this isolate remembers (see `negative`).
static NEGATIVES: LazyLock<NegativeCache> = LazyLock::new(NegativeCache::default);

struct WorkersLimiter<'a>(&'a Env);

impl flow::Limiter for WorkersLimiter<'_> {
    async fn allow(&self, client: &str) -> bool {
        // Without the binding there is no limit; the negative cache still works.
        let Ok(limiter) = self.0.rate_limiter(INVALID_TOKEN_LIMITER) else {
            return true;
        };
        match limiter.limit(client.to_owned()).await {
            Ok(outcome) => outcome.success,
            // The limiter is a courtesy to the origin, not a gate: fail open to a 401.
            Err(e) => {
                console_warn!("rate limiter failed: {e}");
                true
            }
        }
    }
}

/// The `AUTH_CACHE` binding, and the request's context for writes that finish after
/// the answer (none for the purge route, which only deletes).
struct WorkersKv<'a> {
    store: KvStore,
    ctx: Option<&'a Context>,
}

impl<'a> WorkersKv<'a> {
    fn bind(env: &Env, ctx: Option<&'a Context>) -> EdgeResult<WorkersKv<'a>> {
        let store = env.kv("AUTH_CACHE").map_err(|_| EdgeError::Misconfigured)?;
        Ok(WorkersKv { store, ctx })
    }
}

async fn kv_put(store: KvStore, key: String, value: String, expiration_ttl: u64) {
    let put = match store.put(&key, value) {
        Ok(put) => put,
        Err(e) => return console_warn!("KV write failed: {e}"),
    };
    if let Err(e) = put.expiration_ttl(expiration_ttl).execute().await {
        console_warn!("KV write failed: {e}");
    }
}

impl flow::Kv for WorkersKv<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.store.get(key).text().await.map_err(|e| {
            console_warn!("KV read failed: {e}");
            KvError
        })
    }

    fn put_in_background(&self, key: &str, value: String, expiration_ttl: u64) {
        let write = kv_put(self.store.clone(), key.to_owned(), value, expiration_ttl);
        match self.ctx {
            Some(ctx) => ctx.wait_until(write),
            // Without a request context, still off the answer's path.
            None => wasm_bindgen_futures::spawn_local(write),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store.delete(key).await.map_err(|e| {
            console_warn!("KV delete failed: {e}");
            KvError
        })
    }
}

/// `POST {ORIGIN_URL}/internal/auth/resolve`, bounded by [`RESOLVE_TIMEOUT`].
struct OriginResolver(&'static Config);

impl flow::Origin for OriginResolver {
    async fn resolve(
        &self,
        body: &str,
        timestamp: &str,
        signature: &str,
    ) -> Result<OriginAnswer, OriginError> {
        let headers = Headers::new();
        for (name, value) in [
            ("content-type", "application/json"),
            (X_EDGE_TIMESTAMP, timestamp),
            (X_EDGE_SIGNATURE, signature),
        ] {
            headers
                .set(name, value)
                .map_err(|_| OriginError::Unreachable)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(JsValue::from_str(body)))
            .with_redirect(RequestRedirect::Manual);
        let url = forward::origin_url(&self.0.origin, RESOLVE_PATH);
        let request = Request::new_with_init(&url, &init).map_err(|_| OriginError::Unreachable)?;
        let call = async move {
            let mut response = Fetch::Request(request).send().await?;
            let header = |name: &str| response.headers().get(name).ok().flatten();
            let (timestamp, signature) = (header(X_EDGE_TIMESTAMP), header(X_EDGE_SIGNATURE));
            Ok::<_, worker::Error>(OriginAnswer {
                status: response.status_code(),
                body: response.bytes().await?,
                timestamp,
                signature,
            })
        };
        match with_timeout(call, RESOLVE_TIMEOUT).await {
            Some(Ok(answer)) => Ok(answer),
            Some(Err(e)) => {
                console_warn!("resolve call failed: {e}");
                Err(OriginError::Unreachable)
            }
            None => {
                console_warn!("resolve call timed out");
                Err(OriginError::Timeout)
            }
        }
    }
}

async fn with_timeout<T>(fut: impl Future<Output = T>, limit: Duration) -> Option<T> {
    let fut = pin!(fut);
    let delay = pin!(Delay::from(limit));
    match select(fut, delay).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}

/// Forwards the request to the origin as it came, minus the stripped headers, plus the
/// stamped identity and signature; passes the origin's answer back unchanged.
async fn forward(
    mut req: Request,
    config: &Config,
    actor: Option<&Actor>,
    path_and_query: &str,
    rid: &str,
) -> EdgeResult<Response> {
    let method = req.method();
    let headers = Headers::new();
    for (name, value) in req.headers().entries() {
        if !forward::is_dropped(&name) {
            let _ = headers.append(&name, &value);
        }
    }
    for (name, value) in forward::stamp(
        &config.key,
        method.as_ref(),
        path_and_query,
        actor,
        rid,
        now(),
    )? {
        headers
            .set(name, &value)
            .map_err(|_| EdgeError::BadRequest)?;
    }
    // Bodies over the origin's limit are refused here: streaming a large body to an
    // origin that has already answered 413 would only hang the Worker. A declared
    // length within the limit streams; a body without one is read up to the limit.
    let path = path_and_query.split('?').next().unwrap_or_default();
    let limit = max_body_bytes(path);
    let body = match (&method, declared_length(&req)) {
        (Method::Get | Method::Head, _) => None,
        (_, Some(len)) if len > limit as u64 => return Err(EdgeError::TooLarge),
        (_, Some(_)) => req.inner().body().map(JsValue::from),
        (_, None) => {
            let bytes = read_capped(&mut req, limit).await?;
            (!bytes.is_empty()).then(|| js_sys::Uint8Array::from(bytes.as_slice()).into())
        }
    };
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(headers)
        .with_body(body)
        .with_redirect(RequestRedirect::Manual);
    let outgoing =
        Request::new_with_init(&forward::origin_url(&config.origin, path_and_query), &init)
            .map_err(|_| EdgeError::BadRequest)?;
    let timeout = forward::timeout(path, config.origin_timeout);
    let response = match with_timeout(Fetch::Request(outgoing).send(), timeout).await {
        Some(Ok(response)) => response,
        Some(Err(e)) => {
            console_warn!("origin unreachable: {e}");
            return Err(EdgeError::OriginUnavailable);
        }
        None => {
            console_warn!("origin did not answer within {timeout:?}");
            return Err(EdgeError::OriginTimeout);
        }
    };
    // Fetched headers are immutable: copy them to add the request id.
    let out = Headers::new();
    for (name, value) in response.headers().entries() {
        let _ = out.append(&name, &value);
    }
    // The origin echoes the id it was given, or (proxying) the one the next hop chose.
    if !out.has(X_REQUEST_ID).unwrap_or(false) {
        let _ = out.set(X_REQUEST_ID, rid);
    }
    Ok(response.with_headers(out))
}
