//! What a partner is not told about a claim it may see: that another
//! organisation's claim shares a file with it.
//!
//! A file attached to two claims links them and flags both
//! `duplicate_attachment`, naming the other claim. That is a fraud signal
//! for staff; for a partner it would reveal that a claim (and its number)
//! exists elsewhere. So under a partner scope, a claim linked to a claim
//! outside the organisation shows neither that link nor its
//! `duplicate_attachment` flag. Links between a partner's own claims, and
//! every other flag, stay. Staff and internal callers see everything.

use std::collections::HashSet;

use shared::{tenancy::Scope, triage::FlagCode};
use sqlx::Row as _;

use super::{ClaimSummary, ClaimView};
use crate::{db::Db, error::AppError};

/// `(claim, other claim)` pairs among `claim_ids`' links whose other claim
/// is outside `partner`'s organisation: one query for a whole page.
async fn foreign_links(
    db: &Db,
    partner: &str,
    claim_ids: &[&str],
) -> Result<HashSet<(String, String)>, AppError> {
    if claim_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let placeholders = crate::db::placeholders(2, claim_ids.len());
    let sql = format!(
        "SELECT l.claim_id, l.other_claim_id FROM claim_links l JOIN claims o ON o.id = l.other_claim_id \
         WHERE l.claim_id IN ({placeholders}) AND (o.partner_id IS NULL OR o.partner_id <> $1)"
    );
    let mut query = sqlx::query(&sql).bind(partner);
    for id in claim_ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("claim_id")?, row.try_get("other_claim_id")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

fn drop_duplicate_attachment(summary: &mut ClaimSummary) {
    summary
        .fraud_flags
        .retain(|flag| flag.code != FlagCode::DuplicateAttachment);
}

/// Partner summaries (lists, status) without cross-organisation flags.
pub async fn summaries(db: &Db, scope: &Scope, items: &mut [ClaimSummary]) -> Result<(), AppError> {
    let Some(partner) = scope.partner() else {
        return Ok(());
    };
    let ids = items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>();
    let foreign = foreign_links(db, partner, &ids).await?;
    for item in items {
        if foreign.iter().any(|(claim, _)| *claim == item.id) {
            drop_duplicate_attachment(item);
        }
    }
    Ok(())
}

/// A partner's claim page without cross-organisation links and flags.
pub async fn view(db: &Db, scope: &Scope, view: &mut ClaimView) -> Result<(), AppError> {
    let Some(partner) = scope.partner() else {
        return Ok(());
    };
    let foreign = foreign_links(db, partner, &[view.summary.id.as_str()]).await?;
    if foreign.is_empty() {
        return Ok(());
    }
    drop_duplicate_attachment(&mut view.summary);
    view.related
        .retain(|related| !foreign.iter().any(|(_, other)| *other == related.id));
    Ok(())
}
