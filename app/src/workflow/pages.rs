//! The pipeline panel of the claim page: each run, each step's state,
//! attempts, last error and timing, and a retry for dead-lettered steps.

use leptos::prelude::*;

use super::{ExecutionView, RetryJob};
use crate::format::instant;

#[component]
pub fn ExecutionPanel(
    executions: Vec<ExecutionView>,
    can_retry: bool,
    retry: ServerAction<RetryJob>,
) -> impl IntoView {
    let runs = executions
        .into_iter()
        .map(|execution| {
            let steps = execution
                .steps
                .iter()
                .map(|step| {
                    let retry_button = (can_retry && step.state == "dead").then(|| {
                        let job_id = step.job_id.clone();
                        view! {
                            <ActionForm action=retry attr:class="inline-form">
                                <input type="hidden" name="job_id" value=job_id />
                                <button type="submit" class="button small">"Retry"</button>
                            </ActionForm>
                        }
                    });
                    view! {
                        <tr class=format!("job-{}", step.state)>
                            <td>{step.step.replace('_', " ")}</td>
                            <td><span class=format!("badge job-state-{}", step.state)>{step.state.clone()}</span></td>
                            <td class="numeric">{format!("{} / {}", step.attempts, step.max_attempts)}</td>
                            <td>{step.duration_ms().map(|ms| format!("{ms} ms")).unwrap_or_default()}</td>
                            <td>{step.finished_at.or(step.started_at).map(instant).unwrap_or_default()}</td>
                            <td class="job-error">{step.last_error.clone().unwrap_or_default()}</td>
                            <td>{retry_button}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <h3>{format!("Run started {} · {}", instant(execution.created_at), execution.state)}</h3>
                <table class="data-table execution-table" data-execution=execution.id.clone()>
                    <thead><tr><th>"Step"</th><th>"State"</th><th class="numeric">"Attempts"</th><th>"Took"</th><th>"When"</th><th>"Last error"</th><th></th></tr></thead>
                    <tbody>{steps}</tbody>
                </table>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="pipeline-heading" id="claim-pipeline">
            <h2 id="pipeline-heading">"Pipeline"</h2>
            {runs}
        </section>
    }
}
