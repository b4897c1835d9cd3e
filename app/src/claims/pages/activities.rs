//! The claim page's Activities panel (the diary of work on the claim, with
//! its add form and a Done button per open one) and `/work`, "My work":
//! the caller's open activities across claims, overdue first.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use shared::claim::Priority;

use crate::{
    claims::activities::{ActivityView, AddClaimActivity, CompleteClaimActivity, list_my_work},
    error::ErrorPanel,
    forms::{FormAlert, FormErrors},
};

fn due_cell(activity: &ActivityView) -> impl IntoView + use<> {
    let class = if activity.overdue {
        "badge breached"
    } else {
        "muted"
    };
    let (due_on, due) = (activity.due_on.clone(), activity.due.clone());
    view! { {due_on}" "<span class=class>{due}</span> }
}

#[component]
pub fn ActivitiesPanel(
    claim_id: String,
    version: String,
    activities: Vec<ActivityView>,
    /// Whether the caller may plan and complete work (and the claim is
    /// open).
    can_change: bool,
    add: ServerAction<AddClaimActivity>,
    complete: ServerAction<CompleteClaimActivity>,
) -> impl IntoView {
    let errors = FormErrors::new(add.value());
    let rows = activities
        .into_iter()
        .map(|a| {
            let done = (can_change && a.status == "open").then(|| {
                let (claim_id, activity_id) = (claim_id.clone(), a.id.clone());
                view! {
                    <ActionForm action=complete attr:class="inline-form">
                        <input type="hidden" name="id" value=claim_id />
                        <input type="hidden" name="activity_id" value=activity_id />
                        <button type="submit" class="button small">"Done"</button>
                    </ActionForm>
                }
            });
            let state = match &a.completed_by {
                Some(by) => format!("Done by {by}"),
                None => "Open".to_owned(),
            };
            view! {
                <tr>
                    <td>{a.subject.clone()}</td>
                    <td>{a.owner_name.clone()}</td>
                    <td>{due_cell(&a)}</td>
                    <td>{a.priority.label()}</td>
                    <td>{state}</td>
                    <td>{done}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="activities-heading" id="activities">
            <h2 id="activities-heading">"Activities"</h2>
            <div class="table-scroll">
                <table class="data-table" id="claim-activities">
                    <thead><tr><th>"Activity"</th><th>"Owner"</th><th>"Due"</th><th>"Priority"</th><th>"State"</th><th><span class="visually-hidden">"Complete"</span></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {can_change.then(|| view! {
                <details class="form-panel">
                    <summary>"Add an activity"</summary>
                    <ActionForm action=add attr:id="activity-form">
                        <FormAlert errors />
                        <input type="hidden" name="id" value=claim_id.clone() />
                        <input type="hidden" name="version" value=version />
                        <div class="form-grid">
                            <div class="field" class:has-error=move || errors.field("subject").get().is_some()>
                                <label for="activity-subject">"Activity"</label>
                                <input id="activity-subject" name="subject" required=true autocomplete="off" />
                                <p class="field-error" id="activity-subject-error">{move || errors.field("subject").get()}</p>
                            </div>
                            <div class="field" class:has-error=move || errors.field("due_on").get().is_some()>
                                <label for="activity-due_on">"Due on"</label>
                                <input id="activity-due_on" name="due_on" type="date" required=true />
                                <p class="field-error" id="activity-due_on-error">{move || errors.field("due_on").get()}</p>
                            </div>
                            <div class="field">
                                <label for="activity-priority">"Priority"</label>
                                <select id="activity-priority" name="priority">
                                    {Priority::ALL.into_iter().map(|p| view! {
                                        <option value=p.as_str() selected=p == Priority::Standard>{p.label()}</option>
                                    }).collect_view()}
                                </select>
                            </div>
                        </div>
                        <p class="field-hint">"You own the activities you add; they appear under My work."</p>
                        <button type="submit" class="button">"Add activity"</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

/// `/work`: the caller's open activities, overdue first.
#[component]
pub fn MyWorkPage() -> impl IntoView {
    let work = Resource::new(|| (), |()| list_my_work());
    view! {
        <Title text="My work" />
        <header class="page-header">
            <h1>"My work"</h1>
            <p class="page-lede">"Your open activities on every claim, the most overdue first."</p>
        </header>
        <section class="card">
            <p class="export-link">
                <a rel="external" download="my-work.csv" id="export-work" href="/work/export.csv">"Export my work as CSV"</a>
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match work.await {
                        Ok(items) if items.is_empty() => view! { <p class="empty-state">"No open activities."</p> }.into_any(),
                        Ok(items) => view! { <WorkTable items /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// How many of the caller's activities the dashboard shows.
const DASHBOARD_ROWS: usize = 5;

/// The dashboard's "My work": the caller's most overdue open activities,
/// with a link to all of them.
#[component]
pub fn MyWorkPanel(items: Vec<ActivityView>) -> impl IntoView {
    let total = items.len();
    let overdue = items.iter().filter(|a| a.overdue).count();
    let shown: Vec<ActivityView> = items.into_iter().take(DASHBOARD_ROWS).collect();
    let summary = match (total, overdue) {
        (0, _) => "Nothing open.".to_owned(),
        (total, 0) => format!("{total} open, none overdue."),
        (total, overdue) => format!("{total} open, {overdue} overdue."),
    };
    view! {
        <section class="card" aria-labelledby="my-work-heading" id="my-work-panel">
            <h2 id="my-work-heading">"My work"</h2>
            <p class="muted">{summary}</p>
            {(!shown.is_empty()).then(|| view! { <WorkTable items=shown /> })}
            <p><A href="/work">{format!("All my work ({total})")}</A></p>
        </section>
    }
}

#[component]
fn WorkTable(items: Vec<ActivityView>) -> impl IntoView {
    let rows = items
        .into_iter()
        .map(|a| {
            view! {
                <tr class:sla-breached=a.overdue>
                    <td>{due_cell(&a)}</td>
                    <td>{a.subject.clone()}</td>
                    <td><A href=format!("/claims/{}#activities", a.claim_id)>{a.claim_number.clone()}</A></td>
                    <td>{a.priority.label()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table" id="work-table">
                <thead><tr><th>"Due"</th><th>"Activity"</th><th>"Claim"</th><th>"Priority"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
