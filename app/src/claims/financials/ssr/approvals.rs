//! Requests for a reserve or payment over the requester's authority: filed
//! instead of the line, approved by someone else whose authority covers it
//! (the line is then recorded, checked against the figures of that moment,
//! as the requester's and approved by the approver), or rejected with a
//! reason. Every step is audited and bumps the claim's version.

use serde::Deserialize;
use serde_json::json;
use shared::{
    FieldErrors,
    ledger::{PaymentInput, REASON_MAX_CHARS, ReserveInput},
    money::{Currency, Money},
    validation,
};
use sqlx::AnyConnection;

use super::{Gate, authority, lock, payment_in, record, reserve_in};
use crate::{
    audit::ssr::AuditContext,
    auth::ssr::Principal,
    claims::financials::{ApprovalView, LedgerLineView, Recorded},
    db::{Db, new_id, now_micros},
    error::AppError,
};

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestKind {
    Reserve,
    Payment,
}

impl RequestKind {
    fn as_str(self) -> &'static str {
        match self {
            RequestKind::Reserve => "reserve",
            RequestKind::Payment => "payment",
        }
    }
}

/// A request about to be filed.
pub(super) struct NewRequest {
    pub kind: RequestKind,
    /// The input as submitted, amounts in minor units (JSON).
    pub body: String,
    /// The new outstanding reserve, or the payment.
    pub amount: Money,
    pub summary: String,
    /// The requester's limit it is over (`None` cannot happen: no limit
    /// covers everything).
    pub limit: Option<Money>,
}

/// The request columns, in the order [`StoredApproval`] reads them (the
/// claim page selects them as JSON keys of the same names).
pub const APPROVAL_COLUMNS: [&str; 13] = [
    "id",
    "claim_id",
    "kind",
    "amount",
    "currency",
    "summary",
    "status",
    "requested_by",
    "requested_by_name",
    "requested_at",
    "decided_by_name",
    "decided_at",
    "decision_reason",
];

/// A request as stored, with its claim's number.
#[derive(Debug, Deserialize, sqlx::FromRow)]
pub struct StoredApproval {
    id: String,
    claim_id: String,
    claim_number: String,
    kind: String,
    amount: i64,
    currency: String,
    summary: String,
    status: String,
    requested_by: String,
    requested_by_name: String,
    requested_at: i64,
    decided_by_name: Option<String>,
    decided_at: Option<i64>,
    decision_reason: Option<String>,
}

impl StoredApproval {
    pub fn into_view(self) -> Result<ApprovalView, sqlx::Error> {
        let currency = Currency::from_stored("currency", &self.currency)
            .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
        Ok(ApprovalView {
            id: self.id,
            claim_id: self.claim_id,
            claim_number: self.claim_number,
            kind: self.kind,
            amount: Money::new(self.amount, currency),
            summary: self.summary,
            status: self.status,
            requested_by_id: self.requested_by,
            requested_by: self.requested_by_name,
            requested_at: self.requested_at,
            decided_by: self.decided_by_name,
            decided_at: self.decided_at,
            decision_reason: self.decision_reason,
        })
    }
}

fn select() -> String {
    let columns = APPROVAL_COLUMNS
        .iter()
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {columns}, cl.claim_number FROM ledger_requests r JOIN claims cl ON cl.id = r.claim_id"
    )
}

async fn one(conn: &mut AnyConnection, id: &str) -> Result<ApprovalView, AppError> {
    let stored = sqlx::query_as::<_, StoredApproval>(&format!("{} WHERE r.id = $1", select()))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::NotFound("The approval request".into()))?;
    Ok(stored.into_view()?)
}

/// Files `request` on the claim (already taken) for `principal`.
pub(super) async fn file(
    conn: &mut AnyConnection,
    context: &AuditContext,
    claim_id: &str,
    principal: &Principal,
    request: NewRequest,
) -> Result<ApprovalView, AppError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO ledger_requests (id, claim_id, kind, body, amount, currency, summary, status, \
         requested_by, requested_by_name, requested_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10)",
    )
    .bind(&id)
    .bind(claim_id)
    .bind(request.kind.as_str())
    .bind(&request.body)
    .bind(request.amount.amount)
    .bind(request.amount.currency.as_str())
    .bind(&request.summary)
    .bind(&principal.id)
    .bind(&principal.name)
    .bind(now_micros())
    .execute(&mut *conn)
    .await?;
    let details = json!({
        "request": id,
        "kind": request.kind.as_str(),
        "amount": request.amount,
        "limit": request.limit,
        "summary": format!("Awaiting approval (over {}'s authority): {}", principal.name, request.summary),
    });
    record(conn, context, claim_id, "claim.approval_requested", details).await?;
    one(conn, &id).await
}

/// The pending request `id`, its claim taken first (so two approvers of
/// one request run one after the other and the second finds it decided).
async fn pending(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<(super::Locked, StoredBody), AppError> {
    let claim_id: Option<String> =
        sqlx::query_scalar("SELECT claim_id FROM ledger_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let claim_id = claim_id.ok_or_else(|| AppError::NotFound("The approval request".into()))?;
    let claim = lock(conn, &claim_id, None).await?;
    let body = sqlx::query_as::<_, StoredBody>(
        "SELECT claim_id, kind, body, amount, status, requested_by, requested_by_name \
         FROM ledger_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    if body.status != "pending" {
        return Err(AppError::Conflict(format!(
            "This request was already {}.",
            body.status
        )));
    }
    Ok((claim, body))
}

#[derive(sqlx::FromRow)]
struct StoredBody {
    claim_id: String,
    kind: String,
    body: String,
    amount: i64,
    status: String,
    requested_by: String,
    requested_by_name: String,
}

async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    principal: &Principal,
    status: &str,
    reason: Option<&str>,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE ledger_requests SET status = $1, decided_by = $2, decided_by_name = $3, \
         decided_at = $4, decision_reason = $5 WHERE id = $6 AND status = 'pending'",
    )
    .bind(status)
    .bind(&principal.id)
    .bind(&principal.name)
    .bind(now_micros())
    .bind(reason)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Approves request `id`: someone other than the requester, whose own
/// authority covers it, records the line (`claim.approval_granted`). A
/// request the figures no longer allow (the reserve was paid meanwhile)
/// is refused as the line itself would be, and stays pending.
pub async fn approve(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
) -> Result<LedgerLineView, AppError> {
    let mut tx = db.begin_write().await?;
    let (claim, request) = pending(&mut tx, id).await?;
    if request.requested_by == principal.id {
        return Err(AppError::Conflict(
            "You filed this request; someone else with the authority must approve it.".into(),
        ));
    }
    let amount = Money::new(request.amount, claim.currency);
    let mine = authority::of(&mut tx, principal, claim.currency).await?;
    let covered = match request.kind.as_str() {
        "reserve" => mine.covers_reserve(amount),
        _ => mine.covers_payment(amount),
    };
    if !covered {
        return Err(AppError::Conflict(format!(
            "{amount} is above your authority too ({}); a supervisor with a higher limit must approve it.",
            mine.describe()
        )));
    }
    let gate = Gate::Approved {
        requester: (&request.requested_by, &request.requested_by_name),
        approver: principal,
    };
    let bad_body = |e: serde_json::Error| AppError::internal(&e);
    let recorded = match request.kind.as_str() {
        "reserve" => {
            let input: ReserveInput = serde_json::from_str(&request.body).map_err(bad_body)?;
            reserve_in(&mut tx, context, &request.claim_id, &claim, &input, gate).await?
        }
        _ => {
            let input: PaymentInput = serde_json::from_str(&request.body).map_err(bad_body)?;
            payment_in(&mut tx, context, &request.claim_id, &claim, &input, gate).await?
        }
    };
    let Recorded::Line(line) = recorded else {
        return Err(AppError::internal_message(
            "an approved request asked for approval again",
        ));
    };
    decide(&mut tx, id, principal, "approved", None).await?;
    let details = json!({
        "request": id,
        "ledger_line": line.id,
        "requested_by": request.requested_by,
        "summary": format!("Approved {}'s request", request.requested_by_name),
    });
    record(
        &mut tx,
        context,
        &request.claim_id,
        "claim.approval_granted",
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(line)
}

/// Rejects (or, by its requester, withdraws) request `id` with a reason
/// (`claim.approval_rejected`).
pub async fn reject(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    reason: &str,
) -> Result<ApprovalView, AppError> {
    let reason =
        validation::text("reason", reason, 3, REASON_MAX_CHARS, true).map_err(FieldErrors::from)?;
    let mut tx = db.begin_write().await?;
    let (_, request) = pending(&mut tx, id).await?;
    decide(&mut tx, id, principal, "rejected", Some(&reason)).await?;
    let details = json!({
        "request": id,
        "reason": reason,
        "summary": format!("Rejected {}'s request: {reason}", request.requested_by_name),
    });
    record(
        &mut tx,
        context,
        &request.claim_id,
        "claim.approval_rejected",
        details,
    )
    .await?;
    let view = one(&mut tx, id).await?;
    tx.commit().await?;
    Ok(view)
}

/// The supervisor's queue: every pending request, oldest first (at most
/// 200; the oldest are the ones to clear).
pub async fn pending_requests(db: &Db) -> Result<Vec<ApprovalView>, AppError> {
    let rows = sqlx::query_as::<_, StoredApproval>(&format!(
        "{} WHERE r.status = 'pending' ORDER BY r.requested_at, r.id LIMIT 200",
        select()
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(StoredApproval::into_view)
        .collect::<Result<_, _>>()?)
}

/// How many requests on the claim wait for a decision.
pub(super) async fn pending_on(conn: &mut AnyConnection, claim_id: &str) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_requests WHERE claim_id = $1 AND status = 'pending'",
    )
    .bind(claim_id)
    .fetch_one(&mut *conn)
    .await?)
}
