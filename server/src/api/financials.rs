//! `/api/v1/claims/{id}/financials`, `/reserves`, `/payments`,
//! `/recoveries` and `/parties`: a claim's ledger and the people on it.
//! Changes take `If-Match` (the claim's `ETag`) and answer 201 with the new
//! line (or party), the figures after it and the claim's new `ETag`.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;

use app::{
    audit::ssr::AuditContext,
    auth::ssr::audit_context,
    claims::{
        financials::{Recorded, ssr as financials},
        parties::ssr as parties,
        ssr as claims,
    },
    encoding::etag,
    error::AppError,
    state::AppState,
    tenancy::Owned,
};
use shared::{
    auth::Permission,
    ledger::{AmountInput, PaymentInput, RecoveryInput, ReserveInput},
    money::MoneyInput,
    party::PartyInput,
};

use super::{ApiError, Caller, if_match, json_body};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/claims/{id}/financials", get(show))
        .route(
            "/api/v1/claims/{id}/reserves",
            axum::routing::post(set_reserve),
        )
        .route(
            "/api/v1/claims/{id}/payments",
            axum::routing::post(record_payment),
        )
        .route(
            "/api/v1/claims/{id}/recoveries",
            axum::routing::post(record_recovery),
        )
        .route(
            "/api/v1/claims/{id}/parties",
            get(list_parties).post(add_party),
        )
        .route("/api/v1/approvals", get(list_approvals))
        .route(
            "/api/v1/approvals/{id}/approve",
            axum::routing::post(approve),
        )
        .route("/api/v1/approvals/{id}/reject", axum::routing::post(reject))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let view = financials::financials_of(&state.db, &id).await?;
    with_etag(&state, &id, StatusCode::OK, json!(view)).await
}

/// `body` with the claim's current `ETag`.
async fn with_etag(
    state: &AppState,
    id: &str,
    status: StatusCode,
    body: serde_json::Value,
) -> Result<Response, ApiError> {
    let claim = claims::find(&state.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("The claim".into()))?;
    Ok((status, [(header::ETAG, etag(claim.version))], Json(body)).into_response())
}

/// 201 with the line and the figures after it, or 202 with the request
/// when the change waits for approval.
async fn created_line(
    state: &AppState,
    id: &str,
    recorded: Recorded,
) -> Result<Response, ApiError> {
    let figures = financials::financials_of(&state.db, id).await?;
    let (status, body) = match recorded {
        Recorded::Line(line) => (
            StatusCode::CREATED,
            json!({ "line": line, "financials": figures }),
        ),
        Recorded::Pending(request) => (
            StatusCode::ACCEPTED,
            json!({ "approval": request, "financials": figures }),
        ),
    };
    with_etag(state, id, status, body).await
}

/// What every change checks first, in this order: the permission, that
/// the caller may see the claim, then the body and `If-Match`.
async fn change<B: DeserializeOwned>(
    state: &AppState,
    caller: &Caller,
    permission: Permission,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(B, Option<i64>, AuditContext), ApiError> {
    caller.require(state, permission).await?;
    caller.guard(state, Owned::Claim, id).await?;
    let body = json_body(body)?;
    let expected = if_match(headers, "claim")?;
    Ok((
        body,
        expected,
        audit_context(Some(&caller.principal), &caller.meta),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReserveBody {
    cost_type: String,
    category: String,
    /// The bucket's new outstanding reserve, in minor units.
    amount: MoneyInput,
    reason: String,
}

async fn set_reserve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (body, expected, context): (ReserveBody, _, _) = change(
        &state,
        &caller,
        Permission::ClaimsDecide,
        &id,
        &headers,
        &body,
    )
    .await?;
    let input = ReserveInput {
        cost_type: body.cost_type,
        category: body.category,
        amount: AmountInput::Minor(body.amount),
        reason: body.reason,
    };
    let line = financials::set_reserve(
        &state.db,
        &context,
        &caller.principal,
        &id,
        &input,
        expected,
    )
    .await?;
    created_line(&state, &id, line).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PaymentBody {
    cost_type: String,
    category: String,
    payee_id: String,
    method: String,
    payment_type: String,
    amount: MoneyInput,
    reference: Option<String>,
}

async fn record_payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (body, expected, context): (PaymentBody, _, _) = change(
        &state,
        &caller,
        Permission::ClaimsDecide,
        &id,
        &headers,
        &body,
    )
    .await?;
    let input = PaymentInput {
        cost_type: body.cost_type,
        category: body.category,
        payee_id: body.payee_id,
        method: body.method,
        payment_type: body.payment_type,
        amount: AmountInput::Minor(body.amount),
        reference: body.reference,
    };
    let line = financials::record_payment(
        &state.db,
        &context,
        &caller.principal,
        &id,
        &input,
        expected,
    )
    .await?;
    created_line(&state, &id, line).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RecoveryBody {
    cost_type: String,
    category: String,
    recovery_type: String,
    amount: MoneyInput,
    reference: Option<String>,
}

async fn record_recovery(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (body, expected, context): (RecoveryBody, _, _) = change(
        &state,
        &caller,
        Permission::ClaimsDecide,
        &id,
        &headers,
        &body,
    )
    .await?;
    let input = RecoveryInput {
        cost_type: body.cost_type,
        category: body.category,
        recovery_type: body.recovery_type,
        amount: AmountInput::Minor(body.amount),
        reference: body.reference,
    };
    let line = financials::record_recovery(
        &state.db,
        &context,
        &caller.principal,
        &id,
        &input,
        expected,
    )
    .await?;
    created_line(&state, &id, Recorded::Line(line)).await
}

async fn list_parties(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let parties = parties::parties_of(&state.db, &state.vault, &id).await?;
    with_etag(&state, &id, StatusCode::OK, json!({ "items": parties })).await
}

async fn add_party(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (input, expected, context): (PartyInput, _, _) = change(
        &state,
        &caller,
        Permission::ClaimsWrite,
        &id,
        &headers,
        &body,
    )
    .await?;
    let party =
        parties::add_party(&state.db, &state.vault, &context, &id, &input, expected).await?;
    with_etag(&state, &id, StatusCode::CREATED, json!(party)).await
}

async fn list_approvals(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsDecide).await?;
    let items = financials::pending_requests(&state.db).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsDecide).await?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let line = financials::approve(&state.db, &context, &caller.principal, &id).await?;
    Ok((StatusCode::CREATED, Json(json!({ "line": line }))).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RejectBody {
    reason: String,
}

async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsDecide).await?;
    let body: RejectBody = json_body(&body)?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let request =
        financials::reject(&state.db, &context, &caller.principal, &id, &body.reason).await?;
    Ok(Json(json!(request)).into_response())
}
