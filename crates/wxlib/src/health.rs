//! What a load balancer and a scraper ask the server. `/healthz`: the process is alive (no store
//! access). `/readyz`: whether this node should get traffic — 200 `ready` or `degraded`, 503
//! `not_ready` — from four checks (see [`Readiness`]). `/metrics` (Prometheus), either on the
//! main listener behind `Authorization: Bearer <server.metrics_token>` or on a separate
//! `server.metrics_listen` address without one. Composition: `startup` mounts these routes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::circulation::Ils;
use crate::db::Db;
use crate::recent::Recent;
use crate::telemetry;

/// A write to the store that has not finished in this long counts as failed.
const STORE_BUDGET: Duration = Duration::from_secs(2);
/// How long the library system's probe may take.
const ILS_BUDGET: Duration = Duration::from_secs(3);
/// How long the search index may stay behind a catalog change before the node is not ready (the
/// index follows every 3 s; a big import is applied in chunks within seconds).
pub const INDEX_LAG_ALLOWED: Duration = Duration::from_secs(60);

/// `/healthz` and `/readyz`.
pub fn probe_routes(readiness: Readiness) -> axum::Router {
    axum::Router::new().route("/healthz", get(|| async { "ok" })).route(
        "/readyz",
        get(move || {
            let readiness = readiness.clone();
            async move {
                let report = readiness.report().await;
                let status = if report.ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
                (status, [(header::CACHE_CONTROL, "no-store")], Json(report.json()))
            }
        }),
    )
}

/// `/readyz`'s checks, each answered `ok` or with a precise reason (never a secret):
///
/// - `store`: a one-row write (the `health.heartbeat` app setting) commits within 2 s — a full
///   disk, a locked or read-only database, a PostgreSQL that is gone make every callback fail,
///   so this node is `not_ready` (503);
/// - `migrations`: the store's newest migration is the one this binary knows (`not_ready`
///   otherwise: a store a newer wxlib migrated, or one not migrated);
/// - `search_index`: this node's index has applied the catalog's changes, or has been behind for
///   less than [`INDEX_LAG_ALLOWED`] (`not_ready` past it);
/// - `library_system`: the library system answers (SIP2's SC Status, unless its circuit breaker
///   is open); when it does not the node is `degraded` but still 200, since the account keeps
///   serving the catalog, news and activities, and tells readers that loans are unavailable.
///
/// One report is computed at a time and reused for a second, so probes from several load
/// balancers cost one write a second.
#[derive(Clone)]
pub struct Readiness {
    pub db: Db,
    pub ils: Ils,
    /// This node's index position file (`catalog::sync`).
    pub seq_file: PathBuf,
    lag: Arc<Mutex<LagWatch>>,
    last: Recent<Report>,
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

/// What `/readyz` found.
#[derive(Debug, Clone)]
pub struct Report {
    /// (check, `Ok` or the reason it failed, whether a failure only degrades).
    pub checks: Vec<(&'static str, Result<(), String>, bool)>,
}

impl Report {
    /// No check that takes the node out failed.
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|(_, r, degrades)| r.is_ok() || *degrades)
    }

    pub fn status(&self) -> &'static str {
        match (self.ready(), self.checks.iter().all(|(_, r, _)| r.is_ok())) {
            (false, _) => "not_ready",
            (true, false) => "degraded",
            (true, true) => "ready",
        }
    }

    pub fn json(&self) -> Value {
        let checks: Map<String, Value> = self
            .checks
            .iter()
            .map(|(name, r, degrades)| {
                let v = match r {
                    Ok(()) => "ok".to_owned(),
                    Err(why) if *degrades => format!("degraded: {why}"),
                    Err(why) => why.clone(),
                };
                ((*name).to_owned(), Value::String(v))
            })
            .collect();
        json!({"status": self.status(), "checks": checks})
    }
}

impl Readiness {
    pub fn new(db: Db, ils: Ils, seq_file: PathBuf) -> Self {
        Self { db, ils, seq_file, lag: Arc::default(), last: Recent::default(), one_at_a_time: Arc::default() }
    }

    /// The checks now (or a second ago).
    pub async fn report(&self) -> Arc<Report> {
        let _one = self.one_at_a_time.lock().await;
        let Ok(report) = self.last.get_or_load(|| async { Ok::<_, std::convert::Infallible>(self.check().await) }).await;
        report
    }

    async fn check(&self) -> Report {
        let (store, migrations, index, ils) = tokio::join!(self.store(), self.migrations(), self.index(), self.library_system());
        Report {
            checks: vec![
                ("store", store, false),
                ("migrations", migrations, false),
                ("search_index", index, false),
                ("library_system", ils, true),
            ],
        }
    }

    async fn store(&self) -> Result<(), String> {
        let now = crate::db::unix_now().to_string();
        let write = self.db.put_setting("health.heartbeat", &now);
        match tokio::time::timeout(STORE_BUDGET, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("not writable: {e}")),
            Err(_) => Err(format!("not writable: a one-row write did not finish within {} s", STORE_BUDGET.as_secs())),
        }
    }

    async fn migrations(&self) -> Result<(), String> {
        let known = crate::db::schema_version();
        match tokio::time::timeout(STORE_BUDGET, self.db.applied_schema_version()).await {
            Ok(Ok(v)) if v == known => Ok(()),
            Ok(Ok(v)) if v > known => Err(format!("the store is at schema {v}, newer than this binary's {known}: upgrade this node")),
            Ok(Ok(v)) => Err(format!("the store is at schema {v}, this binary needs {known}: restart to migrate")),
            Ok(Err(e)) => Err(format!("cannot read the schema version: {e}")),
            Err(_) => Err(format!("cannot read the schema version within {} s", STORE_BUDGET.as_secs())),
        }
    }

    async fn index(&self) -> Result<(), String> {
        let head = match tokio::time::timeout(STORE_BUDGET, self.db.catalog_head()).await {
            Ok(Ok(head)) => head,
            Ok(Err(e)) => return Err(format!("cannot read the catalog's position: {e}")),
            Err(_) => return Err(format!("cannot read the catalog's position within {} s", STORE_BUDGET.as_secs())),
        };
        let applied = crate::catalog::sync::applied_seq(&self.seq_file);
        let behind_for = self.lag.lock().unwrap_or_else(|p| p.into_inner()).observe(applied, head, Instant::now());
        match behind_for {
            Some(d) if d > INDEX_LAG_ALLOWED => Err(format!(
                "behind: applied catalog change {applied} of {head}, for {} s (allowed {} s)",
                d.as_secs(),
                INDEX_LAG_ALLOWED.as_secs()
            )),
            _ => Ok(()),
        }
    }

    async fn library_system(&self) -> Result<(), String> {
        let name = self.ils.name();
        match tokio::time::timeout(ILS_BUDGET, self.ils.probe()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{name}: {e}")),
            Err(_) => Err(format!("{name}: no answer within {} s", ILS_BUDGET.as_secs())),
        }
    }
}

/// How long the index has been behind: since when it was first seen behind a catalog position it
/// has not reached yet. Reaching that position starts the clock again at the newer one, so a
/// steady stream of changes the index keeps up with is never "behind for long".
#[derive(Debug, Default)]
struct LagWatch {
    /// The catalog position the index was behind, and since when.
    behind: Option<(i64, Instant)>,
}

impl LagWatch {
    fn observe(&mut self, applied: i64, head: i64, now: Instant) -> Option<Duration> {
        if applied >= head {
            self.behind = None;
            return None;
        }
        match self.behind {
            Some((target, _)) if applied >= target => self.behind = Some((head, now)),
            None => self.behind = Some((head, now)),
            Some(_) => {}
        }
        self.behind.map(|(_, since)| now.saturating_duration_since(since))
    }
}

/// `/metrics` for the main listener: only with the configured bearer token (401 without it or
/// with another); no route at all (404) when no token is configured.
pub fn metrics_on_main_listener(token: &str) -> axum::Router {
    if token.is_empty() {
        return axum::Router::new();
    }
    let expected = Sha256::digest(token.as_bytes());
    let metrics = telemetry::metrics_handle();
    axum::Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let answer = if bearer_matches(&headers, &expected) {
                metrics.render().into_response()
            } else {
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "a metrics token is required\n").into_response()
            };
            std::future::ready(answer)
        }),
    )
}

/// `/metrics` for the separate `server.metrics_listen` address (a private one): no token.
pub fn metrics_listener_routes() -> axum::Router {
    let metrics: PrometheusHandle = telemetry::metrics_handle();
    axum::Router::new().route("/metrics", get(move || std::future::ready(metrics.render())))
}

/// Whether the request's `Authorization: Bearer …` is the token whose SHA-256 is `expected`.
/// Digests of equal length are compared in constant time, so neither the token's length nor
/// how much of it a guess got right shows in the answer's timing.
fn bearer_matches(headers: &HeaderMap, expected: &[u8]) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(given) = given.strip_prefix("Bearer ").or_else(|| given.strip_prefix("bearer ")) else {
        return false;
    };
    let given = Sha256::digest(given.trim().as_bytes());
    given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0 && given.len() == expected.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_behind_only_while_it_has_not_reached_what_it_first_lagged() {
        let t0 = Instant::now();
        let mut w = LagWatch::default();
        assert_eq!(w.observe(10, 10, t0), None, "caught up");
        assert_eq!(w.observe(10, 20, t0), Some(Duration::ZERO));
        assert_eq!(w.observe(15, 30, t0 + Duration::from_secs(50)), Some(Duration::from_secs(50)), "20 not reached yet");
        assert_eq!(w.observe(20, 40, t0 + Duration::from_secs(70)), Some(Duration::ZERO), "20 reached: the clock starts at 40");
        assert_eq!(w.observe(39, 40, t0 + Duration::from_secs(200)), Some(Duration::from_secs(130)), "stuck short of 40");
        assert_eq!(w.observe(40, 40, t0 + Duration::from_secs(201)), None);
    }

    #[test]
    fn a_failing_library_system_degrades_and_a_failing_store_takes_the_node_out() {
        let r = Report { checks: vec![("store", Ok(()), false), ("library_system", Err("sip2: refused".into()), true)] };
        assert!(r.ready());
        assert_eq!(r.json(), json!({"status": "degraded", "checks": {"store": "ok", "library_system": "degraded: sip2: refused"}}));
        let r = Report { checks: vec![("store", Err("not writable: disk full".into()), false), ("library_system", Ok(()), true)] };
        assert!(!r.ready());
        assert_eq!(r.status(), "not_ready");
    }
}
