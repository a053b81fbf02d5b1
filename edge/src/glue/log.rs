//! The revocation log as the flow sees it ([`flow::Log`]): appends go to the Durable
//! Object; catch-up reads go through the location's Cache API first, where an answer
//! lives 1 s, so the isolates of a location read the object at most about once a second
//! between them (docs/ARCHITECTURE.md "Revocation everywhere").

use std::time::Duration;

use worker::{console_warn, Cache, Context, Delay, Env, Headers, Method, Request, RequestInit};
use worker::{Response, Stub};

use super::now_ms;
use crate::deadline;
use crate::flow::{self, LogError};
use crate::revocation_log::{self as log, AppendRequest, Page, Stats};
use crate::revocations;

/// A log that does not answer within this is unreadable: hits resolve at the origin.
const READ_LIMIT: Duration = Duration::from_millis(1_000);
/// Appends: within the origin's 2 s for the whole purge call, so that an append never
/// lands after the origin gave up on the call (and answered its 204).
const APPEND_LIMIT: Duration = Duration::from_millis(1_500);
/// The object's routes are reached through the binding only; the host names nothing.
const BASE: &str = "https://revocation-log.tollgate.internal";

pub struct WorkersLog<'a> {
    env: &'a Env,
    ctx: &'a Context,
}

impl<'a> WorkersLog<'a> {
    pub fn new(env: &'a Env, ctx: &'a Context) -> WorkersLog<'a> {
        WorkersLog { env, ctx }
    }

    fn stub(&self) -> Result<Stub, LogError> {
        let namespace = self
            .env
            .durable_object(log::BINDING)
            .map_err(failed("bind"))?;
        let id = namespace
            .id_from_name(log::OBJECT_NAME)
            .map_err(failed("bind"))?;
        id.get_stub().map_err(failed("bind"))
    }

    /// `request` to the object, its 200 body, within `limit`.
    async fn call(&self, request: Request, limit: Duration) -> Result<String, LogError> {
        let stub = self.stub()?;
        let call = async move {
            let mut answer = stub.fetch_with_request(request).await?;
            match answer.status_code() {
                200 => answer.text().await,
                other => Err(worker::Error::RustError(format!("status {other}"))),
            }
        };
        deadline::within(call, limit, Delay::from)
            .await
            .map_err(|unanswered| {
                console_warn!("revocation log {unanswered}");
                LogError
            })
    }

    /// Shares `body` with the location's other isolates for a second.
    fn share(&self, url: String, body: String) {
        let put = async move {
            let headers = Headers::new();
            let response = headers
                .set("cache-control", "max-age=1")
                .and_then(|()| Response::ok(body))
                .map(|response| response.with_headers(headers));
            if let Ok(response) = response {
                if let Err(e) = Cache::default().put(url.as_str(), response).await {
                    console_warn!("revocation log cache write failed: {e}");
                }
            }
        };
        self.ctx.wait_until(put);
    }
}

impl WorkersLog<'_> {
    /// The object's counts (`GET /stats`).
    pub async fn stats(&self) -> Result<Stats, LogError> {
        let url = format!("{BASE}{}", log::STATS_PATH);
        let request = Request::new(&url, Method::Get).map_err(failed("request"))?;
        let body = self.call(request, READ_LIMIT).await?;
        serde_json::from_str(&body).map_err(failed("answer"))
    }
}

fn failed<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> LogError {
    move |e| {
        console_warn!("revocation log {what} failed: {e}");
        LogError
    }
}

fn page(body: &str) -> Result<Page, LogError> {
    serde_json::from_str(body).map_err(failed("answer"))
}

/// The location's cached answer at `url`, if it has a usable one.
async fn cached(url: &str) -> Result<Page, String> {
    let found = Cache::default().get(url, false).await;
    let mut response = found.map_err(|e| e.to_string())?.ok_or("not cached")?;
    let body = response.text().await.map_err(|e| e.to_string())?;
    serde_json::from_str(&body).map_err(|e| e.to_string())
}

impl flow::Log for WorkersLog<'_> {
    async fn after(&self, seq: u64) -> Result<Page, LogError> {
        let url = format!("{BASE}{}{seq}", log::AFTER_PATH);
        // A cache that fails, stalls or holds an answer older than a copy may be is a
        // cache that misses: the object still answers.
        let cached = deadline::within(cached(&url), READ_LIMIT, Delay::from).await;
        if let Ok(page) = cached {
            let age = now_ms().saturating_sub(page.as_of_ms);
            if age <= revocations::FRESH_MS {
                return Ok(page);
            }
        }
        let request = Request::new(&url, Method::Get).map_err(failed("request"))?;
        let body = self.call(request, READ_LIMIT).await?;
        let answer = page(&body)?;
        self.share(url, body);
        Ok(answer)
    }

    async fn append(&self, keys: &[String]) -> Result<(), LogError> {
        let body = serde_json::to_string(&AppendRequest {
            keys: keys.to_vec(),
        })
        .map_err(failed("request"))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(body.into()));
        let url = format!("{BASE}{}", log::APPEND_PATH);
        let request = Request::new_with_init(&url, &init).map_err(failed("request"))?;
        self.call(request, APPEND_LIMIT).await.map(|_| ())
    }
}
