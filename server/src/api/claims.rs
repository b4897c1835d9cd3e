//! `/api/v1/claims`: idempotent ingestion (202 with the pipeline's
//! execution id), reads with an `ETag`, status, list with filters, workflow
//! actions and decisions (with `If-Match`), notes; `/api/v1/executions` and
//! job retry; and `POST /orchestrate`, the legacy partner payload.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;

use app::{
    auth::ssr::audit_context,
    claims::{
        ClaimFilters, ClaimSummary, redact,
        ssr::{self as claims, DecisionRequest, Ingested, Source},
    },
    encoding::etag,
    error::AppError,
    request::CorrelationId,
    state::AppState,
    tenancy::Owned,
    workflow::ssr as workflow,
};
use shared::{
    FieldError, FieldErrors,
    auth::Permission,
    claim::{ClaimLineInput, ClaimantInput, NewClaimInput},
    money::{Currency, MoneyInput},
    pagination::{Page, PageRequest},
};

use super::{ApiError, Caller, idempotency_key, json_body};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/claims", post(create).get(list))
        .route("/api/v1/claims/{id}", get(show))
        .route("/api/v1/claims/{id}/status", get(status))
        .route("/api/v1/claims/{id}/actions", post(act))
        .route("/api/v1/claims/{id}/assignment", post(reassign))
        .route("/api/v1/claims/{id}/decision", post(decide))
        .route("/api/v1/claims/{id}/notes", post(add_note))
        .route("/api/v1/claims/{id}/reveal", post(reveal))
        .route("/api/v1/executions/{id}", get(execution))
        .route("/api/v1/jobs/{id}/retry", post(retry))
        .route("/orchestrate", post(orchestrate))
}

/// 202 with the receipt, or the stored answer to an earlier identical
/// request (marked `Idempotent-Replayed: true`).
fn accepted(
    ingested: Ingested,
    shape: impl Fn(serde_json::Value) -> serde_json::Value,
) -> Response {
    let (status, body, replayed) = match ingested {
        Ingested::Created(receipt) => (
            StatusCode::ACCEPTED,
            serde_json::to_value(&receipt).unwrap_or_default(),
            false,
        ),
        Ingested::Replayed { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::ACCEPTED),
            serde_json::from_str(&body).unwrap_or_default(),
            true,
        ),
    };
    let location = body
        .get("id")
        .and_then(|id| id.as_str())
        .map(|id| format!("/api/v1/claims/{id}"));
    let mut response = (status, Json(shape(body))).into_response();
    let headers = response.headers_mut();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsIngest).await?;
    let key = idempotency_key(&headers)?;
    let input: NewClaimInput = json_body(&body)?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let ingested = claims::ingest(
        state.intake(),
        &context,
        caller.scope(),
        &input,
        Source::Api,
        key.as_deref()
            .map(|key| (caller.principal.id.as_str(), key)),
    )
    .await?;
    Ok(accepted(ingested, |body| body))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let mut claim = claims::claim_page(&state.db, &state.vault, &id).await?;
    redact::view(&state.db, caller.scope(), &mut claim).await?;
    Ok(([(header::ETAG, etag(claim.summary.version))], Json(claim)))
}

/// Where the claim is: its status and priority, and its pipeline's state.
async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let mut claim = claims::find(&state.db, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("The claim".into()))?;
    redact::summaries(&state.db, caller.scope(), std::slice::from_mut(&mut claim)).await?;
    let executions = workflow::executions_for_claim(&state.db, &id).await?;
    let latest = executions.last();
    Ok((
        [(header::ETAG, etag(claim.version))],
        Json(json!({
            "id": claim.id,
            "claim_number": claim.claim_number,
            "status": claim.status,
            "priority": claim.priority,
            "fraud_flags": claim.fraud_flags,
            "version": claim.version,
            "execution": latest.map(|e| json!({ "id": e.id, "state": e.state })),
        })),
    ))
}

/// The list's query string: the claims page's filters (one type, so the
/// page and the API filter alike), and the API's own paging.
#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(flatten)]
    filters: ClaimFilters,
    page: Option<String>,
    /// Taken here, so the filters' own `per_page` (the claims page's) stays
    /// empty.
    per_page: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<ClaimSummary>>, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    let page = PageRequest::parse(query.page.as_deref(), query.per_page.as_deref())
        .map_err(AppError::from)?;
    let filters = query.filters;
    if filters.after.is_some() && page.page() > 1 {
        return Err(FieldErrors::from(FieldError::new(
            "page",
            "cannot be combined with after (the cursor says where the page starts)",
        ))
        .into());
    }
    let me = Some(caller.principal.id.as_str());
    Ok(Json(
        claims::list(&state.db, &state.vault, caller.scope(), &filters, me, page).await?,
    ))
}

/// The claim after a change, with its new `ETag`.
async fn changed(state: &AppState, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let mut claim = claims::claim_page(&state.db, &state.vault, id).await?;
    redact::view(&state.db, caller.scope(), &mut claim).await?;
    Ok(([(header::ETAG, etag(claim.summary.version))], Json(claim)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionRequest {
    action: String,
    reason: Option<String>,
}

async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change = caller
        .claim_change::<ActionRequest>(&state, Permission::ClaimsWrite, &id, &headers, &body)
        .await?;
    claims::apply_action(
        &state.db,
        &change.context,
        &caller.principal,
        &id,
        &change.body.action,
        change.body.reason.as_deref(),
        change.expected,
    )
    .await?;
    changed(&state, &caller, &id).await
}

/// Gives the claim to another user who works claims, with a reason
/// (`claim.reassigned`); `If-Match` as on every claim change.
async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change = caller
        .claim_change::<shared::assignment::ReassignmentInput>(
            &state,
            Permission::ClaimsDecide,
            &id,
            &headers,
            &body,
        )
        .await?;
    claims::reassign(
        &state.db,
        &change.context,
        &caller.principal,
        &id,
        &change.body,
        change.expected,
    )
    .await?;
    changed(&state, &caller, &id).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DecisionBody {
    kind: String,
    amount: Option<MoneyInput>,
    reason: Option<String>,
    priority: Option<String>,
    flag: Option<String>,
    /// `deny` when `kind` is `deny`: the denial is final for the claimant.
    confirm: Option<String>,
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change = caller
        .claim_change::<DecisionBody>(&state, Permission::ClaimsDecide, &id, &headers, &body)
        .await?;
    let (body, expected, context) = (change.body, change.expected, change.context);
    let request = DecisionRequest {
        kind: body.kind,
        amount_major: None,
        amount_minor: body.amount.map(|m| m.amount),
        reason: body.reason,
        priority: body.priority,
        flag: body.flag,
        confirm: body.confirm,
    };
    claims::decide(
        &state.db,
        &context,
        &caller.principal,
        &id,
        &request,
        expected,
    )
    .await?;
    changed(&state, &caller, &id).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoteBody {
    body: String,
}

async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsWrite).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let note: NoteBody = json_body(&body)?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    claims::add_note(&state.db, &context, &caller.principal, &id, &note.body).await?;
    let mut response = changed(&state, &caller, &id).await?;
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RevealBody {
    field: String,
    reason: String,
}

/// One claimant field in clear, for a reason (audited).
async fn reveal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&state, Permission::PiiReveal).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let request: RevealBody = json_body(&body)?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let value = claims::reveal_claimant(
        &state.db,
        &state.vault,
        &context,
        &id,
        &request.field,
        &request.reason,
    )
    .await?;
    Ok(Json(
        json!({ "field": request.field.trim(), "value": value }),
    ))
}

async fn execution(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    caller.guard(&state, Owned::Execution, &id).await?;
    let execution = workflow::find_execution(&state.db, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("The execution".into()))?;
    Ok(Json(execution))
}

async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&state, Permission::OperationsManage).await?;
    caller.guard(&state, Owned::Job, &id).await?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    workflow::retry(&state.db, &state.jobs, &context, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The legacy orchestration payload. Unknown fields are ignored, as the
/// partner systems that send it add their own.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LegacyClaim {
    metadata: LegacyMetadata,
    claim_details: LegacyDetails,
    claimant: Option<LegacyClaimant>,
    estimated_loss: LegacyLoss,
    attachments: Vec<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LegacyMetadata {
    correlation_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LegacyDetails {
    policy_number: String,
    incident_date: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LegacyClaimant {
    name: String,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LegacyLoss {
    /// Major units (`1250.5`), as the legacy system sends them.
    amount: Option<serde_json::Number>,
    currency: Option<String>,
}

impl LegacyClaim {
    /// The v1 input: one `LOSS` line for the estimated amount; the incident
    /// date defaults to today and the description to a note saying where
    /// the claim came from.
    fn into_input(self, today: shared::dates::Date) -> Result<NewClaimInput, FieldErrors> {
        let currency_code = self.estimated_loss.currency.unwrap_or_else(|| "USD".into());
        let currency = Currency::parse("estimated_loss.currency", &currency_code)?;
        let amount = self
            .estimated_loss
            .amount
            .map(|n| n.to_string())
            .ok_or_else(|| FieldError::new("estimated_loss.amount", "is required"))?;
        let minor =
            shared::money::Money::parse_major("estimated_loss.amount", &amount, currency, false)?;
        let attachments = self.attachments.len();
        let mut description = self
            .claim_details
            .description
            .unwrap_or_else(|| "Submitted through the legacy orchestration interface.".into());
        if attachments > 0 {
            description.push_str(&format!(
                " ({attachments} attachment(s) listed by the sender.)"
            ));
        }
        Ok(NewClaimInput {
            policy_number: self.claim_details.policy_number,
            incident_date: self
                .claim_details
                .incident_date
                .unwrap_or_else(|| today.to_string()),
            description,
            claimant: self.claimant.map(|c| ClaimantInput {
                name: c.name,
                email: c.email,
                phone: c.phone,
            }),
            lines: vec![ClaimLineInput {
                code: "LOSS".into(),
                description: Some("Estimated loss".into()),
                amount: MoneyInput {
                    amount: minor.amount,
                    currency: currency.as_str().to_owned(),
                },
            }],
        })
    }
}

/// `POST /orchestrate`: the legacy payload, answered with
/// `{ execution_id, status }` (plus the claim's id and number). The sender's
/// `metadata.correlation_id` becomes this request's correlation id and,
/// without an `Idempotency-Key`, its idempotency key: a resend of the same
/// claim never files it twice.
async fn orchestrate(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsIngest).await?;
    let legacy: LegacyClaim = json_body(&body)?;
    let correlation_id = legacy
        .metadata
        .correlation_id
        .clone()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty());
    if let Some(id) = &correlation_id
        && CorrelationId::parse(id).is_none()
    {
        return Err(FieldErrors::from(FieldError::new(
            "metadata.correlation_id",
            format!(
                "must be 1 to {} letters, digits, '-', '_', '.' or ':'",
                CorrelationId::MAX_LEN
            ),
        ))
        .into());
    }
    let key = idempotency_key(&headers)?
        .or_else(|| correlation_id.as_ref().map(|id| format!("legacy:{id}")));
    let input = legacy.into_input(app::clock::today())?;
    let mut context = audit_context(Some(&caller.principal), &caller.meta);
    if let Some(id) = &correlation_id {
        tracing::info!(correlation_id = %id, "legacy orchestration request");
        context.correlation_id = Some(id.clone());
    }
    let ingested = claims::ingest(
        state.intake(),
        &context,
        caller.scope(),
        &input,
        Source::Legacy,
        key.as_deref()
            .map(|key| (caller.principal.id.as_str(), key)),
    )
    .await?;
    let mut response = accepted(ingested, |receipt| {
        json!({
            "execution_id": receipt.get("execution_id"),
            "status": "accepted",
            "claim_id": receipt.get("id"),
            "claim_number": receipt.get("claim_number"),
        })
    });
    if let Some(id) = correlation_id.as_deref().and_then(CorrelationId::parse) {
        response.extensions_mut().insert(id);
    }
    Ok(response)
}
