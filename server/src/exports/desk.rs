//! The desk's CSV exports: the caller's open activities ("My work") and the
//! audit trail under the Audit page's filters.

use axum::{Extension, extract::State, response::Response};

use app::{
    audit::{AuditFilters, ssr as audit},
    auth::ssr::Principal,
    claims::activities::ssr as activities,
    state::AppState,
};
use shared::auth::Permission;

use super::{all_pages, csv_response, filters, row};
use crate::{api::ApiError, middleware::auth::authorize_session};

/// `/work/export.csv`: the caller's open activities, soonest due first.
pub(super) async fn export_my_work(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let principal = authorize_session(
        &state,
        principal,
        request.extensions(),
        Permission::ClaimsWrite,
    )
    .await?;
    let mut body = row(&["due_on", "due", "subject", "claim_number", "priority"]);
    for a in activities::my_work(&state.db, &principal.id).await? {
        body.push_str(&row(&[
            &a.due_on,
            &a.due,
            &a.subject,
            &a.claim_number,
            a.priority.as_str(),
        ]));
    }
    Ok(csv_response("my-work.csv", body))
}

/// `/audit/export.csv?entity=…&actor=…&action=…&from=…&to=…`: the trail
/// under the Audit page's filters, newest first, details in words and as
/// stored.
pub(super) async fn export_audit(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    authorize_session(
        &state,
        principal,
        request.extensions(),
        Permission::AuditRead,
    )
    .await?;
    let query: AuditFilters = filters(&request)?;
    let mut body = row(&[
        "seq",
        "occurred_at",
        "actor",
        "action",
        "entity_type",
        "entity_id",
        "summary",
        "details",
        "correlation_id",
    ]);
    for r in all_pages(|page| audit::list(&state.db, &query, page)).await? {
        body.push_str(&row(&[
            &r.seq.to_string(),
            &app::format::instant(r.occurred_at),
            r.actor.as_deref().unwrap_or(&r.actor_kind),
            &r.action,
            &r.entity_type,
            r.entity_id.as_deref().unwrap_or_default(),
            &r.summary,
            &r.details,
            r.correlation_id.as_deref().unwrap_or_default(),
        ]));
    }
    Ok(csv_response("audit.csv", body))
}
