//! The Audit page: the trail, newest first, and its verification.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

use super::{AuditFilters, AuditRecordView, VerifyAuditChain, list_audit_records};
use crate::{error::ErrorPanel, format::instant, pager::Pager};

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let page = move || {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
        })
    };
    let filters = Memo::new(move |_| {
        query.with(|q| {
            let get = |name: &str| q.get(name).filter(|v| !v.trim().is_empty());
            AuditFilters {
                entity: get("entity"),
                actor: get("actor"),
                action: get("action"),
                from: get("from"),
                to: get("to"),
            }
        })
    });
    let records = Resource::new(
        move || (filters.get(), page()),
        |(filters, page)| list_audit_records(filters, Some(page)),
    );
    let field =
        move |name: &'static str, label: &'static str, kind: &'static str, hint: &'static str| {
            let value = move || {
                filters.with(|f| match name {
                    "entity" => f.entity.clone(),
                    "actor" => f.actor.clone(),
                    "action" => f.action.clone(),
                    "from" => f.from.clone(),
                    _ => f.to.clone(),
                })
            };
            view! {
                <label>{label}
                    <input type=kind name=name value=value placeholder=hint />
                </label>
            }
        };
    let verify = ServerAction::<VerifyAuditChain>::new();

    view! {
        <Title text="Audit" />
        <header class="page-header">
            <h1>"Audit"</h1>
            <p class="page-lede">"The tamper-evident record of every change, sign-in and refusal. Every second the records are sealed into a Merkle tree whose checkpoints are signed with a key the database does not hold."</p>
        </header>
        <section class="card" aria-labelledby="verify-heading">
            <h2 id="verify-heading">"Verification"</h2>
            <ActionForm action=verify>
                <button type="submit" class="button" id="verify-chain" disabled=move || verify.pending().get()>
                    {move || if verify.pending().get() { "Verifying…" } else { "Verify the chain" }}
                </button>
            </ActionForm>
            {move || verify.value().get().map(|result| match result {
                Ok(status) => match status.first_broken {
                    None => view! {
                        <p class="form-success" role="status" id="chain-status">
                            {format!(
                                "Intact: {} sealed records in {} signed checkpoints verify; {} records not yet sealed.",
                                status.records, status.checkpoints, status.unsealed,
                            )}
                        </p>
                    }.into_any(),
                    Some(broken) => view! {
                        <p class="form-alert" role="alert" id="chain-status">
                            {format!("Broken at {broken}. {} records before it verified.", status.records)}
                        </p>
                    }.into_any(),
                },
                Err(error) => view! { <p class="form-alert" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </section>
        <section class="card">
            <Form method="GET" action="" attr:id="audit-filters">
                <div class="filter-row">
                {field("entity", "Record", "text", "a claim's or customer's id")}
                {field("actor", "Who", "text", "as the trail names them")}
                {field("action", "Action", "text", "claim or claim.reassigned")}
                {field("from", "From", "date", "")}
                {field("to", "to", "date", "")}
                <button type="submit" class="button">"Filter"</button>
                <a href="/audit">"Clear"</a>
                </div>
            </Form>
            <p class="export-link">
                <a rel="external" download="audit.csv" id="export-audit"
                    href=move || format!("/audit/export.csv{}", query.with(|q| { let mut q = q.clone(); q.remove("page"); q.to_query_string() }))>"Export these records as CSV"</a>
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match records.await {
                        Ok(page) => view! { <AuditTable page /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AuditTable(page: shared::pagination::Page<AuditRecordView>) -> impl IntoView {
    let (items, page) = page.into_items();
    view! {
        <table class="data-table" id="audit-table">
            <thead><tr><th>"#"</th><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Entity"</th><th>"Details"</th></tr></thead>
            <tbody>
                {items.into_iter().map(|record| view! {
                    <tr>
                        <td>{record.seq}</td>
                        <td>{instant(record.occurred_at)}</td>
                        <td>{record.actor.clone().unwrap_or_else(|| record.actor_kind.clone())}</td>
                        <td><code>{record.action.clone()}</code></td>
                        <td>
                            {match record.entity_id.clone() {
                                Some(id) => view! { <a href=format!("?entity={id}")>{format!("{} {}", record.entity_type, short(&id))}</a> }.into_any(),
                                None => view! { <span>{record.entity_type.clone()}</span> }.into_any(),
                            }}
                        </td>
                        <td class="details" title=record.details.clone()>{record.summary.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <Pager page noun="records" previous="Newer" next="Older" />
    }
}

/// The last 8 characters of an id: ids are UUIDv7, whose first characters
/// are a timestamp that records written together share, and whose last
/// are random, so these tell rows apart on screen.
fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}
