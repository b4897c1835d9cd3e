//! The new-claim form: what it posts and how that becomes the API's input.

use leptos::prelude::*;
use shared::{
    FieldErrors,
    claim::{ClaimLineInput, ClaimantInput, NewClaim, NewClaimInput},
    money::{Currency, Money, MoneyInput},
};

use crate::claims::CreateClaim;
use crate::forms::{Field, FormAlert, FormErrors};

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
pub(super) fn NewClaimForm(policy_number: String) -> impl IntoView {
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
