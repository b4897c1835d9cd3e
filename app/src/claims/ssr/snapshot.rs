//! The claims as the pipeline's snapshot step stores them, read a batch at
//! a time in two statements (the claims, then all of their lines): the
//! claim page's query would also aggregate notes, links, attachments, runs
//! and the timeline, none of which a snapshot holds.

use std::collections::HashMap;

use shared::money::Money;
use sqlx::Row as _;

use super::{COLUMNS, FROM, summary_from_row};
use crate::{
    claims::{ClaimLineView, ClaimSummary},
    db::{Db, placeholders},
    error::AppError,
};

/// What a snapshot records of a claim.
#[derive(Debug)]
pub struct Snapshot {
    pub summary: ClaimSummary,
    pub description: String,
    pub coverage: Option<String>,
    pub coverage_note: Option<String>,
    pub lines: Vec<ClaimLineView>,
}

/// The snapshot of each of `ids`, in the order asked; a claim that does not
/// exist is `NotFound`.
pub async fn snapshots(db: &Db, ids: &[&str]) -> Result<Vec<Result<Snapshot, AppError>>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(1, ids.len());
    let claims_sql = format!(
        "{COLUMNS}, cl.description, cl.coverage, cl.coverage_note{FROM} WHERE cl.id IN ({list})"
    );
    let lines_sql = format!(
        "SELECT claim_id, code, description, amount FROM claim_lines WHERE claim_id IN ({list}) \
         ORDER BY claim_id, position"
    );
    let (mut claims, mut lines) = (sqlx::query(&claims_sql), sqlx::query(&lines_sql));
    for id in ids {
        claims = claims.bind(*id);
        lines = lines.bind(*id);
    }
    let mut conn = db.pool().acquire().await?;
    let claim_rows = claims.fetch_all(&mut *conn).await?;
    let line_rows = lines.fetch_all(&mut *conn).await?;
    drop(conn);

    let mut lines_of: HashMap<String, Vec<(String, Option<String>, i64)>> = HashMap::new();
    for row in &line_rows {
        lines_of.entry(row.try_get("claim_id")?).or_default().push((
            row.try_get("code")?,
            row.try_get("description")?,
            row.try_get("amount")?,
        ));
    }
    let mut by_id = HashMap::new();
    for row in &claim_rows {
        let summary = summary_from_row(row, db.clock().now_micros())?;
        let currency = summary.total_claimed.currency;
        let lines = lines_of
            .remove(&summary.id)
            .unwrap_or_default()
            .into_iter()
            .map(|(code, description, amount)| ClaimLineView {
                code,
                description,
                amount: Money::new(amount, currency),
            })
            .collect();
        let snapshot = Snapshot {
            description: row.try_get("description")?,
            coverage: row.try_get("coverage")?,
            coverage_note: row.try_get("coverage_note")?,
            lines,
            summary,
        };
        by_id.insert(snapshot.summary.id.clone(), snapshot);
    }
    Ok(ids
        .iter()
        .map(|id| {
            by_id
                .remove(*id)
                .ok_or_else(|| AppError::NotFound("The claim".into()))
        })
        .collect())
}
