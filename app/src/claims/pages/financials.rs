//! The claim page's Parties and Financials panels: who is on the claim,
//! the figures by bucket, the ledger, and the reserve, payment and
//! recovery forms. Every input's id is prefixed by its form, as the
//! decision form on the same page has its own `amount` and `reason`.

use leptos::prelude::*;
use shared::{
    authority::Authority,
    ledger::{
        CostCategory, CostType, EntryKind, Figures, PaymentMethod, PaymentType, RecoveryType,
    },
    party::PartyRole,
};

use crate::{
    claims::{
        financials::{
            ApprovalView, FinancialsView, LedgerLineView, RecordClaimPayment, RecordClaimRecovery,
            SetClaimReserve,
        },
        parties::{AddClaimParty, PartyView, RevealPartyField},
    },
    format::instant,
    forms::{FormAlert, FormErrors},
};

/// A labelled input whose id is `{form}-{name}`, with its rule's message.
#[component]
fn LedgerInput(
    form: &'static str,
    name: &'static str,
    label: &'static str,
    errors: FormErrors,
    #[prop(optional)] required: bool,
    #[prop(optional)] hint: Option<String>,
    #[prop(optional)] error_for: Option<&'static str>,
) -> impl IntoView {
    let id = format!("{form}-{name}");
    let error_id = format!("{id}-error");
    let message = errors.field(error_for.unwrap_or(name));
    view! {
        <div class="field" class:has-error=move || message.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input id=id name=name required=required autocomplete="off"
                aria-invalid=move || message.get().is_some().to_string()
                aria-describedby=error_id.clone() />
            {hint.map(|hint| view! { <p class="field-hint">{hint}</p> })}
            <p class="field-error" id=error_id>{move || message.get()}</p>
        </div>
    }
}

/// A labelled select whose id is `{form}-{name}`.
#[component]
fn LedgerChoice(
    form: &'static str,
    name: &'static str,
    label: &'static str,
    errors: FormErrors,
    choices: Vec<(String, String)>,
) -> impl IntoView {
    let id = format!("{form}-{name}");
    let error_id = format!("{id}-error");
    let message = errors.field(name);
    view! {
        <div class="field" class:has-error=move || message.get().is_some()>
            <label for=id.clone()>{label}</label>
            <select id=id name=name aria-describedby=error_id.clone()>
                {choices.into_iter().map(|(value, text)| view! { <option value=value>{text}</option> }).collect_view()}
            </select>
            <p class="field-error" id=error_id>{move || message.get()}</p>
        </div>
    }
}

fn choices<T: Copy>(
    all: &[T],
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|&item| (value(item).to_owned(), label(item).to_owned()))
        .collect()
}

/// The bucket pickers every financial form starts with.
fn bucket_fields(form: &'static str, errors: FormErrors) -> impl IntoView {
    view! {
        <LedgerChoice form name="cost_type" label="Cost type" errors
            choices=choices(&CostType::ALL, CostType::as_str, CostType::label) />
        <LedgerChoice form name="category" label="Category" errors
            choices=choices(&CostCategory::ALL, CostCategory::as_str, CostCategory::label) />
    }
}

#[component]
pub fn PartiesPanel(
    claim_id: String,
    version: String,
    parties: Vec<PartyView>,
    can_add: bool,
    /// Whether the caller may see a party's details in clear.
    can_reveal: bool,
    add: ServerAction<AddClaimParty>,
) -> impl IntoView {
    let errors = FormErrors::new(add.value());
    let reveal = (can_reveal && !parties.is_empty()).then(|| {
        let choices = parties.iter().map(|p| (p.id.clone(), p.label())).collect();
        view! { <RevealPartyForm claim_id=claim_id.clone() choices /> }
    });
    let rows = parties
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <td>{p.role.label()}</td>
                    <td>{p.name}</td>
                    <td>{p.email.unwrap_or_default()}</td>
                    <td>{p.phone.unwrap_or_default()}</td>
                    <td>{instant(p.created_at)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="parties-heading" id="parties">
            <h2 id="parties-heading">"Parties"</h2>
            <table class="data-table" id="claim-parties">
                <thead><tr><th>"Role"</th><th>"Name"</th><th>"Email"</th><th>"Phone"</th><th>"Added"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {reveal}
            {can_add.then(|| view! {
                <details class="form-panel">
                    <summary>"Add a party"</summary>
                    <ActionForm action=add attr:id="party-form">
                        <FormAlert errors />
                        <input type="hidden" name="id" value=claim_id />
                        <input type="hidden" name="version" value=version />
                        <div class="form-grid">
                            <LedgerChoice form="party" name="role" label="Role" errors
                                choices=choices(&PartyRole::ALL, PartyRole::as_str, PartyRole::label) />
                            <LedgerInput form="party" name="name" label="Name (person or organisation)" errors required=true />
                            <LedgerInput form="party" name="email" label="Email (optional)" errors />
                            <LedgerInput form="party" name="phone" label="Phone (optional)" errors />
                        </div>
                        <button type="submit" class="button" disabled=move || add.pending().get()>"Add party"</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

fn figure_cells(figures: Figures) -> impl IntoView {
    view! {
        <td class="numeric">{figures.outstanding.format()}</td>
        <td class="numeric">{figures.paid.format()}</td>
        <td class="numeric">{figures.recovered.format()}</td>
        <td class="numeric">{figures.incurred.format()}</td>
    }
}

fn line_details(line: &LedgerLineView, parties: &[PartyView]) -> String {
    let payee = line.payee_id.as_ref().map(|id| {
        parties
            .iter()
            .find(|p| &p.id == id)
            .map_or_else(|| "a former party".to_owned(), PartyView::label)
    });
    [
        payee.map(|p| format!("to {p}")),
        line.method.map(|m| m.label().to_owned()),
        line.payment_type.map(|t| t.label().to_owned()),
        line.recovery_type.map(|t| t.label().to_owned()),
        line.reference.clone().map(|r| format!("ref. {r}")),
        line.reason.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ")
}

fn hidden_fields(claim_id: &str, version: &str) -> impl IntoView + use<> {
    let (claim_id, version) = (claim_id.to_owned(), version.to_owned());
    view! {
        <input type="hidden" name="id" value=claim_id />
        <input type="hidden" name="version" value=version />
    }
}

/// The actions of the three financial forms.
#[derive(Clone, Copy)]
pub struct MoneyActions {
    pub reserve: ServerAction<SetClaimReserve>,
    pub pay: ServerAction<RecordClaimPayment>,
    pub recover: ServerAction<RecordClaimRecovery>,
}

#[component]
pub fn FinancialsPanel(
    claim_id: String,
    version: String,
    financials: FinancialsView,
    parties: Vec<PartyView>,
    approvals: Vec<ApprovalView>,
    /// The caller's own limits, when they may change the figures.
    authority: Option<Authority>,
    /// Whether the caller may change the figures (and the claim is open).
    can_change: bool,
    actions: MoneyActions,
) -> impl IntoView {
    let FinancialsView {
        currency,
        totals,
        lines,
    } = financials;
    let buckets = totals
        .buckets
        .iter()
        .map(
            |b| view! { <tr><th scope="row">{b.bucket.label()}</th>{figure_cells(b.figures)}</tr> },
        )
        .collect_view();
    let ledger = lines
        .iter()
        .map(|line| {
            let sign = if line.kind == EntryKind::Reserve {
                "numeric"
            } else {
                "numeric strong"
            };
            view! {
                <tr>
                    <td>{instant(line.created_at)}</td>
                    <td>{line.kind.label()}</td>
                    <td>{line.bucket.label()}</td>
                    <td class=sign>{line.amount.format()}</td>
                    <td>{line_details(line, &parties)}</td>
                    <td>{line.recorded_by.clone()}{line.approved_by.clone().map(|by| format!(", approved by {by}"))}</td>
                </tr>
            }
        })
        .collect_view();
    let hint = format!("In {currency}, the policy's currency");
    let payees = parties
        .iter()
        .map(|p| (p.id.clone(), p.label()))
        .collect::<Vec<_>>();
    let forms = can_change.then(|| {
        let reserve_errors = FormErrors::new(actions.reserve.value());
        let pay_errors = FormErrors::new(actions.pay.value());
        let recover_errors = FormErrors::new(actions.recover.value());
        let [h_reserve, h_pay, h_recover] = [0, 1, 2].map(|_| hidden_fields(&claim_id, &version));
        let (reserve_hint, pay_hint, recover_hint) = (hint.clone(), hint.clone(), hint);
        let no_payees = payees.is_empty();
        let authority = authority.map(|a| {
            view! {
                <p class="field-hint" id="my-authority">
                    {format!("Your authority in {}: {}. Above it, the change waits for a supervisor's approval.", a.currency, a.describe())}
                </p>
            }
        });
        view! {
            {authority}
            <details class="form-panel">
                <summary>"Set a reserve"</summary>
                <ActionForm action=actions.reserve attr:id="reserve-form">
                    <FormAlert errors=reserve_errors />
                    {h_reserve}
                    <div class="form-grid">
                        {bucket_fields("reserve", reserve_errors)}
                        <LedgerInput form="reserve" name="amount" label="New outstanding reserve" errors=reserve_errors required=true hint=reserve_hint />
                        <LedgerInput form="reserve" name="reason" label="Reason" errors=reserve_errors required=true />
                    </div>
                    <button type="submit" class="button">"Set reserve"</button>
                </ActionForm>
            </details>
            <details class="form-panel">
                <summary>"Record a payment"</summary>
                {no_payees.then(|| view! { <p class="field-hint">"Add the payee under Parties first."</p> })}
                <ActionForm action=actions.pay attr:id="payment-form">
                    <FormAlert errors=pay_errors />
                    {h_pay}
                    <div class="form-grid">
                        {bucket_fields("payment", pay_errors)}
                        <LedgerChoice form="payment" name="payee_id" label="Payee" errors=pay_errors choices=payees.clone() />
                        <LedgerChoice form="payment" name="method" label="Method" errors=pay_errors
                            choices=choices(&PaymentMethod::ALL, PaymentMethod::as_str, PaymentMethod::label) />
                        <LedgerChoice form="payment" name="payment_type" label="Partial or final" errors=pay_errors
                            choices=choices(&PaymentType::ALL, PaymentType::as_str, PaymentType::label) />
                        <LedgerInput form="payment" name="amount" label="Amount" errors=pay_errors required=true hint=pay_hint />
                        <LedgerInput form="payment" name="reference" label="Reference (optional)" errors=pay_errors />
                    </div>
                    <p class="field-hint">"A payment comes out of its bucket's reserve; a final one releases what is left of it."</p>
                    <button type="submit" class="button primary" disabled=no_payees>"Record payment"</button>
                </ActionForm>
            </details>
            <details class="form-panel">
                <summary>"Record a recovery"</summary>
                <ActionForm action=actions.recover attr:id="recovery-form">
                    <FormAlert errors=recover_errors />
                    {h_recover}
                    <div class="form-grid">
                        {bucket_fields("recovery", recover_errors)}
                        <LedgerChoice form="recovery" name="recovery_type" label="Kind" errors=recover_errors
                            choices=choices(&RecoveryType::ALL, RecoveryType::as_str, RecoveryType::label) />
                        <LedgerInput form="recovery" name="amount" label="Amount" errors=recover_errors required=true hint=recover_hint />
                        <LedgerInput form="recovery" name="reference" label="From / reference (optional)" errors=recover_errors />
                    </div>
                    <button type="submit" class="button">"Record recovery"</button>
                </ActionForm>
            </details>
        }
    });
    view! {
        <section class="card" aria-labelledby="financials-heading" id="claim-financials">
            <h2 id="financials-heading">"Financials"</h2>
            <div class="table-scroll">
                <table class="data-table" id="financials-totals">
                    <thead><tr><th>"Bucket"</th><th class="numeric">"Outstanding"</th><th class="numeric">"Paid"</th><th class="numeric">"Recovered"</th><th class="numeric">"Incurred"</th></tr></thead>
                    <tbody>{buckets}</tbody>
                    <tfoot>
                        <tr><th scope="row">"Claim cost"</th>{figure_cells(totals.claim_cost)}</tr>
                        <tr><th scope="row">"Expense"</th>{figure_cells(totals.expense)}</tr>
                        <tr id="financials-total"><th scope="row">"Total"</th>{figure_cells(totals.total)}</tr>
                    </tfoot>
                </table>
            </div>
            {forms}
            <ApprovalList approvals />
            <h3>"Ledger"</h3>
            <div class="table-scroll">
                <table class="data-table" id="claim-ledger">
                    <thead><tr><th>"When"</th><th>"Line"</th><th>"Bucket"</th><th class="numeric">"Amount"</th><th>"Details"</th><th>"By"</th></tr></thead>
                    <tbody>{ledger}</tbody>
                </table>
            </div>
        </section>
    }
}

/// The claim's requests over authority, with their outcome.
#[component]
fn ApprovalList(approvals: Vec<ApprovalView>) -> impl IntoView {
    if approvals.is_empty() {
        return ().into_any();
    }
    let rows = approvals
        .into_iter()
        .map(|a| {
            let outcome = match (a.status.as_str(), a.decided_by, a.decision_reason) {
                ("pending", ..) => "Awaiting approval".to_owned(),
                ("approved", by, _) => format!("Approved by {}", by.unwrap_or_default()),
                (_, by, reason) => format!(
                    "Rejected by {}: {}",
                    by.unwrap_or_default(),
                    reason.unwrap_or_default()
                ),
            };
            view! {
                <tr>
                    <td>{instant(a.requested_at)}</td>
                    <td>{a.summary}</td>
                    <td class="numeric">{a.amount.format()}</td>
                    <td>{a.requested_by}</td>
                    <td>{outcome}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h3>"Approvals"</h3>
        <p class="muted">"Changes above their requester's authority. "<a href="/approvals">"The approvals queue"</a></p>
        <div class="table-scroll">
            <table class="data-table" id="claim-approvals">
                <thead><tr><th>"Requested"</th><th>"Request"</th><th class="numeric">"Amount"</th><th>"By"</th><th>"Outcome"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Shows one party field in clear; the reason goes to the audit trail.
#[component]
fn RevealPartyForm(claim_id: String, choices: Vec<(String, String)>) -> impl IntoView {
    let action = ServerAction::<RevealPartyField>::new();
    let errors = FormErrors::new(action.value());
    let revealed = move || action.value().get().and_then(Result::ok);
    view! {
        <details class="form-panel">
            <summary>"Reveal a party's details"</summary>
            <p class="muted">"Revealing is recorded in the audit trail with your reason."</p>
            {move || revealed().map(|value| view! {
                <p class="secret-box" role="status" id="revealed-party">{value.unwrap_or_else(|| "(not given)".into())}</p>
            })}
            <ActionForm action attr:id="reveal-party-form">
                <FormAlert errors />
                <input type="hidden" name="id" value=claim_id />
                <div class="form-grid">
                    <LedgerChoice form="reveal" name="party_id" label="Party" errors choices />
                    <LedgerChoice form="reveal" name="field" label="Field" errors choices=vec![
                        ("name".to_owned(), "Name".to_owned()),
                        ("email".to_owned(), "Email".to_owned()),
                        ("phone".to_owned(), "Phone".to_owned()),
                    ] />
                    <LedgerInput form="reveal" name="reason" label="Reason" errors required=true />
                </div>
                <button type="submit" class="button">"Reveal"</button>
            </ActionForm>
        </details>
    }
}
