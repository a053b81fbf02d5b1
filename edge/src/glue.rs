//! The Workers runtime side: reads the environment, does the I/O (KV, fetch) and turns
//! the pure modules' decisions into responses. Kept thin on purpose: the logic it calls
//! is tested on the host.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{select, Either};
use serde_json::json;
use tollgate_shared::identity::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP, X_REQUEST_ID};
use tollgate_shared::{cache_key, request_id, Identity, SigningKey, Token};
use wasm_bindgen::JsValue;
use worker::{
    console_warn, event, Context, Date, Delay, Env, Fetch, Headers, Method, Request, RequestInit,
    RequestRedirect, Response,
};

use crate::errors::EdgeError;
use crate::route::Route;
use crate::{auth, cache, forward, purge, resolve, route};

/// A cache miss waits at most this long for the origin's resolver.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_PURGE_BODY: usize = 64 * 1024;

type EdgeResult<T> = Result<T, EdgeError>;

struct Config {
    origin: String,
    key: SigningKey,
}

fn config(env: &Env) -> EdgeResult<Config> {
    let origin = env.var("ORIGIN_URL").map(|v| v.to_string()).ok();
    // A secret in production (`wrangler secret put`); `.dev.vars` or `--var` locally.
    let secret = env
        .secret("EDGE_ORIGIN_SECRET")
        .map(|s| s.to_string())
        .or_else(|_| env.var("EDGE_ORIGIN_SECRET").map(|v| v.to_string()))
        .ok();
    match (origin, secret) {
        (Some(origin), Some(secret)) if !origin.is_empty() && !secret.is_empty() => Ok(Config {
            origin,
            key: SigningKey::new(&secret),
        }),
        _ => {
            console_warn!("ORIGIN_URL or EDGE_ORIGIN_SECRET is not set");
            Err(EdgeError::MISCONFIGURED)
        }
    }
}

fn now() -> i64 {
    i64::try_from(Date::now().as_millis() / 1000).unwrap_or(i64::MAX)
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let client_id = req.headers().get(X_REQUEST_ID).ok().flatten();
    let rid = request_id::choose(client_id.as_deref());
    match handle(req, &env, &rid).await {
        Ok(response) => Ok(response),
        Err(e) => error_response(&e, &rid),
    }
}

fn error_response(e: &EdgeError, rid: &str) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    for (name, value) in e.headers() {
        headers.set(name, value)?;
    }
    headers.set(X_REQUEST_ID, rid)?;
    Ok(Response::ok(e.body())?
        .with_status(e.status)
        .with_headers(headers))
}

fn json_response(value: &serde_json::Value, rid: &str) -> EdgeResult<Response> {
    let mut response = Response::from_json(value).map_err(|_| EdgeError::MISCONFIGURED)?;
    let _ = response.headers_mut().set(X_REQUEST_ID, rid);
    Ok(response)
}

async fn handle(mut req: Request, env: &Env, rid: &str) -> EdgeResult<Response> {
    let url = req.url().map_err(|_| EdgeError::NOT_FOUND)?;
    let path_and_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let method = req.method();
    match route::classify(method.as_ref(), url.path()) {
        Route::NotFound => Err(EdgeError::NOT_FOUND),
        Route::Health => match method {
            Method::Get | Method::Head => json_response(&json!({ "status": "ok" }), rid),
            _ => Err(EdgeError::METHOD_NOT_ALLOWED),
        },
        Route::Purge => {
            if method != Method::Post {
                return Err(EdgeError::METHOD_NOT_ALLOWED);
            }
            let config = config(env)?;
            let body = req.bytes().await.map_err(|_| EdgeError::BAD_REQUEST)?;
            if body.len() > MAX_PURGE_BODY {
                return Err(EdgeError::TOO_LARGE);
            }
            let header = |name: &str| req.headers().get(name).ok().flatten();
            let keys = purge::verify_and_parse(
                &config.key,
                &path_and_query,
                header(X_EDGE_TIMESTAMP).as_deref(),
                header(X_EDGE_SIGNATURE).as_deref(),
                &body,
                now(),
            )?;
            let kv = env.kv("AUTH_CACHE").map_err(|_| EdgeError::MISCONFIGURED)?;
            for key in &keys {
                // A failed delete must fail the call: the origin retries until a 2xx.
                kv.delete(key)
                    .await
                    .map_err(|_| EdgeError::AUTH_UNAVAILABLE)?;
            }
            json_response(&json!({ "purged": keys.len() }), rid)
        }
        Route::Public => {
            let config = config(env)?;
            forward(req, &config, None, &path_and_query, rid).await
        }
        Route::User => {
            let authorization = req.headers().get("authorization").ok().flatten();
            let token = auth::user_token(authorization.as_deref())?;
            let config = config(env)?;
            let identity = authenticate(env, &config, &token).await?;
            forward(req, &config, Some(&identity), &path_and_query, rid).await
        }
    }
}

/// KV first; on a miss (or an entry past `valid_until`) the origin's resolver.
async fn authenticate(env: &Env, config: &Config, token: &Token<'_>) -> EdgeResult<Identity> {
    let now = now();
    let kv = env.kv("AUTH_CACHE").map_err(|_| EdgeError::MISCONFIGURED)?;
    let key = cache_key(token.kind, &token.hash());
    if tollgate_shared::cache::is_cacheable(token.kind) {
        match kv.get(&key).text().await {
            Ok(value) => {
                if let Some(identity) = cache::hit(value.as_deref(), now) {
                    return Ok(identity);
                }
            }
            // KV trouble is a miss, not an outage: the origin can still answer.
            Err(e) => console_warn!("KV read failed: {e}"),
        }
    }

    let body = resolve::request_body(token);
    let (timestamp, signature) = resolve::sign(&config.key, &body, now);
    let headers = Headers::new();
    let set = |n: &str, v: &str| headers.set(n, v).map_err(|_| EdgeError::MISCONFIGURED);
    set("content-type", "application/json")?;
    set(X_EDGE_TIMESTAMP, &timestamp)?;
    set(X_EDGE_SIGNATURE, &signature)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&body)));
    let request =
        Request::new_with_init(&forward::origin_url(&config.origin, resolve::PATH), &init)
            .map_err(|_| EdgeError::MISCONFIGURED)?;
    let call = async move {
        let mut response = Fetch::Request(request).send().await?;
        let status = response.status_code();
        let text = response.text().await?;
        Ok::<_, worker::Error>((status, text))
    };
    let (status, text) = match with_timeout(call, RESOLVE_TIMEOUT).await {
        Some(Ok(answer)) => answer,
        Some(Err(e)) => {
            console_warn!("resolve call failed: {e}");
            return Err(EdgeError::AUTH_UNAVAILABLE);
        }
        None => {
            console_warn!("resolve call timed out");
            return Err(EdgeError::AUTH_UNAVAILABLE);
        }
    };
    let (identity, ttl) = resolve::interpret(status, &text)?;
    if let Some((value, kv_ttl)) = cache::entry_to_store(token.kind, &identity, ttl, now) {
        // A failed write only costs the next request a resolve.
        match kv.put(&key, value) {
            Ok(put) => {
                if let Err(e) = put.expiration_ttl(kv_ttl).execute().await {
                    console_warn!("KV write failed: {e}");
                }
            }
            Err(e) => console_warn!("KV write failed: {e}"),
        }
    }
    Ok(identity)
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
    req: Request,
    config: &Config,
    identity: Option<&Identity>,
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
        identity,
        rid,
        now(),
    ) {
        headers
            .set(name, &value)
            .map_err(|_| EdgeError::BAD_REQUEST)?;
    }
    let body = match method {
        Method::Get | Method::Head => None,
        _ => req.inner().body().map(JsValue::from),
    };
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(headers)
        .with_body(body)
        .with_redirect(RequestRedirect::Manual);
    let outgoing =
        Request::new_with_init(&forward::origin_url(&config.origin, path_and_query), &init)
            .map_err(|_| EdgeError::BAD_REQUEST)?;
    let response = Fetch::Request(outgoing).send().await.map_err(|e| {
        console_warn!("origin unreachable: {e}");
        EdgeError::ORIGIN_UNAVAILABLE
    })?;
    // Fetched headers are immutable: copy them to add the request id.
    let out = Headers::new();
    for (name, value) in response.headers().entries() {
        let _ = out.append(&name, &value);
    }
    let _ = out.set(X_REQUEST_ID, rid);
    Ok(response.with_headers(out))
}
