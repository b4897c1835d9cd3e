//! The claim list (filters, sort, paging, CSV), the review queue, the claim
//! page and the new-claim form.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::use_query_map,
};
use shared::{
    auth::Permission,
    claim::{ClaimStatus, Priority},
};

mod activities;
mod approvals;
mod assignment;
mod detail;
mod financials;
mod form;
mod sla;

use self::form::NewClaimForm;
pub use self::{
    activities::{MyWorkPage, MyWorkPanel},
    approvals::ApprovalsPage,
    detail::ClaimPage,
    form::{ClaimForm, FORM_LINES},
    sla::SlaPage,
};
use super::{AssignClaimToMe, ClaimFilters, ClaimSummary, list_claims};
use crate::{
    auth::CurrentUser, encoding::urlencode, error::ErrorPanel, format::instant,
    forms::NotPermitted, pager::Pager,
};

/// The filters in the current URL.
fn filters_from_query() -> Memo<ClaimFilters> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| {
            let get = |name: &str| q.get(name).filter(|v| !v.is_empty());
            ClaimFilters {
                q: get("q"),
                status: get("status"),
                priority: get("priority"),
                assignee: get("assignee"),
                from: get("from"),
                to: get("to"),
                customer_id: get("customer_id"),
                policy_id: get("policy_id"),
                sort: get("sort"),
                queue: None,
                per_page: get("per_page"),
                after: None,
            }
        })
    })
}

/// The same filters as a query string (for the pager and the CSV link).
fn query_string(filters: &ClaimFilters) -> String {
    [
        ("q", &filters.q),
        ("status", &filters.status),
        ("priority", &filters.priority),
        ("assignee", &filters.assignee),
        ("from", &filters.from),
        ("to", &filters.to),
        ("customer_id", &filters.customer_id),
        ("policy_id", &filters.policy_id),
        ("sort", &filters.sort),
        ("per_page", &filters.per_page),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={}", urlencode(v))))
    .collect::<Vec<_>>()
    .join("&")
}

fn page_from_query() -> Memo<u32> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
        })
    })
}

async fn fetch_claims(
    f: ClaimFilters,
    page: u32,
) -> Result<shared::pagination::Page<ClaimSummary>, crate::error::AppError> {
    list_claims(
        f.status,
        f.priority,
        f.assignee,
        f.from,
        f.to,
        f.customer_id,
        f.policy_id,
        f.sort,
        f.queue,
        Some(page),
        f.per_page,
        f.q,
    )
    .await
}

#[component]
pub fn ClaimsPage() -> impl IntoView {
    let filters = filters_from_query();
    let page = page_from_query();
    let claims = Resource::new(
        move || (filters.get(), page.get()),
        |(filters, page)| fetch_claims(filters, page),
    );
    let query = use_query_map();
    let preset_policy = move || query.with(|q| q.get("policy_number").unwrap_or_default());
    let selected = move |value: &Option<String>, option: &str| value.as_deref() == Some(option);

    view! {
        <Title text="Claims" />
        <header class="page-header">
            <h1>"Claims"</h1>
            <p class="page-lede">"Every claim with its status, priority and amounts. New claims are triaged by the pipeline and then wait in the review queue."</p>
        </header>
        <section class="card">
            <Form method="GET" action="">
                <label for="claim-search" class="field-label">"Find a claim"</label>
                <div class="search-row">
                    <input id="claim-search" type="search" name="q" value=move || filters.with(|f| f.q.clone())
                        placeholder="Claim number, policy number or the insured's last name" />
                </div>
                <p class="field-hint">"Names match exactly (case aside): they are encrypted and searched through blind indexes."</p>
                <div class="filter-row">
                    <label>"Status"
                        <select name="status">
                            <option value="">"Any"</option>
                            {ClaimStatus::ALL.into_iter().map(|s| view! {
                                <option value=s.as_str() selected=move || filters.with(|f| selected(&f.status, s.as_str()))>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Priority"
                        <select name="priority">
                            <option value="">"Any"</option>
                            {Priority::ALL.into_iter().map(|p| view! {
                                <option value=p.as_str() selected=move || filters.with(|f| selected(&f.priority, p.as_str()))>{p.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Assignee"
                        <select name="assignee">
                            <option value="">"Anyone"</option>
                            <option value="me" selected=move || filters.with(|f| selected(&f.assignee, "me"))>"Me"</option>
                            <option value="none" selected=move || filters.with(|f| selected(&f.assignee, "none"))>"Unassigned"</option>
                        </select>
                    </label>
                    <label>"Incident from"
                        <input type="date" name="from" value=move || filters.with(|f| f.from.clone()) />
                    </label>
                    <label>"to"
                        <input type="date" name="to" value=move || filters.with(|f| f.to.clone()) />
                    </label>
                    <label>"Sort"
                        <select name="sort">
                            {[("newest", "Newest first"), ("oldest", "Oldest first"), ("priority", "Priority"), ("amount", "Largest amount"), ("deadline", "Soonest SLA breach")].into_iter().map(|(value, label)| view! {
                                <option value=value selected=move || filters.with(|f| selected(&f.sort, value))>{label}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Rows"
                        <select name="per_page">
                            {[25u32, 50, 100].into_iter().map(|rows| view! {
                                <option value=rows.to_string() selected=move || filters.with(|f| super::rows_per_page(f.per_page.as_deref()) == rows)>{rows}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="button">"Filter"</button>
                </div>
            </Form>
            <p class="export-link">
                <a rel="external" download="claims.csv" id="export-claims"
                    href=move || format!("/claims/export.csv?{}", filters.with(query_string))>"Export these claims as CSV"</a>
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match claims.await {
                        Ok(page) => view! { <ClaimTable page queue=false /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        {move || view! { <NewClaimForm policy_number=preset_policy() /> }}
    }
}

/// Claims awaiting review, the soonest SLA breach first.
#[component]
pub fn ReviewQueuePage() -> impl IntoView {
    let filters = filters_from_query();
    let page = page_from_query();
    let assign = ServerAction::<AssignClaimToMe>::new();
    // Auditors may read the queue; only those who decide claims take them.
    let can_assign = use_context::<Option<CurrentUser>>()
        .flatten()
        .is_some_and(|u| u.can(Permission::ClaimsDecide));
    let take = can_assign.then_some(assign);
    let claims = Resource::new(
        move || (filters.get(), page.get(), assign.version().get()),
        |(filters, page, _)| {
            fetch_claims(
                ClaimFilters {
                    queue: Some("true".into()),
                    ..filters
                },
                page,
            )
        },
    );
    view! {
        <Title text="Review queue" />
        <header class="page-header">
            <h1>"Review queue"</h1>
            <p class="page-lede">"Claims waiting for an adjuster, the soonest SLA breach first: the SLA column counts down to the deadline each claim works to now (acknowledge, then decide; see Service levels)."</p>
        </header>
        <section class="card">
            <Form method="GET" action="">
                <div class="filter-row">
                    <label>"Priority"
                        <select name="priority">
                            <option value="">"Any"</option>
                            {Priority::ALL.into_iter().map(|p| view! {
                                <option value=p.as_str() selected=move || filters.with(|f| f.priority.as_deref() == Some(p.as_str()))>{p.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Assignee"
                        <select name="assignee">
                            <option value="">"Anyone"</option>
                            <option value="me" selected=move || filters.with(|f| f.assignee.as_deref() == Some("me"))>"Me"</option>
                            <option value="none" selected=move || filters.with(|f| f.assignee.as_deref() == Some("none"))>"Unassigned"</option>
                        </select>
                    </label>
                    <button type="submit" class="button">"Filter"</button>
                </div>
            </Form>
            <p class="export-link">
                <a rel="external" download="review-queue.csv" id="export-queue"
                    href=move || format!("/claims/export.csv?queue=true&{}", filters.with(query_string))>"Export the queue as CSV"</a>
            </p>
            {(!can_assign).then(|| view! { <NotPermitted permission=Permission::ClaimsDecide id="queue-role-note" /> })}
            {move || assign.value().get().and_then(Result::err).map(|error| view! { <p class="form-alert" role="alert">{error.to_string()}</p> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match claims.await {
                        Ok(page) => view! { <ClaimTable page queue=true assign=take /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ClaimTable(
    page: shared::pagination::Page<ClaimSummary>,
    queue: bool,
    /// The "Assign to me" column, for those who may take claims.
    #[prop(optional_no_strip)]
    assign: Option<ServerAction<AssignClaimToMe>>,
) -> impl IntoView {
    if page.items.is_empty() {
        let empty = if queue {
            "Nothing is waiting for review."
        } else {
            "No claims match."
        };
        return view! { <p class="empty-state">{empty}</p> }.into_any();
    }
    let (items, page) = page.into_items();
    view! {
        <table class="data-table" id=if queue { "queue-table" } else { "claim-table" }>
            <thead><tr>
                <th>"Number"</th><th>"Policy"</th><th>"Status"</th><th>"Priority"</th>
                <th>"Incident"</th><th class="numeric">"Claimed"</th><th>"Flags"</th><th>"Assignee"</th>
                {queue.then(|| view! { <th>"SLA"</th> })}
                {assign.is_some().then(|| view! { <th><span class="visually-hidden">"Take"</span></th> })}
            </tr></thead>
            <tbody>
                {items.into_iter().map(|c| {
                    let take = assign.filter(|_| c.assignee_id.is_none()).map(|assign| {
                        let (id, version) = (c.id.clone(), c.version.to_string());
                        view! {
                            <ActionForm action=assign>
                                <input type="hidden" name="id" value=id />
                                <input type="hidden" name="version" value=version />
                                <button type="submit" class="button small">"Assign to me"</button>
                            </ActionForm>
                        }
                    });
                    let flag_badge = (!c.fraud_flags.is_empty()).then(|| {
                        let reasons = c.fraud_flags.iter().map(|f| f.reason.as_str()).collect::<Vec<_>>().join(" ");
                        let count = format!("{} flag(s)", c.fraud_flags.len());
                        view! { <span class="badge flag" title=reasons>{count}</span> }
                    });
                    view! {
                        <tr class:sla-breached=c.deadline.is_some_and(|d| d.breached())>
                            <td><A href=format!("/claims/{}", c.id)>{c.claim_number.clone()}</A></td>
                            <td><A href=format!("/policies/{}", c.policy_id)>{c.policy_number.clone()}</A></td>
                            <td><span class=format!("badge status-{}", c.status.as_str())>{c.status.label()}</span></td>
                            <td><PriorityBadge priority=c.priority /></td>
                            <td>{c.incident_date.clone()}</td>
                            <td class="numeric">{c.total_claimed.format()}</td>
                            <td>{flag_badge}</td>
                            <td>{c.assignee_name.clone().unwrap_or_else(|| "—".into())}</td>
                            {queue.then(|| view! {
                                <td><DeadlineBadge deadline=c.deadline /></td>
                            })}
                            {assign.is_some().then(|| view! { <td>{take}</td> })}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <Pager page noun="claims" />
    }
    .into_any()
}

/// The running SLA deadline in words ("Acknowledge due in 3 h"), its
/// date in the tooltip; breached ones stand out.
#[component]
pub(super) fn DeadlineBadge(deadline: Option<shared::sla::Deadline>) -> impl IntoView {
    match deadline {
        Some(deadline) => view! {
            <span class="sla-deadline" class:breached=deadline.breached() title=instant(deadline.due_at)>
                {deadline.describe()}
            </span>
        }
        .into_any(),
        None => view! { <span class="muted">"Decided"</span> }.into_any(),
    }
}

#[component]
fn PriorityBadge(priority: Option<Priority>) -> impl IntoView {
    match priority {
        Some(p) => {
            view! { <span class=format!("badge priority-{}", p.as_str())>{p.label()}</span> }
                .into_any()
        }
        None => view! { <span class="muted">"Not triaged"</span> }.into_any(),
    }
}
