//! The claim page's "Give to someone else": an assignee from everyone who
//! works claims, and the reason, which the audit trail keeps.

use leptos::prelude::*;

use crate::{
    claims::assignment::{ReassignClaim, list_assignees},
    error::ErrorPanel,
    forms::{FormAlert, FormErrors},
};

#[component]
pub(super) fn ReassignForm(
    id: String,
    version: String,
    current: Option<String>,
    reassign: ServerAction<ReassignClaim>,
) -> impl IntoView {
    let errors = FormErrors::new(reassign.value());
    let people = Resource::new(|| (), |_| list_assignees());
    let reason_error = errors.field("reason");
    let assignee_error = errors.field("assignee_id");
    view! {
        <details class="form-panel" id="reassign-panel" open=move || errors.server.get().is_some()>
            <summary>"Give to someone else"</summary>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let (id, version, current) = (id.clone(), version.clone(), current.clone());
                    Suspend::new(async move {
                        let people = match people.await {
                            Ok(people) => people,
                            Err(error) => return view! { <ErrorPanel error /> }.into_any(),
                        };
                        let options = people
                            .into_iter()
                            .filter(|p| current.as_deref() != Some(p.id.as_str()))
                            .map(|p| view! { <option value=p.id>{p.name}</option> })
                            .collect_view();
                        view! {
                            <ActionForm action=reassign attr:id="reassign-form">
                                <FormAlert errors />
                                <input type="hidden" name="id" value=id />
                                <input type="hidden" name="version" value=version />
                                <div class="form-grid">
                                    <div class="field" class:has-error=move || assignee_error.get().is_some()>
                                        <label for="reassign-assignee">"Assignee"</label>
                                        <select id="reassign-assignee" name="assignee_id" required=true aria-describedby="reassign-assignee-error">{options}</select>
                                        <p class="field-error" id="reassign-assignee-error">{move || assignee_error.get()}</p>
                                    </div>
                                    <div class="field" class:has-error=move || reason_error.get().is_some()>
                                        <label for="reassign-reason">"Reason"</label>
                                        <input id="reassign-reason" name="reason" required=true aria-describedby="reassign-reason-error" />
                                        <p class="field-hint">"At least 10 characters; the audit trail keeps it"</p>
                                        <p class="field-error" id="reassign-reason-error">{move || reason_error.get()}</p>
                                    </div>
                                </div>
                                <button type="submit" class="button">"Reassign"</button>
                            </ActionForm>
                        }
                        .into_any()
                    })
                }}
            </Suspense>
        </details>
    }
}
