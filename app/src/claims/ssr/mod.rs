//! Every SQL statement on claims, their lines and notes, and the services
//! the server functions, the JSON API and the pipeline share, one file per
//! concern: intake and idempotency, the page (view), the list, the claimant's
//! details, decisions and workflow actions, notes, the dashboard's figures,
//! and the pipeline's triage and snapshots. This file holds what they all
//! read: the summary row and how a claim arrived.

use shared::{
    claim::{ClaimStatus, Priority},
    money::{Currency, Money},
    policy::LineOfBusiness,
    triage::FraudFlag,
};
use sqlx::{FromRow as _, any::AnyRow};

use super::ClaimSummary;
use crate::{
    db::{Db, now_micros},
    error::AppError,
};

mod assignment;
mod claimant;
mod current;
mod decisions;
mod intake;
mod list;
mod notes;
mod snapshot;
mod sort;
mod stats;
mod triage;
mod view;

pub use self::assignment::{assign_to, assignees, reassign};
pub use self::claimant::reveal_claimant;
pub(crate) use self::current::{record_claim_event, transition_record};
pub(crate) use self::decisions::add_flag;
pub use self::decisions::{DecisionRequest, apply_action, decide};
pub use self::intake::{
    IdempotencyRecord, Ingested, Intake, ingest, insert, prune_idempotency_keys, submit,
};
pub use self::list::list;
pub use self::notes::{NOTE_MAX_CHARS, add_note};
pub use self::snapshot::{Snapshot, snapshots};
pub use self::stats::stats;
pub(crate) use self::triage::link_claims;
pub use self::triage::{
    Facts, Outcome, TRIAGE_CANDIDATES, TriageFacts, claim_facts, record_triage, triage_facts,
};
pub use self::view::{claim_page, view};

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

const COLUMNS: &str = "SELECT cl.id, cl.claim_number, cl.policy_id, p.policy_number, cl.customer_id, \
    c.customer_number, p.line, cl.status, cl.priority, cl.incident_date, cl.currency, cl.total_claimed, \
    cl.approved_amount, \
    (SELECT CAST(SUM(g.amount) AS BIGINT) FROM claim_ledger g WHERE g.claim_id = cl.id AND g.kind = 'payment' AND g.cost_type = 'claim_cost') AS paid_amount, \
    cl.fraud_flags, cl.assignee_id, u.display_name AS assignee_name, \
    cl.source, cl.version, cl.created_at, cl.triaged_at, \
    cl.acknowledged_at, cl.acknowledge_due_at, cl.decide_due_at, cl.sla_due_at";
const FROM: &str = " FROM claims cl JOIN policies p ON p.id = cl.policy_id \
    JOIN customers c ON c.id = cl.customer_id LEFT JOIN users u ON u.id = cl.assignee_id";

/// A summary row: [`COLUMNS`] [`FROM`] (the list's filters go after).
fn select() -> String {
    format!("{COLUMNS}{FROM}")
}

fn decode(error: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(error.to_string().into())
}

/// A row of [`COLUMNS`], as the database stores it; [`SummaryRow::parse`]
/// turns the stored codes into the domain's types.
#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: String,
    claim_number: String,
    policy_id: String,
    policy_number: String,
    customer_id: String,
    customer_number: String,
    line: String,
    status: String,
    priority: Option<String>,
    incident_date: String,
    currency: String,
    total_claimed: i64,
    approved_amount: Option<i64>,
    /// The sum of the ledger's claim-cost payments, what the claim paid
    /// out as cover (`None` before the first); expenses are in the ledger.
    paid_amount: Option<i64>,
    /// A JSON array of [`FraudFlag`].
    fraud_flags: String,
    assignee_id: Option<String>,
    assignee_name: Option<String>,
    source: String,
    version: i64,
    created_at: i64,
    triaged_at: Option<i64>,
    #[sqlx(flatten)]
    clocks: crate::claims::sla::ssr::Clocks,
}

impl SummaryRow {
    /// Stored values passed these parses on the way in: a failure here is
    /// a damaged row, reported as a decode error. `now` is the SLA clock's
    /// reading, for the time left.
    fn parse(self, now: i64) -> Result<ClaimSummary, sqlx::Error> {
        let currency = Currency::from_stored("currency", &self.currency).map_err(decode)?;
        let money = |amount: Option<i64>| amount.map(|amount| Money::new(amount, currency));
        let priority = self
            .priority
            .map(|raw| Priority::parse("priority", &raw))
            .transpose()
            .map_err(decode)?;
        let status = ClaimStatus::parse("status", &self.status).map_err(decode)?;
        let clocks = self.clocks;
        let fraud_flags: Vec<FraudFlag> =
            serde_json::from_str(&self.fraud_flags).map_err(decode)?;
        Ok(ClaimSummary {
            id: self.id,
            claim_number: self.claim_number,
            policy_id: self.policy_id,
            policy_number: self.policy_number,
            customer_id: self.customer_id,
            customer_number: self.customer_number,
            line: LineOfBusiness::parse("line", &self.line).map_err(decode)?,
            status,
            priority,
            incident_date: self.incident_date,
            total_claimed: Money::new(self.total_claimed, currency),
            approved_amount: money(self.approved_amount),
            paid_amount: money(self.paid_amount),
            fraud_flags,
            assignee_id: self.assignee_id,
            assignee_name: self.assignee_name,
            source: self.source,
            version: self.version,
            created_at: self.created_at,
            triaged_at: self.triaged_at,
            deadline: clocks.deadline(now),
            acknowledge_due_at: clocks.acknowledge_due_at,
            decide_due_at: clocks.decide_due_at,
            acknowledged_at: clocks.acknowledged_at,
        })
    }
}

/// The summary in a row that holds [`COLUMNS`] (and possibly more), its
/// SLA deadline read at `now`.
fn summary_from_row(row: &AnyRow, now: i64) -> Result<ClaimSummary, sqlx::Error> {
    SummaryRow::from_row(row)?.parse(now)
}

/// Bumps the claim's version (checked against `expected`, the version the
/// caller saw) before a change to something the claim owns, so its `ETag`
/// moves and a stale page gets 412. On PostgreSQL the update takes the
/// claim's row lock first: changes to one claim run one after another,
/// each reading what the last one committed.
pub(crate) async fn bump_version(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    expected: Option<i64>,
) -> Result<(), AppError> {
    let query = match expected {
        Some(version) => sqlx::query(
            "UPDATE claims SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3",
        )
        .bind(now_micros())
        .bind(id)
        .bind(version),
        None => sqlx::query("UPDATE claims SET version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(now_micros())
            .bind(id),
    };
    if query.execute(&mut *conn).await?.rows_affected() == 1 {
        return Ok(());
    }
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM claims WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match current {
        None => Err(AppError::NotFound("The claim".into())),
        Some(version) => {
            AppError::check_version("claim", expected, version)?;
            Err(AppError::PreconditionFailed(
                "The claim changed while this was being saved; reload and try again.".into(),
            ))
        }
    }
}

pub async fn find(db: &Db, id: &str) -> Result<Option<ClaimSummary>, AppError> {
    let row = sqlx::query(&format!("{} WHERE cl.id = $1", select()))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    let now = db.clock().now_micros();
    Ok(row
        .as_ref()
        .map(|row| summary_from_row(row, now))
        .transpose()?)
}
