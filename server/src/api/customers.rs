//! `/api/v1/customers`: create, read, search (exact match through the blind
//! indexes), reveal one field, erase. Personal data is masked in every
//! response except a reveal, which needs its own permission and a reason.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;

use app::{
    auth::ssr::audit_context,
    customers::ssr::{self as customers, Search},
    encoding::etag,
    error::AppError,
    state::AppState,
    tenancy::Owned,
};
use shared::{
    auth::Permission,
    customer::{CustomerView, NewCustomerInput},
    pagination::{Page, PageRequest},
};

use super::{ApiError, Caller, if_match, json_body};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/customers", post(create).get(list))
        .route("/api/v1/customers/{id}", get(show).patch(update))
        .route("/api/v1/customers/{id}/reveal", post(reveal))
        .route("/api/v1/customers/{id}/erasure", post(erase))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::CustomersWrite).await?;
    let input: NewCustomerInput = json_body(&body)?;
    let customer = customers::create(
        &state.db,
        &state.vault,
        &audit_context(Some(&caller.principal), &caller.meta),
        caller.scope(),
        &input,
    )
    .await?;
    let location = format!("/api/v1/customers/{}", customer.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(customer),
    ))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::CustomersRead).await?;
    caller.guard(&state, Owned::Customer, &id).await?;
    let customer = customers::find(&state.db, &state.vault, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("The customer".into()))?;
    Ok(([(header::ETAG, etag(customer.version))], Json(customer)))
}

/// `PATCH /api/v1/customers/{id}`: the fields given replace the stored
/// ones (absent or blank fields keep theirs); `If-Match` makes a stale
/// write a 412.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::CustomersWrite).await?;
    caller.guard(&state, Owned::Customer, &id).await?;
    let changes: NewCustomerInput = json_body(&body)?;
    let expected = if_match(&headers, "customer")?;
    let customer = customers::update(
        &state.db,
        &state.vault,
        &audit_context(Some(&caller.principal), &caller.meta),
        &id,
        &changes,
        expected,
    )
    .await?;
    Ok(([(header::ETAG, etag(customer.version))], Json(customer)))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    email: Option<String>,
    last_name: Option<String>,
    national_id: Option<String>,
    customer_number: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<CustomerView>>, ApiError> {
    caller.require(&state, Permission::CustomersRead).await?;
    let page = PageRequest::parse(query.page.as_deref(), query.per_page.as_deref())
        .map_err(AppError::from)?;
    let search = Search {
        email: query.email,
        last_name: query.last_name,
        national_id: query.national_id,
        customer_number: query.customer_number,
    };
    Ok(Json(
        customers::list(&state.db, &state.vault, caller.scope(), &search, page).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RevealRequest {
    field: String,
    reason: String,
}

async fn reveal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&state, Permission::PiiReveal).await?;
    caller.guard(&state, Owned::Customer, &id).await?;
    let request: RevealRequest = json_body(&body)?;
    let value = customers::reveal(
        &state.db,
        &state.vault,
        &audit_context(Some(&caller.principal), &caller.meta),
        &id,
        &request.field,
        &request.reason,
    )
    .await?;
    Ok(Json(json!({ "field": request.field, "value": value })))
}

/// The body of `POST /api/v1/customers/{id}/erasure`: `{ "confirm": "erase" }`.
/// Without it the erasure is refused (422 naming `confirm`): it is final.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErasureRequest {
    confirm: Option<String>,
}

async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    caller.require(&state, Permission::PiiErase).await?;
    caller.guard(&state, Owned::Customer, &id).await?;
    // An empty body is a request without the confirmation, not bad JSON.
    let request: ErasureRequest = if body.is_empty() {
        ErasureRequest::default()
    } else {
        json_body(&body)?
    };
    customers::erase(
        &state.db,
        &state.vault,
        &audit_context(Some(&caller.principal), &caller.meta),
        &id,
        request.confirm.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
