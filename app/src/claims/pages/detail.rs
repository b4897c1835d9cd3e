//! The claim page: summary, lines, claimant, decisions and actions, notes,
//! attachments, pipeline and timeline.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use shared::{
    attachment::{AttachmentKind, human_size},
    auth::Permission,
    claim::{ClaimStatus, DecisionKind, Priority},
    confirm::{self, Irreversible},
    money::Money,
};

use super::{
    DeadlineBadge, PriorityBadge,
    activities::ActivitiesPanel,
    assignment::ReassignForm,
    financials::{FinancialsPanel, MoneyActions, PartiesPanel},
};
use crate::claims::{
    AddClaimNote, AssignClaimToMe, ChangeClaimStatus, ClaimView, DecideClaim, RevealClaimantField,
    activities::{AddClaimActivity, CompleteClaimActivity},
    assignment::ReassignClaim,
    attachments::AttachmentView,
    get_claim,
    parties::AddClaimParty,
};
use crate::{
    auth::CurrentUser,
    error::ErrorPanel,
    format::instant,
    forms::{Field, FormAlert, FormErrors},
    workflow::pages::ExecutionPanel,
};

#[component]
pub fn ClaimPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let change = ServerAction::<ChangeClaimStatus>::new();
    let decide = ServerAction::<DecideClaim>::new();
    let assign = ServerAction::<AssignClaimToMe>::new();
    let reassign = ServerAction::<ReassignClaim>::new();
    let note = ServerAction::<AddClaimNote>::new();
    let retry = ServerAction::<crate::workflow::RetryJob>::new();
    let party = ServerAction::<AddClaimParty>::new();
    let work = (
        ServerAction::<AddClaimActivity>::new(),
        ServerAction::<CompleteClaimActivity>::new(),
    );
    let money = MoneyActions {
        reserve: ServerAction::new(),
        pay: ServerAction::new(),
        recover: ServerAction::new(),
    };
    // The claim is read again after any change made on the page.
    let changes = move || {
        [
            change.version().get(),
            decide.version().get(),
            assign.version().get(),
            reassign.version().get(),
            note.version().get(),
            retry.version().get(),
            party.version().get(),
            money.reserve.version().get(),
            money.pay.version().get(),
            money.recover.version().get(),
            work.0.version().get(),
            work.1.version().get(),
        ]
    };
    let claim = Resource::new(move || (id(), changes()), |(id, _)| get_claim(id));
    let user = use_context::<Option<CurrentUser>>().flatten();
    let can = move |permission| user.as_ref().is_some_and(|u| u.can(permission));
    let rights = Rights {
        write: can(Permission::ClaimsWrite),
        decide: can(Permission::ClaimsDecide),
        operate: can(Permission::OperationsManage),
        reveal: can(Permission::PiiReveal),
        audit: can(Permission::AuditRead),
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
                    Ok(claim) => view! { <ClaimDetail claim rights change decide assign reassign note retry party money work /> }.into_any(),
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
    audit: bool,
}

#[component]
fn ClaimDetail(
    claim: ClaimView,
    rights: Rights,
    change: ServerAction<ChangeClaimStatus>,
    decide: ServerAction<DecideClaim>,
    assign: ServerAction<AssignClaimToMe>,
    reassign: ServerAction<ReassignClaim>,
    note: ServerAction<AddClaimNote>,
    retry: ServerAction<crate::workflow::RetryJob>,
    party: ServerAction<AddClaimParty>,
    money: MoneyActions,
    work: (
        ServerAction<AddClaimActivity>,
        ServerAction<CompleteClaimActivity>,
    ),
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
        parties,
        financials,
        approvals,
        activities,
        my_authority,
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
        let reassign_form = (rights.decide && status != ClaimStatus::Closed).then(|| {
            view! { <ReassignForm id=id.clone() version=version.clone() current=s.assignee_id.clone() reassign /> }
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
                {reassign_form}
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
    let sla = sla_summary(&s);
    view! {
        <Title text=s.claim_number.clone() />
        <header class="page-header">
            <h1>{format!("Claim {}", s.claim_number)}</h1>
            <p class="page-lede">
                <span class=format!("badge status-{}", status.as_str()) id="claim-status">{status.label()}</span>" "
                <PriorityBadge priority=s.priority />" "
                <span id="claim-deadline"><DeadlineBadge deadline=s.deadline /></span>
                {" · policy "}<A href=format!("/policies/{}", s.policy_id)>{s.policy_number.clone()}</A>
                {" · customer "}<A href=format!("/customers/{}", s.customer_id)>{s.customer_number.clone()}</A>
                {rights.audit.then(|| view! { " · "<A href=format!("/audit?entity={}", s.id) attr:id="claim-audit-link">"Audit trail"</A> })}
            </p>
        </header>
        <section class="card">
            <dl class="facts" id="claim-facts">
                <dt>"Incident date"</dt><dd>{s.incident_date.clone()}</dd>
                <dt>"Claimed"</dt><dd id="claim-total">{s.total_claimed.format()}</dd>
                <dt>"Approved"</dt><dd id="claim-approved">{s.approved_amount.map(|m| m.format()).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Paid"</dt><dd id="claim-paid">{s.paid_amount.map(|m| m.format()).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Incurred"</dt><dd id="claim-incurred">{financials.totals.total.incurred.format()}</dd>
                <dt>"Coverage limit / deductible"</dt><dd>{format!("{} / {}", coverage_limit.format(), deductible.format())}</dd>
                <dt>"Coverage"</dt><dd id="claim-coverage">{match (coverage.as_deref(), coverage_note) {
                    (Some("covered"), _) => "Covered on the incident date".to_owned(),
                    (Some(_), Some(note)) => format!("Not covered: {note}"),
                    _ => "Not checked yet".to_owned(),
                }}</dd>
                <dt>"SLA"</dt><dd id="claim-sla">{sla}</dd>
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
        <PartiesPanel claim_id=id.clone() version=version.clone() parties=parties.clone()
            can_add=rights.write && status != ClaimStatus::Closed can_reveal=rights.reveal add=party />
        <FinancialsPanel claim_id=id.clone() version=version.clone() financials parties
            approvals authority=my_authority can_change=rights.decide && status != ClaimStatus::Closed actions=money />
        <ActivitiesPanel claim_id=id.clone() version=version.clone() activities
            can_change=rights.write && status != ClaimStatus::Closed add=work.0 complete=work.1 />
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

/// Both deadlines and when the acknowledgement came: "Acknowledge by 3 Dec
/// 2026 10:00 (acknowledged 1 Dec 2026 09:12) · decide by …".
fn sla_summary(s: &crate::claims::ClaimSummary) -> String {
    let acknowledge = s.acknowledge_due_at.map(|due| {
        let met = s
            .acknowledged_at
            .map(|at| {
                let late = if at > due { ", late" } else { "" };
                format!(" (acknowledged {}{late})", instant(at))
            })
            .unwrap_or_default();
        format!("Acknowledge by {}{met}", instant(due))
    });
    let decide = s.decide_due_at.map(|due| {
        let state = if s.deadline.is_none() {
            " (decided)"
        } else {
            ""
        };
        format!("decide by {}{state}", instant(due))
    });
    [acknowledge, decide]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}
