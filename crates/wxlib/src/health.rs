//! What a load balancer and a scraper ask the server: `/metrics` (Prometheus), either on the main
//! listener behind `Authorization: Bearer <server.metrics_token>` or on a separate
//! `server.metrics_listen` address without one. Composition: `startup` mounts these routes.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use sha2::{Digest, Sha256};

use crate::telemetry;

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
