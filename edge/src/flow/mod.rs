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
use crate::negative::{self, NegativeCache};
use crate::resolve::OriginAnswer;
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

/// No limit: for an edge configured without the binding.
pub struct Unlimited;

impl Limiter for Unlimited {
    async fn allow(&self, _client: &str) -> bool {
        true
    }
}

/// One request's view of the edge: its cache, the origin, the limiter, the isolate's
/// negative cache and the signing key.
pub struct Flow<'a, K, O, L> {
    pub kv: &'a K,
    pub origin: &'a O,
    pub limiter: &'a L,
    pub negatives: &'a NegativeCache,
    pub key: &'a SigningKey,
    /// `JWT_SECRET`; without it no session is valid.
    pub sessions: Option<&'a SessionKey>,
}

impl<'a, K, O, L> Flow<'a, K, O, L> {
    /// A request's flow under `config`: its signing key and, when set, its session key.
    pub fn new(
        kv: &'a K,
        origin: &'a O,
        limiter: &'a L,
        negatives: &'a NegativeCache,
        config: &'a Config,
    ) -> Self {
        Flow {
            kv,
            origin,
            limiter,
            negatives,
            key: &config.key,
            sessions: config.sessions.as_ref(),
        }
    }
}

impl<K: Kv, O: Origin, L: Limiter> Flow<'_, K, O, L> {
    /// Who is calling a route of `class`: the credential from `Authorization` (checked
    /// with zero I/O), then the cache, then on a miss the origin's resolver. A client
    /// (`CF-Connecting-IP`) with too many invalid tokens gets 429 instead of 401.
    pub async fn authenticate(
        &self,
        class: RouteClass,
        presented: &Offered<'_>,
        client: &str,
        now: i64,
    ) -> Result<Actor, EdgeError> {
        let result = match access::extract(class, presented) {
            Ok(Extracted::Token(token)) => self.resolve_token(&token, now).await,
            // Sessions are verified here, with no lookup at all.
            Ok(Extracted::Session(jwt)) => match self.sessions {
                Some(key) => session::verify(key, jwt, now).map_err(EdgeError::from),
                None => Err(AuthError::InvalidToken.into()),
            },
            Err(e) => Err(e.into()),
        };
        match result {
            Err(EdgeError::Auth(AuthError::InvalidToken)) if !self.limiter.allow(client).await => {
                Err(EdgeError::TooManyInvalidTokens)
            }
            other => other,
        }
    }

    /// The negative cache and KV first (for kinds that may be cached); on a miss, or an
    /// entry past its `valid_until`, the origin, whose signed answer is cached: a
    /// positive in KV, a refusal in the isolate.
    pub async fn resolve_token(&self, token: &Token<'_>, now: i64) -> Result<Actor, EdgeError> {
        let key = cache_key(token.kind, &token.hash());
        let cache_key = key.as_str();
        let remember_refusal = negative::applies_to(token.kind);
        if remember_refusal && self.negatives.refused(cache_key, now) {
            return Err(AuthError::InvalidToken.into());
        }
        if is_cacheable(token.kind) {
            // KV trouble is a miss, not an outage: the origin can still answer.
            if let Ok(value) = self.kv.get(cache_key).await {
                if let Some(actor) = cache::hit(value.as_deref(), now) {
                    return Ok(actor);
                }
            }
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
                    self.negatives.remember(cache_key, now);
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
}

/// Deletes purged keys. Any failure fails the call, so the origin retries it.
pub async fn purge(kv: &impl Kv, keys: &[String]) -> Result<usize, EdgeError> {
    for key in keys {
        kv.delete(key)
            .await
            .map_err(|_| EdgeError::AuthUnavailable)?;
    }
    Ok(keys.len())
}

#[cfg(test)]
mod tests;
