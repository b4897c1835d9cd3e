//! `/health/live`, `/health/ready` and `/health`.
//!
//! * live: the process answers (never touches the database, so a database
//!   outage does not get healthy replicas killed);
//! * ready: this replica should get traffic: the database answers and the
//!   process is not draining; 503 otherwise, and 200 again on its own once
//!   the database is back (the pool reconnects);
//! * `/health`: the JSON detail (database latency, schema version, version,
//!   uptime), 200 when ready and 503 otherwise.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};

use app::{health::ssr as health, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/health", get(detail))
}

async fn live() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if health::is_ready(&state).await {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable" })),
        )
    }
}

async fn detail(State(state): State<AppState>) -> impl IntoResponse {
    let report = health::report(&state).await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}
