//! The SLA clocks' SQL: the rules table admins edit (audited), stopping a
//! claim's clocks when it is acknowledged or decided (counting deadlines met
//! late), and the overdue counts `/metrics` reports. The deadlines
//! themselves are set at intake (`claims::ssr::intake`), from the rule the
//! policy's jurisdiction and line select.

use serde_json::json;
use shared::{
    FieldErrors,
    policy::{Jurisdiction, LineOfBusiness},
    sla::{self, SlaClock, SlaRule, SlaRuleInput},
};
use sqlx::Row as _;

use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    auth::ssr::Principal,
    db::Db,
    error::AppError,
};

/// The sort key of the queue's "soonest breach first": the index's
/// expression (migration 0016), a decided claim (no deadline) last.
pub(crate) const DUE_KEY: &str = "COALESCE(cl.sla_due_at, 9223372036854775807)";

/// A claim's clocks as stored ([`CLOCK_COLUMNS`] of a row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Clocks {
    pub acknowledged_at: Option<i64>,
    pub acknowledge_due_at: Option<i64>,
    pub decide_due_at: Option<i64>,
    /// The deadline the claim works to now (`None` once decided).
    pub sla_due_at: Option<i64>,
}

/// The clock columns, for a query on `claims cl`.
pub(crate) const CLOCK_COLUMNS: &str =
    "cl.acknowledged_at, cl.acknowledge_due_at, cl.decide_due_at, cl.sla_due_at";

impl Clocks {
    /// The deadline running now, read at `now`.
    pub(crate) fn deadline(&self, now: i64) -> Option<sla::Deadline> {
        let due = self.sla_due_at?;
        let clock = if self.acknowledged_at.is_none() {
            SlaClock::Acknowledge
        } else {
            SlaClock::Decide
        };
        Some(sla::Deadline::new(clock, due, now))
    }
}

/// What stops a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A person took the claim, asked for information or decided it: the
    /// acknowledge clock stops, the decide clock runs on.
    Acknowledged,
    /// Approved or denied: both stop.
    Decided,
}

/// Stops the clocks `stop` names on claim `id` (whose clocks read `clocks`
/// in this transaction) at `now`; a deadline met late counts in
/// `vanguard_sla_breaches_total`. A claim already past that point is left
/// as it is: a reopened claim does not restart its regulator's clock.
pub(crate) async fn stop(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    clocks: &Clocks,
    stop: Stop,
    now: i64,
) -> Result<(), AppError> {
    let acknowledging = clocks.acknowledged_at.is_none();
    let deciding = stop == Stop::Decided && clocks.sla_due_at.is_some();
    if !acknowledging && !deciding {
        return Ok(());
    }
    let next_due = match stop {
        Stop::Decided => None,
        Stop::Acknowledged => clocks.sla_due_at.and(clocks.decide_due_at),
    };
    sqlx::query(
        "UPDATE claims SET acknowledged_at = COALESCE(acknowledged_at, $1), sla_due_at = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(next_due)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let late = |due: Option<i64>| due.is_some_and(|due| due < now);
    if acknowledging && late(clocks.acknowledge_due_at) {
        crate::metrics::global().sla_breached(SlaClock::Acknowledge.as_str());
    }
    if deciding && late(clocks.decide_due_at) {
        crate::metrics::global().sla_breached(SlaClock::Decide.as_str());
    }
    Ok(())
}

/// Claims past their running deadline at `now`, by clock (read from the
/// deadline index).
pub async fn overdue(db: &Db, now: i64) -> Result<Vec<(SlaClock, i64)>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT CASE WHEN cl.acknowledged_at IS NULL THEN 'acknowledge' ELSE 'decide' END AS clock, \
         COUNT(*) AS n FROM claims cl WHERE {DUE_KEY} < $1 GROUP BY 1"
    ))
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut counts: Vec<(SlaClock, i64)> = SlaClock::ALL.iter().map(|c| (*c, 0)).collect();
    for row in rows {
        let clock = SlaClock::parse("clock", &row.try_get::<String, _>("clock")?)
            .map_err(AppError::internal_message)?;
        let n: i64 = row.try_get("n")?;
        if let Some(count) = counts.iter_mut().find(|(c, _)| *c == clock) {
            count.1 = n;
        }
    }
    Ok(counts)
}

/// Every rule, the most specific first within each jurisdiction.
pub async fn rules(db: &Db) -> Result<Vec<SlaRule>, AppError> {
    let rows = sqlx::query(
        "SELECT jurisdiction, line, acknowledge_hours, decide_hours FROM sla_rules \
         ORDER BY CASE WHEN jurisdiction = '*' THEN 0 ELSE 1 END, jurisdiction, \
         CASE WHEN line = '*' THEN 0 ELSE 1 END, line",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(rule_from_row).collect()
}

fn rule_from_row(row: &sqlx::any::AnyRow) -> Result<SlaRule, AppError> {
    let jurisdiction: String = row.try_get("jurisdiction")?;
    let line: String = row.try_get("line")?;
    let hours = |column: &str| -> Result<u32, AppError> {
        u32::try_from(row.try_get::<i64, _>(column)?).map_err(|e| AppError::internal(&e))
    };
    Ok(SlaRule {
        jurisdiction: (jurisdiction != sla::ANY)
            .then(|| Jurisdiction::parse("jurisdiction", &jurisdiction))
            .transpose()
            .map_err(AppError::internal_message)?,
        line: (line != sla::ANY)
            .then(|| LineOfBusiness::parse("line", &line))
            .transpose()
            .map_err(AppError::internal_message)?,
        acknowledge_hours: hours("acknowledge_hours")?,
        decide_hours: hours("decide_hours")?,
    })
}

/// Creates or replaces the rule for the input's jurisdiction and line,
/// audited with its before and after. Claims already filed keep their
/// deadlines.
pub async fn save_rule(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    input: &SlaRuleInput,
) -> Result<SlaRule, AppError> {
    let rule = SlaRule::parse(input)?;
    let (jurisdiction, line) = rule.key();
    let mut tx = db.begin_write().await?;
    let before = sqlx::query(
        "SELECT jurisdiction, line, acknowledge_hours, decide_hours FROM sla_rules \
         WHERE jurisdiction = $1 AND line = $2",
    )
    .bind(&jurisdiction)
    .bind(&line)
    .fetch_optional(&mut *tx)
    .await?
    .map(|row| rule_from_row(&row))
    .transpose()?;
    sqlx::query(
        "INSERT INTO sla_rules (jurisdiction, line, acknowledge_hours, decide_hours, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (jurisdiction, line) DO UPDATE SET acknowledge_hours = excluded.acknowledge_hours, \
         decide_hours = excluded.decide_hours, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(&jurisdiction)
    .bind(&line)
    .bind(i64::from(rule.acknowledge_hours))
    .bind(i64::from(rule.decide_hours))
    .bind(&principal.id)
    .bind(db.clock().now_micros())
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "sla.rule_saved",
            entity_type: "sla_rule",
            entity_id: Some(&format!("{jurisdiction}:{line}")),
            details: json!({ "before": before, "after": rule }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(rule)
}

/// Deletes the rule for `jurisdiction`/`line` (`*` for any), audited. The
/// `*`/`*` fallback stays: every claim needs a rule.
pub async fn delete_rule(
    db: &Db,
    context: &AuditContext,
    jurisdiction: &str,
    line: &str,
) -> Result<(), AppError> {
    let (jurisdiction, line) = SlaRule::parse_key(jurisdiction, line)?;
    let (jurisdiction, line) = sla::stored_key(jurisdiction.as_ref(), line);
    if jurisdiction == sla::ANY && line == sla::ANY {
        return Err(FieldErrors::from(shared::FieldError::new(
            "jurisdiction",
            "the fallback rule (any jurisdiction, any line) can be changed but not deleted",
        ))
        .into());
    }
    let mut tx = db.begin_write().await?;
    let deleted = sqlx::query("DELETE FROM sla_rules WHERE jurisdiction = $1 AND line = $2")
        .bind(&jurisdiction)
        .bind(&line)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(AppError::NotFound("The SLA rule".into()));
    }
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "sla.rule_deleted",
            entity_type: "sla_rule",
            entity_id: Some(&format!("{jurisdiction}:{line}")),
            details: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
