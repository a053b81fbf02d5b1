//! The Workers runtime side, and only that: the request's raw parts, the configuration,
//! and a decision turned into a response, here; KV and the Rate Limiting binding in
//! [`bindings`]; the calls to the origin in [`origin`]; reading a body in [`stream`].
//! A request goes: `dispatch` decides → the I/O here → `flow` or `purge` decides →
//! `forward` plans → the forward, and the origin's answer passed back.

use std::sync::OnceLock;

use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP, X_REQUEST_ID};
use tollgate_shared::{request_id, Actor, RouteClass};
use worker::{console_warn, event, Context, Date, Env, Headers, Request, Response};

use crate::config::{self, Config};
use crate::dispatch::{self, Action};
use crate::errors::EdgeError;
use crate::flow::{self, CallerHeaders, Flow};
use crate::reply::Reply;
use crate::{forward, purge};

mod bindings;
mod origin;
mod stream;

/// The settings, read once per isolate (see `config::once`).
static CONFIG: OnceLock<Config> = OnceLock::new();

type EdgeResult<T> = Result<T, EdgeError>;

fn config(env: &Env) -> EdgeResult<&'static Config> {
    // A secret in production (`wrangler secret put`); `.dev.vars` or `--var` locally.
    let get = |name: &str| {
        let secret = env.secret(name).map(|s| s.to_string());
        secret
            .or_else(|_| env.var(name).map(|v| v.to_string()))
            .ok()
    };
    config::once(&CONFIG, get).map_err(|setting| {
        console_warn!("configuration: {setting}");
        EdgeError::Misconfigured
    })
}

fn now() -> i64 {
    i64::try_from(Date::now().as_millis() / 1000).unwrap_or(i64::MAX)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// `headers` with each pair set over it; a value the runtime refuses fails the lot.
fn set_all<'a>(
    headers: &Headers,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> worker::Result<()> {
    pairs
        .into_iter()
        .try_for_each(|(name, value)| headers.set(name, value))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let rid = request_id::choose(header(&req, X_REQUEST_ID).as_deref());
    match handle(req, &env, &ctx, &rid).await {
        Ok(response) => Ok(response),
        Err(e) => respond(Reply::from(e), &rid),
    }
}

fn respond(reply: Reply, rid: &str) -> worker::Result<Response> {
    let headers = Headers::new();
    set_all(&headers, reply.headers_with(rid))?;
    let response = Response::ok(reply.body)?.with_status(reply.status);
    Ok(response.with_headers(headers))
}

async fn handle(mut req: Request, env: &Env, ctx: &Context, rid: &str) -> EdgeResult<Response> {
    // The runtime's URL is parsed and normalized already (WHATWG); the method as sent.
    let (url, method) = (req.inner().url(), req.inner().method());
    let dispatch = dispatch::dispatch(&url, &method, req.headers().entries().count())?;
    let path_and_query = dispatch.path_and_query;
    let reply = match dispatch.action {
        Action::Answer(reply) => reply,
        Action::Purge => {
            let config = config(env)?;
            let signature = header(&req, X_EDGE_SIGNATURE);
            let outcome = purge_call(&mut req, &method, env, config, path_and_query).await;
            purge::reply(&config.key, signature.as_deref(), outcome, now())
        }
        Action::Forward(class) => {
            let config = config(env)?;
            let actor = match class {
                Some(class) => Some(authenticate(&req, &method, class, env, ctx, config).await?),
                None => None,
            };
            let length = header(&req, "content-length");
            let (pq, length) = (path_and_query, length.as_deref());
            let plan = forward::plan(config, &method, pq, length, actor.as_ref(), rid, now())?;
            return origin::forward(req, plan, rid).await;
        }
    };
    respond(reply, rid).map_err(|_| EdgeError::Misconfigured)
}

/// `POST /__tollgate/purge`: a bounded body, a valid signature, then the KV deletes.
async fn purge_call(
    req: &mut Request,
    method: &str,
    env: &Env,
    config: &Config,
    path_and_query: &str,
) -> EdgeResult<usize> {
    purge::check_method(method)?;
    let body = stream::read_capped(req, purge::MAX_BODY).await?;
    let (ts, sig) = (header(req, X_EDGE_TIMESTAMP), header(req, X_EDGE_SIGNATURE));
    let (ts, sig) = (ts.as_deref(), sig.as_deref());
    let keys = purge::verify_and_parse(&config.key, path_and_query, ts, sig, &body, now())?;
    flow::purge(&bindings::WorkersKv::bind(env, None)?, &keys).await
}

async fn authenticate(
    req: &Request,
    method: &str,
    class: RouteClass,
    env: &Env,
    ctx: &Context,
    config: &'static Config,
) -> EdgeResult<Actor> {
    let caller = CallerHeaders::read(|name| header(req, name));
    let flow = Flow {
        kv: &bindings::WorkersKv::bind(env, Some(ctx))?,
        origin: &origin::Resolver(config),
        // Bound only when a refusal needs counting: the hit path never asks.
        limiter: &bindings::WorkersLimiter(env),
        negatives: &bindings::NEGATIVES,
        key: &config.key,
        sessions: config.sessions.as_ref(),
    };
    let presented = caller.offered(method);
    flow.authenticate(class, &presented, &caller.client, now())
        .await
}
