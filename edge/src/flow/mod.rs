//! The edge's decisions with the I/O behind two small traits: [`Kv`] (the identity cache)
//! and [`Origin`] (the resolver). `glue` implements them for the Workers runtime; the
//! tests below implement them in memory, so every path of the request flow — hit, miss,
//! stale entry, KV trouble, refusals, timeouts — runs on the host.
//!
//! A new kind of credential is a new case here (and a new cell of the shared
//! `access::admit` table), not a new branch in the glue.

use tollgate_shared::access::{self, Extracted, Offered, RouteClass};
use tollgate_shared::cache::is_cacheable;
use tollgate_shared::session::{self, SessionKey};
use tollgate_shared::{cache_key, Actor, AuthError, SigningKey, Token};

use crate::config::Config;
use crate::errors::EdgeError;
use crate::flood::{self, Blocked};
use crate::negative::{self, NegativeCache};
use crate::resolve::OriginAnswer;
use crate::revocation_log::Page;
use crate::revocations::{Revocations, Verdict, MAX_PAGES};
use crate::{cache, resolve};

/// A KV failure. The flow only needs to know that it failed; the implementation logs
/// the details where it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvError;

/// The identity cache (Workers KV).
// The Worker runs on one thread: these futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Kv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError>;
    /// Stores `value` after the answer has gone out (`ctx.wait_until` in the Worker): a
    /// miss does not wait for the write, and a failed write only costs the next request
    /// a resolve.
    fn put_in_background(&self, key: &str, value: String, expiration_ttl: u64);
    async fn delete(&self, key: &str) -> Result<(), KvError>;
}

/// Why the resolver gave no answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginError {
    Unreachable,
    Timeout,
}

/// The origin's resolver: one signed POST of `body`, answered with a status, a body and
/// the answer's own signature headers. Redirects are not followed.
#[allow(async_fn_in_trait)]
pub trait Origin {
    async fn resolve(
        &self,
        body: &str,
        timestamp: &str,
        signature: &str,
    ) -> Result<OriginAnswer, OriginError>;
}

/// Counts a client's invalid-token outcomes (the Rate Limiting binding in
/// production). `false` once the client is over its limit.
#[allow(async_fn_in_trait)]
pub trait Limiter {
    async fn allow(&self, client: &str) -> bool;
}

/// The revocation log could not be read, or refused an append. The implementation logs
/// why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError;

/// The revocation log (a Durable Object in production; see `revocation_log`).
#[allow(async_fn_in_trait)]
pub trait Log {
    /// "Everything after sequence `seq`", one page of it.
    async fn after(&self, seq: u64) -> Result<Page, LogError>;
    /// Records `keys` as revoked; `Ok` once the log holds them.
    async fn append(&self, keys: &[String]) -> Result<(), LogError>;
}

/// What an isolate remembers between requests: refusals, its copy of the revocation
/// log, and the clients over their invalid-token budget.
#[derive(Default)]
pub struct Memory {
    pub negatives: NegativeCache,
    pub revocations: Revocations,
    pub blocked: Blocked,
}

/// No limit: for an edge configured without the binding.
pub struct Unlimited;

impl Limiter for Unlimited {
    async fn allow(&self, _client: &str) -> bool {
        true
    }
}

/// One request's view of the edge: its cache, the origin, the limiter, the revocation
/// log, what the isolate remembers, and the signing key.
pub struct Flow<'a, K, O, L, G> {
    pub kv: &'a K,
    pub origin: &'a O,
    pub limiter: &'a L,
    pub log: &'a G,
    pub memory: &'a Memory,
    pub key: &'a SigningKey,
    /// `JWT_SECRET`; without it no session is valid.
    pub sessions: Option<&'a SessionKey>,
    /// The clock in milliseconds, read again after I/O: how old the isolate's copy of
    /// the log is must be judged when the hit is believed, not when the request came.
    pub clock: &'a dyn Fn() -> i64,
}

/// The bindings a flow runs on: KV, the origin, the limiter and the revocation log.
pub struct Bindings<'a, K, O, L, G> {
    pub kv: &'a K,
    pub origin: &'a O,
    pub limiter: &'a L,
    pub log: &'a G,
    pub clock: &'a dyn Fn() -> i64,
}

impl<'a, K, O, L, G> Flow<'a, K, O, L, G> {
    /// A request's flow under `config`: its signing key and, when set, its session key.
    pub fn new(with: Bindings<'a, K, O, L, G>, memory: &'a Memory, config: &'a Config) -> Self {
        Flow {
            kv: with.kv,
            origin: with.origin,
            limiter: with.limiter,
            log: with.log,
            clock: with.clock,
            memory,
            key: &config.key,
            sessions: config.sessions.as_ref(),
        }
    }
}

impl<K: Kv, O: Origin, L: Limiter, G: Log> Flow<'_, K, O, L, G> {
    /// Who is calling a route of `class`: the credential from `Authorization` (checked
    /// with zero I/O), then the cache, then on a miss the origin's resolver. `client` is
    /// `CF-Connecting-IP`, which the invalid-token limiter counts by; `now_ms` the clock.
    pub async fn authenticate(
        &self,
        class: RouteClass,
        presented: &Offered<'_>,
        client: &str,
        now_ms: i64,
    ) -> Result<Actor, EdgeError> {
        match access::extract(class, presented) {
            Ok(Extracted::Token(token)) => self.resolve_token(&token, client, now_ms).await,
            // Sessions are verified here, with no lookup; one signed out or revoked is
            // in the log. When the log cannot tell, the origin does: it holds every
            // session request to its record.
            Ok(Extracted::Session(jwt)) => {
                let key = self.sessions.ok_or(AuthError::InvalidToken)?;
                let session = session::verify(key, jwt, seconds(now_ms))?;
                let key = session::revocation_key(session.id);
                if self.verdict(&key, now_ms).await == Verdict::Revoked {
                    return Err(AuthError::InvalidToken.into());
                }
                Ok(session.actor)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The negative cache and KV first (for kinds that may be cached), a hit believed only
    /// if the revocation log clears it; on a miss, or an entry past its `valid_until`, the
    /// origin, whose signed answer is cached: a positive in KV, a refusal in the isolate.
    /// A client over its invalid-token budget gets 429 before the origin is asked, and
    /// only the origin's "invalid token" counts against the budget.
    pub async fn resolve_token(
        &self,
        token: &Token<'_>,
        client: &str,
        now_ms: i64,
    ) -> Result<Actor, EdgeError> {
        let now = seconds(now_ms);
        let key = cache_key(token.kind, &token.hash());
        let cache_key = key.as_str();
        let remember_refusal = negative::applies_to(token.kind);
        let memory = self.memory;
        if remember_refusal && memory.negatives.refused(cache_key, now) {
            return Err(AuthError::InvalidToken.into());
        }
        // A hit the log could not clear still shows the token was valid a moment ago:
        // it is resolved whatever the client's budget says.
        let mut unconfirmed_hit = false;
        if is_cacheable(token.kind) {
            // KV trouble is a miss, not an outage: the origin can still answer.
            if let Ok(value) = self.kv.get(cache_key).await {
                if let Some(actor) = cache::hit(value.as_deref(), now) {
                    if self.cleared(cache_key, now_ms).await {
                        return Ok(actor);
                    }
                    unconfirmed_hit = true;
                }
            }
        }
        let counted_as = flood::client_key(client);
        if !unconfirmed_hit && memory.blocked.is_blocked(&counted_as, now) {
            return Err(EdgeError::TooManyInvalidTokens);
        }

        let body = resolve::request_body(token);
        let (timestamp, signature) = resolve::sign(self.key, &body, now)?;
        let answer = self
            .origin
            .resolve(&body, &timestamp, &signature)
            .await
            .map_err(|_| EdgeError::AuthUnavailable)?;
        resolve::verify_answer(self.key, &signature, &answer, now)?;
        let answer = match resolve::interpret(answer.status, &answer.body) {
            Ok(answer) => answer,
            Err(refused @ EdgeError::Auth(AuthError::InvalidToken)) => {
                if remember_refusal {
                    memory.negatives.remember(cache_key, now);
                }
                if !self.limiter.allow(&counted_as).await {
                    memory.blocked.block(&counted_as, now);
                    return Err(EdgeError::TooManyInvalidTokens);
                }
                return Err(refused);
            }
            Err(other) => return Err(other),
        };
        if let Some((value, kv_ttl)) =
            cache::entry_to_store(token.kind, &answer.identity, answer.ttl_secs, now)
        {
            self.kv.put_in_background(cache_key, value, kv_ttl);
        }
        Ok(answer.identity)
    }

    /// Whether a KV hit under `cache_key` may be believed: the isolate's copy of the
    /// revocation log brought up to date if it is older than a second, then asked. A log
    /// that cannot be read leaves the copy to go stale, and a stale copy clears nothing.
    async fn cleared(&self, cache_key: &str, started_ms: i64) -> bool {
        self.verdict(cache_key, started_ms).await == Verdict::Clear
    }

    /// What the isolate's copy of the revocation log says of `key`, brought up to date
    /// first if it is older than a second (see [`Flow::cleared`]).
    async fn verdict(&self, key: &str, started_ms: i64) -> Verdict {
        let revocations = &self.memory.revocations;
        // Never earlier than the request's start (a clock read before it came).
        let now = || (self.clock)().max(started_ms);
        for _ in 0..MAX_PAGES {
            let Some(after) = revocations.next_read(now()) else {
                break;
            };
            match self.log.after(after).await {
                Ok(page) => {
                    if !revocations.apply(after, page, now()) {
                        break;
                    }
                }
                Err(LogError) => {
                    revocations.failed(now());
                    break;
                }
            }
        }
        revocations.verdict(key, now())
    }
}

/// A public route that `limiter` counts (the sign-in routes, each with its binding):
/// `429 too many sign-in requests` once `client` is over its limit. The origin counts
/// the same requests too, so a limiter that fails lets them through to it.
pub async fn admit_public(limiter: &impl Limiter, client: &str) -> Result<(), EdgeError> {
    if limiter.allow(&flood::client_key(client)).await {
        Ok(())
    } else {
        Err(EdgeError::TooManySignInRequests)
    }
}

fn seconds(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000)
}

/// A purge: the keys into the revocation log first — from then on every location
/// refuses them — then out of this location's KV. Any failure fails the call, so the
/// origin retries it.
pub async fn purge(log: &impl Log, kv: &impl Kv, keys: &[String]) -> Result<usize, EdgeError> {
    let logged = log.append(keys).await;
    // Deleted here even when the log failed: this location at least stops serving them
    // (the call still fails, so the origin retries until the log has them).
    for key in keys {
        kv.delete(key)
            .await
            .map_err(|_| EdgeError::AuthUnavailable)?;
    }
    logged.map_err(|_| EdgeError::AuthUnavailable)?;
    Ok(keys.len())
}

#[cfg(test)]
mod tests;
