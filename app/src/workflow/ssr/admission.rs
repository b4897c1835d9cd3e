//! Intake's back-pressure: when the claims pipeline is too far behind, new
//! claims are refused with `503` and `Retry-After` (nothing stored) until it
//! catches up, so that a burst longer than the workers can absorb fills
//! clients' retry queues instead of an outbox that grows without bound.
//!
//! Every process that takes claims counts the pending jobs once a second on
//! a task of its own ([`spawn_counter`]); a request only reads the last
//! count, so the check costs no round trip. The count stops at the limit
//! (a `LIMIT` inside the count, through the pending jobs' partial index),
//! so it costs the same with a thousand or a million jobs waiting.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::{db::Db, error::AppError};

/// How often a process counts the pending jobs.
pub const COUNT_INTERVAL: Duration = Duration::from_secs(1);

/// The intake limit and the last count of pending jobs.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    /// Pending jobs above which intake refuses new claims; `None`: no limit.
    limit: Option<u64>,
    pending: Arc<AtomicU64>,
}

impl Admission {
    pub fn new(limit: Option<u64>) -> Self {
        Self {
            limit,
            pending: Arc::default(),
        }
    }

    /// `Backlogged` while the last count is over the limit.
    pub fn check(&self) -> Result<(), AppError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let pending = self.pending.load(Ordering::Relaxed);
        if pending > limit {
            return Err(AppError::Backlogged(format!(
                "The claims pipeline is behind: more than {limit} steps are waiting, the most this \
                 service queues. Nothing was stored; send the claim again after the Retry-After delay."
            )));
        }
        Ok(())
    }

    fn record(&self, pending: u64) {
        let before = self.pending.swap(pending, Ordering::Relaxed);
        if let Some(limit) = self.limit {
            match (before > limit, pending > limit) {
                (false, true) => tracing::warn!(
                    pending,
                    limit,
                    "the pipeline's backlog is over the intake limit: new claims get 503"
                ),
                (true, false) => {
                    tracing::info!(
                        pending,
                        limit,
                        "the pipeline's backlog is back under the intake limit"
                    )
                }
                _ => {}
            }
        }
    }
}

/// Pending jobs, counted up to `cap`.
pub async fn count_pending(db: &Db, cap: u64) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE state = 'pending' LIMIT $1) AS pending",
    )
    .bind(i64::try_from(cap).unwrap_or(i64::MAX))
    .fetch_one(db.pool())
    .await?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// Counts the pending jobs every [`COUNT_INTERVAL`] for `admission`; nothing
/// to do without a limit. A count that fails keeps the last one (a database
/// that is down already answers intake with 503 itself).
pub fn spawn_counter(db: Db, admission: Admission) -> Option<tokio::task::JoinHandle<()>> {
    let limit = admission.limit?;
    Some(tokio::spawn(async move {
        let mut interval = tokio::time::interval(COUNT_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match count_pending(&db, limit.saturating_add(1)).await {
                Ok(pending) => admission.record(pending),
                Err(error) => tracing::warn!(%error, "could not count the pipeline's backlog"),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intake_is_refused_only_while_the_count_is_over_the_limit() {
        let admission = Admission::new(Some(10));
        assert!(admission.check().is_ok(), "nothing counted yet");
        admission.record(10);
        assert!(admission.check().is_ok(), "at the limit");
        admission.record(11);
        let refused = admission.check().unwrap_err();
        assert_eq!(refused.status_code(), 503);
        assert_eq!(
            refused.retry_after(),
            Some(crate::error::RETRY_BACKLOGGED_SECONDS)
        );
        assert!(
            refused.to_string().contains("more than 10 steps"),
            "{refused}"
        );
        admission.record(3);
        assert!(admission.check().is_ok(), "caught up");
        let unlimited = Admission::new(None);
        unlimited.record(u64::MAX);
        assert!(unlimited.check().is_ok());
    }
}
