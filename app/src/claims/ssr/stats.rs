//! The dashboard's claim figures.

use shared::{
    claim::{ClaimStatus, Priority},
    dates::Date,
    money::{Currency, Money},
};
use sqlx::Row as _;

use crate::{claims::ClaimStats, clock::today, db::Db, error::AppError};

/// The dashboard's claim figures: open work, weekly flow, outcomes, money.
pub async fn stats(db: &Db) -> Result<ClaimStats, AppError> {
    let pool = db.pool();
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
    // From the ledger: outstanding is reserve changes less payments.
    let reserved = sums(
        "SELECT currency, CAST(SUM(CASE kind WHEN 'reserve' THEN amount WHEN 'payment' THEN -amount ELSE 0 END) AS BIGINT) AS total \
         FROM claim_ledger GROUP BY currency ORDER BY currency",
    )
    .await?;
    let paid = sums(
        "SELECT currency, CAST(SUM(amount) AS BIGINT) AS total FROM claim_ledger WHERE kind = 'payment' GROUP BY currency ORDER BY currency",
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
