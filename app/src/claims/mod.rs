//! Claims: the list with filters and sort, the claim page (lines, totals,
//! claimant, workflow actions with the reasons others are blocked, notes,
//! pipeline state, timeline from the audit trail) and the new-claim form.
//! The services and SQL are in [`ssr`]; the pipeline that triages new
//! claims is [`crate::workflow`].
#![expect(
    clippy::too_many_arguments,
    reason = "server functions take one argument per form field, as ActionForm posts them"
)]

pub mod activities;
pub mod approvals;
pub mod assignment;
pub mod attachments;
pub mod financials;
pub mod pages;
pub mod parties;
#[cfg(feature = "ssr")]
pub mod redact;
pub mod sla;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::{
    claim::{ClaimAction, ClaimStatus, Priority},
    money::Money,
    pagination::Page,
    policy::LineOfBusiness,
    triage::FraudFlag,
    workflow::Blocked,
};

use crate::{error::AppError, workflow::ExecutionView};

/// A claim as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimSummary {
    pub id: String,
    pub claim_number: String,
    pub policy_id: String,
    pub policy_number: String,
    pub customer_id: String,
    pub customer_number: String,
    pub line: LineOfBusiness,
    pub status: ClaimStatus,
    /// `None` until triage has run.
    pub priority: Option<Priority>,
    pub incident_date: String,
    pub total_claimed: Money,
    pub approved_amount: Option<Money>,
    /// Claim-cost payments so far (expenses are in the financials).
    pub paid_amount: Option<Money>,
    pub fraud_flags: Vec<FraudFlag>,
    pub assignee_id: Option<String>,
    pub assignee_name: Option<String>,
    /// `staff`, `api` or `legacy`.
    pub source: String,
    pub version: i64,
    pub created_at: i64,
    pub triaged_at: Option<i64>,
    /// The SLA deadline the claim works to now (acknowledge, then decide)
    /// and the time left when it was read; `None` once decided.
    pub deadline: Option<shared::sla::Deadline>,
    /// Both deadlines as set when the claim was filed, and when it was
    /// acknowledged.
    pub acknowledge_due_at: Option<i64>,
    pub decide_due_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
}

/// One claimed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLineView {
    pub code: String,
    pub description: Option<String>,
    pub amount: Money,
}

/// The claimant's contact details, masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimantView {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteView {
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

/// Another claim triage linked to this one (a possible duplicate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedClaim {
    pub id: String,
    pub claim_number: String,
    pub status: ClaimStatus,
    pub reason: String,
}

/// One entry of a claim's history, read from the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub occurred_at: i64,
    pub action: String,
    pub actor: String,
    /// The reason, decision or change recorded with it, if any.
    pub detail: Option<String>,
}

/// Everything the claim page shows, fetched in one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimView {
    #[serde(flatten)]
    pub summary: ClaimSummary,
    pub description: String,
    /// `covered`, `not_covered`, or `None` before the check.
    pub coverage: Option<String>,
    pub coverage_note: Option<String>,
    pub claimant: Option<ClaimantView>,
    /// Claimant fields whose stored value does not decrypt under this
    /// claim (moved from another record or damaged): they show
    /// `unreadable`; revealing one answers 409.
    #[serde(default)]
    pub unreadable_fields: Vec<String>,
    pub lines: Vec<ClaimLineView>,
    pub coverage_limit: Money,
    pub deductible: Money,
    /// The most an approval can pay: the limit less the deductible.
    pub max_payable: Money,
    pub notes: Vec<NoteView>,
    /// Possible duplicates found at triage or by a shared attachment.
    pub related: Vec<RelatedClaim>,
    pub attachments: Vec<attachments::AttachmentView>,
    /// The people and organisations on the claim, masked.
    pub parties: Vec<parties::PartyView>,
    /// Reserves, payments and recoveries, with their figures.
    pub financials: financials::FinancialsView,
    /// Reserve changes and payments that were over their requester's
    /// authority, oldest first, with their outcome.
    pub approvals: Vec<financials::ApprovalView>,
    /// The claim's activities, oldest first, open and done.
    pub activities: Vec<activities::ActivityView>,
    /// The caller's own authority in the policy's currency, shown on the
    /// reserve and payment forms (the claim page's callers who decide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub my_authority: Option<shared::authority::Authority>,
    pub timeline: Vec<TimelineEntry>,
    pub executions: Vec<ExecutionView>,
    /// Workflow steps staff can take from the claim page.
    pub available_actions: Vec<ClaimAction>,
    pub blocked_actions: Vec<Blocked<ClaimAction>>,
}

/// What ingestion answers: enough to follow the claim and its pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimReceipt {
    pub id: String,
    pub claim_number: String,
    pub status: ClaimStatus,
    pub execution_id: String,
}

/// Claims by status and priority, money reserved and paid, and the weekly
/// flow, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimStats {
    pub open_by_status: Vec<(ClaimStatus, i64)>,
    pub open_by_priority: Vec<(Option<Priority>, i64)>,
    /// `(Monday of the week, opened, closed)`, oldest first.
    pub weekly: Vec<(String, i64, i64)>,
    pub approved: i64,
    pub denied: i64,
    /// Outstanding reserves, per currency, from the claims' ledgers.
    pub reserved: Vec<Money>,
    pub paid: Vec<Money>,
}

impl ClaimStats {
    /// Approvals as a share of decided claims, in whole percent.
    pub fn approval_rate(&self) -> Option<i64> {
        let decided = self.approved + self.denied;
        (decided > 0).then(|| self.approved * 100 / decided)
    }
}

/// The list filters, as the query string and the API carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimFilters {
    /// A claim or policy number, or the insured's last name
    /// ([`shared::claim::search::ClaimSearch`]).
    pub q: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// A user id, or `me`, or `none` for unassigned claims.
    pub assignee: Option<String>,
    /// Incident dates from / to (inclusive, `YYYY-MM-DD`).
    pub from: Option<String>,
    pub to: Option<String>,
    pub customer_id: Option<String>,
    pub policy_id: Option<String>,
    /// `newest` (default), `oldest`, `priority`, `amount`, `deadline`.
    pub sort: Option<String>,
    /// The review queue: triaged and in-review claims, soonest SLA breach
    /// first.
    pub queue: Option<String>,
    /// Rows per page on the claims page (25, 50 or 100; the API takes its
    /// own `per_page`).
    pub per_page: Option<String>,
    /// A page's `next_after`: the page after it, read by keyset (the API;
    /// the claims page pages by number).
    pub after: Option<String>,
}

/// Rows per page on the claims page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: u32 = 25;

/// `per_page` from the claims page's URL, kept within 10 to 100 rows (a
/// list page corrects a hand-edited URL rather than refusing it).
pub fn rows_per_page(per_page: Option<&str>) -> u32 {
    per_page
        .and_then(|raw| raw.trim().parse::<u32>().ok())
        .map_or(DEFAULT_PER_PAGE, |rows| rows.clamp(10, 100))
}

/// One field per filter: a struct argument whose fields are all empty
/// would not survive the URL encoding of a server-function call.
#[server]
pub async fn list_claims(
    status: Option<String>,
    priority: Option<String>,
    assignee: Option<String>,
    from: Option<String>,
    to: Option<String>,
    customer_id: Option<String>,
    policy_id: Option<String>,
    sort: Option<String>,
    queue: Option<String>,
    page: Option<u32>,
    per_page: Option<String>,
    q: Option<String>,
) -> Result<Page<ClaimSummary>, AppError> {
    use crate::server_call::serve;
    use shared::{auth::Permission, pagination::PageRequest};
    let filters = ClaimFilters {
        q,
        status,
        priority,
        assignee,
        from,
        to,
        customer_id,
        policy_id,
        sort,
        queue,
        per_page,
        after: None,
    };
    serve(Permission::ClaimsRead, |call| async move {
        let rows = rows_per_page(filters.per_page.as_deref());
        let page = PageRequest::new(page.unwrap_or(1), rows)?;
        let me = &call.principal;
        ssr::list(
            &call.state.db,
            &call.state.vault,
            &me.scope,
            &filters,
            Some(&me.id),
            page,
        )
        .await
    })
    .await
}

#[server]
pub async fn get_claim(id: String) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsRead, |call| async move {
        let mut view = ssr::claim_page(&call.state.db, &call.state.vault, &id).await?;
        if call.principal.role.permits(Permission::ClaimsDecide) {
            let currency = view.financials.currency;
            let mine =
                financials::ssr::authority_of(&call.state.db, &call.principal, currency).await?;
            view.my_authority = Some(mine);
        }
        Ok(view)
    })
    .await
}

/// The new-claim form: up to [`pages::FORM_LINES`] lines, amounts in major
/// units of one currency. Blank lines are ignored.
#[server]
pub async fn create_claim(
    policy_number: String,
    incident_date: String,
    description: String,
    currency: String,
    claimant_name: Option<String>,
    claimant_email: Option<String>,
    claimant_phone: Option<String>,
    line_code: Vec<String>,
    line_description: Vec<String>,
    line_amount: Vec<String>,
) -> Result<ClaimReceipt, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsWrite, |call| async move {
        let input = pages::ClaimForm {
            policy_number,
            incident_date,
            description,
            currency,
            claimant_name,
            claimant_email,
            claimant_phone,
            line_code,
            line_description,
            line_amount,
        }
        .into_input()?;
        let (context, scope) = (&call.context, &call.principal.scope);
        let receipt = ssr::submit(
            call.state.intake(),
            context,
            scope,
            &input,
            ssr::Source::Staff,
        )
        .await?;
        leptos_axum::redirect(&format!("/claims/{}", receipt.id));
        Ok(receipt)
    })
    .await
}

/// A workflow step from the claim page. `version` is the version the page
/// showed: a stale page gets 412.
#[server]
pub async fn change_claim_status(
    id: String,
    action: String,
    version: i64,
    reason: Option<String>,
) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsWrite, |call| async move {
        let (state, context, me) = (&call.state, &call.context, &call.principal);
        let reason = reason.as_deref();
        ssr::apply_action(&state.db, context, me, &id, &action, reason, Some(version)).await?;
        ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}

/// An adjuster's decision: approve (with an amount in major units), deny or
/// request information (with a reason), optionally overriding the priority
/// and flagging the claim. A denial needs `confirm=deny`.
#[server]
pub async fn decide_claim(
    id: String,
    version: i64,
    kind: String,
    amount: Option<String>,
    reason: Option<String>,
    priority: Option<String>,
    flag: Option<String>,
    confirm: Option<String>,
) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsDecide, |call| async move {
        let (state, context, me) = (&call.state, &call.context, &call.principal);
        let decision = ssr::DecisionRequest {
            kind,
            amount_major: amount,
            amount_minor: None,
            reason,
            priority,
            flag,
            confirm,
        };
        ssr::decide(&state.db, context, me, &id, &decision, Some(version)).await?;
        ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}

/// Takes the claim for review: assigns it to the caller and, when it is
/// waiting in the queue, starts the review.
#[server]
pub async fn assign_claim_to_me(id: String, version: i64) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsDecide, |call| async move {
        let (state, context, me) = (&call.state, &call.context, &call.principal);
        ssr::assign_to(&state.db, context, me, &id, Some(version)).await?;
        ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}

#[server]
pub async fn add_claim_note(id: String, body: String) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsWrite, |call| async move {
        let (state, context, me) = (&call.state, &call.context, &call.principal);
        ssr::add_note(&state.db, context, me, &id, &body).await?;
        ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}

/// One claimant field in clear, for a stated reason (audited).
#[server]
pub async fn reveal_claimant_field(
    id: String,
    field: String,
    reason: String,
) -> Result<Option<String>, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PiiReveal, |call| async move {
        let (state, context) = (&call.state, &call.context);
        ssr::reveal_claimant(&state.db, &state.vault, context, &id, &field, &reason).await
    })
    .await
}

#[server]
pub async fn get_claim_stats() -> Result<ClaimStats, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsRead, |call| async move {
        ssr::stats(&call.state.db).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_page_shows_25_rows_unless_asked_and_keeps_a_hand_edited_url_within_10_to_100() {
        assert_eq!(rows_per_page(None), 25);
        assert_eq!(rows_per_page(Some("50")), 50);
        assert_eq!(rows_per_page(Some("5000")), 100);
        assert_eq!(rows_per_page(Some("0")), 10);
        assert_eq!(rows_per_page(Some("lots")), 25);
    }
}
