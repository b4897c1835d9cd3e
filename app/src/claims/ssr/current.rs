//! The row a workflow change starts from and how a transition is written:
//! the claim's status, version, assignee, policy limits and SLA clocks as
//! read in the change's transaction, and the status move with its audit
//! record. Decisions, assignment, financials and triage all go through here.

use serde_json::json;
use shared::{
    claim::{ClaimAction, ClaimStatus},
    money::Currency,
};
use sqlx::Row as _;

use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    claims::sla::ssr::{CLOCK_COLUMNS, Clocks},
    db::now_micros,
    error::AppError,
};

/// The row a workflow change starts from, checked against the version the
/// caller saw.
pub(super) struct Current {
    pub(super) status: ClaimStatus,
    pub(super) version: i64,
    pub(super) assignee_id: Option<String>,
    pub(super) priority: Option<String>,
    pub(super) fraud_flags: String,
    pub(super) currency: Currency,
    pub(super) coverage_limit: i64,
    pub(super) deductible: i64,
    pub(super) policy_currency: Currency,
    pub(super) clocks: Clocks,
}

pub(super) async fn current(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    expected_version: Option<i64>,
) -> Result<Current, AppError> {
    let row = sqlx::query(&format!(
        "SELECT cl.status, cl.version, cl.assignee_id, cl.priority, cl.fraud_flags, \
         cl.currency, p.coverage_limit, p.deductible, p.currency AS policy_currency, {CLOCK_COLUMNS} \
         FROM claims cl JOIN policies p ON p.id = cl.policy_id WHERE cl.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::NotFound("The claim".into()))?;
    let version: i64 = row.try_get("version")?;
    AppError::check_version("claim", expected_version, version)?;
    let currency = |column: &str| -> Result<Currency, AppError> {
        Currency::from_stored(column, &row.try_get::<String, _>(column)?)
            .map_err(AppError::internal_message)
    };
    Ok(Current {
        status: ClaimStatus::parse("status", &row.try_get::<String, _>("status")?)
            .map_err(AppError::internal_message)?,
        version,
        assignee_id: row.try_get("assignee_id")?,
        priority: row.try_get("priority")?,
        fraud_flags: row.try_get("fraud_flags")?,
        currency: currency("currency")?,
        coverage_limit: row.try_get("coverage_limit")?,
        deductible: row.try_get("deductible")?,
        policy_currency: currency("policy_currency")?,
        clocks: sqlx::FromRow::from_row(&row)?,
    })
}

/// Moves the claim to `next` (and bumps its version) if it is still at the
/// version read, then audits `action`.
pub(super) async fn record_transition(
    tx: &mut sqlx::AnyConnection,
    context: &AuditContext,
    id: &str,
    current: &Current,
    action: ClaimAction,
    next: ClaimStatus,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let updated = sqlx::query(
        "UPDATE claims SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4",
    )
    .bind(next.as_str())
    .bind(now_micros())
    .bind(id)
    .bind(current.version)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::PreconditionFailed(
            "The claim changed while this was being saved; reload and try again.".into(),
        ));
    }
    let record = transition_record(
        context,
        id,
        (current.status, current.version),
        action,
        next,
        details,
    );
    audit::append_all(tx, &[record]).await?;
    Ok(())
}

/// The audit record of a transition from `(status, version)` to `next`:
/// `details` with the status and version before and after added.
pub(crate) fn transition_record(
    context: &AuditContext,
    id: &str,
    (status, version): (ClaimStatus, i64),
    action: ClaimAction,
    next: ClaimStatus,
    mut details: serde_json::Value,
) -> audit::Pending {
    if let Some(object) = details.as_object_mut() {
        let before = object.entry("before").or_insert_with(|| json!({}));
        if let Some(before) = before.as_object_mut() {
            before.insert("status".into(), json!(status));
            before.insert("version".into(), json!(version));
        }
        let after = object.entry("after").or_insert_with(|| json!({}));
        if let Some(after) = after.as_object_mut() {
            after.insert("status".into(), json!(next));
            after.insert("version".into(), json!(version + 1));
        }
    }
    audit::Pending::new(
        context,
        AuditEvent {
            action: &format!("claim.{}", action.as_str()),
            entity_type: "claim",
            entity_id: Some(id),
            details,
        },
    )
}

/// Audits `action` on claim `id` in the change's transaction: the record
/// every claim change other than a transition writes (financials,
/// parties, activities, assignment).
pub(crate) async fn record_claim_event(
    conn: &mut sqlx::AnyConnection,
    context: &AuditContext,
    id: &str,
    action: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    audit::append(
        conn,
        context,
        AuditEvent {
            action,
            entity_type: "claim",
            entity_id: Some(id),
            details,
        },
    )
    .await?;
    Ok(())
}
