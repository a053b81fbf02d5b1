//! The Workers bindings behind the flow's traits: `AUTH_CACHE` (KV) as [`flow::Kv`], the
//! Rate Limiting binding as [`flow::Limiter`], and what the isolate remembers.

use std::sync::LazyLock;

use worker::kv::KvStore;
use worker::{console_warn, Context, Env};

use crate::errors::EdgeError;
use crate::flow::Memory;
use crate::flow::{self, KvError};

/// What this isolate remembers between requests (see `flow::Memory`).
pub static MEMORY: LazyLock<Memory> = LazyLock::new(Memory::default);

/// A Rate Limiting binding by name: `INVALID_TOKEN_LIMITER` counts invalid-token
/// outcomes per client, the sign-in ones (`tollgate_shared::sign_in`) their requests.
pub struct WorkersLimiter<'a> {
    pub env: &'a Env,
    pub binding: &'static str,
}

/// The invalid-token limiter.
pub const INVALID_TOKEN_LIMITER: &str = "INVALID_TOKEN_LIMITER";

impl flow::Limiter for WorkersLimiter<'_> {
    async fn allow(&self, client: &str) -> bool {
        // Without the binding there is no limit here; the negative cache still works,
        // and the origin counts sign-in requests itself.
        let Ok(limiter) = self.env.rate_limiter(self.binding) else {
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
/// the answer.
pub struct WorkersKv<'a> {
    store: KvStore,
    ctx: &'a Context,
}

impl<'a> WorkersKv<'a> {
    pub fn bind(env: &Env, ctx: &'a Context) -> Result<WorkersKv<'a>, EdgeError> {
        let store = env.kv("AUTH_CACHE").map_err(|_| EdgeError::Misconfigured)?;
        Ok(WorkersKv { store, ctx })
    }
}

fn failed(what: &str) -> impl Fn(worker::kv::KvError) -> KvError + '_ {
    move |e| {
        console_warn!("KV {what} failed: {e}");
        KvError
    }
}

impl flow::Kv for WorkersKv<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.store.get(key).text().await.map_err(failed("read"))
    }

    fn put_in_background(&self, key: &str, value: String, expiration_ttl: u64) {
        let (store, key) = (self.store.clone(), key.to_owned());
        self.ctx.wait_until(async move {
            if let Ok(put) = store.put(&key, value).map_err(failed("write")) {
                let written = put.expiration_ttl(expiration_ttl).execute().await;
                let _ = written.map_err(failed("write"));
            }
        });
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store.delete(key).await.map_err(failed("delete"))
    }
}
