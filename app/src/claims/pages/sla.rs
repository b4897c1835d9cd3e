//! `/sla`: the SLA rules, the acknowledge and decide deadlines each
//! jurisdiction and line gets, for everyone who works claims; operators
//! (administrators) add, change and delete them.

use leptos::prelude::*;
use leptos_meta::Title;
use shared::{
    auth::Permission,
    policy::LineOfBusiness,
    sla::{SlaRule, hours_in_words},
};

use crate::{
    auth::CurrentUser,
    claims::sla::{DeleteSlaRule, SaveSlaRule, list_sla_rules},
    error::ErrorPanel,
    forms::{Field, FormAlert, FormErrors},
};

#[component]
pub fn SlaPage() -> impl IntoView {
    let save = ServerAction::<SaveSlaRule>::new();
    let delete = ServerAction::<DeleteSlaRule>::new();
    let errors = FormErrors::new(save.value());
    let can_edit = use_context::<Option<CurrentUser>>()
        .flatten()
        .is_some_and(|u| u.can(Permission::OperationsManage));
    let rules = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_sla_rules(),
    );
    let delete_failure = move || {
        delete.value().get().and_then(Result::err).map(
            |error| view! { <p class="form-alert" role="alert" id="sla-delete-error">{error.to_string()}</p> },
        )
    };
    view! {
        <Title text="Service levels" />
        <header class="page-header">
            <h1>"Service levels"</h1>
            <p class="page-lede">"How long a claim may wait to be acknowledged (an adjuster takes it, asks for information or decides) and to be decided (approved or denied), counted from when it was reported. A claim gets the most specific rule for its policy's jurisdiction and line when it is filed and keeps it; a change applies to claims filed from then on."</p>
        </header>
        <section class="card" aria-labelledby="sla-heading">
            <h2 id="sla-heading">"Rules"</h2>
            {delete_failure}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match rules.await {
                        Ok(rows) => view! { <RuleTable rows can_edit delete /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
            {can_edit.then(|| view! {
                <details class="form-panel" open=true>
                    <summary>"Add or change a rule"</summary>
                    <ActionForm action=save attr:id="sla-form">
                        <FormAlert errors />
                        <div class="form-grid">
                            <Field label="Jurisdiction" name="jurisdiction" errors hint="ISO 3166: US-FL, GB; empty for any" />
                            <div class="field">
                                <label for="field-line">"Line"</label>
                                <select id="field-line" name="line">
                                    <option value="*">"Any line"</option>
                                    {LineOfBusiness::ALL.into_iter().map(|l| view! { <option value=l.as_str()>{l.label()}</option> }).collect_view()}
                                </select>
                            </div>
                            <Field label="Acknowledge within (hours)" name="acknowledge_hours" errors required=true hint="360 is 15 days" />
                            <Field label="Decide within (hours)" name="decide_hours" errors required=true hint="720 is 30 days" />
                        </div>
                        <button type="submit" class="button">"Save rule"</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

#[component]
fn RuleTable(
    rows: Vec<SlaRule>,
    can_edit: bool,
    delete: ServerAction<DeleteSlaRule>,
) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|rule| {
            let (jurisdiction, line) = rule.key();
            let fallback = rule.jurisdiction.is_none() && rule.line.is_none();
            view! {
                <tr>
                    <td>{rule.jurisdiction.as_ref().map_or_else(|| "Any".to_owned(), ToString::to_string)}</td>
                    <td>{rule.line.map_or("Any", LineOfBusiness::label)}</td>
                    <td class="numeric">{hours_in_words(rule.acknowledge_hours)}</td>
                    <td class="numeric">{hours_in_words(rule.decide_hours)}</td>
                    {can_edit.then(|| view! {
                        <td>
                            {(!fallback).then(|| view! {
                                <ActionForm action=delete attr:class="inline-form">
                                    <input type="hidden" name="jurisdiction" value=jurisdiction.clone() />
                                    <input type="hidden" name="line" value=line.clone() />
                                    <button type="submit" class="button small">"Delete"</button>
                                </ActionForm>
                            })}
                        </td>
                    })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table" id="sla-table">
                <thead><tr>
                    <th>"Jurisdiction"</th><th>"Line"</th><th class="numeric">"Acknowledge"</th><th class="numeric">"Decide"</th>
                    {can_edit.then(|| view! { <th><span class="visually-hidden">"Actions"</span></th> })}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
