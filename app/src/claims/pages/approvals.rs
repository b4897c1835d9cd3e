//! `/approvals`: the supervisor's queue of reserve changes and payments
//! over their requester's authority, oldest first, each approved or
//! rejected with a reason; and, for administrators, the authority limits
//! by role, user and currency.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use shared::{
    auth::Permission,
    authority::{Authority, SubjectKind},
};

use crate::{
    auth::CurrentUser,
    claims::{
        approvals::{
            ApproveLedgerRequest, RejectLedgerRequest, SetAuthorityLimit, list_authority_limits,
            list_pending_approvals,
        },
        financials::{ApprovalView, LimitView},
    },
    error::ErrorPanel,
    format::instant,
    forms::{FormAlert, FormErrors},
};

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let approve = ServerAction::<ApproveLedgerRequest>::new();
    let reject = ServerAction::<RejectLedgerRequest>::new();
    let user = use_context::<Option<CurrentUser>>().flatten();
    let me = user.as_ref().map(|u| u.id.clone()).unwrap_or_default();
    let is_admin = user
        .as_ref()
        .is_some_and(|u| u.can(Permission::UsersManage));
    let queue = Resource::new(
        move || (approve.version().get(), reject.version().get()),
        |_| list_pending_approvals(),
    );
    let failure = move || {
        approve
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| reject.value().get().and_then(Result::err))
            .map(|error| view! { <p class="form-alert" role="alert" id="approval-error">{error.to_string()}</p> })
    };
    view! {
        <Title text="Approvals" />
        <header class="page-header">
            <h1>"Approvals"</h1>
            <p class="page-lede">"Reserve changes and payments above their requester's authority, oldest first. The line is recorded when someone else whose own authority covers it approves; the figures are checked again at that moment."</p>
        </header>
        <section class="card" aria-labelledby="approvals-heading">
            <h2 id="approvals-heading">"Awaiting approval"</h2>
            {failure}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let me = me.clone();
                    Suspend::new(async move {
                        match queue.await {
                            Ok(items) => view! { <ApprovalTable items me approve reject /> }.into_any(),
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
        {is_admin.then(|| view! { <LimitsSection /> })}
    }
}

#[component]
fn ApprovalTable(
    items: Vec<ApprovalView>,
    me: String,
    approve: ServerAction<ApproveLedgerRequest>,
    reject: ServerAction<RejectLedgerRequest>,
) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="empty-state">"Nothing is waiting for approval."</p> }.into_any();
    }
    let rows = items
        .into_iter()
        .map(|item| {
            let own = item.requested_by_id == me;
            let (approve_id, reject_id) = (item.id.clone(), item.id.clone());
            let reason_id = format!("reject-reason-{}", item.id);
            view! {
                <tr>
                    <td><A href=format!("/claims/{}", item.claim_id)>{item.claim_number}</A></td>
                    <td>{if item.kind == "reserve" { "Reserve" } else { "Payment" }}</td>
                    <td>{item.summary}</td>
                    <td class="numeric">{item.amount.format()}</td>
                    <td>{item.requested_by}<br /><span class="muted">{instant(item.requested_at)}</span></td>
                    <td>
                        <ActionForm action=approve attr:class="inline-form">
                            <input type="hidden" name="id" value=approve_id />
                            <button type="submit" class="button small primary" disabled=own
                                title=own.then_some("You filed this request; someone else approves it")>"Approve"</button>
                        </ActionForm>
                        <ActionForm action=reject attr:class="inline-form">
                            <input type="hidden" name="id" value=reject_id />
                            <label class="visually-hidden" for=reason_id.clone()>"Reason for rejecting"</label>
                            <input id=reason_id name="reason" placeholder="Reason" required=true />
                            <button type="submit" class="button small">{if own { "Withdraw" } else { "Reject" }}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table" id="approvals-table">
                <thead><tr><th>"Claim"</th><th>"For"</th><th>"Request"</th><th class="numeric">"Amount"</th><th>"Requested by"</th><th>"Decision"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn limit_text(authority: &Authority, reserve: bool) -> String {
    let limit = if reserve {
        authority.reserve
    } else {
        authority.payment
    };
    limit.map_or_else(|| "No limit".to_owned(), |m| m.format())
}

#[component]
fn LimitsSection() -> impl IntoView {
    let set = ServerAction::<SetAuthorityLimit>::new();
    let errors = FormErrors::new(set.value());
    let limits = Resource::new(move || set.version().get(), |_| list_authority_limits());
    let field = move |name: &'static str, label: &'static str, hint: &'static str| {
        let id = format!("limit-{name}");
        let message = errors.field(name);
        view! {
            <div class="field" class:has-error=move || message.get().is_some()>
                <label for=id.clone()>{label}</label>
                <input id=id.clone() name=name autocomplete="off" aria-describedby=format!("{id}-error") />
                <p class="field-hint">{hint}</p>
                <p class="field-error" id=format!("{id}-error")>{move || message.get()}</p>
            </div>
        }
    };
    view! {
        <section class="card" aria-labelledby="limits-heading" id="authority-limits">
            <h2 id="limits-heading">"Authority limits"</h2>
            <p class="muted">"Per currency: the most a bucket's reserve may be set to and the largest single payment or approval without a second approver. A user's limit overrides their role's; a currency without a limit gives no authority (administrators excepted). Every change is audited."</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match limits.await {
                        Ok(rows) => view! { <LimitTable rows /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
            <details class="form-panel">
                <summary>"Set a limit"</summary>
                <ActionForm action=set attr:id="limit-form">
                    <FormAlert errors />
                    <div class="form-grid">
                        <div class="field">
                            <label for="limit-subject_kind">"For"</label>
                            <select id="limit-subject_kind" name="subject_kind">
                                {SubjectKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                            </select>
                        </div>
                        {field("subject", "Role or user", "adjuster or admin; or a user's id (Admin → Users)")}
                        {field("currency", "Currency", "ISO 4217, e.g. USD or JPY")}
                        {field("reserve", "Reserve limit", "Major units; empty for no limit")}
                        {field("payment", "Payment limit", "Major units; empty for no limit")}
                    </div>
                    <button type="submit" class="button">"Save limit"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn LimitTable(rows: Vec<LimitView>) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|row| {
            view! {
                <tr>
                    <td>{row.subject_kind.label()}</td>
                    <td>{row.label}</td>
                    <td>{row.authority.currency.as_str().to_owned()}</td>
                    <td class="numeric">{limit_text(&row.authority, true)}</td>
                    <td class="numeric">{limit_text(&row.authority, false)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table" id="limits-table">
                <thead><tr><th>"For"</th><th>"Who"</th><th>"Currency"</th><th class="numeric">"Reserve"</th><th class="numeric">"Payment"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
