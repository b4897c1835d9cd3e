//! What staff do to a claim: workflow actions, taking it for review, the
//! three decisions within limit and authority, and fraud flags; each change
//! checked against the version the caller saw and audited with its before
//! and after.

use serde_json::json;
use shared::{
    FieldError, FieldErrors,
    claim::{ClaimAction, ClaimStatus, Decision, DecisionInput, Priority},
    confirm::Irreversible,
    money::{Currency, Money, MoneyInput},
    triage::{FlagCode, FraudFlag},
};
use sqlx::Row as _;

use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    auth::ssr::Principal,
    claims::{
        financials::ssr::{approval_authority, close_blockers},
        sla::ssr::{self as sla, CLOCK_COLUMNS, Clocks, Stop},
    },
    db::{Db, now_micros},
    error::AppError,
};

/// The row a workflow change starts from, checked against the version the
/// caller saw.
struct Current {
    status: ClaimStatus,
    version: i64,
    assignee_id: Option<String>,
    priority: Option<String>,
    fraud_flags: String,
    currency: Currency,
    coverage_limit: i64,
    deductible: i64,
    policy_currency: Currency,
    clocks: Clocks,
}

async fn current(
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
        clocks: Clocks::from_row(&row)?,
    })
}

/// Moves the claim to `next` (and bumps its version) if it is still at the
/// version read, then audits `action`.
async fn record_transition(
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
        object.insert(
            "before".into(),
            json!({ "status": status, "version": version }),
        );
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

/// A workflow step other than triage and the three decisions: start
/// review, information provided, payment, close, reopen (with a reason).
pub async fn apply_action(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    raw_action: &str,
    reason: Option<&str>,
    expected_version: Option<i64>,
) -> Result<(), AppError> {
    let action = ClaimAction::parse("action", raw_action).map_err(FieldErrors::from)?;
    if !action.is_manual() {
        return Err(FieldErrors::from(FieldError::new(
            "action",
            "must be start_review, provide_info, close or reopen (decisions have their own endpoint; triage is the pipeline's; a claim is paid by recording its final payment)",
        ))
        .into());
    }
    let mut tx = db.begin_write().await?;
    let current = current(&mut tx, id, expected_version).await?;
    let next = current.status.apply(action, reason).map_err(|e| match e {
        shared::TransitionError::ReasonRequired { .. } => {
            AppError::from(FieldErrors::from(FieldError::new("reason", e.to_string())))
        }
        other => AppError::Conflict(other.to_string()),
    })?;
    let mut details = json!({});
    if let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) {
        details["reason"] = json!(reason);
    }
    match action {
        ClaimAction::Close => {
            if let Some(refusal) = close_blockers(&mut tx, id).await? {
                return Err(AppError::Conflict(refusal));
            }
            let work = crate::claims::activities::ssr::close_blocker(&mut tx, id).await?;
            if let Some(refusal) = work {
                return Err(AppError::Conflict(refusal));
            }
        }
        ClaimAction::StartReview if current.assignee_id.is_none() => {
            assign_in(&mut tx, id, principal, &current, db.clock().now_micros()).await?;
            details["after"] = json!({ "assignee": principal.name });
        }
        ClaimAction::Reopen => {
            // A reopened claim is decided afresh; its ledger stays (it is
            // append-only), so earlier payments still count against the
            // policy's limit.
            sqlx::query(
                "UPDATE claims SET approved_amount = NULL, decided_at = NULL WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    record_transition(&mut tx, context, id, &current, action, next, details).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives the claim to `principal`: taking it acknowledges it (its
/// acknowledge clock stops at `now`).
async fn assign_in(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    principal: &Principal,
    current: &Current,
    now: i64,
) -> Result<(), AppError> {
    if principal.kind != crate::auth::ssr::tokens::SubjectKind::User {
        return Err(AppError::Forbidden("take claims for review".into()));
    }
    sqlx::query("UPDATE claims SET assignee_id = $1 WHERE id = $2")
        .bind(&principal.id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sla::stop(tx, id, &current.clocks, Stop::Acknowledged, now).await
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
    let mut tx = db.begin_write().await?;
    let current = current(&mut tx, id, expected_version).await?;
    if current.assignee_id.as_deref() == Some(principal.id.as_str()) {
        return Err(AppError::Conflict(
            "This claim is already assigned to you.".into(),
        ));
    }
    assign_in(&mut tx, id, principal, &current, db.clock().now_micros()).await?;
    let details = json!({ "after": { "assignee": principal.name } });
    if current.status == ClaimStatus::Triaged {
        record_transition(
            &mut tx,
            context,
            id,
            &current,
            ClaimAction::StartReview,
            ClaimStatus::InReview,
            details,
        )
        .await?;
    } else {
        sqlx::query("UPDATE claims SET version = version + 1, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            context,
            AuditEvent {
                action: "claim.assigned",
                entity_type: "claim",
                entity_id: Some(id),
                details,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A decision as the form or the API submits it.
#[derive(Debug, Clone, Default)]
pub struct DecisionRequest {
    /// `approve`, `deny` or `request_info`.
    pub kind: String,
    /// The approved amount in major units ("1,250.00"), from the form.
    pub amount_major: Option<String>,
    /// The approved amount in minor units, from the API.
    pub amount_minor: Option<i64>,
    pub reason: Option<String>,
    /// An override of triage's priority.
    pub priority: Option<String>,
    /// A reason to flag the claim for fraud review.
    pub flag: Option<String>,
    /// `deny` to confirm a denial (see [`Irreversible`]).
    pub confirm: Option<String>,
}

/// An adjuster's decision on a claim in review, within the policy's limit
/// less deductible and the decider's authority.
pub async fn decide(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    request: &DecisionRequest,
    expected_version: Option<i64>,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let current = current(&mut tx, id, expected_version).await?;
    let limit = Money::new(current.coverage_limit, current.policy_currency);
    let deductible = Money::new(current.deductible, current.policy_currency);
    let mut errors = FieldErrors::new();
    let amount = match (&request.amount_major, request.amount_minor) {
        (_, Some(amount)) => Some(MoneyInput {
            amount,
            currency: current.currency.as_str().to_owned(),
        }),
        (Some(raw), None) if !raw.trim().is_empty() => errors
            .check(Money::parse_major(
                "amount.amount",
                raw,
                current.currency,
                false,
            ))
            .map(MoneyInput::from),
        _ => None,
    };
    let priority = request
        .priority
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .and_then(|raw| errors.check(Priority::parse("priority", raw)));
    let flag = request
        .flag
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned);
    errors.into_result()?;
    let decision = Decision::parse(
        &DecisionInput {
            kind: request.kind.clone(),
            amount,
            reason: request.reason.clone().unwrap_or_default(),
        },
        limit,
        deductible,
    )?;
    if let Some(irreversible) = Irreversible::of_claim(decision.action()) {
        irreversible
            .check(request.confirm.as_deref())
            .map_err(FieldErrors::from)?;
    }
    if let Some(amount) = decision.amount() {
        // Approving an amount authorises paying it: the payment limit.
        let authority = approval_authority(&mut tx, principal, amount.currency).await?;
        if !authority.covers_payment(amount) {
            let limit = authority
                .payment
                .map_or_else(|| "none".to_owned(), |m| m.to_string());
            return Err(FieldErrors::from(FieldError::new(
                "amount.amount",
                format!(
                    "is above your approval authority of {limit} in {}; a supervisor with a higher limit must approve it",
                    amount.currency
                ),
            ))
            .into());
        }
    }
    let action = decision.action();
    let next = current
        .status
        .apply(action, decision.reason())
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let now = db.clock().now_micros();
    let stops = match action {
        ClaimAction::Approve | ClaimAction::Deny => Stop::Decided,
        _ => Stop::Acknowledged,
    };
    sla::stop(&mut tx, id, &current.clocks, stops, now).await?;
    let mut flags: Vec<FraudFlag> = serde_json::from_str(&current.fraud_flags).unwrap_or_default();
    if let Some(reason) = &flag {
        flags.push(FraudFlag {
            code: FlagCode::Manual,
            reason: reason.clone(),
        });
    }
    sqlx::query(
        "UPDATE claims SET approved_amount = $1, decided_at = $2, priority = COALESCE($3, priority), \
         fraud_flags = $4 WHERE id = $5",
    )
    .bind(decision.amount().map(|m| m.amount))
    .bind(now)
    .bind(priority.map(Priority::as_str))
    .bind(serde_json::to_string(&flags).map_err(|e| AppError::internal(&e))?)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let mut details = json!({ "decision": decision, "after": {} });
    if let Some(reason) = decision.reason() {
        details["reason"] = json!(reason);
    }
    if let Some(amount) = decision.amount() {
        details["after"]["approved_amount"] = json!(amount);
    }
    if let Some(priority) = priority {
        details["after"]["priority"] = json!(priority);
        details["priority_overridden_from"] = json!(current.priority);
    }
    if let Some(flag) = &flag {
        details["flagged"] = json!(flag);
    }
    record_transition(&mut tx, context, id, &current, action, next, details).await?;
    tx.commit().await?;
    crate::metrics::global().claim_decided(decision.kind().as_str());
    Ok(())
}

/// Adds `flag` to the claim unless a flag with its code is already there;
/// a real change, so the version moves on (an open form then gets 412).
pub(crate) async fn add_flag(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    flag: FraudFlag,
) -> Result<(), AppError> {
    let current = current(tx, id, None).await?;
    let mut flags: Vec<FraudFlag> = serde_json::from_str(&current.fraud_flags).unwrap_or_default();
    if flags.iter().any(|f| f.code == flag.code) {
        return Ok(());
    }
    flags.push(flag);
    sqlx::query(
        "UPDATE claims SET fraud_flags = $1, version = version + 1, updated_at = $2 WHERE id = $3",
    )
    .bind(serde_json::to_string(&flags).map_err(|e| AppError::internal(&e))?)
    .bind(now_micros())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
