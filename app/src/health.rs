//! The health report behind `/health` and the dashboard's system panel.

use serde::{Deserialize, Serialize};

/// What `/health` returns (JSON) and the dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// `ok`, `degraded` (database down) or `draining` (shutting down).
    pub status: String,
    pub version: String,
    pub uptime_seconds: u64,
    pub database: DatabaseHealth,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseHealth {
    pub engine: String,
    /// `up` or `down`.
    pub status: String,
    /// Round trip of `SELECT 1`, when it answered.
    pub latency_ms: Option<f64>,
    /// Newest applied migration.
    pub schema_version: Option<i64>,
}

impl HealthReport {
    pub fn is_ready(&self) -> bool {
        self.status == "ok"
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::time::Duration;

    use super::{DatabaseHealth, HealthReport};
    use crate::state::AppState;

    /// A probe must answer quickly even while the database hangs.
    pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

    /// Whether this replica should receive traffic: not draining, the
    /// database answers and (SQLite) accepts a write.
    pub async fn is_ready(state: &AppState) -> bool {
        !state.lifecycle.is_draining() && database_up(state).await.is_ok()
    }

    /// The database answers a query and accepts a write (see
    /// [`crate::db::Db::probe_write`]); the round trip of the query.
    async fn database_up(state: &AppState) -> Result<Duration, String> {
        let latency = state
            .db
            .ping(PROBE_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        if let Err(error) = state.db.probe_write(PROBE_TIMEOUT).await {
            tracing::warn!(error = %error, "database write probe failed");
            return Err(format!("writes fail: {error}"));
        }
        Ok(latency)
    }

    pub async fn report(state: &AppState) -> HealthReport {
        let ping = database_up(state).await;
        if let Err(error) = &ping {
            tracing::warn!(error = %error, "database health probe failed");
        }
        let schema_version = match ping {
            Ok(_) => state.db.schema_version().await.ok().flatten(),
            Err(_) => None,
        };
        let status = if state.lifecycle.is_draining() {
            "draining"
        } else if ping.is_ok() {
            "ok"
        } else {
            "degraded"
        };
        HealthReport {
            status: status.into(),
            version: shared::VERSION.into(),
            uptime_seconds: state.lifecycle.uptime().as_secs(),
            database: DatabaseHealth {
                engine: state.db.engine().as_str().into(),
                status: if ping.is_ok() { "up" } else { "down" }.into(),
                latency_ms: ping.ok().map(|d| d.as_secs_f64() * 1000.0),
                schema_version,
            },
        }
    }
}
