//! The ledger's SQL and the services that append to it.
//!
//! Each change takes the claim's row first (bumping its version, so a
//! stale page or `If-Match` gets 412 and the claim's `ETag` moves): on
//! PostgreSQL that row lock makes two payments on one claim check their
//! limits one after the other, never both against the same totals; SQLite
//! has one writer anyway. Nothing else is locked, so changes to different
//! claims never wait on each other.

use serde::Deserialize;
use serde_json::json;
use shared::{
    FieldError, FieldErrors,
    authority::Authority,
    claim::{ClaimAction, ClaimStatus, max_payable},
    ledger::{
        AmountInput, Bucket, CostCategory, CostType, Entry, EntryKind, NewPayment, NewRecovery,
        PaymentInput, PaymentLimits, PaymentMethod, PaymentType, RecoveryInput, RecoveryType,
        ReserveChange, ReserveInput, Totals,
    },
    money::{Currency, Money, MoneyInput},
};
use sqlx::{AnyConnection, Row as _};

mod approvals;
mod authority;

pub use self::approvals::{APPROVAL_COLUMNS, StoredApproval, approve, pending_requests, reject};
pub(crate) use self::authority::of as approval_authority;
pub use self::authority::{authority_of, limits, set_limit};

use super::{FinancialsView, LedgerLineView, Recorded};
use crate::{
    audit::ssr::{self as audit, AuditContext},
    auth::ssr::Principal,
    claims::ssr::{bump_version, record_claim_event as record, transition_record},
    db::{Db, new_id, now_micros},
    error::AppError,
    idempotency::Key,
};

/// The ledger's columns, in the order [`StoredLine`] reads them (the claim
/// page selects them as JSON keys of the same names).
pub const LINE_COLUMNS: [&str; 15] = [
    "id",
    "kind",
    "cost_type",
    "category",
    "amount",
    "currency",
    "payee_id",
    "method",
    "payment_type",
    "recovery_type",
    "reference",
    "reason",
    "created_by_name",
    "created_at",
    "approved_by_name",
];

/// A ledger row as stored.
#[derive(Debug, Deserialize, sqlx::FromRow)]
pub struct StoredLine {
    id: String,
    kind: String,
    cost_type: String,
    category: String,
    amount: i64,
    currency: String,
    payee_id: Option<String>,
    method: Option<String>,
    payment_type: Option<String>,
    recovery_type: Option<String>,
    reference: Option<String>,
    reason: Option<String>,
    created_by_name: Option<String>,
    created_at: i64,
    approved_by_name: Option<String>,
}

fn decode(error: FieldError) -> sqlx::Error {
    sqlx::Error::Decode(error.to_string().into())
}

impl StoredLine {
    /// Stored codes passed these parses on the way in: a failure is a
    /// damaged row.
    pub fn into_view(self) -> Result<LedgerLineView, sqlx::Error> {
        fn optional<T>(
            raw: Option<String>,
            parse: fn(&str, &str) -> Result<T, FieldError>,
            field: &str,
        ) -> Result<Option<T>, sqlx::Error> {
            raw.map(|raw| parse(field, &raw))
                .transpose()
                .map_err(decode)
        }
        let currency = Currency::from_stored("currency", &self.currency).map_err(decode)?;
        Ok(LedgerLineView {
            kind: EntryKind::parse("kind", &self.kind).map_err(decode)?,
            bucket: Bucket {
                cost_type: CostType::parse("cost_type", &self.cost_type).map_err(decode)?,
                category: CostCategory::parse("category", &self.category).map_err(decode)?,
            },
            amount: Money::new(self.amount, currency),
            payment_type: optional(self.payment_type, PaymentType::parse, "payment_type")?,
            method: optional(self.method, PaymentMethod::parse, "method")?,
            recovery_type: optional(self.recovery_type, RecoveryType::parse, "recovery_type")?,
            id: self.id,
            payee_id: self.payee_id,
            reference: self.reference,
            reason: self.reason,
            recorded_by: self.created_by_name.unwrap_or_else(|| "Vanguard".into()),
            created_at: self.created_at,
            approved_by: self.approved_by_name,
        })
    }
}

/// The ledger `lines` (oldest first) with their figures in `currency`.
pub fn financials(currency: Currency, lines: Vec<LedgerLineView>) -> FinancialsView {
    let entries = lines
        .iter()
        .map(|line| Entry {
            kind: line.kind,
            bucket: line.bucket,
            amount: line.amount.amount,
        })
        .collect::<Vec<_>>();
    FinancialsView {
        currency,
        totals: Totals::from_entries(currency, &entries),
        lines,
    }
}

async fn lines_in(
    conn: &mut AnyConnection,
    claim_id: &str,
) -> Result<Vec<LedgerLineView>, AppError> {
    let sql = format!(
        "SELECT {} FROM claim_ledger WHERE claim_id = $1 ORDER BY created_at, id",
        LINE_COLUMNS.join(", ")
    );
    let rows = sqlx::query_as::<_, StoredLine>(&sql)
        .bind(claim_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(StoredLine::into_view)
        .collect::<Result<_, _>>()?)
}

/// The claim as a ledger change sees it, its row taken.
pub(super) struct Locked {
    status: ClaimStatus,
    /// The version before this change's bump.
    version: i64,
    /// The policy's currency: the ledger's.
    currency: Currency,
    approved_amount: Option<i64>,
    max_payable: Money,
}

/// Takes the claim's row (see [`bump_version`]) and reads what the rules
/// need.
pub(super) async fn lock(
    conn: &mut AnyConnection,
    id: &str,
    expected: Option<i64>,
) -> Result<Locked, AppError> {
    bump_version(conn, id, expected).await?;
    let row = sqlx::query(
        "SELECT cl.status, cl.version, cl.approved_amount, p.currency, p.coverage_limit, p.deductible \
         FROM claims cl JOIN policies p ON p.id = cl.policy_id WHERE cl.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::NotFound("The claim".into()))?;
    let version: i64 = row.try_get("version")?;
    let currency = Currency::from_stored("currency", &row.try_get::<String, _>("currency")?)
        .map_err(AppError::internal_message)?;
    let limit = Money::new(row.try_get("coverage_limit")?, currency);
    let deductible = Money::new(row.try_get("deductible")?, currency);
    let status = ClaimStatus::parse("status", &row.try_get::<String, _>("status")?)
        .map_err(AppError::internal_message)?;
    if status == ClaimStatus::Closed {
        return Err(AppError::Conflict(
            "The claim is closed; reopen it to change its financials.".into(),
        ));
    }
    Ok(Locked {
        status,
        version: version - 1,
        currency,
        approved_amount: row.try_get("approved_amount")?,
        max_payable: max_payable(limit, deductible).unwrap_or(limit),
    })
}

/// Stores the answer for the request's `Idempotency-Key`, in the change's
/// transaction: 201 with the line, 202 with the approval request.
async fn remember(
    conn: &mut AnyConnection,
    idempotency: Option<&Key>,
    recorded: &Recorded,
) -> Result<(), AppError> {
    let Some(key) = idempotency else {
        return Ok(());
    };
    let status = match recorded {
        Recorded::Line(_) => 201,
        Recorded::Pending(_) => 202,
    };
    let body = serde_json::to_string(recorded).map_err(|e| AppError::internal(&e))?;
    crate::idempotency::remember(conn, key, status, &body).await
}

/// An amount as the API states it, for a request's stored body.
fn minor(money: Money) -> AmountInput {
    AmountInput::Minor(MoneyInput {
        amount: money.amount,
        currency: money.currency.as_str().to_owned(),
    })
}

/// A line to append.
struct NewLine<'a> {
    kind: EntryKind,
    bucket: Bucket,
    amount: Money,
    payee_id: Option<&'a str>,
    method: Option<PaymentMethod>,
    payment_type: Option<PaymentType>,
    recovery_type: Option<RecoveryType>,
    reference: Option<&'a str>,
    reason: Option<&'a str>,
}

impl<'a> NewLine<'a> {
    fn new(kind: EntryKind, bucket: Bucket, amount: Money) -> Self {
        Self {
            kind,
            bucket,
            amount,
            payee_id: None,
            method: None,
            payment_type: None,
            recovery_type: None,
            reference: None,
            reason: None,
        }
    }
}

/// Who a change is by, and whether it still has to pass their authority.
#[derive(Clone, Copy)]
pub(super) enum Gate<'a> {
    /// Checked against `Authority`: over it, the change waits for approval.
    Check(&'a Principal, Authority),
    /// Approved: recorded as the requester's (id, name), approved by
    /// `approver`.
    Approved {
        requester: (&'a str, &'a str),
        approver: &'a Principal,
    },
}

impl Gate<'_> {
    /// (id, name) of who recorded it, and of who approved it.
    fn recorder(&self) -> ((&str, &str), Option<(&str, &str)>) {
        match *self {
            Gate::Check(principal, _) => ((&principal.id, &principal.name), None),
            Gate::Approved {
                requester,
                approver,
            } => (requester, Some((&approver.id, &approver.name))),
        }
    }
}

async fn append(
    conn: &mut AnyConnection,
    claim_id: &str,
    gate: Gate<'_>,
    line: &NewLine<'_>,
) -> Result<String, AppError> {
    let id = new_id();
    let ((by, by_name), approved) = gate.recorder();
    sqlx::query(
        "INSERT INTO claim_ledger (id, claim_id, kind, cost_type, category, amount, currency, payee_id, \
         method, payment_type, recovery_type, reference, reason, created_by, created_by_name, created_at, \
         approved_by, approved_by_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&id)
    .bind(claim_id)
    .bind(line.kind.as_str())
    .bind(line.bucket.cost_type.as_str())
    .bind(line.bucket.category.as_str())
    .bind(line.amount.amount)
    .bind(line.amount.currency.as_str())
    .bind(line.payee_id)
    .bind(line.method.map(PaymentMethod::as_str))
    .bind(line.payment_type.map(PaymentType::as_str))
    .bind(line.recovery_type.map(RecoveryType::as_str))
    .bind(line.reference)
    .bind(line.reason)
    .bind(by)
    .bind(by_name)
    .bind(now_micros())
    .bind(approved.map(|(id, _)| id))
    .bind(approved.map(|(_, name)| name))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// One change to a claim's ledger, as submitted.
#[derive(Debug, Clone)]
pub enum LedgerChange {
    /// A bucket's new outstanding reserve, recorded as the change from what
    /// it was (`claim.reserve_set`, with the reason).
    Reserve(ReserveInput),
    /// A payment to a party of the claim from a bucket's reserve, within the
    /// approval and the policy's limit. A final payment releases what is
    /// left of the bucket's reserve and, on an approved claim's claim costs,
    /// settles the claim (`claim.pay`).
    Payment(PaymentInput),
    /// Money coming back on a bucket (`claim.recovery_recorded`).
    Recovery(RecoveryInput),
}

/// Records `change` on the claim, checked against the version the caller
/// saw (`expected`) and the caller's authority: over it, a reserve raise or
/// a payment is filed for approval instead. With `idempotency`, the answer
/// is stored in the same transaction.
pub async fn record_change(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    claim_id: &str,
    change: &LedgerChange,
    expected: Option<i64>,
    idempotency: Option<&Key>,
) -> Result<Recorded, AppError> {
    let mut tx = db.begin_write().await?;
    let claim = lock(&mut tx, claim_id, expected).await?;
    let authority = authority::of(&mut tx, principal, claim.currency).await?;
    let gate = Gate::Check(principal, authority);
    let recorded = match change {
        LedgerChange::Reserve(input) => {
            reserve_in(&mut tx, context, claim_id, &claim, input, gate).await?
        }
        LedgerChange::Payment(input) => {
            payment_in(&mut tx, context, claim_id, &claim, input, gate).await?
        }
        LedgerChange::Recovery(input) => {
            recovery_in(&mut tx, context, claim_id, &claim, input, gate).await?
        }
    };
    remember(&mut tx, idempotency, &recorded).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// A reserve change on a claim already taken: raising a reserve above the
/// gate's authority files a request instead.
pub(super) async fn reserve_in(
    tx: &mut AnyConnection,
    context: &AuditContext,
    claim_id: &str,
    claim: &Locked,
    input: &ReserveInput,
    gate: Gate<'_>,
) -> Result<Recorded, AppError> {
    let change = ReserveChange::parse(input, claim.currency)?;
    let totals = financials(claim.currency, lines_in(tx, claim_id).await?).totals;
    let before = totals.bucket(change.bucket).outstanding;
    let delta = change
        .delta(&totals)
        .map_err(|e| FieldErrors::from(input.amount.rename(e)))?;
    let mut line = NewLine::new(
        EntryKind::Reserve,
        change.bucket,
        Money::new(delta, claim.currency),
    );
    if delta > 0
        && let Gate::Check(principal, authority) = gate
        && !authority.covers_reserve(change.outstanding)
    {
        let stored = ReserveInput {
            amount: minor(change.outstanding),
            reason: change.reason.clone(),
            ..input.clone()
        };
        let summary = format!(
            "Reserve on {} to {} (from {}): {}",
            change.bucket.label(),
            change.outstanding,
            before,
            change.reason
        );
        let request = approvals::NewRequest {
            kind: approvals::RequestKind::Reserve,
            body: serde_json::to_string(&stored).map_err(|e| AppError::internal(&e))?,
            amount: change.outstanding,
            summary,
            limit: authority.reserve,
        };
        return Ok(Recorded::Pending(
            approvals::file(tx, context, claim_id, principal, request).await?,
        ));
    }
    line.reason = Some(&change.reason);
    let id = append(tx, claim_id, gate, &line).await?;
    let details = json!({
        "ledger_line": id,
        "bucket": change.bucket,
        "reason": change.reason,
        "before": { "outstanding": before },
        "after": { "outstanding": change.outstanding },
    });
    record(tx, context, claim_id, "claim.reserve_set", details).await?;
    Ok(Recorded::Line(last_line(tx, claim_id, &id).await?))
}

/// A payment on a claim already taken: a payment above the gate's
/// authority files a request instead.
pub(super) async fn payment_in(
    tx: &mut AnyConnection,
    context: &AuditContext,
    claim_id: &str,
    claim: &Locked,
    input: &PaymentInput,
    gate: Gate<'_>,
) -> Result<Recorded, AppError> {
    if matches!(claim.status, ClaimStatus::Submitted | ClaimStatus::Triaged) {
        return Err(AppError::Conflict(
            "Payments start once the claim is in review; take it for review first.".into(),
        ));
    }
    let payment = NewPayment::parse(input, claim.currency)?;
    let payee: Option<String> =
        sqlx::query_scalar("SELECT role FROM claim_parties WHERE id = $1 AND claim_id = $2")
            .bind(&payment.payee_id)
            .bind(claim_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(payee_role) = payee else {
        return Err(FieldErrors::from(FieldError::new(
            "payee_id",
            "must be a party of this claim (add the payee under Parties first)",
        ))
        .into());
    };
    let totals = financials(claim.currency, lines_in(tx, claim_id).await?).totals;
    let approved = matches!(claim.status, ClaimStatus::Approved | ClaimStatus::Paid)
        .then_some(claim.approved_amount)
        .flatten()
        .map(|amount| Money::new(amount, claim.currency));
    let limits = PaymentLimits {
        max_payable: claim.max_payable,
        approved,
    };
    payment
        .check(&totals, limits)
        .map_err(|e| FieldErrors::from(input.amount.rename(e)))?;
    let payee_label = shared::party::PartyRole::parse("role", &payee_role)
        .map_or("payee", |role| role.label())
        .to_lowercase();
    let summary = format!(
        "{} to the {payee_label} by {} ({}) on {}",
        payment.amount,
        payment.method.label().to_lowercase(),
        payment.payment_type.label().to_lowercase(),
        payment.bucket.label()
    );
    if let Gate::Check(principal, authority) = gate
        && !authority.covers_payment(payment.amount)
    {
        let stored = PaymentInput {
            amount: minor(payment.amount),
            ..input.clone()
        };
        let request = approvals::NewRequest {
            kind: approvals::RequestKind::Payment,
            body: serde_json::to_string(&stored).map_err(|e| AppError::internal(&e))?,
            amount: payment.amount,
            summary,
            limit: authority.payment,
        };
        return Ok(Recorded::Pending(
            approvals::file(tx, context, claim_id, principal, request).await?,
        ));
    }
    let mut line = NewLine::new(EntryKind::Payment, payment.bucket, payment.amount);
    line.payee_id = Some(&payment.payee_id);
    line.method = Some(payment.method);
    line.payment_type = Some(payment.payment_type);
    line.reference = payment.reference.as_deref();
    let id = append(tx, claim_id, gate, &line).await?;
    let left = totals
        .bucket(payment.bucket)
        .outstanding
        .amount
        .saturating_sub(payment.amount.amount);
    let is_final = payment.payment_type == PaymentType::Final;
    if is_final && left > 0 {
        let mut release = NewLine::new(
            EntryKind::Reserve,
            payment.bucket,
            Money::new(-left, claim.currency),
        );
        release.reason = Some("Released by the final payment");
        append(tx, claim_id, gate, &release).await?;
    }
    let details = json!({
        "ledger_line": id,
        "bucket": payment.bucket,
        "amount": payment.amount,
        "payee_id": payment.payee_id,
        "method": payment.method,
        "payment_type": payment.payment_type,
        "reference": payment.reference,
        "summary": summary,
    });
    record(tx, context, claim_id, "claim.payment_recorded", details).await?;
    if is_final
        && payment.bucket.cost_type == CostType::ClaimCost
        && claim.status == ClaimStatus::Approved
    {
        settle(tx, context, claim_id, claim).await?;
    }
    Ok(Recorded::Line(last_line(tx, claim_id, &id).await?))
}

/// Approved → paid, by the final claim-cost payment.
async fn settle(
    conn: &mut AnyConnection,
    context: &AuditContext,
    claim_id: &str,
    claim: &Locked,
) -> Result<(), AppError> {
    sqlx::query("UPDATE claims SET status = $1 WHERE id = $2")
        .bind(ClaimStatus::Paid.as_str())
        .bind(claim_id)
        .execute(&mut *conn)
        .await?;
    let record = transition_record(
        context,
        claim_id,
        (claim.status, claim.version),
        ClaimAction::Pay,
        ClaimStatus::Paid,
        json!({ "reason": "Final claim-cost payment recorded" }),
    );
    audit::append_all(conn, &[record]).await?;
    Ok(())
}

/// A recovery on a claim already taken. Money coming in needs no
/// authority.
async fn recovery_in(
    tx: &mut AnyConnection,
    context: &AuditContext,
    claim_id: &str,
    claim: &Locked,
    input: &RecoveryInput,
    gate: Gate<'_>,
) -> Result<Recorded, AppError> {
    let recovery = NewRecovery::parse(input, claim.currency)?;
    let totals = financials(claim.currency, lines_in(tx, claim_id).await?).totals;
    recovery
        .check(&totals)
        .map_err(|e| FieldErrors::from(input.amount.rename(e)))?;
    let mut line = NewLine::new(EntryKind::Recovery, recovery.bucket, recovery.amount);
    line.recovery_type = Some(recovery.recovery_type);
    line.reference = recovery.reference.as_deref();
    let id = append(tx, claim_id, gate, &line).await?;
    let details = json!({
        "ledger_line": id,
        "bucket": recovery.bucket,
        "amount": recovery.amount,
        "recovery_type": recovery.recovery_type,
        "reference": recovery.reference,
        "summary": format!(
            "{} recovered ({}) on {}",
            recovery.amount,
            recovery.recovery_type.label().to_lowercase(),
            recovery.bucket.label()
        ),
    });
    record(tx, context, claim_id, "claim.recovery_recorded", details).await?;
    Ok(Recorded::Line(last_line(tx, claim_id, &id).await?))
}

async fn last_line(
    conn: &mut AnyConnection,
    claim_id: &str,
    id: &str,
) -> Result<LedgerLineView, AppError> {
    lines_in(conn, claim_id)
        .await?
        .into_iter()
        .find(|line| line.id == id)
        .ok_or_else(|| AppError::internal_message("a ledger line just written is missing"))
}

/// The claim's ledger and figures (the API's read), in the policy's
/// currency.
pub async fn financials_of(db: &Db, claim_id: &str) -> Result<FinancialsView, AppError> {
    let mut conn = db.pool().acquire().await?;
    let currency: Option<String> = sqlx::query_scalar(
        "SELECT p.currency FROM claims cl JOIN policies p ON p.id = cl.policy_id WHERE cl.id = $1",
    )
    .bind(claim_id)
    .fetch_optional(&mut *conn)
    .await?;
    let currency = currency.ok_or_else(|| AppError::NotFound("The claim".into()))?;
    let currency =
        Currency::from_stored("currency", &currency).map_err(AppError::internal_message)?;
    Ok(financials(currency, lines_in(&mut conn, claim_id).await?))
}

/// What stops a claim from closing on the money side: requests waiting
/// for approval, and the outstanding reserve of each bucket that still has
/// one, named.
pub async fn close_blockers(
    conn: &mut AnyConnection,
    claim_id: &str,
) -> Result<Option<String>, AppError> {
    let waiting = approvals::pending_on(conn, claim_id).await?;
    if waiting > 0 {
        return Ok(Some(format!(
            "The claim has {waiting} reserve or payment request(s) awaiting approval; approve or reject them before closing."
        )));
    }
    let lines = lines_in(conn, claim_id).await?;
    let Some(first) = lines.first() else {
        return Ok(None);
    };
    let totals = financials(first.amount.currency, lines).totals;
    let open = totals
        .buckets
        .iter()
        .filter(|b| b.figures.outstanding.is_positive())
        .map(|b| format!("{} on {}", b.figures.outstanding, b.bucket.label()))
        .collect::<Vec<_>>();
    Ok((!open.is_empty()).then(|| {
        format!(
            "The claim still has outstanding reserves ({}); pay them or set them to zero before closing.",
            open.join(", ")
        )
    }))
}
