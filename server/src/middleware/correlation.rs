//! Correlation ids and the per-request log line.
//!
//! Every log line written while a request is handled carries its
//! `correlation_id` (the span's field); the closing line records method,
//! route template (never the raw path or query, which may hold ids or PII),
//! status, caller (user or API client id, never a name or token) and
//! latency. Headers are never logged, so cookies, `Authorization`
//! and tokens cannot leak into logs from here.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use tracing::Instrument as _;

use app::request::{CallerSlot, CorrelationId};

pub const HEADER: &str = "x-correlation-id";
const ALTERNATE_HEADER: &str = "x-request-id";

pub async fn correlate_and_log(mut request: Request, next: Next) -> Response {
    let id = [HEADER, ALTERNATE_HEADER]
        .iter()
        .filter_map(|name| request.headers().get(*name)?.to_str().ok())
        .find_map(CorrelationId::parse)
        .unwrap_or_else(CorrelationId::mint);
    request.extensions_mut().insert(id.clone());
    let caller = CallerSlot::default();
    request.extensions_mut().insert(caller.clone());

    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| route_family(request.uri().path()).to_owned());
    let span = tracing::info_span!("request", correlation_id = %id.as_str());
    let started = Instant::now();
    let metrics = app::metrics::global();
    let in_flight = metrics.request_started();

    let mut response = next.run(request).instrument(span.clone()).await;
    drop(in_flight);
    metrics.request_finished(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );

    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = %route,
            status,
            caller = caller.0.get().map_or("-", String::as_str),
            latency_ms = (latency_ms * 100.0).round() / 100.0,
            "request"
        );
    });
    // A handler may adopt the id a caller sent in its body (the legacy
    // `metadata.correlation_id`); the response then answers with that one.
    let id = response
        .extensions()
        .get::<CorrelationId>()
        .cloned()
        .unwrap_or(id);
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// For requests no route matched (static files, 404s): a coarse label, so
/// arbitrary paths cannot flood the logs with new values.
fn route_family(path: &str) -> &'static str {
    if path.starts_with("/pkg/") {
        "/pkg/{file}"
    } else if path.starts_with("/api/") {
        "/api/{unmatched}"
    } else {
        "{fallback}"
    }
}
