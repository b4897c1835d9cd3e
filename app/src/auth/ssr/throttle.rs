//! Rate limits.
//!
//! Sign-in and token requests are counted in the database (fixed one-minute
//! windows, one upsert per attempt), so an attacker gains nothing by
//! spreading attempts over replicas. The general API limit is counted in
//! process memory instead: it is checked on every API call, where a database
//! write would cost more than the call itself, and a per-replica limit (N
//! replicas allow N times the rate) is acceptable for abuse protection.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sqlx::Row as _;

use crate::db::{Db, now_micros};

/// `max` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per_minute(max: u32) -> Self {
        Self {
            max,
            window: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit; retry after this long (the `Retry-After` header).
    Limited {
        retry_after: Duration,
    },
}

/// Counts one attempt against `bucket` in the shared database. A window
/// opens at the first attempt and lasts `limit.window`: any `max + 1`
/// attempts within one window are refused, wherever they fall on the clock
/// (a window aligned to the clock would let a burst straddling its edge
/// through).
pub async fn hit_shared(db: &Db, bucket: &str, limit: Limit) -> Result<Decision, sqlx::Error> {
    let window = i64::try_from(limit.window.as_micros())
        .unwrap_or(i64::MAX)
        .max(1);
    let now = now_micros();
    let row = sqlx::query(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           hits = CASE WHEN rate_limits.window_start > $3 THEN rate_limits.hits + 1 ELSE 1 END, \
           window_start = CASE WHEN rate_limits.window_start > $3 \
                               THEN rate_limits.window_start ELSE excluded.window_start END \
         RETURNING hits, window_start",
    )
    .bind(bucket)
    .bind(now)
    .bind(now - window)
    .fetch_one(db.pool())
    .await?;
    let hits: i64 = row.try_get("hits")?;
    let window_start: i64 = row.try_get("window_start")?;
    Ok(decide(hits, limit, window_start + window - now))
}

/// Deletes windows older than an hour (no limit is longer).
pub async fn purge_stale(db: &Db) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(now_micros() - 3_600_000_000)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

fn decide(hits: i64, limit: Limit, micros_left: i64) -> Decision {
    if hits <= i64::from(limit.max) {
        Decision::Allowed
    } else {
        // Round up: a client that waits exactly this long is let in.
        let secs = u64::try_from(micros_left)
            .unwrap_or(0)
            .div_ceil(1_000_000)
            .max(1);
        Decision::Limited {
            retry_after: Duration::from_secs(secs),
        }
    }
}

/// Fixed-window counters in this process's memory.
#[derive(Debug, Clone, Default)]
pub struct LocalLimiter {
    windows: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

impl LocalLimiter {
    pub fn hit(&self, bucket: &str, limit: Limit) -> Decision {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            // A poisoned lock means a panic elsewhere; fail open rather than
            // refuse every API call.
            return Decision::Allowed;
        };
        if windows.len() > 100_000 {
            windows.retain(|_, (started, _)| now.duration_since(*started) < limit.window);
        }
        let entry = windows.entry(bucket.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= limit.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        let left = limit.window.saturating_sub(now.duration_since(entry.0));
        decide(
            i64::from(entry.1),
            limit,
            i64::try_from(left.as_micros()).unwrap_or(i64::MAX),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_limiter_refuses_past_the_limit_with_a_retry_after() {
        let limiter = LocalLimiter::default();
        let limit = Limit::per_minute(3);
        for _ in 0..3 {
            assert_eq!(limiter.hit("client-a", limit), Decision::Allowed);
        }
        match limiter.hit("client-a", limit) {
            Decision::Limited { retry_after } => {
                assert!((1..=60).contains(&retry_after.as_secs()));
            }
            Decision::Allowed => panic!("the fourth request must be limited"),
        }
        assert_eq!(
            limiter.hit("client-b", limit),
            Decision::Allowed,
            "buckets are separate"
        );
    }
}
