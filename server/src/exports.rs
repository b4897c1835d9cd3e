//! CSV exports of the current list filters, for staff in the browser
//! (session authentication, the same permission as the list).
//!
//! Cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
//! tab, carriage return) are prefixed with `'` (OWASP CSV injection), and
//! personal data stays masked exactly as on screen.

use axum::{
    Extension, Router,
    extract::{Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use app::{
    auth::ssr::Principal,
    claims::{ClaimFilters, ssr as claims},
    customers::ssr::{self as customers, Search},
    error::AppError,
    policies::ssr::{self as policies, Filters},
    state::AppState,
};
use shared::{
    auth::Permission,
    pagination::{Page, PageRequest},
};

use crate::{api::ApiError, middleware::auth::authorize_session};

mod desk;

/// Rows per database round trip while exporting.
const EXPORT_PAGE: u32 = 100;
/// An export stops here; narrow the filter for more.
const EXPORT_LIMIT: u64 = 50_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/export.csv", get(export_customers))
        .route("/policies/export.csv", get(export_policies))
        .route("/claims/export.csv", get(export_claims))
        .route("/work/export.csv", get(desk::export_my_work))
        .route("/audit/export.csv", get(desk::export_audit))
}

/// Every row the list answers for its filter, a page at a time, up to
/// [`EXPORT_LIMIT`].
async fn all_pages<T, F>(mut fetch: impl FnMut(PageRequest) -> F) -> Result<Vec<T>, ApiError>
where
    F: std::future::Future<Output = Result<Page<T>, AppError>>,
{
    let mut rows = Vec::new();
    for number in 1.. {
        let page = fetch(PageRequest::new(number, EXPORT_PAGE)?).await?;
        // `has_next`, not the page count: a capped total is a lower bound.
        let last = !page.has_next();
        rows.extend(page.items);
        if last || rows.len() as u64 >= EXPORT_LIMIT {
            break;
        }
    }
    Ok(rows)
}

/// One CSV field: quoted when needed, formula-looking text defused.
pub fn field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn row(values: &[&str]) -> String {
    let mut line = values
        .iter()
        .map(|v| field(v))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn csv_response(name: &str, body: String) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The list's filters from the query string.
fn filters<T: serde::de::DeserializeOwned>(
    request: &axum::extract::Request,
) -> Result<T, ApiError> {
    let Query(query) = Query::<T>::try_from_uri(request.uri()).map_err(|_| {
        AppError::from(shared::FieldErrors::from(shared::FieldError::new(
            "query",
            "is not a valid filter",
        )))
    })?;
    Ok(query)
}

#[derive(Debug, Deserialize)]
struct CustomerQuery {
    q: Option<String>,
}

async fn export_customers(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let principal = authorize_session(
        &state,
        principal,
        request.extensions(),
        Permission::CustomersRead,
    )
    .await?;
    let query: CustomerQuery = filters(&request)?;
    let search = Search::from_query(query.q.as_deref().unwrap_or_default());
    let mut body = row(&[
        "customer_number",
        "first_name",
        "last_name",
        "email",
        "phone",
        "created_at",
    ]);
    for c in all_pages(|request| {
        customers::list(&state.db, &state.vault, &principal.scope, &search, request)
    })
    .await?
    {
        body.push_str(&row(&[
            &c.customer_number,
            &c.first_name,
            &c.last_name,
            &c.email,
            c.phone.as_deref().unwrap_or_default(),
            &app::format::instant(c.created_at),
        ]));
    }
    Ok(csv_response("customers.csv", body))
}

#[derive(Debug, Deserialize)]
struct PolicyQuery {
    line: Option<String>,
    status: Option<String>,
    expiring_within_days: Option<String>,
}

async fn export_policies(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let principal = authorize_session(
        &state,
        principal,
        request.extensions(),
        Permission::PoliciesRead,
    )
    .await?;
    let query: PolicyQuery = filters(&request)?;
    let filters = Filters {
        line: query.line,
        status: query.status,
        expiring_within_days: query.expiring_within_days,
        customer_id: None,
    };
    let mut body = row(&[
        "policy_number",
        "customer_number",
        "line",
        "status",
        "starts_on",
        "ends_on",
        "currency",
        "premium",
        "coverage_limit",
        "deductible",
    ]);
    for p in
        all_pages(|request| policies::list(&state.db, &principal.scope, &filters, request)).await?
    {
        body.push_str(&row(&[
            &p.policy_number,
            &p.customer_number,
            p.line.as_str(),
            p.status.as_str(),
            &p.starts_on,
            &p.ends_on,
            p.premium.currency.as_str(),
            &p.premium.format_major(),
            &p.coverage_limit.format_major(),
            &p.deductible.format_major(),
        ]));
    }
    Ok(csv_response("policies.csv", body))
}

async fn export_claims(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let principal = authorize_session(
        &state,
        principal,
        request.extensions(),
        Permission::ClaimsRead,
    )
    .await?;
    // The export pages by number through every row: a keyset cursor would
    // pin every page to the same one.
    let query = ClaimFilters {
        after: None,
        ..filters(&request)?
    };
    let mut body = row(&[
        "claim_number",
        "policy_number",
        "customer_number",
        "status",
        "priority",
        "incident_date",
        "currency",
        "total_claimed",
        "approved_amount",
        "paid_amount",
        "fraud_flags",
        "assignee",
        "received_at",
        "sla_clock",
        "sla_due_at",
        "sla_time_left",
    ]);
    let me = Some(principal.id.as_str());
    for c in all_pages(|request| {
        claims::list(
            &state.db,
            &state.vault,
            &principal.scope,
            &query,
            me,
            request,
        )
    })
    .await?
    {
        let money =
            |m: Option<shared::money::Money>| m.map(|m| m.format_major()).unwrap_or_default();
        let flags = c
            .fraud_flags
            .iter()
            .map(|f| f.code.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        body.push_str(&row(&[
            &c.claim_number,
            &c.policy_number,
            &c.customer_number,
            c.status.as_str(),
            c.priority.map(|p| p.as_str()).unwrap_or_default(),
            &c.incident_date,
            c.total_claimed.currency.as_str(),
            &c.total_claimed.format_major(),
            &money(c.approved_amount),
            &money(c.paid_amount),
            &flags,
            c.assignee_name.as_deref().unwrap_or_default(),
            &app::format::instant(c.created_at),
            c.deadline.map(|d| d.clock.as_str()).unwrap_or_default(),
            &c.deadline
                .map(|d| app::format::instant(d.due_at))
                .unwrap_or_default(),
            &c.deadline
                .map(|d| shared::sla::in_words(d.remaining))
                .unwrap_or_default(),
        ]));
    }
    Ok(csv_response("claims.csv", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(row(&["a", "b"]), "a,b\r\n");
    }
}
