//! Every SQL statement on claims, their lines and notes, and the services
//! the server functions, the JSON API and the pipeline share.

use serde_json::json;
use sha2::{Digest as _, Sha256};
use shared::{
    FieldError, FieldErrors,
    auth::Role,
    claim::{
        ClaimAction, ClaimNumber, ClaimStatus, Decision, DecisionInput, NewClaim, NewClaimInput,
        Priority,
    },
    confirm::Irreversible,
    contact::{Email, PersonName, Phone},
    dates::Date,
    money::{Currency, Money, MoneyInput},
    pagination::{Page, PageRequest},
    policy::LineOfBusiness,
    triage::{FlagCode, FraudFlag},
};
use sqlx::{Row as _, any::AnyRow};

use self::sort::Sort;
pub use self::view::view;
use super::{ClaimFilters, ClaimReceipt, ClaimStats, ClaimSummary, ClaimantView};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    auth::ssr::Principal,
    batch::Batch,
    clock::today,
    db::{Db, Filter, new_id, now_micros},
    error::AppError,
    numbering::{Counter, Numbers},
    state::AppState,
    tenancy::{self, Scope},
    vault::{
        VaultFailure,
        unreadable::{self, UNREADABLE},
    },
    workflow::ssr as workflow,
};

mod snapshot;
mod sort;
mod triage;
mod view;

pub use self::snapshot::{Snapshot, snapshots};
pub(crate) use self::triage::link_claims;
pub use self::triage::{
    Facts, Outcome, TRIAGE_CANDIDATES, TriageFacts, claim_facts, record_triage, triage_facts,
};

const TABLE: &str = "claims";

/// How a claim arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The new-claim form.
    Staff,
    /// `POST /api/v1/claims`.
    Api,
    /// `POST /orchestrate`, the legacy partner payload.
    Legacy,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Staff => "staff",
            Source::Api => "api",
            Source::Legacy => "legacy",
        }
    }
}

/// The most an adjuster may approve alone, in minor units of the claim's
/// currency; above it an administrator decides.
pub const ADJUSTER_AUTHORITY: i64 = 2_500_000;

const COLUMNS: &str = "SELECT cl.id, cl.claim_number, cl.policy_id, p.policy_number, cl.customer_id, \
    c.customer_number, p.line, cl.status, cl.priority, cl.incident_date, cl.currency, cl.total_claimed, \
    cl.approved_amount, cl.paid_amount, cl.fraud_flags, cl.assignee_id, u.display_name AS assignee_name, \
    cl.source, cl.version, cl.created_at, cl.triaged_at";
const FROM: &str = " FROM claims cl JOIN policies p ON p.id = cl.policy_id \
    JOIN customers c ON c.id = cl.customer_id LEFT JOIN users u ON u.id = cl.assignee_id";

/// A summary row: [`COLUMNS`] [`FROM`] (the list's filters go after).
fn select() -> String {
    format!("{COLUMNS}{FROM}")
}

fn decode(error: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(error.to_string().into())
}

fn summary_from_row(row: &AnyRow) -> Result<ClaimSummary, sqlx::Error> {
    let currency = Currency::from_stored("currency", &row.try_get::<String, _>("currency")?)
        .map_err(decode)?;
    let money = |column: &str| -> Result<Option<Money>, sqlx::Error> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .map(|amount| Money::new(amount, currency)))
    };
    let priority = row
        .try_get::<Option<String>, _>("priority")?
        .map(|raw| Priority::parse("priority", &raw))
        .transpose()
        .map_err(decode)?;
    let triaged_at: Option<i64> = row.try_get("triaged_at")?;
    let status =
        ClaimStatus::parse("status", &row.try_get::<String, _>("status")?).map_err(decode)?;
    let review_due_at = triaged_at
        .zip(priority)
        .map(|(at, p)| at + i64::from(p.sla_hours()) * 3_600_000_000);
    let fraud_flags: Vec<FraudFlag> =
        serde_json::from_str(&row.try_get::<String, _>("fraud_flags")?).map_err(decode)?;
    Ok(ClaimSummary {
        id: row.try_get("id")?,
        claim_number: row.try_get("claim_number")?,
        policy_id: row.try_get("policy_id")?,
        policy_number: row.try_get("policy_number")?,
        customer_id: row.try_get("customer_id")?,
        customer_number: row.try_get("customer_number")?,
        line: LineOfBusiness::parse("line", &row.try_get::<String, _>("line")?).map_err(decode)?,
        status,
        priority,
        incident_date: row.try_get("incident_date")?,
        total_claimed: Money::new(row.try_get("total_claimed")?, currency),
        approved_amount: money("approved_amount")?,
        paid_amount: money("paid_amount")?,
        fraud_flags,
        assignee_id: row.try_get("assignee_id")?,
        assignee_name: row.try_get("assignee_name")?,
        source: row.try_get("source")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        triaged_at,
        review_due_at,
        sla_breached: status == ClaimStatus::Triaged
            && review_due_at.is_some_and(|due| due < now_micros()),
    })
}

/// The policy a new claim names, as the insert needs it, and the claim's
/// number when the engine can take it in the same statement.
struct PolicyRef {
    id: String,
    customer_id: String,
    partner_id: Option<String>,
    number: Option<i64>,
}

/// The policy a claim is filed on. A partner's caller (`scope`) files on its
/// own policies only: another organisation's policy number reads exactly
/// like an unknown one, so numbers cannot be probed. On PostgreSQL the
/// same statement takes the claim's number from `counter` (one round trip
/// fewer; a policy the caller may not see wastes a number, which gaps allow).
async fn policy_by_number(
    conn: &mut sqlx::AnyConnection,
    scope: &Scope,
    number: &str,
    counter: &Counter,
) -> Result<PolicyRef, AppError> {
    let next = counter
        .select_expression()?
        .unwrap_or_else(|| "NULL".to_owned());
    let row = sqlx::query(&format!(
        "SELECT id, customer_id, partner_id, {next} AS next_number FROM policies WHERE policy_number = $1"
    ))
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?
    .filter(|row| tenancy::sees_row(scope, row))
    .ok_or_else(|| {
        FieldErrors::from(FieldError::new(
            "policy_number",
            "does not match any policy",
        ))
    })?;
    Ok(PolicyRef {
        id: row.try_get("id")?,
        customer_id: row.try_get("customer_id")?,
        partner_id: row.try_get("partner_id")?,
        number: row.try_get("next_number")?,
    })
}

/// The idempotency record a claim is stored with: `(caller, key, request
/// hash)`.
pub type IdempotencyRecord<'a> = (&'a str, &'a str, &'a str);

/// Writes a new claim, its lines, its audit record, the first job of its
/// pipeline and (with `idempotency`) the stored answer for its
/// `Idempotency-Key`, inside the caller's write transaction; its number
/// comes from `counter` (a `claim` counter of [`Numbers::yearly`]).
///
/// Round trips on PostgreSQL: the policy (with the number), the claimant's
/// data key when a claimant is given, one [`Batch`] for the claim, its
/// lines, the execution, the job and the idempotency record, and the audit
/// append. A repeated key fails the batch with a unique violation.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one write, each from a different layer"
)]
pub async fn insert(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    counter: &Counter,
    context: &AuditContext,
    scope: &Scope,
    claim: &NewClaim,
    source: Source,
    idempotency: Option<IdempotencyRecord<'_>>,
) -> Result<ClaimReceipt, AppError> {
    let policy = policy_by_number(tx, scope, claim.policy_number.as_str(), counter).await?;
    let id = new_id();
    let claimant = match &claim.claimant {
        None => [None, None, None],
        Some(claimant) => {
            // Sealed with the policyholder's data key: erasing the customer
            // shreds the claimant's details with theirs.
            let dek = state
                .vault
                .load_key(tx, &policy.customer_id)
                .await
                .map_err(|failure| match failure {
                    VaultFailure::Crypto(crate::vault::crypto::VaultError::Erased) => AppError::Conflict(
                        "The policyholder's personal data was erased; this claim cannot carry claimant details."
                            .into(),
                    ),
                    other => other.into(),
                })?;
            let seal = |column: &str, value: &str| {
                state
                    .vault
                    .seal_field(&dek, TABLE, column, &id, value)
                    .map_err(|e| AppError::internal(&e))
            };
            [
                Some(seal("claimant_name", claimant.name.as_str())?),
                claimant
                    .email
                    .as_ref()
                    .map(|e| seal("claimant_email", e.as_str()))
                    .transpose()?,
                claimant
                    .phone
                    .as_ref()
                    .map(|p| seal("claimant_phone", p.as_str()))
                    .transpose()?,
            ]
        }
    };
    let year = counter.year();
    let sequence = match policy.number {
        Some(taken) => taken,
        None => counter.next(tx).await?,
    };
    let number = u32::try_from(sequence)
        .ok()
        .and_then(|sequence| ClaimNumber::format(year, sequence))
        .ok_or_else(|| AppError::internal_message("claim numbers exhausted for the year"))?;
    let now = now_micros();
    let [claimant_name, claimant_email, claimant_phone] = claimant;
    let mut batch = Batch::new();
    batch.push(
        "INSERT INTO claims (id, claim_number, policy_id, customer_id, status, incident_date, description, \
         currency, total_claimed, claimant_name, claimant_email, claimant_phone, fraud_flags, source, \
         version, created_at, updated_at, partner_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '[]', $13, 1, $14, $14, $15)",
        vec![
            id.as_str().into(),
            number.as_str().into(),
            policy.id.as_str().into(),
            policy.customer_id.as_str().into(),
            ClaimStatus::INITIAL.as_str().into(),
            claim.incident_date.to_string().into(),
            claim.description.as_str().into(),
            claim.total.currency.as_str().into(),
            claim.total.amount.into(),
            claimant_name.into(),
            claimant_email.into(),
            claimant_phone.into(),
            source.as_str().into(),
            now.into(),
            // The policy's partner, whoever files: a claim staff file on a
            // partner's policy is visible to that partner too.
            policy.partner_id.clone().into(),
        ],
    );
    // One statement for every line: no round trip per line.
    let values = (0..claim.lines.len())
        .map(|row| format!("({})", crate::db::placeholders(1 + row * 5, 5)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut line_args = Vec::with_capacity(claim.lines.len() * 5);
    for (position, line) in claim.lines.iter().enumerate() {
        line_args.extend([
            id.as_str().into(),
            i64::try_from(position).unwrap_or_default().into(),
            line.code().into(),
            line.description().into(),
            line.amount().amount.into(),
        ]);
    }
    batch.push(
        format!("INSERT INTO claim_lines (claim_id, position, code, description, amount) VALUES {values}"),
        line_args,
    );
    let execution_id =
        workflow::start_execution(&mut batch, &id, context.correlation_id.as_deref());
    let receipt = ClaimReceipt {
        id,
        claim_number: number.as_str().to_owned(),
        status: ClaimStatus::INITIAL,
        execution_id,
    };
    if let Some((caller, key, request_hash)) = idempotency {
        let body = serde_json::to_string(&receipt).map_err(|e| AppError::internal(&e))?;
        batch.push(
            "INSERT INTO idempotency_keys (caller, idem_key, request_hash, status, response, created_at) \
             VALUES ($1, $2, $3, 202, $4, $5)",
            vec![
                caller.into(),
                key.into(),
                request_hash.into(),
                body.into(),
                now.into(),
            ],
        );
    }
    batch.execute(tx, state.db.engine()).await?;
    audit::append(
        tx,
        context,
        AuditEvent {
            action: "claim.submitted",
            entity_type: "claim",
            entity_id: Some(&receipt.id),
            // The claimant's details are PII: only whether they were given.
            details: json!({ "after": {
                "claim_number": number.as_str(),
                "policy_number": claim.policy_number.as_str(),
                "incident_date": claim.incident_date.to_string(),
                "total_claimed": claim.total,
                "lines": claim.lines.len(),
                "claimant_given": claim.claimant.is_some(),
                "source": source.as_str(),
                "execution_id": receipt.execution_id,
            }}),
        },
    )
    .await?;
    Ok(receipt)
}

/// Validates and stores a new claim and starts its pipeline.
pub async fn submit(
    state: &AppState,
    context: &AuditContext,
    scope: &Scope,
    input: &NewClaimInput,
    source: Source,
) -> Result<ClaimReceipt, AppError> {
    let claim = NewClaim::parse(input, today())?;
    let counter = Numbers::yearly(&state.db, "claim").await?;
    let mut tx = state.db.begin_write().await?;
    let receipt = insert(
        state, &mut tx, &counter, context, scope, &claim, source, None,
    )
    .await?;
    tx.commit().await?;
    crate::metrics::global().claim_ingested(source.as_str());
    workflow::wake(state);
    Ok(receipt)
}

/// What an `Idempotency-Key` resolved to.
pub enum Ingested {
    /// Stored now; answer `202` with the receipt.
    Created(ClaimReceipt),
    /// The key was used before with the same body: the stored answer.
    Replayed { status: u16, body: String },
}

/// [`submit`] for partner systems: with `idempotency` (caller, key), the
/// first request's answer is stored in the same transaction as the claim,
/// and a repeat of the same body gets it back instead of a second claim.
/// The same key with a different body is refused (422, field
/// `Idempotency-Key`).
pub async fn ingest(
    state: &AppState,
    context: &AuditContext,
    scope: &Scope,
    input: &NewClaimInput,
    source: Source,
    idempotency: Option<(&str, &str)>,
) -> Result<Ingested, AppError> {
    // Before anything is read or stored: a refused claim costs nothing.
    state.admission.check()?;
    let Some((caller, key)) = idempotency else {
        return Ok(Ingested::Created(
            submit(state, context, scope, input, source).await?,
        ));
    };
    let request_hash = request_hash(input)?;
    // The answer is stored with the claim, in the same statement as the
    // claim's rows. A key used before fails that statement (PostgreSQL's
    // unique index makes a concurrent request with the same key wait for
    // the first to commit; SQLite's writer lock queues it), and then, or
    // when this body no longer passes (a repeat must get the first answer,
    // not today's verdict), the stored answer is looked up: in the common
    // case of a new key, no lookup at all.
    let attempt = async {
        let claim = NewClaim::parse(input, today())?;
        let counter = Numbers::yearly(&state.db, "claim").await?;
        let mut tx = state.db.begin_write().await?;
        let receipt = insert(
            state,
            &mut tx,
            &counter,
            context,
            scope,
            &claim,
            source,
            Some((caller, key, &request_hash)),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(receipt)
    };
    match attempt.await {
        Ok(receipt) => {
            crate::metrics::global().claim_ingested(source.as_str());
            workflow::wake(state);
            Ok(Ingested::Created(receipt))
        }
        Err(error) => match stored_response(state, caller, key, &request_hash).await? {
            Some(stored) => Ok(stored),
            None => Err(error),
        },
    }
}

/// SHA-256 of the request as parsed, so formatting and key order do not
/// make the same request look different.
fn request_hash(input: &NewClaimInput) -> Result<String, AppError> {
    let canonical = serde_json::to_vec(input).map_err(|e| AppError::internal(&e))?;
    Ok(crate::encoding::hex(&Sha256::digest(canonical)))
}

/// Deletes stored idempotent responses created before `before`
/// (microseconds); returns how many went.
pub async fn prune_idempotency_keys(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    crate::retention::delete_in_chunks(
        db,
        "DELETE FROM idempotency_keys WHERE (caller, idem_key) IN \
         (SELECT caller, idem_key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
        before,
    )
    .await
}

async fn stored_response(
    state: &AppState,
    caller: &str,
    key: &str,
    request_hash: &str,
) -> Result<Option<Ingested>, AppError> {
    let Some(row) = sqlx::query(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE caller = $1 AND idem_key = $2",
    )
    .bind(caller)
    .bind(key)
    .fetch_optional(state.db.pool())
    .await?
    else {
        return Ok(None);
    };
    if row.try_get::<String, _>("request_hash")? != request_hash {
        return Err(FieldErrors::from(FieldError::new(
            "Idempotency-Key",
            "was already used with a different request body",
        ))
        .into());
    }
    let status: i64 = row.try_get("status")?;
    Ok(Some(Ingested::Replayed {
        status: u16::try_from(status).unwrap_or(202),
        body: row.try_get("response")?,
    }))
}

pub async fn find(state: &AppState, id: &str) -> Result<Option<ClaimSummary>, AppError> {
    let row = sqlx::query(&format!("{} WHERE cl.id = $1", select()))
        .bind(id)
        .fetch_optional(state.db.pool())
        .await?;
    Ok(row.as_ref().map(summary_from_row).transpose()?)
}

/// Triage belongs to the pipeline, and the three decisions have their own
/// form; the rest are buttons.
fn staff_actions(actions: Vec<ClaimAction>) -> Vec<ClaimAction> {
    actions.into_iter().filter(|a| a.is_manual()).collect()
}

/// Opens and masks the claimant's details; an erased policyholder's key is
/// gone, so they read as erased. A value that does not decrypt under this
/// claim (moved from another record) reads `unreadable` and is named in the
/// second half of the answer.
fn claimant_of(
    state: &AppState,
    row: &AnyRow,
    id: &str,
) -> Result<(Option<ClaimantView>, Vec<String>), AppError> {
    let Some(name) = row.try_get::<Option<Vec<u8>>, _>("claimant_name")? else {
        return Ok((None, Vec::new()));
    };
    let key = crate::vault::WrappedKey::from_row(row)?;
    let customer_id: String = row.try_get("customer_id")?;
    let Ok(dek) = state.vault.unwrap_key(&customer_id, &key) else {
        return Ok((
            Some(ClaimantView {
                name: shared::customer::ERASED.into(),
                email: None,
                phone: None,
            }),
            Vec::new(),
        ));
    };
    let mut unreadable = Vec::new();
    // Stored values passed these parses on the way in.
    let mut show = |column: &str, envelope: &[u8], mask: fn(&str) -> Option<String>| match state
        .vault
        .open_field(&dek, TABLE, column, id, envelope)
    {
        Ok(plain) => mask(&plain).unwrap_or_else(|| "***".into()),
        Err(_) => {
            unreadable.push(column.to_owned());
            UNREADABLE.to_owned()
        }
    };
    let name = show("claimant_name", &name, |v| {
        PersonName::parse("name", v).ok().map(|n| n.mask())
    });
    let email = row
        .try_get::<Option<Vec<u8>>, _>("claimant_email")?
        .map(|e| {
            show("claimant_email", &e, |v| {
                Email::parse("email", v).ok().map(|e| e.mask())
            })
        });
    let phone = row
        .try_get::<Option<Vec<u8>>, _>("claimant_phone")?
        .map(|p| {
            show("claimant_phone", &p, |v| {
                Phone::parse("phone", v).ok().map(|p| p.mask())
            })
        });
    Ok((Some(ClaimantView { name, email, phone }), unreadable))
}

/// The claimant's details that can be revealed.
const CLAIMANT_FIELDS: [&str; 3] = ["claimant_name", "claimant_email", "claimant_phone"];

/// Shows one claimant field in clear to someone allowed to see it, for a
/// stated reason, audited like a customer's (`claim.pii_revealed`).
pub async fn reveal_claimant(
    state: &AppState,
    context: &AuditContext,
    id: &str,
    field: &str,
    reason: &str,
) -> Result<Option<String>, AppError> {
    let mut errors = FieldErrors::new();
    let column = CLAIMANT_FIELDS.into_iter().find(|f| *f == field.trim());
    if column.is_none() {
        errors.push(
            "field",
            "must be one of claimant_name, claimant_email, claimant_phone",
        );
    }
    let reason = errors.check(crate::customers::ssr::reveal_reason(reason));
    errors.clone().into_result()?;
    let (Some(column), Some(reason)) = (column, reason) else {
        return Err(errors.into());
    };
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query(&format!(
        "SELECT cl.customer_id, cl.{column} AS envelope, k.kek_id, k.wrapped_key FROM claims cl \
         LEFT JOIN customer_keys k ON k.customer_id = cl.customer_id WHERE cl.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::NotFound("The claim".into()))?;
    let value = match row.try_get::<Option<Vec<u8>>, _>("envelope")? {
        None => None,
        Some(envelope) => {
            let key = crate::vault::WrappedKey::from_row(&row)?;
            let customer_id: String = row.try_get("customer_id")?;
            let dek = state.vault.unwrap_key(&customer_id, &key).map_err(|_| {
                AppError::Conflict("The policyholder's personal data was erased.".into())
            })?;
            match state.vault.open_field(&dek, TABLE, column, id, &envelope) {
                Ok(plain) => Some(plain),
                Err(_) => {
                    drop(tx);
                    unreadable::report(&state.db, "claim", id, &[column.to_owned()]).await?;
                    return Err(unreadable::conflict(column));
                }
            }
        }
    };
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "claim.pii_revealed",
            entity_type: "claim",
            entity_id: Some(id),
            details: json!({ "field": column, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(value)
}

/// The one line worth showing from an audit record's details.
fn timeline_detail(details: &serde_json::Value) -> Option<String> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
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

/// The filters, checked: every error names its field.
fn build_filter(filters: &ClaimFilters, me: Option<&str>) -> Result<(Filter, Sort), FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut filter = Filter::default();
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let queue = present(&filters.queue).is_some_and(|q| q != "false" && q != "0");
    if queue {
        filter.literal("cl.status IN ('triaged', 'in_review')");
    }
    if let Some(status) =
        present(&filters.status).and_then(|raw| errors.check(ClaimStatus::parse("status", &raw)))
    {
        filter.equals("cl.status", status.as_str().to_owned());
    }
    if let Some(priority) =
        present(&filters.priority).and_then(|raw| errors.check(Priority::parse("priority", &raw)))
    {
        filter.equals("cl.priority", priority.as_str().to_owned());
    }
    match present(&filters.assignee).as_deref() {
        None => {}
        Some("none") => filter.literal("cl.assignee_id IS NULL"),
        Some("me") => match me {
            Some(me) => filter.equals("cl.assignee_id", me.to_owned()),
            None => errors.push("assignee", "`me` needs a signed-in member of staff"),
        },
        Some(user) => filter.equals("cl.assignee_id", user.to_owned()),
    }
    for (field, raw, op) in [("from", &filters.from, ">="), ("to", &filters.to, "<=")] {
        if let Some(date) = present(raw).and_then(|raw| errors.check(Date::parse(field, &raw))) {
            filter.compare("cl.incident_date", op, date.to_string());
        }
    }
    if let Some(customer) = present(&filters.customer_id) {
        filter.equals("cl.customer_id", customer);
    }
    if let Some(policy) = present(&filters.policy_id) {
        filter.equals("cl.policy_id", policy);
    }
    let sort = errors.check(Sort::parse(present(&filters.sort).as_deref(), queue));
    if let (Some(sort), Some(after)) = (sort, present(&filters.after))
        && let Some(key) = errors.check(sort.parse_cursor(&after))
    {
        filter.after(sort.keys(), key);
    }
    errors.into_result()?;
    // Every error above was pushed into `errors`: a missing sort was one.
    let sort = sort.unwrap_or(Sort::Newest);
    Ok((filter, sort))
}

/// A page of claims; a partner's caller (`scope`) gets its organisation's
/// only (filtered in SQL), with cross-organisation flags left out.
pub async fn list(
    state: &AppState,
    scope: &Scope,
    filters: &ClaimFilters,
    me: Option<&str>,
    page: PageRequest,
) -> Result<Page<ClaimSummary>, AppError> {
    let (mut filter, sort) = build_filter(filters, me)?;
    tenancy::restrict(&mut filter, scope, "cl.partner_id");
    let fetched = filter
        .fetch(&state.db, &select(), "claims cl", &sort.order(), page)
        .await?;
    let mut items = fetched
        .rows
        .iter()
        .map(summary_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next_after = items
        .last()
        .filter(|_| fetched.more)
        .map(|last| sort.cursor_after(last));
    super::redact::summaries(&state.db, scope, &mut items).await?;
    Ok(Page::new(page, items, fetched.total).with_next_after(next_after))
}

/// The row a workflow change starts from, checked against the version the
/// caller saw.
struct Current {
    status: ClaimStatus,
    version: i64,
    approved_amount: Option<i64>,
    assignee_id: Option<String>,
    priority: Option<String>,
    fraud_flags: String,
    currency: Currency,
    coverage_limit: i64,
    deductible: i64,
    policy_currency: Currency,
}

async fn current(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    expected_version: Option<i64>,
) -> Result<Current, AppError> {
    let row = sqlx::query(
        "SELECT cl.status, cl.version, cl.approved_amount, cl.assignee_id, cl.priority, cl.fraud_flags, \
         cl.currency, p.coverage_limit, p.deductible, p.currency AS policy_currency \
         FROM claims cl JOIN policies p ON p.id = cl.policy_id WHERE cl.id = $1",
    )
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
        approved_amount: row.try_get("approved_amount")?,
        assignee_id: row.try_get("assignee_id")?,
        priority: row.try_get("priority")?,
        fraud_flags: row.try_get("fraud_flags")?,
        currency: currency("currency")?,
        coverage_limit: row.try_get("coverage_limit")?,
        deductible: row.try_get("deductible")?,
        policy_currency: currency("policy_currency")?,
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
fn transition_record(
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
    state: &AppState,
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
            "must be start_review, provide_info, pay, close or reopen (decisions have their own endpoint; triage is the pipeline's)",
        ))
        .into());
    }
    let mut tx = state.db.begin_write().await?;
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
        ClaimAction::Pay => {
            // The approved amount is what is paid; partial payments are not
            // modelled.
            sqlx::query("UPDATE claims SET paid_amount = approved_amount WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            details["after"] = json!({
                "paid_amount": current.approved_amount.map(|a| Money::new(a, current.currency)),
            });
        }
        ClaimAction::StartReview if current.assignee_id.is_none() => {
            assign_in(&mut tx, id, principal).await?;
            details["after"] = json!({ "assignee": principal.name });
        }
        ClaimAction::Reopen => {
            // A reopened claim is decided afresh.
            sqlx::query(
                "UPDATE claims SET approved_amount = NULL, paid_amount = NULL, decided_at = NULL WHERE id = $1",
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

async fn assign_in(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    principal: &Principal,
) -> Result<(), AppError> {
    if principal.kind != crate::auth::ssr::tokens::SubjectKind::User {
        return Err(AppError::Forbidden("take claims for review".into()));
    }
    sqlx::query("UPDATE claims SET assignee_id = $1 WHERE id = $2")
        .bind(&principal.id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Assign-to-me from the queue or the claim page: a triaged claim also
/// moves into review.
pub async fn assign_to(
    state: &AppState,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    expected_version: Option<i64>,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    let current = current(&mut tx, id, expected_version).await?;
    if current.assignee_id.as_deref() == Some(principal.id.as_str()) {
        return Err(AppError::Conflict(
            "This claim is already assigned to you.".into(),
        ));
    }
    assign_in(&mut tx, id, principal).await?;
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
    state: &AppState,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    request: &DecisionRequest,
    expected_version: Option<i64>,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
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
    if let Some(amount) = decision.amount()
        && principal.role != Role::Admin
        && amount.amount > ADJUSTER_AUTHORITY
    {
        return Err(FieldErrors::from(FieldError::new(
            "amount.amount",
            format!(
                "is above your approval authority of {}; an administrator must approve it",
                Money::new(ADJUSTER_AUTHORITY, current.currency)
            ),
        ))
        .into());
    }
    let action = decision.action();
    let next = current
        .status
        .apply(action, decision.reason())
        .map_err(|e| AppError::Conflict(e.to_string()))?;
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
    .bind(now_micros())
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

pub const NOTE_MAX_CHARS: usize = 4000;

pub async fn add_note(
    state: &AppState,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    body: &str,
) -> Result<(), AppError> {
    let body = shared::validation::text("body", body, 1, NOTE_MAX_CHARS, true)
        .map_err(FieldErrors::from)?;
    let mut tx = state.db.begin_write().await?;
    let exists = sqlx::query("SELECT id FROM claims WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(AppError::NotFound("The claim".into()));
    }
    let note_id = new_id();
    sqlx::query(
        "INSERT INTO claim_notes (id, claim_id, author_kind, author_id, author_name, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&note_id)
    .bind(id)
    .bind(principal.kind.as_str())
    .bind(&principal.id)
    .bind(&principal.name)
    .bind(&body)
    .bind(now_micros())
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "claim.note_added",
            entity_type: "claim",
            entity_id: Some(id),
            // Notes may quote the claimant: the trail keeps only their size.
            details: json!({ "note_id": note_id, "chars": body.chars().count() }),
        },
    )
    .await?;
    tx.commit().await?;
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

/// The dashboard's claim figures: open work, weekly flow, outcomes, money.
pub async fn stats(state: &AppState) -> Result<ClaimStats, AppError> {
    let pool = state.db.pool();
    const OPEN: &str = "status NOT IN ('closed', 'denied', 'paid')";
    let mut open_by_status = Vec::new();
    for row in sqlx::query(&format!(
        "SELECT status, COUNT(*) AS claims FROM claims WHERE {OPEN} GROUP BY status"
    ))
    .fetch_all(pool)
    .await?
    {
        if let Ok(status) = ClaimStatus::parse("status", &row.try_get::<String, _>("status")?) {
            open_by_status.push((status, row.try_get::<i64, _>("claims")?));
        }
    }
    open_by_status.sort_by_key(|(status, _)| ClaimStatus::ALL.iter().position(|s| s == status));
    let mut open_by_priority = Vec::new();
    for row in sqlx::query(&format!(
        "SELECT priority, COUNT(*) AS claims FROM claims WHERE {OPEN} GROUP BY priority"
    ))
    .fetch_all(pool)
    .await?
    {
        let priority = row
            .try_get::<Option<String>, _>("priority")?
            .and_then(|p| Priority::parse("priority", &p).ok());
        open_by_priority.push((priority, row.try_get::<i64, _>("claims")?));
    }
    open_by_priority.sort_by_key(|(p, _)| p.map_or(3, |p| p as usize));

    // Twelve weeks, Monday to Sunday, oldest first; counted in Rust from
    // two narrow queries so both engines agree on week boundaries.
    let this_week = today().iso_week_start();
    let first = this_week.add_days(-7 * 11).unwrap_or(this_week);
    let epoch = Date::from_ymd(1970, 1, 1).unwrap_or(first);
    let since = first.days_since(epoch) * 86_400 * 1_000_000;
    let mut weekly: Vec<(String, i64, i64)> = (0..12)
        .map(|i| (first.add_days(7 * i).unwrap_or(first).to_string(), 0, 0))
        .collect();
    let week_of = |micros: i64| -> Option<usize> {
        let index = (micros - since) / (7 * 86_400 * 1_000_000);
        usize::try_from(index).ok().filter(|i| *i < 12)
    };
    for at in sqlx::query_scalar::<_, i64>("SELECT created_at FROM claims WHERE created_at >= $1")
        .bind(since)
        .fetch_all(pool)
        .await?
    {
        if let Some(i) = week_of(at) {
            weekly[i].1 += 1;
        }
    }
    for at in sqlx::query_scalar::<_, i64>(
        "SELECT occurred_at FROM audit_log WHERE action = 'claim.close' AND occurred_at >= $1",
    )
    .bind(since)
    .fetch_all(pool)
    .await?
    {
        if let Some(i) = week_of(at) {
            weekly[i].2 += 1;
        }
    }
    let count =
        |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await };
    let approved = count("SELECT COUNT(*) FROM claims WHERE approved_amount IS NOT NULL").await?;
    let denied = count(
        "SELECT COUNT(*) FROM claims WHERE decided_at IS NOT NULL AND approved_amount IS NULL AND status IN ('denied', 'closed')",
    )
    .await?;
    let sums = |sql: &'static str| async move {
        let mut out = Vec::new();
        for row in sqlx::query(sql).fetch_all(pool).await? {
            let currency =
                Currency::from_stored("currency", &row.try_get::<String, _>("currency")?)
                    .map_err(AppError::internal_message)?;
            out.push(Money::new(row.try_get("total")?, currency));
        }
        Ok::<_, AppError>(out)
    };
    // SUM of a BIGINT is NUMERIC on PostgreSQL, which `Any` cannot decode.
    let reserved = sums(
        "SELECT currency, CAST(SUM(approved_amount) AS BIGINT) AS total FROM claims WHERE status = 'approved' GROUP BY currency ORDER BY currency",
    )
    .await?;
    let paid = sums(
        "SELECT currency, CAST(SUM(paid_amount) AS BIGINT) AS total FROM claims WHERE paid_amount IS NOT NULL GROUP BY currency ORDER BY currency",
    )
    .await?;
    Ok(ClaimStats {
        open_by_status,
        open_by_priority,
        weekly,
        approved,
        denied,
        reserved,
        paid,
    })
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn unknown_filters_and_sorts_name_the_field() {
        let filters = ClaimFilters {
            status: Some("lost".into()),
            sort: Some("random".into()),
            from: Some("2026-02-30".into()),
            ..ClaimFilters::default()
        };
        let Err(errors) = build_filter(&filters, None) else {
            panic!("bad filters were accepted");
        };
        for field in ["status", "sort", "from"] {
            assert!(errors.for_field(field).is_some(), "{field}: {errors:?}");
        }
    }
}
