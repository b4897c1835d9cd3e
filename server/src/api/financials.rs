//! `/api/v1/claims/{id}/financials`, `/reserves`, `/payments`,
//! `/recoveries` and `/parties`: a claim's ledger and the people on it.
//! Changes take `If-Match` (the claim's `ETag`) and answer 201 with the new
//! line (or party), the figures after it and the claim's new `ETag`.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::json;

use app::{
    audit::ssr::AuditContext,
    auth::ssr::audit_context,
    claims::{
        financials::{
            Recorded,
            ssr::{self as financials, LedgerChange},
        },
        parties::{PartyView, ssr as parties},
        ssr as claims,
    },
    encoding::etag,
    error::AppError,
    idempotency::{self, Key},
    state::AppState,
    tenancy::Owned,
};
use shared::{
    auth::Permission,
    ledger::{AmountInput, PaymentInput, RecoveryInput, ReserveInput},
    money::MoneyInput,
    party::PartyInput,
};

use super::{ApiError, Caller, idempotency_key, json_body};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/claims/{id}/financials", get(show))
        .route(
            "/api/v1/claims/{id}/reserves",
            axum::routing::post(ledger::<ReserveBody>),
        )
        .route(
            "/api/v1/claims/{id}/payments",
            axum::routing::post(ledger::<PaymentBody>),
        )
        .route(
            "/api/v1/claims/{id}/recoveries",
            axum::routing::post(ledger::<RecoveryBody>),
        )
        .route(
            "/api/v1/claims/{id}/parties",
            get(list_parties).post(add_party),
        )
        .route(
            "/api/v1/claims/{id}/parties/{party_id}/reveal",
            axum::routing::post(reveal_party),
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

/// A change as the handlers receive it, checked in this order: the
/// permission, that the caller may see the claim, then the body, `If-Match`
/// and `Idempotency-Key`.
struct Change<B> {
    body: B,
    expected: Option<i64>,
    context: AuditContext,
    key: Option<Key>,
}

async fn change<B: DeserializeOwned + Serialize>(
    state: &AppState,
    caller: &Caller,
    permission: Permission,
    (id, route): (&str, &str),
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Change<B>, ApiError> {
    let change = caller
        .claim_change::<B>(state, permission, id, headers, body)
        .await?;
    let key = idempotency_key(headers)?
        .map(|key| {
            Key::new(
                &caller.principal.id,
                &key,
                &format!("{route} {id}"),
                &change.body,
            )
        })
        .transpose()?;
    Ok(Change {
        body: change.body,
        expected: change.expected,
        context: change.context,
        key,
    })
}

/// The answer stored for the change's `Idempotency-Key`, when `result`
/// failed because the same request was already answered (its `If-Match`
/// is stale or its key taken by then).
async fn replayed<T: DeserializeOwned>(
    state: &AppState,
    key: Option<&Key>,
    result: Result<T, AppError>,
) -> Result<(T, bool), ApiError> {
    let error = match result {
        Ok(value) => return Ok((value, false)),
        Err(error) => error,
    };
    let Some(key) = key else {
        return Err(error.into());
    };
    match idempotency::replay(&state.db, key).await? {
        Some(stored) => Ok((
            serde_json::from_str(&stored.body).map_err(|e| AppError::internal(&e))?,
            true,
        )),
        None => Err(error.into()),
    }
}

fn mark_replayed(mut response: Response, replayed: bool) -> Response {
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// [`created_line`] for a ledger change's result, or its stored answer.
async fn ledger_answer(
    state: &AppState,
    id: &str,
    key: Option<&Key>,
    result: Result<Recorded, AppError>,
) -> Result<Response, ApiError> {
    let (recorded, replayed) = replayed(state, key, result).await?;
    Ok(mark_replayed(
        created_line(state, id, recorded).await?,
        replayed,
    ))
}

/// A ledger write's body: which change it is, and its route's last
/// segment (part of its idempotency hash).
trait LedgerBody: DeserializeOwned + Serialize + Send + 'static {
    const ROUTE: &'static str;
    fn change(&self) -> LedgerChange;
}

/// `POST /reserves`, `/payments` and `/recoveries`: 201 with the line,
/// 202 with an approval request over the caller's authority.
async fn ledger<B: LedgerBody>(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let route = (id.as_str(), B::ROUTE);
    let change: Change<B> = change(
        &state,
        &caller,
        Permission::ClaimsDecide,
        route,
        &headers,
        &body,
    )
    .await?;
    let result = financials::record_change(
        &state.db,
        &change.context,
        &caller.principal,
        &id,
        &change.body.change(),
        change.expected,
        change.key.as_ref(),
    )
    .await;
    ledger_answer(&state, &id, change.key.as_ref(), result).await
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct ReserveBody {
    cost_type: String,
    category: String,
    /// The bucket's new outstanding reserve, in minor units.
    amount: MoneyInput,
    reason: String,
}

impl LedgerBody for ReserveBody {
    const ROUTE: &'static str = "reserves";
    fn change(&self) -> LedgerChange {
        LedgerChange::Reserve(ReserveInput {
            cost_type: self.cost_type.clone(),
            category: self.category.clone(),
            amount: AmountInput::Minor(self.amount.clone()),
            reason: self.reason.clone(),
        })
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
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

impl LedgerBody for PaymentBody {
    const ROUTE: &'static str = "payments";
    fn change(&self) -> LedgerChange {
        LedgerChange::Payment(PaymentInput {
            cost_type: self.cost_type.clone(),
            category: self.category.clone(),
            payee_id: self.payee_id.clone(),
            method: self.method.clone(),
            payment_type: self.payment_type.clone(),
            amount: AmountInput::Minor(self.amount.clone()),
            reference: self.reference.clone(),
        })
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct RecoveryBody {
    cost_type: String,
    category: String,
    recovery_type: String,
    amount: MoneyInput,
    reference: Option<String>,
}

impl LedgerBody for RecoveryBody {
    const ROUTE: &'static str = "recoveries";
    fn change(&self) -> LedgerChange {
        LedgerChange::Recovery(RecoveryInput {
            cost_type: self.cost_type.clone(),
            category: self.category.clone(),
            recovery_type: self.recovery_type.clone(),
            amount: AmountInput::Minor(self.amount.clone()),
            reference: self.reference.clone(),
        })
    }
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
    let route = (id.as_str(), "parties");
    let change: Change<PartyInput> = change(
        &state,
        &caller,
        Permission::ClaimsWrite,
        route,
        &headers,
        &body,
    )
    .await?;
    let key = change.key.as_ref();
    let result = parties::add_party(
        &state.db,
        &state.vault,
        &change.context,
        &id,
        &change.body,
        change.expected,
        key,
    )
    .await;
    let (party, replayed): (PartyView, bool) = replayed(&state, key, result).await?;
    let response = with_etag(&state, &id, StatusCode::CREATED, json!(party)).await?;
    Ok(mark_replayed(response, replayed))
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

#[derive(Debug, Default, Deserialize, Serialize)]
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RevealBody {
    field: String,
    reason: String,
}

async fn reveal_party(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, party_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::PiiReveal).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let body: RevealBody = json_body(&body)?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let value = parties::reveal_party(
        &state.db,
        &state.vault,
        &context,
        (&id, &party_id),
        &body.field,
        &body.reason,
    )
    .await?;
    Ok(Json(json!({ "field": body.field.trim(), "value": value })).into_response())
}
