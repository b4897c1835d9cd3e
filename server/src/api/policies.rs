//! `/api/v1/policies`: create, read (with an `ETag`), list with filters,
//! lifecycle actions (with `If-Match`: a stale write is 412) and renewal.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use serde::Deserialize;

use app::{
    auth::ssr::audit_context,
    encoding::etag,
    error::AppError,
    policies::{
        PolicyView,
        ssr::{self as policies, Filters, QuoteChanges},
    },
    state::AppState,
    tenancy::Owned,
};
use shared::{
    auth::Permission,
    pagination::{Page, PageRequest},
    policy::NewPolicyInput,
};

use super::{ApiError, Caller, if_match, json_body};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/policies", post(create).get(list))
        .route("/api/v1/policies/{id}", get(show).patch(update))
        .route("/api/v1/policies/{id}/actions", post(act))
        .route("/api/v1/policies/{id}/renewal", post(renew))
}

fn with_etag(status: StatusCode, policy: PolicyView) -> impl IntoResponse {
    let location = format!("/api/v1/policies/{}", policy.id);
    (
        status,
        [
            (header::ETAG, etag(policy.version)),
            (header::LOCATION, location),
        ],
        Json(policy),
    )
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    let input: NewPolicyInput = json_body(&body)?;
    let policy = policies::create(
        &state.db,
        &audit_context(Some(&caller.principal), &caller.meta),
        caller.scope(),
        &input,
    )
    .await?;
    Ok(with_etag(StatusCode::CREATED, policy))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::PoliciesRead).await?;
    caller.guard(&state, Owned::Policy, &id).await?;
    let policy = policies::find(&state.db, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("The policy".into()))?;
    Ok(with_etag(StatusCode::OK, policy))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    line: Option<String>,
    status: Option<String>,
    expiring_within_days: Option<String>,
    customer_id: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<PolicyView>>, ApiError> {
    caller.require(&state, Permission::PoliciesRead).await?;
    let page = PageRequest::parse(query.page.as_deref(), query.per_page.as_deref())
        .map_err(AppError::from)?;
    let filters = Filters {
        line: query.line,
        status: query.status,
        expiring_within_days: query.expiring_within_days,
        customer_id: query.customer_id,
    };
    Ok(Json(
        policies::list(&state.db, caller.scope(), &filters, page).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionRequest {
    action: String,
    /// The action's name again, for `cancel`, `lapse` and `expire`: partners'
    /// clients included, since a replayed or mistaken call is as final.
    confirm: Option<String>,
}

async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    caller.guard(&state, Owned::Policy, &id).await?;
    let request: ActionRequest = json_body(&body)?;
    let expected = if_match(&headers, "policy")?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let policy = policies::apply_action(
        &state.db,
        &context,
        &id,
        &request.action,
        request.confirm.as_deref(),
        expected,
    )
    .await?;
    Ok(with_etag(StatusCode::OK, policy))
}

/// `PATCH /api/v1/policies/{id}`: a quote's terms (fields left out keep
/// theirs), with `If-Match`.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    caller.guard(&state, Owned::Policy, &id).await?;
    let changes: QuoteChanges = json_body(&body)?;
    let expected = if_match(&headers, "policy")?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let policy = policies::update_quote(&state.db, &context, &id, &changes, expected).await?;
    Ok(with_etag(StatusCode::OK, policy))
}

async fn renew(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    caller.guard(&state, Owned::Policy, &id).await?;
    let renewal = policies::renew(
        &state.db,
        &audit_context(Some(&caller.principal), &caller.meta),
        &id,
    )
    .await?;
    Ok(with_etag(StatusCode::CREATED, renewal))
}
