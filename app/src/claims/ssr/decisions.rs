//! What staff do to a claim: workflow actions, the three decisions within limit and authority, and fraud flags; each change
//! checked against the version the caller saw and audited with its before
//! and after.

use crate::{
    audit::ssr::AuditContext,
    auth::ssr::Principal,
    claims::{
        financials::ssr::{approval_authority, close_blockers},
        sla::ssr::{self as sla, Stop},
    },
    db::{Db, now_micros},
    error::AppError,
};
use serde_json::json;
use shared::{
    FieldError, FieldErrors,
    claim::{ClaimAction, Decision, DecisionInput, Priority},
    confirm::Irreversible,
    money::{Money, MoneyInput},
    triage::{FlagCode, FraudFlag},
};

use super::current::{current, record_transition};

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
            super::assignment::take(&mut tx, id, principal, &current, db.clock().now_micros())
                .await?;
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
