//! A new claim: its policy, number, sealed claimant, lines, pipeline and
//! audit record in one write, and the `Idempotency-Key` answer stored with
//! it.

use serde_json::json;
use sha2::{Digest as _, Sha256};
use shared::{
    FieldError, FieldErrors,
    claim::{ClaimNumber, ClaimStatus, NewClaim, NewClaimInput},
    sla,
};
use sqlx::Row as _;

use super::{Source, TABLE};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    batch::Batch,
    claims::ClaimReceipt,
    clock::today,
    db::{Db, new_id},
    error::AppError,
    numbering::{Counter, Numbers},
    tenancy::{self, Scope},
    vault::{Vault, VaultFailure},
    workflow::ssr::{Admission, JobSignal},
};

/// What intake runs on, borrowed from the server state: the database, the
/// vault that seals the claimant's details, the admission check that
/// refuses claims while the pipeline is too far behind, and the signal that
/// wakes this process's workers once a claim's pipeline is stored.
#[derive(Debug, Clone, Copy)]
pub struct Intake<'a> {
    pub db: &'a Db,
    pub vault: &'a Vault,
    pub admission: &'a Admission,
    pub jobs: &'a JobSignal,
}

/// The policy a new claim names, as the insert needs it, and the claim's
/// number when the engine can take it in the same statement.
struct PolicyRef {
    id: String,
    customer_id: String,
    partner_id: Option<String>,
    number: Option<i64>,
    /// The SLA rule's deadlines for the policy's jurisdiction and line
    /// (`None`: no rule matches, the defaults apply).
    acknowledge_hours: Option<i64>,
    decide_hours: Option<i64>,
}

/// The hours of the most specific SLA rule for policy `p`: jurisdiction and
/// line, then jurisdiction, then line, then any (`*`/`*`).
fn sla_hours(column: &str) -> String {
    format!(
        "(SELECT r.{column} FROM sla_rules r \
         WHERE r.jurisdiction IN (COALESCE(p.jurisdiction, '*'), '*') AND r.line IN (p.line, '*') \
         ORDER BY CASE WHEN r.jurisdiction = '*' THEN 1 ELSE 0 END, CASE WHEN r.line = '*' THEN 1 ELSE 0 END \
         LIMIT 1) AS {column}"
    )
}

/// The policy a claim is filed on. A partner's caller (`scope`) files on its
/// own policies only: another organisation's policy number reads exactly
/// like an unknown one, so numbers cannot be probed. On PostgreSQL the
/// same statement takes the claim's number from `counter` (one round trip
/// fewer; a policy the caller may not see wastes a number, which gaps allow),
/// and the SLA rule that sets the claim's deadlines.
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
        "SELECT p.id, p.customer_id, p.partner_id, {next} AS next_number, {}, {} \
         FROM policies p WHERE p.policy_number = $1",
        sla_hours("acknowledge_hours"),
        sla_hours("decide_hours"),
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
        acknowledge_hours: row.try_get("acknowledge_hours")?,
        decide_hours: row.try_get("decide_hours")?,
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
    intake: Intake<'_>,
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
            let dek = intake
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
                intake
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
    // The test clock, so a test can file a claim and move past its deadline.
    let now = intake.db.clock().now_micros();
    let hours = |stored: Option<i64>, default: u32| {
        stored
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(default)
    };
    let acknowledge_due = sla::due_after(
        now,
        hours(policy.acknowledge_hours, sla::DEFAULT_ACKNOWLEDGE_HOURS),
    );
    let decide_due = sla::due_after(now, hours(policy.decide_hours, sla::DEFAULT_DECIDE_HOURS));
    let [claimant_name, claimant_email, claimant_phone] = claimant;
    let mut batch = Batch::new();
    batch.push(
        "INSERT INTO claims (id, claim_number, policy_id, customer_id, status, incident_date, description, \
         currency, total_claimed, claimant_name, claimant_email, claimant_phone, fraud_flags, source, \
         version, created_at, updated_at, partner_id, acknowledge_due_at, decide_due_at, sla_due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '[]', $13, 1, $14, $14, $15, $16, $17, $16)",
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
            acknowledge_due.into(),
            decide_due.into(),
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
        crate::workflow::ssr::start_execution(&mut batch, &id, context.correlation_id.as_deref());
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
    batch.execute(tx, intake.db.engine()).await?;
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
    intake: Intake<'_>,
    context: &AuditContext,
    scope: &Scope,
    input: &NewClaimInput,
    source: Source,
) -> Result<ClaimReceipt, AppError> {
    let claim = NewClaim::parse(input, today())?;
    let counter = Numbers::yearly(intake.db, "claim").await?;
    let mut tx = intake.db.begin_write().await?;
    let receipt = insert(
        intake, &mut tx, &counter, context, scope, &claim, source, None,
    )
    .await?;
    tx.commit().await?;
    crate::metrics::global().claim_ingested(source.as_str());
    intake.jobs.notify();
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
    intake: Intake<'_>,
    context: &AuditContext,
    scope: &Scope,
    input: &NewClaimInput,
    source: Source,
    idempotency: Option<(&str, &str)>,
) -> Result<Ingested, AppError> {
    // Before anything is read or stored: a refused claim costs nothing.
    intake.admission.check()?;
    let Some((caller, key)) = idempotency else {
        return Ok(Ingested::Created(
            submit(intake, context, scope, input, source).await?,
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
        let counter = Numbers::yearly(intake.db, "claim").await?;
        let mut tx = intake.db.begin_write().await?;
        let receipt = insert(
            intake,
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
            intake.jobs.notify();
            Ok(Ingested::Created(receipt))
        }
        Err(error) => match stored_response(intake.db, caller, key, &request_hash).await? {
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
    db: &Db,
    caller: &str,
    key: &str,
    request_hash: &str,
) -> Result<Option<Ingested>, AppError> {
    let key = crate::idempotency::Key {
        caller: caller.to_owned(),
        key: key.to_owned(),
        request_hash: request_hash.to_owned(),
    };
    Ok(crate::idempotency::replay(db, &key)
        .await?
        .map(|stored| Ingested::Replayed {
            status: stored.status,
            body: stored.body,
        }))
}
