//! Prometheus metrics, one registry per app (no globals, so tests do not share counts).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub resolves: IntCounterVec,
    /// Token-table lookups: what a cache hit at the edge must never cause.
    pub token_lookups: prometheus::IntCounter,
    pub purges: IntCounterVec,
    pub pool_connections: IntGaugeVec,
    /// Mail handed over (`sent`) or not (`failed`): sign-in codes and notices.
    pub mail_sent: IntCounterVec,
}

/// Outcome label of `tollgate_resolve_total`.
#[derive(Debug, Clone, Copy)]
pub enum ResolveOutcome {
    Ok,
    Invalid,
    Error,
}

impl ResolveOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ResolveOutcome::Ok => "ok",
            ResolveOutcome::Invalid => "invalid",
            ResolveOutcome::Error => "error",
        }
    }
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("tollgate_http_requests_total", "HTTP requests served."),
            &["route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "tollgate_http_request_duration_seconds",
                "Time to answer an HTTP request.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )?;
        let resolves = IntCounterVec::new(
            Opts::new("tollgate_resolve_total", "Token resolutions by the origin."),
            &["kind", "outcome"],
        )?;
        let token_lookups = prometheus::IntCounter::new(
            "tollgate_db_token_lookups_total",
            "Token lookups in Postgres.",
        )?;
        let purges = IntCounterVec::new(
            Opts::new("tollgate_purge_total", "Purge deliveries to the edge."),
            &["outcome"],
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "tollgate_db_pool_connections",
                "Postgres pool connections by state.",
            ),
            &["state"],
        )?;
        let mail_sent = IntCounterVec::new(
            Opts::new("tollgate_mail_total", "Mail handed to the transport."),
            &["outcome"],
        )?;
        registry.register(Box::new(mail_sent.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(resolves.clone()))?;
        registry.register(Box::new(token_lookups.clone()))?;
        registry.register(Box::new(purges.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            resolves,
            token_lookups,
            purges,
            pool_connections,
            mail_sent,
        })
    }

    pub fn resolve(&self, kind: &str, outcome: ResolveOutcome) {
        self.resolves
            .with_label_values(&[kind, outcome.as_str()])
            .inc();
    }

    pub fn purge(&self, ok: bool) {
        self.purges
            .with_label_values(&[if ok { "ok" } else { "error" }])
            .inc();
    }

    pub fn set_pool(&self, status: deadpool_postgres::Status) {
        let in_use = status.size.saturating_sub(status.available);
        for (state, value) in [
            ("idle", status.available),
            ("in_use", in_use),
            ("waiting", status.waiting),
            ("max", status.max_size),
        ] {
            self.pool_connections
                .with_label_values(&[state])
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
    }

    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
