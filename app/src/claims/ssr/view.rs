//! The claim page in one statement.
//!
//! The page shows the claim with its lines, notes, links, attachments,
//! pipeline runs (executions and their jobs) and timeline. Read one query
//! per part, that was eight round trips one after another on every view;
//! here each part is a correlated sub-select that aggregates its rows into a
//! JSON array inside the claim's own row, so the database answers once.
//!
//! The aggregate functions differ per engine (`json_agg`/`json_build_object`
//! on PostgreSQL, `json_group_array`/`json_object` on SQLite, both with
//! `ORDER BY` inside the aggregate), so [`sql`] builds one text per engine,
//! once. PostgreSQL's arrays are selected `::text` because the `Any` driver
//! cannot decode `json`; SQLite's are wrapped in `json(…)` so that a nested
//! array (an execution's steps) stays an array instead of becoming a string.

use std::sync::LazyLock;

use serde::{Deserialize, de::DeserializeOwned};
use shared::{
    claim::{ClaimAction, ClaimStatus, max_payable},
    money::{Currency, Money},
};
use sqlx::Row as _;

use super::{COLUMNS, FROM, claimant::claimant_of, decode, summary_from_row};
use crate::{
    claims::{
        ClaimLineView, ClaimView, NoteView, RelatedClaim, TimelineEntry,
        activities::ssr::{StoredActivity, json_fields as activity_fields},
        attachments::ssr::{STORED_COLUMNS, StoredAttachment},
        financials::ssr::{APPROVAL_COLUMNS, LINE_COLUMNS, StoredApproval, StoredLine, financials},
        parties::ssr::{StoredParty, json_fields as party_fields},
    },
    db::{Db, Engine},
    error::AppError,
    vault::{Vault, unreadable},
    workflow::ExecutionView,
};

/// A JSON array (`[]` when there are no rows) of one object per row of
/// `from` (`FROM … WHERE …`), whose keys are `fields` (key, expression), in
/// `order`: an expression of the engine's JSON type.
fn json_rows(engine: Engine, fields: &[(String, String)], from: &str, order: &str) -> String {
    let pairs = fields
        .iter()
        .map(|(key, expression)| format!("'{key}', {expression}"))
        .collect::<Vec<_>>()
        .join(", ");
    match engine {
        Engine::Postgres => format!(
            "(SELECT COALESCE(json_agg(json_build_object({pairs}) ORDER BY {order}), '[]'::json) {from})"
        ),
        Engine::Sqlite => format!(
            "json((SELECT COALESCE(json_group_array(json_object({pairs}) ORDER BY {order}), '[]') {from}))"
        ),
    }
}

/// `(column, alias.column)` for each column: keys named as the columns.
fn columns(alias: &str, names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|name| ((*name).to_owned(), format!("{alias}.{name}")))
        .collect()
}

/// The part of a claim's row that is a JSON array selected as text.
fn part(
    engine: Engine,
    fields: &[(String, String)],
    from: &str,
    order: &str,
    alias: &str,
) -> String {
    let rows = json_rows(engine, fields, from, order);
    match engine {
        Engine::Postgres => format!("{rows}::text AS {alias}"),
        Engine::Sqlite => format!("{rows} AS {alias}"),
    }
}

/// The one statement of the claim page on `engine` (`$1` is the claim id).
fn build(engine: Engine) -> String {
    let lines = part(
        engine,
        &columns("li", &["code", "description", "amount"]),
        "FROM claim_lines li WHERE li.claim_id = cl.id",
        "li.position",
        "lines_json",
    );
    let notes = part(
        engine,
        &columns("n", &["author_name", "body", "created_at"]),
        "FROM claim_notes n WHERE n.claim_id = cl.id",
        "n.created_at DESC",
        "notes_json",
    );
    let related = part(
        engine,
        &[
            ("id".into(), "o.id".into()),
            ("claim_number".into(), "o.claim_number".into()),
            ("status".into(), "o.status".into()),
            ("reason".into(), "l.reason".into()),
        ],
        "FROM claim_links l JOIN claims o ON o.id = l.other_claim_id WHERE l.claim_id = cl.id",
        "o.claim_number",
        "related_json",
    );
    let attachments = part(
        engine,
        &columns("a", &STORED_COLUMNS),
        "FROM claim_attachments a WHERE a.claim_id = cl.id",
        "a.created_at, a.id",
        "attachments_json",
    );
    let mut steps = vec![("job_id".to_owned(), "j.id".to_owned())];
    steps.extend(columns(
        "j",
        &[
            "step",
            "state",
            "attempts",
            "max_attempts",
            "last_error",
            "created_at",
            "started_at",
            "finished_at",
            "run_at",
        ],
    ));
    let mut execution = columns(
        "e",
        &["id", "claim_id", "state", "created_at", "finished_at"],
    );
    execution.push((
        "steps".into(),
        json_rows(
            engine,
            &steps,
            "FROM jobs j WHERE j.execution_id = e.id",
            "j.created_at, j.id",
        ),
    ));
    let executions = part(
        engine,
        &execution,
        "FROM executions e WHERE e.claim_id = cl.id",
        "e.created_at, e.id",
        "executions_json",
    );
    let ledger = part(
        engine,
        &columns("g", &LINE_COLUMNS),
        "FROM claim_ledger g WHERE g.claim_id = cl.id",
        "g.created_at, g.id",
        "ledger_json",
    );
    let mut approval = columns("r", &APPROVAL_COLUMNS);
    approval.push(("claim_number".into(), "cl.claim_number".into()));
    let activities = part(
        engine,
        &activity_fields(),
        "FROM claim_activities a LEFT JOIN users u ON u.id = a.owner_id WHERE a.claim_id = cl.id",
        "a.created_at, a.id",
        "activities_json",
    );
    let approvals = part(
        engine,
        &approval,
        "FROM ledger_requests r WHERE r.claim_id = cl.id",
        "r.requested_at, r.id",
        "approvals_json",
    );
    let parties = part(
        engine,
        &party_fields("pa", |column| match engine {
            Engine::Postgres => format!("encode({column}, 'hex')"),
            // hex(NULL) is '' on SQLite, not NULL.
            Engine::Sqlite => {
                format!("CASE WHEN {column} IS NULL THEN NULL ELSE hex({column}) END")
            }
        }),
        "FROM claim_parties pa WHERE pa.claim_id = cl.id",
        "pa.created_at, pa.id",
        "parties_json",
    );
    let timeline = part(
        engine,
        &columns(
            "t",
            &[
                "occurred_at",
                "actor_kind",
                "actor_label",
                "action",
                "details",
            ],
        ),
        "FROM audit_log t WHERE t.entity_type = 'claim' AND t.entity_id = cl.id",
        "t.seq",
        "timeline_json",
    );
    format!(
        "{COLUMNS}, cl.description, cl.coverage, cl.coverage_note, cl.claimant_name, cl.claimant_email, \
         cl.claimant_phone, p.coverage_limit, p.deductible, p.currency AS policy_currency, \
         k.kek_id, k.wrapped_key, {lines}, {notes}, {related}, {attachments}, {ledger}, {approvals}, {activities}, {parties}, {executions}, {timeline}{FROM} \
         LEFT JOIN customer_keys k ON k.customer_id = cl.customer_id WHERE cl.id = $1"
    )
}

static POSTGRES: LazyLock<String> = LazyLock::new(|| build(Engine::Postgres));
static SQLITE: LazyLock<String> = LazyLock::new(|| build(Engine::Sqlite));

/// The claim page's statement on `engine`.
pub(super) fn sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => &POSTGRES,
        Engine::Sqlite => &SQLITE,
    }
}

#[derive(Deserialize)]
struct LineRow {
    code: String,
    description: Option<String>,
    amount: i64,
}

#[derive(Deserialize)]
struct NoteRow {
    author_name: Option<String>,
    body: String,
    created_at: i64,
}

#[derive(Deserialize)]
struct RelatedRow {
    id: String,
    claim_number: String,
    status: String,
    reason: String,
}

#[derive(Deserialize)]
struct TimelineRow {
    occurred_at: i64,
    actor_kind: Option<String>,
    actor_label: Option<String>,
    action: String,
    /// The audit record's details, a JSON document stored as text.
    details: String,
}

/// The rows of the JSON array in `column`.
fn rows<T: DeserializeOwned>(row: &sqlx::any::AnyRow, column: &str) -> Result<Vec<T>, sqlx::Error> {
    serde_json::from_str(&row.try_get::<String, _>(column)?).map_err(decode)
}

fn timeline_entry(row: TimelineRow) -> TimelineEntry {
    let details: serde_json::Value = serde_json::from_str(&row.details).unwrap_or_default();
    TimelineEntry {
        occurred_at: row.occurred_at,
        action: row.action,
        actor: row.actor_label.or(row.actor_kind).unwrap_or_default(),
        detail: timeline_detail(&details),
    }
}

/// [`view`] where the claim was named by the caller: a missing one is 404.
pub async fn claim_page(db: &Db, vault: &Vault, id: &str) -> Result<ClaimView, AppError> {
    view(db, vault, id)
        .await?
        .ok_or_else(|| AppError::NotFound("The claim".into()))
}

/// The claim page: the claim, its lines, notes, claimant (masked), links,
/// attachments, pipeline runs and timeline, in one statement.
pub async fn view(db: &Db, vault: &Vault, id: &str) -> Result<Option<ClaimView>, AppError> {
    let Some(row) = sqlx::query(sql(db.engine()))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(None);
    };
    let summary = summary_from_row(&row, db.clock().now_micros())?;
    let currency = summary.total_claimed.currency;
    let policy_currency = Currency::from_stored(
        "policy_currency",
        &row.try_get::<String, _>("policy_currency")?,
    )
    .map_err(decode)?;
    let coverage_limit = Money::new(row.try_get("coverage_limit")?, policy_currency);
    let deductible = Money::new(row.try_get("deductible")?, policy_currency);
    let (claimant, unreadable_fields) = claimant_of(vault, &row, id)?;
    unreadable::report(db, "claim", id, &unreadable_fields).await?;
    let lines = rows::<LineRow>(&row, "lines_json")?
        .into_iter()
        .map(|line| ClaimLineView {
            code: line.code,
            description: line.description,
            amount: Money::new(line.amount, currency),
        })
        .collect();
    let notes = rows::<NoteRow>(&row, "notes_json")?
        .into_iter()
        .map(|note| NoteView {
            author: note.author_name.unwrap_or_else(|| "Vanguard".into()),
            body: note.body,
            created_at: note.created_at,
        })
        .collect();
    let related = rows::<RelatedRow>(&row, "related_json")?
        .into_iter()
        .map(|other| {
            Ok(RelatedClaim {
                status: ClaimStatus::parse("status", &other.status).map_err(decode)?,
                id: other.id,
                claim_number: other.claim_number,
                reason: other.reason,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let attachments = rows::<StoredAttachment>(&row, "attachments_json")?
        .into_iter()
        .map(StoredAttachment::into_view)
        .collect::<Result<Vec<_>, _>>()?;
    let timeline = rows::<TimelineRow>(&row, "timeline_json")?
        .into_iter()
        .map(timeline_entry)
        .collect();
    let executions: Vec<ExecutionView> = rows(&row, "executions_json")?;
    let ledger = rows::<StoredLine>(&row, "ledger_json")?
        .into_iter()
        .map(StoredLine::into_view)
        .collect::<Result<Vec<_>, _>>()?;
    let today = crate::clock::today();
    let activities = rows::<StoredActivity>(&row, "activities_json")?
        .into_iter()
        .map(|activity| activity.into_view(today))
        .collect::<Result<Vec<_>, _>>()?;
    let approvals = rows::<StoredApproval>(&row, "approvals_json")?
        .into_iter()
        .map(StoredApproval::into_view)
        .collect::<Result<Vec<_>, _>>()?;
    let dek = crate::vault::WrappedKey::from_row(&row)
        .ok()
        .and_then(|key| vault.unwrap_key(&summary.customer_id, &key).ok());
    let parties = rows::<StoredParty>(&row, "parties_json")?
        .into_iter()
        .map(|party| party.into_view(vault, dek.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let status = summary.status;
    Ok(Some(ClaimView {
        related,
        attachments,
        parties,
        financials: financials(policy_currency, ledger),
        approvals,
        activities,
        my_authority: None,
        description: row.try_get("description")?,
        coverage: row.try_get("coverage")?,
        coverage_note: row.try_get("coverage_note")?,
        claimant,
        unreadable_fields,
        lines,
        max_payable: max_payable(coverage_limit, deductible).unwrap_or(coverage_limit),
        coverage_limit,
        deductible,
        notes,
        timeline,
        executions,
        available_actions: staff_actions(status.available_actions()),
        blocked_actions: status
            .blocked_actions()
            .into_iter()
            .filter(|b| b.action != shared::claim::ClaimAction::Triage)
            .collect(),
        summary,
    }))
}

/// Triage belongs to the pipeline, and the three decisions have their own
/// form; the rest are buttons.
fn staff_actions(actions: Vec<ClaimAction>) -> Vec<ClaimAction> {
    actions.into_iter().filter(|a| a.is_manual()).collect()
}

/// The one line worth showing from an audit record's details.
fn timeline_detail(details: &serde_json::Value) -> Option<String> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    if let Some(summary) = details.get("summary").and_then(text) {
        return Some(summary);
    }
    if let Some(reason) = details.get("reason").and_then(text) {
        return Some(reason);
    }
    let after = details.get("after")?;
    if let Some(amount) = after
        .get("approved_amount")
        .and_then(|m| serde_json::from_value::<Money>(m.clone()).ok())
    {
        return Some(format!("Approved {amount}"));
    }
    let mut parts = Vec::new();
    if let Some(priority) = after.get("priority").and_then(text) {
        parts.push(format!("priority {priority}"));
    }
    if let Some(status) = after.get("status").and_then(text) {
        parts.push(format!("status {}", status.replace('_', " ")));
    }
    if let Some(assignee) = after.get("assignee").and_then(text) {
        parts.push(format!("assigned to {assignee}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_timeline_shows_the_reason_or_the_change() {
        assert_eq!(
            timeline_detail(&json!({ "reason": "Missing receipts for item 2" })).as_deref(),
            Some("Missing receipts for item 2")
        );
        assert_eq!(
            timeline_detail(&json!({ "after": { "priority": "urgent", "status": "triaged" } }))
                .as_deref(),
            Some("priority urgent, status triaged")
        );
        assert_eq!(timeline_detail(&json!({ "pii_fields": "all" })), None);
    }
}
