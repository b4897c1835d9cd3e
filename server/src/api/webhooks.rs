//! `/api/v1/webhooks`: register and disable endpoints, read the delivery
//! log, replay a delivery. Operations permission (administrators).

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get, post},
};
use serde::Deserialize;

use app::{
    auth::ssr::audit_context,
    state::AppState,
    webhooks::{RECENT_DELIVERIES, ssr as webhooks},
};
use shared::auth::Permission;

use super::{ApiError, Caller, json_body};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route("/api/v1/webhooks/{id}", delete(disable))
        .route("/api/v1/webhook-deliveries", get(deliveries))
        .route("/api/v1/webhook-deliveries/{id}/replay", post(replay))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::OperationsManage).await?;
    Ok(Json(
        webhooks::list_endpoints(&state.db, caller.scope()).await?,
    ))
}

#[derive(Deserialize)]
struct NewEndpoint {
    url: String,
    description: String,
    /// The partner (id or slug) whose claims' events it receives.
    #[serde(default)]
    partner: Option<String>,
}

/// 201 with the endpoint and its secret (shown this once).
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::OperationsManage).await?;
    let input: NewEndpoint = json_body(&body)?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let created = webhooks::create(
        state.webhooks(),
        &context,
        &input.url,
        &input.description,
        input.partner.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::OperationsManage).await?;
    caller
        .guard(&state, app::tenancy::Owned::WebhookEndpoint, &id)
        .await?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    webhooks::disable(&state.db, &context, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct LogQuery {
    endpoint_id: Option<String>,
}

/// The latest deliveries, newest first (one endpoint's with `endpoint_id`).
async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<LogQuery>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::OperationsManage).await?;
    Ok(Json(
        webhooks::deliveries(
            &state.db,
            caller.scope(),
            query.endpoint_id.as_deref(),
            RECENT_DELIVERIES,
        )
        .await?,
    ))
}

/// Sends the delivery's event again now; 200 with the new attempt, whatever
/// the receiver answered (its outcome is in the body).
async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::OperationsManage).await?;
    caller
        .guard(&state, app::tenancy::Owned::WebhookDelivery, &id)
        .await?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    Ok(Json(
        webhooks::replay(state.webhooks(), &context, &id).await?,
    ))
}
