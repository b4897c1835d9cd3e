//! The claim list (filters, sort, paging, CSV), the review queue, the claim
//! page and the new-claim form.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::{use_params_map, use_query_map},
};
use shared::{
    FieldErrors,
    attachment::{AttachmentKind, human_size},
    auth::Permission,
    claim::{
        ClaimLineInput, ClaimStatus, ClaimantInput, DecisionKind, NewClaim, NewClaimInput, Priority,
    },
    confirm::{self, Irreversible},
    money::{Currency, Money, MoneyInput},
};

use super::{
    AddClaimNote, AssignClaimToMe, ChangeClaimStatus, ClaimFilters, ClaimSummary, ClaimView,
    CreateClaim, DecideClaim, RevealClaimantField, attachments::AttachmentView, get_claim,
    list_claims,
};
use crate::{
    auth::CurrentUser,
    encoding::urlencode,
    error::ErrorPanel,
    format::instant,
    forms::{Field, FormAlert, FormErrors, NotPermitted},
    workflow::pages::ExecutionPanel,
};

/// Rows of lines on the new-claim form (more through the API).
pub const FORM_LINES: usize = 3;

/// The new-claim form as posted: text fields, amounts in major units.
#[derive(Debug, Clone, Default)]
pub struct ClaimForm {
    pub policy_number: String,
    pub incident_date: String,
    pub description: String,
    pub currency: String,
    pub claimant_name: Option<String>,
    pub claimant_email: Option<String>,
    pub claimant_phone: Option<String>,
    pub line_code: Vec<String>,
    pub line_description: Vec<String>,
    pub line_amount: Vec<String>,
}

impl ClaimForm {
    /// The API's input: blank rows dropped, amounts in minor units. Amount
    /// errors name the row as the form shows it (`lines[2].amount.amount`).
    pub fn into_input(self) -> Result<NewClaimInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let currency = errors.check(Currency::parse("currency", &self.currency));
        let blank = |v: Option<&String>| v.is_none_or(|v| v.trim().is_empty());
        let mut lines = Vec::new();
        let rows = self
            .line_code
            .len()
            .max(self.line_amount.len())
            .max(self.line_description.len());
        for row in 0..rows {
            let (code, description, amount) = (
                self.line_code.get(row),
                self.line_description.get(row),
                self.line_amount.get(row),
            );
            if blank(code) && blank(description) && blank(amount) {
                continue;
            }
            let minor = currency.and_then(|currency| {
                errors.check(Money::parse_major(
                    &format!("lines[{row}].amount.amount"),
                    amount.map_or("", String::as_str),
                    currency,
                    false,
                ))
            });
            lines.push(ClaimLineInput {
                code: code.cloned().unwrap_or_default(),
                description: description.cloned().filter(|d| !d.trim().is_empty()),
                amount: MoneyInput {
                    amount: minor.map_or(0, |m| m.amount),
                    currency: self.currency.trim().to_uppercase(),
                },
            });
        }
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let claimant = given(&self.claimant_name)
            .or_else(|| given(&self.claimant_email))
            .or_else(|| given(&self.claimant_phone))
            .map(|_| ClaimantInput {
                name: self.claimant_name.clone().unwrap_or_default(),
                email: given(&self.claimant_email),
                phone: given(&self.claimant_phone),
            });
        errors.into_result()?;
        Ok(NewClaimInput {
            policy_number: self.policy_number,
            incident_date: self.incident_date,
            description: self.description,
            claimant,
            lines,
        })
    }
}

/// The filters in the current URL.
fn filters_from_query() -> Memo<ClaimFilters> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| {
            let get = |name: &str| q.get(name).filter(|v| !v.is_empty());
            ClaimFilters {
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
                            {[("newest", "Newest first"), ("oldest", "Oldest first"), ("priority", "Priority"), ("amount", "Largest amount")].into_iter().map(|(value, label)| view! {
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
                        Ok(page) => view! { <ClaimTable page query=filters.with_untracked(query_string) queue=false /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        {move || view! { <NewClaimForm policy_number=preset_policy() /> }}
    }
}

/// Claims awaiting review, most urgent first, then oldest.
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
            <p class="page-lede">"Triaged claims waiting for an adjuster, most urgent first, then oldest. Review targets: urgent 24 h, standard 72 h, low 7 days from triage."</p>
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
            {(!can_assign).then(|| view! { <NotPermitted permission=Permission::ClaimsDecide id="queue-role-note" /> })}
            {move || assign.value().get().and_then(Result::err).map(|error| view! { <p class="form-alert" role="alert">{error.to_string()}</p> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match claims.await {
                        Ok(page) => view! { <ClaimTable page query=filters.with_untracked(query_string) queue=true assign=take /> }.into_any(),
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
    query: String,
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
    let (current, has_next, total, pages) = (
        page.page,
        page.has_next(),
        page.total_label(),
        page.pages_label(),
    );
    let link = move |page: u32| {
        if query.is_empty() {
            format!("?page={page}")
        } else {
            format!("?{query}&page={page}")
        }
    };
    view! {
        <table class="data-table" id=if queue { "queue-table" } else { "claim-table" }>
            <thead><tr>
                <th>"Number"</th><th>"Policy"</th><th>"Status"</th><th>"Priority"</th>
                <th>"Incident"</th><th class="numeric">"Claimed"</th><th>"Flags"</th><th>"Assignee"</th>
                {queue.then(|| view! { <th>"Review due"</th> })}
                {assign.is_some().then(|| view! { <th><span class="visually-hidden">"Take"</span></th> })}
            </tr></thead>
            <tbody>
                {page.items.into_iter().map(|c| {
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
                        <tr class:sla-breached=c.sla_breached>
                            <td><A href=format!("/claims/{}", c.id)>{c.claim_number.clone()}</A></td>
                            <td><A href=format!("/policies/{}", c.policy_id)>{c.policy_number.clone()}</A></td>
                            <td><span class=format!("badge status-{}", c.status.as_str())>{c.status.label()}</span></td>
                            <td><PriorityBadge priority=c.priority /></td>
                            <td>{c.incident_date.clone()}</td>
                            <td class="numeric">{c.total_claimed.format()}</td>
                            <td>{flag_badge}</td>
                            <td>{c.assignee_name.clone().unwrap_or_else(|| "—".into())}</td>
                            {queue.then(|| view! {
                                <td>{c.review_due_at.map(instant).unwrap_or_default()}{c.sla_breached.then(|| view! { <span class="badge breached">" overdue"</span> })}</td>
                            })}
                            {assign.is_some().then(|| view! { <td>{take}</td> })}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label="Pages">
            <span>{format!("{total} claims · page {current} of {pages}")}</span>
            {(current > 1).then(|| view! { <a href=link(current - 1)>"Previous"</a> })}
            {has_next.then(|| view! { <a href=link(current + 1)>"Next"</a> })}
        </nav>
    }
    .into_any()
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

/// Field names of the form's line rows, which `FormErrors::field` needs as
/// `'static` strings.
const LINE_FIELDS: [(&str, &str, &str, &str, &str, &str); FORM_LINES] = [
    (
        "line_code[0]",
        "line_description[0]",
        "line_amount[0]",
        "lines[0].code",
        "lines[0].description",
        "lines[0].amount.amount",
    ),
    (
        "line_code[1]",
        "line_description[1]",
        "line_amount[1]",
        "lines[1].code",
        "lines[1].description",
        "lines[1].amount.amount",
    ),
    (
        "line_code[2]",
        "line_description[2]",
        "line_amount[2]",
        "lines[2].code",
        "lines[2].description",
        "lines[2].amount.amount",
    ),
];

#[component]
fn NewClaimForm(policy_number: String) -> impl IntoView {
    let action = ServerAction::<CreateClaim>::new();
    let errors = FormErrors::new(action.value());
    let open = !policy_number.is_empty();
    let check = move |ev: leptos::ev::SubmitEvent| {
        let Ok(form) = CreateClaim::from_event(&ev) else {
            return;
        };
        let found = ClaimForm {
            policy_number: form.policy_number,
            incident_date: form.incident_date,
            description: form.description,
            currency: form.currency,
            claimant_name: form.claimant_name,
            claimant_email: form.claimant_email,
            claimant_phone: form.claimant_phone,
            line_code: form.line_code,
            line_description: form.line_description,
            line_amount: form.line_amount,
        }
        .into_input()
        // The browser does not know "today" the way the server does (time
        // zones); a future date is the server's to refuse.
        .and_then(|input| NewClaim::parse(&input, far_future()).map(|_| ()))
        .err()
        .unwrap_or_default();
        if !found.is_empty() {
            ev.prevent_default();
        }
        errors.local.set(found);
    };
    let line_rows = LINE_FIELDS
        .into_iter()
        .enumerate()
        .map(|(i, (code, description, amount, code_error, description_error, amount_error))| {
            let message = |field: &'static str| errors.field(field);
            let (code_msg, description_msg, amount_msg) =
                (message(code_error), message(description_error), message(amount_error));
            let any_error = move || {
                code_msg.get().or_else(|| description_msg.get()).or_else(|| amount_msg.get())
            };
            view! {
                <tr class:has-error=move || any_error().is_some()>
                    <td><input name=code aria-label=format!("Line {} code", i + 1) required=i == 0 /></td>
                    <td><input name=description aria-label=format!("Line {} description", i + 1) /></td>
                    <td><input name=amount aria-label=format!("Line {} amount", i + 1) inputmode="decimal" required=i == 0 /></td>
                    <td class="field-error">{any_error}</td>
                </tr>
            }
        })
        .collect_view();
    let lines_error = errors.field("lines");
    view! {
        <section class="card">
            <details class="form-panel" open=move || open || errors.server.get().is_some()>
                <summary>"New claim"</summary>
                <ActionForm action on:submit:capture=check>
                    <FormAlert errors />
                    <div class="form-grid">
                        <Field label="Policy number" name="policy_number" errors required=true value=policy_number hint="e.g. POL-2026-000001" />
                        <Field label="Incident date" name="incident_date" kind="date" errors required=true />
                        <Field label="Currency" name="currency" errors required=true value="USD" />
                        <Field label="Claimant name (if not the policyholder)" name="claimant_name" error_for="claimant.name" errors />
                        <Field label="Claimant email" name="claimant_email" error_for="claimant.email" kind="email" errors />
                        <Field label="Claimant phone" name="claimant_phone" error_for="claimant.phone" kind="tel" errors />
                    </div>
                    <div class="field">
                        <label for="claim-description">"What happened"</label>
                        <textarea id="claim-description" name="description" rows="3" required=true></textarea>
                        <p class="field-error">{move || errors.field("description").get()}</p>
                    </div>
                    <table class="data-table lines-table">
                        <caption>"Claimed items (blank rows are ignored)"</caption>
                        <thead><tr><th>"Code"</th><th>"Description"</th><th>"Amount"</th><th></th></tr></thead>
                        <tbody>{line_rows}</tbody>
                    </table>
                    <p class="field-error">{move || lines_error.get()}</p>
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>"Submit claim"</button>
                </ActionForm>
            </details>
        </section>
    }
}

fn far_future() -> shared::dates::Date {
    shared::dates::Date::from_ymd(9999, 12, 31).unwrap_or_else(|| unreachable!("a valid date"))
}

#[component]
pub fn ClaimPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let change = ServerAction::<ChangeClaimStatus>::new();
    let decide = ServerAction::<DecideClaim>::new();
    let assign = ServerAction::<AssignClaimToMe>::new();
    let note = ServerAction::<AddClaimNote>::new();
    let retry = ServerAction::<crate::workflow::RetryJob>::new();
    let claim = Resource::new(
        move || {
            (
                id(),
                change.version().get(),
                decide.version().get(),
                assign.version().get(),
                note.version().get(),
                retry.version().get(),
            )
        },
        |(id, ..)| get_claim(id),
    );
    let user = use_context::<Option<CurrentUser>>().flatten();
    let can = move |permission| user.as_ref().is_some_and(|u| u.can(permission));
    let rights = Rights {
        write: can(Permission::ClaimsWrite),
        decide: can(Permission::ClaimsDecide),
        operate: can(Permission::OperationsManage),
        reveal: can(Permission::PiiReveal),
    };
    let error = move || {
        change
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| assign.value().get().and_then(Result::err))
            .or_else(|| retry.value().get().and_then(Result::err))
    };

    view! {
        {move || error().map(|error| view! { <p class="form-alert" role="alert" id="claim-error">{error.to_string()}</p> })}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match claim.await {
                    Ok(claim) => view! { <ClaimDetail claim rights change decide assign note retry /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy)]
struct Rights {
    write: bool,
    decide: bool,
    operate: bool,
    reveal: bool,
}

#[component]
fn ClaimDetail(
    claim: ClaimView,
    rights: Rights,
    change: ServerAction<ChangeClaimStatus>,
    decide: ServerAction<DecideClaim>,
    assign: ServerAction<AssignClaimToMe>,
    note: ServerAction<AddClaimNote>,
    retry: ServerAction<crate::workflow::RetryJob>,
) -> impl IntoView {
    let ClaimView {
        summary: s,
        description,
        coverage,
        coverage_note,
        claimant,
        // The claimant's fields themselves read `unreadable`.
        unreadable_fields: _,
        lines,
        coverage_limit,
        deductible,
        max_payable,
        notes,
        related,
        attachments,
        timeline,
        executions,
        available_actions,
        blocked_actions,
    } = claim;
    let (id, version) = (s.id.clone(), s.version.to_string());
    let status = s.status;
    let actions = rights.write.then(|| {
        let buttons = available_actions
            .into_iter()
            .map(|action| {
                let (id, version) = (id.clone(), version.clone());
                let needs_reason = action.requires_reason();
                view! {
                    <ActionForm action=change attr:class="inline-form">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="version" value=version />
                        <input type="hidden" name="action" value=action.as_str() />
                        {needs_reason.then(|| view! { <input name="reason" aria-label="Reason" placeholder="Reason" required=true /> })}
                        <button type="submit" class="button">{action.label()}</button>
                    </ActionForm>
                }
            })
            .collect_view();
        let take = (rights.decide && s.assignee_id.is_none() && matches!(status, ClaimStatus::Triaged | ClaimStatus::InReview)).then(|| {
            let (id, version) = (id.clone(), version.clone());
            view! {
                <ActionForm action=assign attr:class="inline-form">
                    <input type="hidden" name="id" value=id />
                    <input type="hidden" name="version" value=version />
                    <button type="submit" class="button primary">"Assign to me"</button>
                </ActionForm>
            }
        });
        let blocked = blocked_actions
            .into_iter()
            .map(|b| view! { <li><strong>{b.action.label()}</strong>": "{b.reason}</li> })
            .collect_view();
        view! {
            <section class="card" aria-labelledby="actions-heading">
                <h2 id="actions-heading">"Actions"</h2>
                <div class="action-row">{take}{buttons}</div>
                <details><summary>"Why other actions are unavailable"</summary><ul class="blocked-list">{blocked}</ul></details>
            </section>
        }
    });
    let decision = (rights.decide && status == ClaimStatus::InReview).then(|| {
        view! { <DecisionForm id=id.clone() version=version.clone() max_payable decide /> }
    });
    let has_flags = !s.fraud_flags.is_empty();
    let flags = s
        .fraud_flags
        .clone()
        .into_iter()
        .map(|f| view! { <li><span class="badge flag">{f.code.label()}</span>" "{f.reason}</li> })
        .collect_view();
    let lines = lines
        .into_iter()
        .map(|l| view! {
            <tr><td>{l.code}</td><td>{l.description.unwrap_or_default()}</td><td class="numeric">{l.amount.format()}</td></tr>
        })
        .collect_view();
    let notes = notes
        .into_iter()
        .map(|n| view! { <li><p>{n.body}</p><p class="muted">{format!("{} · {}", n.author, instant(n.created_at))}</p></li> })
        .collect_view();
    let timeline = timeline
        .into_iter()
        .map(|t| {
            view! {
                <li>
                    <span class="timeline-when">{instant(t.occurred_at)}</span>" "
                    <strong>{t.action.trim_start_matches("claim.").replace('_', " ")}</strong>
                    {format!(" by {}", t.actor)}
                    {t.detail.map(|d| view! { <span class="muted">{format!(" — {d}")}</span> })}
                </li>
            }
        })
        .collect_view();
    let note_errors = FormErrors::new(note.value());
    let reveal = (rights.reveal
        && claimant
            .as_ref()
            .is_some_and(|c| c.name != shared::customer::ERASED))
    .then(|| view! { <RevealClaimantForm id=id.clone() /> });
    view! {
        <Title text=s.claim_number.clone() />
        <header class="page-header">
            <h1>{format!("Claim {}", s.claim_number)}</h1>
            <p class="page-lede">
                <span class=format!("badge status-{}", status.as_str()) id="claim-status">{status.label()}</span>" "
                <PriorityBadge priority=s.priority />
                {" · policy "}<A href=format!("/policies/{}", s.policy_id)>{s.policy_number.clone()}</A>
                {" · customer "}<A href=format!("/customers/{}", s.customer_id)>{s.customer_number.clone()}</A>
            </p>
        </header>
        <section class="card">
            <dl class="facts" id="claim-facts">
                <dt>"Incident date"</dt><dd>{s.incident_date.clone()}</dd>
                <dt>"Claimed"</dt><dd id="claim-total">{s.total_claimed.format()}</dd>
                <dt>"Approved"</dt><dd id="claim-approved">{s.approved_amount.map(|m| m.format()).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Paid"</dt><dd>{s.paid_amount.map(|m| m.format()).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Coverage limit / deductible"</dt><dd>{format!("{} / {}", coverage_limit.format(), deductible.format())}</dd>
                <dt>"Coverage"</dt><dd id="claim-coverage">{match (coverage.as_deref(), coverage_note) {
                    (Some("covered"), _) => "Covered on the incident date".to_owned(),
                    (Some(_), Some(note)) => format!("Not covered: {note}"),
                    _ => "Not checked yet".to_owned(),
                }}</dd>
                <dt>"Assignee"</dt><dd id="claim-assignee">{s.assignee_name.clone().unwrap_or_else(|| "Unassigned".into())}</dd>
                <dt>"Received"</dt><dd>{format!("{} via {}", instant(s.created_at), s.source)}</dd>
                {claimant.map(|c| view! {
                    <dt>"Claimant"</dt><dd>{[Some(c.name), c.email, c.phone].into_iter().flatten().collect::<Vec<_>>().join(" · ")}</dd>
                })}
            </dl>
            <p class="claim-description">{description}</p>
            {has_flags.then(|| view! { <h2>"Flags"</h2><ul class="flag-list" id="claim-flags">{flags}</ul> })}
            <table class="data-table" id="claim-lines">
                <thead><tr><th>"Code"</th><th>"Description"</th><th class="numeric">"Amount"</th></tr></thead>
                <tbody>{lines}</tbody>
                <tfoot><tr><th colspan="2">"Total"</th><th class="numeric">{s.total_claimed.format()}</th></tr></tfoot>
            </table>
        </section>
        {(!related.is_empty()).then(|| view! {
            <section class="card" aria-labelledby="duplicates-heading" id="claim-duplicates">
                <h2 id="duplicates-heading">"Possible duplicates"</h2>
                <ul>{related.into_iter().map(|r| view! {
                    <li><A href=format!("/claims/{}", r.id)>{r.claim_number}</A>" · "{r.status.label()}</li>
                }).collect_view()}</ul>
            </section>
        })}
        <AttachmentsPanel claim_id=id.clone() attachments can_upload=rights.write && status != ClaimStatus::Closed />
        {reveal}
        {actions}
        {decision}
        <section class="card" aria-labelledby="notes-heading">
            <h2 id="notes-heading">"Notes"</h2>
            {rights.write.then(|| view! {
                <ActionForm action=note>
                    <FormAlert errors=note_errors />
                    <input type="hidden" name="id" value=id.clone() />
                    <label for="note-body" class="field-label">"Add a note"</label>
                    <textarea id="note-body" name="body" rows="2" required=true></textarea>
                    <button type="submit" class="button">"Add note"</button>
                </ActionForm>
            })}
            <ul class="note-list" id="claim-notes">{notes}</ul>
        </section>
        <ExecutionPanel executions can_retry=rights.operate retry />
        <section class="card" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <ol class="timeline" id="claim-timeline">{timeline}</ol>
        </section>
    }
}

/// The claim's files, with an upload form that works without JavaScript
/// (a plain multipart post to `/claims/{id}/attachments`, which redirects
/// back here, with the refusal in `?attachment_error=` when there is one).
#[component]
fn AttachmentsPanel(
    claim_id: String,
    attachments: Vec<AttachmentView>,
    can_upload: bool,
) -> impl IntoView {
    let query = use_query_map();
    let refusal = move || query.with(|q| q.get("attachment_error"));
    let rows = attachments
        .into_iter()
        .map(|a| {
            let href = format!("/claims/{}/attachments/{}", a.claim_id, a.id);
            view! {
                <tr>
                    <td><a href=href rel="external" download=a.filename.clone()>{a.filename.clone()}</a></td>
                    <td>{a.kind.label()}</td>
                    <td class="numeric">{human_size(u64::try_from(a.size_bytes).unwrap_or_default())}</td>
                    <td><code title=a.sha256.clone()>{a.sha256.chars().take(12).collect::<String>()}</code></td>
                    <td>{format!("{} · {}", a.uploaded_by, instant(a.created_at))}</td>
                </tr>
            }
        })
        .collect_view();
    let accepted = AttachmentKind::ALL.map(|k| k.mime()).join(",");
    view! {
        <section class="card" aria-labelledby="attachments-heading" id="attachments">
            <h2 id="attachments-heading">"Attachments"</h2>
            {move || refusal().map(|message| view! { <p class="form-alert" role="alert" id="attachment-error">{message}</p> })}
            <table class="data-table" id="claim-attachments">
                <thead><tr><th>"File"</th><th>"Type"</th><th class="numeric">"Size"</th><th>"SHA-256"</th><th>"Added"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {can_upload.then(|| view! {
                <form method="post" enctype="multipart/form-data" action=format!("/claims/{claim_id}/attachments") class="inline-form" id="attachment-form">
                    <label for="attachment-file" class="field-label">"Add a file"</label>
                    <input type="file" id="attachment-file" name="file" accept=accepted required=true />
                    <button type="submit" class="button">"Upload"</button>
                    <p class="field-hint">"PDF, PNG, JPEG, WebP or HEIC; the type is checked from the content."</p>
                </form>
            })}
        </section>
    }
}

#[component]
fn DecisionForm(
    id: String,
    version: String,
    max_payable: Money,
    decide: ServerAction<DecideClaim>,
) -> impl IntoView {
    let errors = FormErrors::new(decide.value());
    // A denial is final for the claimant: the form carries an explicit
    // confirmation, which the server requires with `kind=deny`.
    let denial = Irreversible::DenyClaim;
    let confirm_error = errors.field(confirm::FIELD);
    view! {
        <section class="card" aria-labelledby="decision-heading">
            <h2 id="decision-heading">"Decision"</h2>
            <ActionForm action=decide attr:id="decision-form">
                <FormAlert errors />
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="version" value=version />
                <fieldset class="decision-kinds">
                    <legend>"Outcome"</legend>
                    {DecisionKind::ALL.into_iter().enumerate().map(|(i, kind)| view! {
                        <label><input type="radio" name="kind" value=kind.as_str() checked=i == 0 />" "{kind.label()}</label>
                    }).collect_view()}
                </fieldset>
                <div class="form-grid">
                    <Field label="Approved amount" name="amount" error_for="amount.amount" errors hint="Up to the coverage limit less the deductible" />
                    <Field label="Reason (deny / request information)" name="reason" errors />
                    <div class="field">
                        <label for="decision-priority">"Override priority"</label>
                        <select id="decision-priority" name="priority">
                            <option value="">"Keep"</option>
                            {Priority::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <Field label="Flag for fraud review (reason)" name="flag" errors />
                </div>
                <p class="field-hint">{format!("At most {} can be approved on this policy.", max_payable.format())}</p>
                <div class="field" class:has-error=move || confirm_error.get().is_some()>
                    <label>
                        <input type="checkbox" name=confirm::FIELD value=denial.word() id="decision-confirm"
                            aria-describedby="decision-confirm-error" />
                        " Confirm a denial: "{denial.consequence()}
                    </label>
                    <p class="field-hint">"Needed only to deny; a denial without it is sent back to you."</p>
                    <p class="field-error" id="decision-confirm-error">{move || confirm_error.get()}</p>
                </div>
                <button type="submit" class="button primary" disabled=move || decide.pending().get()>"Record decision"</button>
            </ActionForm>
        </section>
    }
}

/// Shows one claimant field in clear; the reason goes to the audit trail.
#[component]
fn RevealClaimantForm(id: String) -> impl IntoView {
    let action = ServerAction::<RevealClaimantField>::new();
    let errors = FormErrors::new(action.value());
    let revealed = move || action.value().get().and_then(Result::ok);
    view! {
        <section class="card">
            <details class="form-panel">
                <summary>"Reveal the claimant's contact details"</summary>
                <p class="muted">"Revealing is recorded in the audit trail with your reason."</p>
                {move || revealed().map(|value| view! {
                    <p class="secret-box" role="status" id="revealed-claimant">{value.unwrap_or_else(|| "(not given)".into())}</p>
                })}
                <ActionForm action>
                    <FormAlert errors />
                    <input type="hidden" name="id" value=id />
                    <label for="reveal-claimant-field">"Field"</label>
                    <select id="reveal-claimant-field" name="field">
                        <option value="claimant_name">"Name"</option>
                        <option value="claimant_email">"Email"</option>
                        <option value="claimant_phone">"Phone"</option>
                    </select>
                    // Not `Field`: the decision form on this page has its own `reason`.
                    <label for="reveal-claimant-reason">"Reason"</label>
                    <input id="reveal-claimant-reason" name="reason" required=true autocomplete="off" />
                    <p class="field-error">{move || errors.field("reason").get()}</p>
                    <button type="submit" class="button">"Reveal"</button>
                </ActionForm>
            </details>
        </section>
    }
}
