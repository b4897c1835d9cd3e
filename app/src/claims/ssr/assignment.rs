//! Who works a claim: an adjuster taking it (assign to me, or starting the
//! review) and a supervisor handing it to someone else with a reason. The
//! first assignment acknowledges the claim (its SLA clock stops); a triaged
//! claim moves into review either way.

use serde_json::json;
use shared::{
    FieldError, FieldErrors,
    assignment::{Reassignment, ReassignmentInput},
    auth::{Permission, Role},
    claim::{ClaimAction, ClaimStatus},
};
use sqlx::Row as _;

use super::current::{Current, current, record_transition};
use crate::{
    audit::ssr::AuditContext,
    auth::ssr::{Principal, tokens::SubjectKind},
    claims::{
        assignment::Assignee,
        sla::ssr::{self as sla, Stop},
    },
    db::Db,
    error::AppError,
};

/// Refuses API clients: only a person works a claim.
fn person(principal: &Principal, what: &str) -> Result<(), AppError> {
    if principal.kind == SubjectKind::User {
        Ok(())
    } else {
        Err(AppError::Forbidden(what.into()))
    }
}

/// Gives the claim to `assignee_id`; the first assignment acknowledges it
/// (its acknowledge clock stops at `now`).
pub(super) async fn assign_in(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    assignee_id: &str,
    current: &Current,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query("UPDATE claims SET assignee_id = $1 WHERE id = $2")
        .bind(assignee_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sla::stop(tx, id, &current.clocks, Stop::Acknowledged, now).await
}

/// [`assign_in`] for the caller, who must be a person.
pub(super) async fn take(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    principal: &Principal,
    current: &Current,
    now: i64,
) -> Result<(), AppError> {
    person(principal, "take claims for review")?;
    assign_in(tx, id, &principal.id, current, now).await
}

/// Audits an assignment: a triaged claim moves into review (the
/// transition's record), any other has its version bumped and `action`
/// recorded.
async fn record(
    tx: &mut sqlx::AnyConnection,
    context: &AuditContext,
    id: &str,
    current: &Current,
    action: &'static str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    if current.status == ClaimStatus::Triaged {
        return record_transition(
            tx,
            context,
            id,
            current,
            ClaimAction::StartReview,
            ClaimStatus::InReview,
            details,
        )
        .await;
    }
    super::bump_version(tx, id, Some(current.version)).await?;
    super::record_claim_event(tx, context, id, action, details).await
}

/// Assign-to-me from the queue or the claim page: a triaged claim also
/// moves into review.
pub async fn assign_to(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    expected_version: Option<i64>,
) -> Result<(), AppError> {
    let now = db.clock().now_micros();
    let mut tx = db.begin_write().await?;
    let current = current(&mut tx, id, expected_version).await?;
    if current.assignee_id.as_deref() == Some(principal.id.as_str()) {
        return Err(AppError::Conflict(
            "This claim is already assigned to you.".into(),
        ));
    }
    take(&mut tx, id, principal, &current, now).await?;
    let details = json!({ "after": { "assignee": principal.name } });
    record(&mut tx, context, id, &current, "claim.assigned", details).await?;
    tx.commit().await?;
    Ok(())
}

/// The user `assignee_id`, if active and allowed to decide claims.
async fn assignee(tx: &mut sqlx::AnyConnection, assignee_id: &str) -> Result<Assignee, AppError> {
    let refused =
        |rule: &str| AppError::from(FieldErrors::from(FieldError::new("assignee_id", rule)));
    let row = sqlx::query("SELECT id, display_name, role FROM users WHERE id = $1 AND active = 1")
        .bind(assignee_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| refused("is not an active user"))?;
    let role: String = row.try_get("role")?;
    let decides = Role::parse("role", &role).is_ok_and(|r| r.permits(Permission::ClaimsDecide));
    if !decides {
        return Err(refused(
            "cannot work claims: give it to an adjuster or an administrator",
        ));
    }
    Ok(Assignee {
        id: row.try_get("id")?,
        name: row.try_get("display_name")?,
    })
}

/// Hands the claim to another user with a reason (`claim.reassigned`, with
/// the assignee before and after). A closed claim is not worked: reopen it
/// first.
pub async fn reassign(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    input: &ReassignmentInput,
    expected_version: Option<i64>,
) -> Result<(), AppError> {
    person(principal, "reassign claims")?;
    let change = Reassignment::parse(input)?;
    let now = db.clock().now_micros();
    let mut tx = db.begin_write().await?;
    let current = current(&mut tx, id, expected_version).await?;
    if current.status == ClaimStatus::Closed {
        return Err(AppError::Conflict(
            "A closed claim is not worked; reopen it before giving it to someone.".into(),
        ));
    }
    if current.assignee_id.as_deref() == Some(change.assignee_id.as_str()) {
        return Err(AppError::Conflict(
            "The claim is already assigned to that user.".into(),
        ));
    }
    let to = assignee(&mut tx, &change.assignee_id).await?;
    let before: Option<String> = match &current.assignee_id {
        None => None,
        Some(before) => {
            sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(before)
                .fetch_optional(&mut *tx)
                .await?
        }
    };
    assign_in(&mut tx, id, &to.id, &current, now).await?;
    let details = json!({
        "before": { "assignee": before },
        "after": { "assignee": to.name },
        "reason": change.reason,
    });
    record(&mut tx, context, id, &current, "claim.reassigned", details).await?;
    tx.commit().await?;
    Ok(())
}

/// Everyone a claim can be given to, by name.
pub async fn assignees(db: &Db) -> Result<Vec<Assignee>, AppError> {
    let deciding: Vec<&str> = Role::STAFF
        .into_iter()
        .filter(|r| r.permits(Permission::ClaimsDecide))
        .map(Role::as_str)
        .collect();
    let rows = sqlx::query(&format!(
        "SELECT id, display_name FROM users WHERE active = 1 AND role IN ({}) ORDER BY display_name, id",
        deciding
            .iter()
            .map(|r| format!("'{r}'"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Assignee {
                id: row.try_get("id")?,
                name: row.try_get("display_name")?,
            })
        })
        .collect()
}
