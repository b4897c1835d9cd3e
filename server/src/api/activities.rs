//! `/api/v1/claims/{id}/activities`: the claim's diary of work, and
//! `/api/v1/me/activities`, the caller's open ones ("My work").

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

use app::{
    auth::ssr::audit_context, claims::activities::ssr as activities, state::AppState,
    tenancy::Owned,
};
use shared::{activity::ActivityInput, auth::Permission};

use super::{ApiError, Caller};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/claims/{id}/activities", get(list).post(add))
        .route(
            "/api/v1/claims/{id}/activities/{activity_id}/complete",
            post(complete),
        )
        .route("/api/v1/me/activities", get(mine))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let items = activities::of_claim(&state.db, &id).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change = caller
        .claim_change::<ActivityInput>(&state, Permission::ClaimsWrite, &id, &headers, &body)
        .await?;
    let activity = activities::add(
        &state.db,
        &change.context,
        &caller.principal,
        &id,
        &change.body,
        change.expected,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!(activity))).into_response())
}

async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, activity_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsWrite).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let activity =
        activities::complete(&state.db, &context, &caller.principal, (&id, &activity_id)).await?;
    Ok(Json(json!(activity)).into_response())
}

async fn mine(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsWrite).await?;
    let items = activities::my_work(&state.db, &caller.principal.id).await?;
    Ok(Json(json!({ "items": items })).into_response())
}
