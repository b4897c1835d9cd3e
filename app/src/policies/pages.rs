//! The policy list (filters, paging), the policy page (lifecycle actions
//! with the reasons others are blocked, renewal) and the new-policy form
//! shown on a customer's page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::{use_params_map, use_query_map},
};
use shared::{
    auth::Permission,
    confirm::Irreversible,
    policy::{LineOfBusiness, PolicyStatus},
};

use super::{
    ChangePolicyStatus, CreatePolicy, PolicyView, RenewPolicy, UpdatePolicy, get_policy,
    list_policies,
};
use crate::{
    auth::CurrentUser,
    error::ErrorPanel,
    format::instant,
    forms::{ConfirmLink, ConfirmStep, ConfirmSubmit, Field, FormAlert, FormErrors, confirming},
    pager::Pager,
};

#[component]
pub fn PoliciesPage() -> impl IntoView {
    let query = use_query_map();
    let param =
        move |name: &'static str| move || query.with(|q| q.get(name).filter(|v| !v.is_empty()));
    let (line, status, expiring, customer) = (
        param("line"),
        param("status"),
        param("expiring_within_days"),
        param("customer_id"),
    );
    let page = move || {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
        })
    };
    let policies = Resource::new(
        move || (line(), status(), expiring(), customer(), page()),
        |(line, status, expiring, customer, page)| {
            list_policies(line, status, expiring, customer, Some(page))
        },
    );

    view! {
        <Title text="Policies" />
        <header class="page-header">
            <h1>"Policies"</h1>
            <p class="page-lede">"Policies by line, status and renewal date. New policies are issued from a customer's page."</p>
        </header>
        <section class="card">
            <Form method="GET" action="">
                <div class="filter-row">
                    <label>"Line"
                        <select name="line">
                            <option value="">"Any"</option>
                            {LineOfBusiness::ALL.into_iter().map(|l| view! {
                                <option value=l.as_str() selected=move || line().as_deref() == Some(l.as_str())>{l.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Status"
                        <select name="status">
                            <option value="">"Any"</option>
                            {PolicyStatus::ALL.into_iter().map(|s| view! {
                                <option value=s.as_str() selected=move || status().as_deref() == Some(s.as_str())>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Expiring within (days)"
                        <input type="number" name="expiring_within_days" min="0" max="3650" value=expiring />
                    </label>
                    {move || customer().map(|id| view! { <input type="hidden" name="customer_id" value=id /> })}
                    <button type="submit" class="button">"Filter"</button>
                </div>
            </Form>
            {move || customer().map(|_| view! { <p class="muted">"One customer's policies. "<a href="/policies">"Show all"</a></p> })}
            <p class="export-link">
                <a rel="external" download="policies.csv" id="export-policies" href=move || {
                    let encode = crate::encoding::urlencode;
                    format!(
                        "/policies/export.csv?line={}&status={}&expiring_within_days={}",
                        encode(&line().unwrap_or_default()),
                        encode(&status().unwrap_or_default()),
                        encode(&expiring().unwrap_or_default()),
                    )
                }>"Export these policies as CSV"</a>
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match policies.await {
                        Ok(page) => view! { <PolicyTable page /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PolicyTable(page: shared::pagination::Page<PolicyView>) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="empty-state">"No policies match."</p> }.into_any();
    }
    let (items, page) = page.into_items();
    view! {
        <table class="data-table" id="policy-table">
            <thead><tr><th>"Number"</th><th>"Customer"</th><th>"Line"</th><th>"Status"</th><th>"Term"</th><th>"Premium"</th></tr></thead>
            <tbody>
                {items.into_iter().map(|p| view! {
                    <tr>
                        <td><A href=format!("/policies/{}", p.id)>{p.policy_number.clone()}</A></td>
                        <td><A href=format!("/customers/{}", p.customer_id)>{p.customer_number.clone()}</A></td>
                        <td>{p.line.label()}</td>
                        <td><span class=format!("badge status-{}", p.status.as_str())>{p.status.label()}</span></td>
                        <td>{format!("{} – {}", p.starts_on, p.ends_on)}</td>
                        <td>{p.premium.format()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <Pager page noun="policies" />
    }
    .into_any()
}

#[component]
pub fn PolicyPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let change = ServerAction::<ChangePolicyStatus>::new();
    let renew = ServerAction::<RenewPolicy>::new();
    let update = ServerAction::<UpdatePolicy>::new();
    let policy = Resource::new(
        move || (id(), change.version().get(), update.version().get()),
        |(id, ..)| get_policy(id),
    );
    let can_write = use_context::<Option<CurrentUser>>()
        .flatten()
        .is_some_and(|u| u.can(Permission::PoliciesWrite));
    let change_error = move || {
        change
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| renew.value().get().and_then(Result::err))
    };

    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match policy.await {
                    Ok(policy) => view! { <PolicyDetail policy can_write change renew update /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
        {move || change_error().map(|error| view! { <p class="form-alert" role="alert" id="policy-error">{error.to_string()}</p> })}
    }
}

#[component]
fn PolicyDetail(
    policy: PolicyView,
    can_write: bool,
    change: ServerAction<ChangePolicyStatus>,
    renew: ServerAction<RenewPolicy>,
    update: ServerAction<UpdatePolicy>,
) -> impl IntoView {
    let id = policy.id.clone();
    let editor = (can_write && policy.status == PolicyStatus::Quote)
        .then(|| view! { <EditQuoteForm policy=policy.clone() update /> });
    let version = policy.version.to_string();
    let actions = can_write.then(|| {
        let forms = policy
            .available_actions
            .clone()
            .into_iter()
            .map(|action| {
                let (id, version) = (id.clone(), version.clone());
                if let Some(irreversible) = Irreversible::of_policy(action) {
                    return view! { <ConfirmLink irreversible label=action.label() /> }.into_any();
                }
                view! {
                    <ActionForm action=change>
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="version" value=version />
                        <input type="hidden" name="action" value=action.as_str() />
                        <button type="submit" class="button">{action.label()}</button>
                    </ActionForm>
                }
                .into_any()
            })
            .collect_view();
        // The second step of cancel, lapse or expire, when the page was
        // opened for it and the action is still possible.
        let confirming = confirming();
        let available = policy.available_actions.clone();
        let (number, confirm_id, confirm_version) =
            (policy.policy_number.clone(), id.clone(), version.clone());
        let step = move || {
            let word = confirming.get()?;
            let (action, irreversible) = available.iter().find_map(|&action| {
                Irreversible::of_policy(action)
                    .filter(|_| action.as_str() == word)
                    .map(|irreversible| (action, irreversible))
            })?;
            let (id, version) = (confirm_id.clone(), confirm_version.clone());
            Some(view! {
                <ConfirmStep irreversible title=format!("{} policy {number}", action.label()) back=format!("/policies/{id}")>
                    <ActionForm action=change attr:id="confirm-form">
                        <input type="hidden" name="id" value=id.clone() />
                        <input type="hidden" name="version" value=version />
                        <input type="hidden" name="action" value=action.as_str() />
                        <ConfirmSubmit irreversible />
                    </ActionForm>
                </ConfirmStep>
            })
        };
        let renewal = policy.can_renew.then(|| {
            let id = id.clone();
            view! {
                <ActionForm action=renew>
                    <input type="hidden" name="id" value=id />
                    <button type="submit" class="button primary">"Renew for the next term"</button>
                </ActionForm>
            }
        });
        let blocked = policy
            .blocked_actions
            .clone()
            .into_iter()
            .map(|blocked| view! { <li><strong>{blocked.action.label()}</strong>": "{blocked.reason}</li> })
            .collect_view();
        view! {
            <section class="card" aria-labelledby="actions-heading">
                <h2 id="actions-heading">"Actions"</h2>
                <div class="action-row">{forms}{renewal}</div>
                <ul class="blocked-list">{blocked}</ul>
            </section>
            {step}
        }
    });
    view! {
        <Title text=policy.policy_number.clone() />
        <header class="page-header">
            <h1>{format!("Policy {}", policy.policy_number)}</h1>
            <p class="page-lede">
                {format!("{} · ", policy.line.label())}
                <span class=format!("badge status-{}", policy.status.as_str()) id="policy-status">{policy.status.label()}</span>
                {" · customer "}<A href=format!("/customers/{}", policy.customer_id)>{policy.customer_number.clone()}</A>
            </p>
        </header>
        <section class="card">
            <dl class="facts" id="policy-facts">
                <dt>"Term"</dt><dd>{format!("{} to {}", policy.starts_on, policy.ends_on)}</dd>
                <dt>"Premium"</dt><dd>{policy.premium.format()}</dd>
                <dt>"Coverage limit"</dt><dd>{policy.coverage_limit.format()}</dd>
                <dt>"Deductible"</dt><dd>{policy.deductible.format()}</dd>
                <dt>"Jurisdiction"</dt><dd id="policy-jurisdiction">{policy.jurisdiction.clone().unwrap_or_else(|| "Not set (default service levels)".into())}</dd>
                <dt>"Issued"</dt><dd>{instant(policy.created_at)}</dd>
                {policy.renewed_from.clone().map(|from| view! { <dt>"Renews"</dt><dd><A href=format!("/policies/{from}")>"the previous term"</A></dd> })}
            </dl>
            <p class="action-row">
                <a href=format!("/claims?policy_number={}", policy.policy_number) id="file-claim">"File a claim on this policy"</a>
                <a href=format!("/claims?policy_id={}", policy.id)>"This policy's claims"</a>
            </p>
        </section>
        {actions}
        {editor}
    }
}

const JURISDICTION_HINT: &str =
    "Where it is written, ISO 3166 (US-FL, GB): sets its claims' service levels";

/// A quote's terms, prefilled (no personal data here).
#[component]
fn EditQuoteForm(policy: PolicyView, update: ServerAction<UpdatePolicy>) -> impl IntoView {
    let errors = FormErrors::new(update.value());
    let current = policy.line;
    view! {
        <section class="card">
            <details class="form-panel" open=move || errors.server.get().is_some()>
                <summary>"Edit quote"</summary>
                <ActionForm action=update attr:id="edit-quote">
                    <FormAlert errors />
                    <input type="hidden" name="id" value=policy.id.clone() />
                    <input type="hidden" name="version" value=policy.version.to_string() />
                    <div class="form-grid">
                        <div class="field">
                            <label for="edit-line">"Line of business"</label>
                            <select id="edit-line" name="line">
                                {LineOfBusiness::ALL.into_iter().map(|l| view! { <option value=l.as_str() selected=l == current>{l.label()}</option> }).collect_view()}
                            </select>
                        </div>
                        <Field label="Starts on" name="starts_on" kind="date" errors required=true value=policy.starts_on.clone() />
                        <Field label="Ends on" name="ends_on" kind="date" errors required=true value=policy.ends_on.clone() />
                        <Field label="Currency" name="currency" errors required=true value=policy.premium.currency.as_str().to_owned() />
                        <Field label="Premium" name="premium" errors required=true error_for="premium.amount" value=policy.premium.format_major() />
                        <Field label="Coverage limit" name="coverage_limit" errors required=true error_for="coverage_limit.amount" value=policy.coverage_limit.format_major() />
                        <Field label="Deductible" name="deductible" errors required=true error_for="deductible.amount" value=policy.deductible.format_major() />
                        <Field label="Jurisdiction" name="jurisdiction" errors value=policy.jurisdiction.clone().unwrap_or_default() hint=JURISDICTION_HINT />
                    </div>
                    <button type="submit" class="button" disabled=move || update.pending().get()>"Save quote"</button>
                </ActionForm>
            </details>
        </section>
    }
}

/// Issued from a customer's page.
#[component]
pub fn NewPolicyForm(customer_id: String) -> impl IntoView {
    let action = ServerAction::<CreatePolicy>::new();
    let errors = FormErrors::new(action.value());
    view! {
        <section class="card">
            <details class="form-panel" open=move || errors.server.get().is_some()>
                <summary>"New policy"</summary>
                <ActionForm action>
                    <FormAlert errors />
                    <input type="hidden" name="customer_id" value=customer_id />
                    <div class="form-grid">
                        <div class="field">
                            <label for="policy-line">"Line of business"</label>
                            <select id="policy-line" name="line">
                                {LineOfBusiness::ALL.into_iter().map(|l| view! { <option value=l.as_str()>{l.label()}</option> }).collect_view()}
                            </select>
                        </div>
                        <Field label="Starts on" name="starts_on" kind="date" errors required=true />
                        <Field label="Ends on" name="ends_on" kind="date" errors required=true />
                        <Field label="Currency" name="currency" errors required=true value="USD" />
                        <Field label="Premium" name="premium" errors required=true hint="e.g. 1,200.00" />
                        <Field label="Coverage limit" name="coverage_limit" errors required=true />
                        <Field label="Deductible" name="deductible" errors required=true value="0" />
                        <Field label="Jurisdiction" name="jurisdiction" errors hint=JURISDICTION_HINT />
                    </div>
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>"Issue quote"</button>
                </ActionForm>
            </details>
        </section>
    }
}
