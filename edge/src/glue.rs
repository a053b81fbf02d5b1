//! The Workers runtime side, and only that: here a request's raw parts are read, the
//! settings too, and decisions become responses; KV and the Rate Limiting binding are
//! in [`bindings`], the calls to the origin in [`origin`], reading a body in [`stream`],
//! the revocation log's client in [`log`] and its Durable Object in [`revocation_log`].
//! A request goes: `dispatch` decides → the I/O here → `flow` or `purge` decides →
//! `forward` plans → the forward, and the origin's answer passed back.

use std::sync::OnceLock;

use tollgate_shared::{Actor, RouteClass};
use worker::{console_warn, event, Context, Date, Env, Headers, Request, Response};

use crate::config::{self, Config};
use crate::dispatch::Action;
use crate::errors::EdgeError;
use crate::flow::{Bindings, Flow};
use crate::incoming::Incoming;
use crate::reply::Reply;
use crate::{log_status, purge};

mod bindings;
mod log;
mod origin;
mod revocation_log;
mod stream;

/// The settings, read once per isolate (see `config::once`).
static CONFIG: OnceLock<Config> = OnceLock::new();

fn config(env: &Env) -> Result<&'static Config, EdgeError> {
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

/// The runtime's clock, in milliseconds (the glue's one reader of it).
fn now_ms() -> i64 {
    i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX)
}

fn now() -> i64 {
    now_ms() / 1000
}

/// `headers` with each pair set over it; a value the runtime refuses fails the lot.
fn set_all<N: AsRef<str>, V: AsRef<str>>(
    headers: &Headers,
    pairs: impl IntoIterator<Item = (N, V)>,
) -> worker::Result<()> {
    let mut pairs = pairs.into_iter();
    pairs.try_for_each(|(name, value)| headers.set(name.as_ref(), value.as_ref()))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let (url, method) = (req.inner().url(), req.inner().method());
    let incoming = Incoming::new(url, method, req.headers().entries().collect());
    match handle(req, &incoming, &env, &ctx).await {
        Ok(response) => Ok(response),
        Err(e) => respond(Reply::from(e), &incoming.request_id),
    }
}

fn respond(reply: Reply, rid: &str) -> worker::Result<Response> {
    let headers = Headers::new();
    set_all(&headers, reply.headers_with(rid))?;
    let response = Response::ok(reply.body)?.with_status(reply.status);
    Ok(response.with_headers(headers))
}

async fn handle(
    req: Request,
    incoming: &Incoming,
    env: &Env,
    ctx: &Context,
) -> Result<Response, EdgeError> {
    let dispatch = incoming.dispatch()?;
    let path_and_query = dispatch.path_and_query;
    let reply = match dispatch.action {
        Action::Answer(reply) => reply,
        Action::Purge => {
            let config = config(env)?;
            let read = |cap| stream::read(&req, cap);
            let bind = || {
                Ok((
                    log::WorkersLog::new(env, ctx),
                    bindings::WorkersKv::bind(env, ctx)?,
                ))
            };
            purge::call(&config.key, incoming, path_and_query, read, bind, now).await
        }
        Action::LogStatus => {
            let config = config(env)?;
            let log = log::WorkersLog::new(env, ctx);
            let stats = async || log.stats().await.map_err(|_| EdgeError::AuthUnavailable);
            log_status::call(&config.key, incoming, path_and_query, stats, now).await
        }
        Action::Forward(class) => {
            let config = config(env)?;
            let actor = match class {
                Some(class) => Some(authenticate(incoming, class, env, ctx, config).await?),
                None => {
                    admit_public(incoming, path_and_query, env).await?;
                    None
                }
            };
            let plan = incoming.plan(config, path_and_query, actor.as_ref(), now())?;
            return origin::forward(req, incoming, plan).await;
        }
    };
    respond(reply, &incoming.request_id).map_err(|_| EdgeError::Misconfigured)
}

/// A public route with a limit of its own (sign-in): its binding counts the client.
async fn admit_public(
    incoming: &Incoming,
    path_and_query: &str,
    env: &Env,
) -> Result<(), EdgeError> {
    let path = crate::route::path(path_and_query);
    let Some(limit) = tollgate_shared::limits::address_limit(&incoming.method, path) else {
        return Ok(());
    };
    let Some(binding) = limit.binding else {
        return Ok(());
    };
    let limiter = bindings::WorkersLimiter { env, binding };
    crate::flow::admit_public(&limiter, incoming.client()).await
}

/// Who is calling: the flow, with this request's bindings.
async fn authenticate(
    incoming: &Incoming,
    class: RouteClass,
    env: &Env,
    ctx: &Context,
    config: &'static Config,
) -> Result<Actor, EdgeError> {
    let kv = bindings::WorkersKv::bind(env, ctx)?;
    let limiter = bindings::WorkersLimiter {
        env,
        binding: bindings::INVALID_TOKEN_LIMITER,
    };
    let origin = origin::Resolver(config);
    let log = log::WorkersLog::new(env, ctx);
    let with = Bindings {
        kv: &kv,
        origin: &origin,
        limiter: &limiter,
        log: &log,
        clock: &now_ms,
    };
    let flow = Flow::new(with, &bindings::MEMORY, config);
    let (offered, client) = (incoming.offered(), incoming.client());
    flow.authenticate(class, &offered, client, now_ms()).await
}
