//! Retention: rows that only matter for a while (done pipeline jobs,
//! stored idempotent responses) are deleted once they are older than a
//! configured window. Audit records are never pruned.

use std::time::Duration;

use crate::db::{Db, now_micros};

/// Rows one statement deletes, so a large backlog of old rows goes in short
/// write transactions (SQLite's write lock is held per chunk, not for the
/// whole purge).
pub const CHUNK: i64 = 1_000;

/// How long each kind of row is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Done jobs of completed executions (the claim page's pipeline panel
    /// shows their steps until then; the execution row stays).
    pub jobs: Duration,
    /// Stored answers for an `Idempotency-Key`: a repeat within this window
    /// is answered from the store, a later one is a new request.
    pub idempotency_keys: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            jobs: Duration::from_secs(30 * 24 * 3600),
            idempotency_keys: Duration::from_secs(24 * 3600),
        }
    }
}

/// The instant (microseconds) before which rows kept for `window` go.
pub fn cutoff(window: Duration) -> i64 {
    now_micros().saturating_sub(i64::try_from(window.as_micros()).unwrap_or(i64::MAX))
}

/// Runs `delete` (a DELETE whose `$1` is the cutoff and `$2` the chunk
/// size) until a chunk comes back short; returns the rows deleted.
pub async fn delete_in_chunks(db: &Db, delete: &str, before: i64) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let deleted = sqlx::query(delete)
            .bind(before)
            .bind(CHUNK)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        removed += deleted;
        if deleted < u64::try_from(CHUNK).unwrap_or(u64::MAX) {
            return Ok(removed);
        }
    }
}

/// One retention pass over every kind of row.
pub async fn prune(db: &Db, settings: &RetentionSettings) -> Result<Pruned, sqlx::Error> {
    Ok(Pruned {
        jobs: crate::workflow::ssr::prune_done_jobs(db, cutoff(settings.jobs)).await?,
        idempotency_keys: crate::claims::ssr::prune_idempotency_keys(
            db,
            cutoff(settings.idempotency_keys),
        )
        .await?,
    })
}

/// What one pass deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    pub jobs: u64,
    pub idempotency_keys: u64,
}
