//! The claims pipeline: a durable workflow over an outbox of jobs.
//!
//! Ingestion writes the claim, an execution and the job for the first step
//! in one transaction. Workers (in the server process, or `server worker`
//! alone) lease due jobs, run the step, and in the step's own transaction
//! mark the job done and enqueue the next step, so a crash at any point
//! either repeats a step (every step is idempotent) or resumes after it.
//! Failures retry with exponential backoff and, after
//! [`ssr::WorkerSettings::max_attempts`], park the job as `dead` until
//! staff retry it.
//!
//! ```text
//! check_coverage -> triage -> snapshot
//! ```

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One step of one execution, as the claim page and the API show it; on
/// the server, also the typed row of a `jobs` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StepView {
    #[cfg_attr(feature = "ssr", sqlx(rename = "id"))]
    pub job_id: String,
    pub step: String,
    /// `pending`, `running`, `done` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// When a pending job is next due.
    pub run_at: i64,
}

impl StepView {
    /// How long the last attempt took, in milliseconds.
    pub fn duration_ms(&self) -> Option<i64> {
        Some((self.finished_at? - self.started_at?) / 1000)
    }
}

/// One run of the pipeline over a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionView {
    pub id: String,
    pub claim_id: String,
    /// `running`, `completed` or `failed` (a step is dead).
    pub state: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub steps: Vec<StepView>,
}

/// Puts a dead job back in the queue (staff with operations permission).
#[server]
pub async fn retry_job(job_id: String) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::OperationsManage, |call| async move {
        let state = &call.state;
        ssr::retry(&state.db, &state.jobs, &call.context, &job_id).await
    })
    .await
}
