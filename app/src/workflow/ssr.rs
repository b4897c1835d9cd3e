//! The outbox and its workers: every SQL statement on executions and jobs,
//! and the steps of the claims pipeline.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use shared::triage::{RuleBook, TriageRules};
use sqlx::{Row as _, any::AnyRow};
use tokio::sync::Notify;

use super::{ExecutionView, StepView};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    claims::ssr as claims,
    db::{Db, Engine, new_id, now_micros},
    error::AppError,
    state::AppState,
    webhooks::ssr as webhooks,
};

/// The pipeline's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Was the policy in force on the incident date, in the claim's currency?
    CheckCoverage,
    /// Priority and fraud flags; moves the claim to the review queue.
    Triage,
    /// The claim as triaged, as JSON in object storage.
    Snapshot,
    /// `claim.triaged` to every webhook endpoint, signed.
    Notify,
}

impl Step {
    pub const FIRST: Step = Step::CheckCoverage;
    pub const ALL: [Step; 4] = [
        Step::CheckCoverage,
        Step::Triage,
        Step::Snapshot,
        Step::Notify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::CheckCoverage => "check_coverage",
            Step::Triage => "triage",
            Step::Snapshot => "snapshot",
            Step::Notify => "notify",
        }
    }

    fn parse(raw: &str) -> Option<Step> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    fn next(self) -> Option<Step> {
        match self {
            Step::CheckCoverage => Some(Step::Triage),
            Step::Triage => Some(Step::Snapshot),
            Step::Snapshot => Some(Step::Notify),
            Step::Notify => None,
        }
    }
}

/// Wakes an idle worker at once instead of at its next poll.
#[derive(Debug, Clone, Default)]
pub struct JobSignal(Arc<Notify>);

impl JobSignal {
    pub fn notify(&self) {
        self.0.notify_one();
    }

    async fn notified(&self) {
        self.0.notified().await;
    }
}

/// Tells this process's workers that there is work (other replicas find it
/// at their next poll).
pub fn wake(state: &AppState) {
    state.jobs.notify();
}

/// How workers poll, lease and retry.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Workers in this process (0: none; `server worker` runs only these).
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: Duration,
    /// A running job whose worker vanished is taken over after this.
    pub lease: Duration,
    /// Attempts before a job is parked as `dead`.
    pub max_attempts: i64,
    /// First retry delay; doubled per attempt, capped at [`MAX_BACKOFF`].
    pub backoff: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 1,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            max_attempts: 5,
            backoff: Duration::from_secs(2),
        }
    }
}

pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The delay before attempt `attempts + 1`: doubling from `base`, capped,
/// with up to a quarter of jitter so retries of many jobs spread out.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let delay = base
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let jitter = if getrandom::fill(&mut byte).is_ok() {
        delay.mul_f64(f64::from(byte[0]) / 1024.0)
    } else {
        Duration::ZERO
    };
    delay + jitter
}

/// Creates an execution for `claim_id` and enqueues its first step, inside
/// the caller's transaction (the same one that stores the claim).
/// `correlation_id` is the ingesting request's: each step's span carries it,
/// so a trace search for one request finds the pipeline work it caused.
pub async fn start_execution(
    tx: &mut sqlx::AnyConnection,
    claim_id: &str,
    correlation_id: Option<&str>,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    let now = now_micros();
    sqlx::query(
        "INSERT INTO executions (id, claim_id, state, correlation_id, created_at, updated_at) \
         VALUES ($1, $2, 'running', $3, $4, $4)",
    )
    .bind(&id)
    .bind(claim_id)
    .bind(correlation_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    enqueue(tx, &id, claim_id, Step::FIRST, DEFAULT_MAX_ATTEMPTS).await?;
    Ok(id)
}

const DEFAULT_MAX_ATTEMPTS: i64 = 5;

/// Enqueues `step` of an execution; a second enqueue of the same step is a
/// no-op (a repeated step must not fork the pipeline).
async fn enqueue(
    tx: &mut sqlx::AnyConnection,
    execution_id: &str,
    claim_id: &str,
    step: Step,
    max_attempts: i64,
) -> Result<(), sqlx::Error> {
    let now = now_micros();
    sqlx::query(
        "INSERT INTO jobs (id, execution_id, claim_id, step, state, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $6, $6) ON CONFLICT (execution_id, step) DO NOTHING",
    )
    .bind(new_id())
    .bind(execution_id)
    .bind(claim_id)
    .bind(step.as_str())
    .bind(max_attempts)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A leased job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub execution_id: String,
    pub claim_id: String,
    pub step: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// Of the request that started the execution.
    pub correlation_id: Option<String>,
}

/// Leases the oldest due job (pending and due, or running with an expired
/// lease) for `worker`. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets many
/// workers lease at once without waiting on each other; SQLite has one
/// writer, so the single UPDATE is already exclusive.
pub async fn lease_next(
    db: &Db,
    worker: &str,
    settings: &WorkerSettings,
) -> Result<Option<Job>, sqlx::Error> {
    let lease = settings.lease;
    let now = now_micros();
    let until = now + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
    let lock = match db.engine() {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, \
         started_at = $3, finished_at = NULL, updated_at = $3, max_attempts = $4 \
         WHERE id = (SELECT id FROM jobs WHERE (state = 'pending' AND run_at <= $3) \
         OR (state = 'running' AND locked_until < $3) ORDER BY run_at, id LIMIT 1{lock}) \
         RETURNING id, execution_id, claim_id, step, attempts, max_attempts, \
         (SELECT correlation_id FROM executions e WHERE e.id = jobs.execution_id) AS correlation_id"
    );
    let row = sqlx::query(&sql)
        .bind(worker)
        .bind(until)
        .bind(now)
        .bind(settings.max_attempts)
        .fetch_optional(db.pool())
        .await?;
    row.map(|row| {
        Ok(Job {
            id: row.try_get("id")?,
            execution_id: row.try_get("execution_id")?,
            claim_id: row.try_get("claim_id")?,
            step: row.try_get("step")?,
            attempts: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
            correlation_id: row.try_get("correlation_id")?,
        })
    })
    .transpose()
}

/// Marks the job done and enqueues the next step (or completes the
/// execution), in the step's transaction. Fails when the lease was lost to
/// another worker, so the work of a step is committed at most once.
async fn complete(
    tx: &mut sqlx::AnyConnection,
    job: &Job,
    worker: &str,
    step: Step,
) -> Result<(), AppError> {
    let now = now_micros();
    let done = sqlx::query(
        "UPDATE jobs SET state = 'done', finished_at = $1, locked_by = NULL, locked_until = NULL, \
         last_error = NULL, updated_at = $1 WHERE id = $2 AND state = 'running' AND locked_by = $3",
    )
    .bind(now)
    .bind(&job.id)
    .bind(worker)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::Conflict(format!(
            "job {} is no longer leased by {worker}",
            job.id
        )));
    }
    match step.next() {
        Some(next) => enqueue(tx, &job.execution_id, &job.claim_id, next, job.max_attempts).await?,
        None => {
            sqlx::query(
                "UPDATE executions SET state = 'completed', finished_at = $1, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(&job.execution_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// Records a failed attempt: back to `pending` after a backoff, or `dead`
/// (and the execution `failed`) when the attempts are used up.
async fn fail(
    db: &Db,
    settings: &WorkerSettings,
    job: &Job,
    worker: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    let now = now_micros();
    // Errors are shown to staff: keep them short and free of row data.
    let error: String = error.chars().take(500).collect();
    let dead = job.attempts >= job.max_attempts;
    let mut tx = db.begin_write().await?;
    let run_at = now
        + i64::try_from(backoff(settings.backoff, job.attempts).as_micros())
            .unwrap_or(i64::MAX / 2);
    let updated = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, finished_at = $4, locked_by = NULL, \
         locked_until = NULL, updated_at = $4 WHERE id = $5 AND locked_by = $6",
    )
    .bind(if dead { "dead" } else { "pending" })
    .bind(run_at)
    .bind(&error)
    .bind(now)
    .bind(&job.id)
    .bind(worker)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if dead && updated > 0 {
        sqlx::query("UPDATE executions SET state = 'failed', updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&job.execution_id)
            .execute(&mut *tx)
            .await?;
        audit::append(
            &mut tx,
            &AuditContext::system("workflow"),
            AuditEvent {
                action: "workflow.dead_lettered",
                entity_type: "claim",
                entity_id: Some(&job.claim_id),
                details: json!({ "job_id": job.id, "step": job.step, "attempts": job.attempts, "error": error }),
            },
        )
        .await?;
    }
    tx.commit().await
}

/// Runs one leased job to completion or failure, in a span of its own.
pub async fn run_job(state: &AppState, settings: &WorkerSettings, worker: &str, job: Job) {
    use tracing::Instrument as _;
    let span = tracing::info_span!(
        "workflow_step",
        step = %job.step,
        job = %job.id,
        claim_id = %job.claim_id,
        attempt = job.attempts,
        correlation_id = job.correlation_id.as_deref().unwrap_or_default(),
    );
    run_job_in_span(state, settings, worker, job)
        .instrument(span)
        .await;
}

async fn run_job_in_span(state: &AppState, settings: &WorkerSettings, worker: &str, job: Job) {
    let started = std::time::Instant::now();
    let outcome = match Step::parse(&job.step) {
        None => Err(format!("unknown step {}", job.step)),
        Some(step) => run_step(state, worker, &job, step)
            .await
            .map_err(|StepError(error)| error),
    };
    match outcome {
        Ok(()) => tracing::info!(
            job = %job.id, step = %job.step, attempt = job.attempts,
            elapsed_ms = started.elapsed().as_millis() as u64, "workflow step done"
        ),
        Err(error) => {
            tracing::warn!(job = %job.id, step = %job.step, attempt = job.attempts, %error, "workflow step failed");
            if let Err(db_error) = fail(&state.db, settings, &job, worker, &error).await {
                // The lease runs out and another attempt follows.
                tracing::error!(job = %job.id, error = %db_error, "could not record the failure");
            }
        }
    }
}

/// Why a step failed, as staff see it on the claim page: the underlying
/// message (a storage or database error), never row data.
struct StepError(String);

impl From<AppError> for StepError {
    fn from(error: AppError) -> Self {
        Self(error.to_string())
    }
}

impl From<sqlx::Error> for StepError {
    fn from(error: sqlx::Error) -> Self {
        Self(format!("database: {error}"))
    }
}

impl From<crate::storage::StorageError> for StepError {
    fn from(error: crate::storage::StorageError) -> Self {
        Self(error.to_string())
    }
}

async fn run_step(state: &AppState, worker: &str, job: &Job, step: Step) -> Result<(), StepError> {
    let context = AuditContext::system("workflow");
    match step {
        Step::CheckCoverage => {
            let mut tx = state.db.begin_write().await?;
            // Triage records the outcome with the rest; here the claim and
            // its policy must exist and be readable.
            claims::triage_facts(&mut tx, &job.claim_id).await?;
            complete(&mut tx, job, worker, step).await?;
            tx.commit().await?;
        }
        Step::Triage => {
            let mut tx = state.db.begin_write().await?;
            // `None`: already triaged by an earlier attempt that committed.
            if let Some(facts) = claims::triage_facts(&mut tx, &job.claim_id).await? {
                let assessment = RuleBook.assess(&facts);
                claims::record_triage(&mut tx, &context, &job.claim_id, &assessment).await?;
            }
            complete(&mut tx, job, worker, step).await?;
            tx.commit().await?;
        }
        Step::Snapshot => {
            let claim = claims::view(state, &job.claim_id)
                .await?
                .ok_or_else(|| AppError::NotFound("The claim".into()))?;
            let day =
                time::OffsetDateTime::from_unix_timestamp(claim.summary.created_at / 1_000_000)
                    .map(|t| t.date())
                    .unwrap_or(time::Date::MIN);
            let path = format!(
                "claims/{:04}/{:02}/{:02}/{}.json",
                day.year(),
                u8::from(day.month()),
                day.day(),
                claim.summary.claim_number
            );
            // Writing the same object again is harmless: the step is
            // idempotent.
            let body = serde_json::to_vec_pretty(&json!({
                "claim": claim.summary,
                "description": claim.description,
                "coverage": claim.coverage,
                "coverage_note": claim.coverage_note,
                "lines": claim.lines,
                "execution_id": job.execution_id,
            }))
            .map_err(|e| StepError(format!("cannot encode the snapshot: {e}")))?;
            state.storage.put(&path, body).await?;
            let mut tx = state.db.begin_write().await?;
            complete(&mut tx, job, worker, step).await?;
            tx.commit().await?;
        }
        Step::Notify => {
            // The execution id names the event: a retry resends the same
            // event to the endpoints that have not acknowledged it.
            webhooks::notify_claim_triaged(state, &job.execution_id, &job.claim_id)
                .await?
                .map_err(StepError)?;
            let mut tx = state.db.begin_write().await?;
            complete(&mut tx, job, worker, step).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Runs workers until the process starts draining; each finishes the step
/// it is on. Returns their handles so shutdown can wait for them.
pub fn spawn_workers(
    state: &AppState,
    settings: &WorkerSettings,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..settings.concurrency)
        .map(|n| {
            let (state, settings) = (state.clone(), settings.clone());
            let worker = format!("{}-{n}", short_host_id());
            tokio::spawn(async move { worker_loop(state, settings, worker).await })
        })
        .collect()
}

/// Distinguishes this process's workers from other replicas' in `locked_by`.
fn short_host_id() -> String {
    new_id().chars().rev().take(8).collect()
}

async fn worker_loop(state: AppState, settings: WorkerSettings, worker: String) {
    tracing::info!(%worker, "workflow worker started");
    while !state.lifecycle.is_draining() {
        match lease_next(&state.db, &worker, &settings).await {
            Ok(Some(job)) => run_job(&state, &settings, &worker, job).await,
            Ok(None) => {
                tokio::select! {
                    () = state.jobs.notified() => {}
                    () = tokio::time::sleep(settings.poll_interval) => {}
                }
            }
            Err(error) => {
                tracing::warn!(%worker, %error, "could not lease a job");
                tokio::time::sleep(settings.poll_interval).await;
            }
        }
    }
    tracing::info!(%worker, "workflow worker stopped");
}

fn step_from_row(row: &AnyRow) -> Result<StepView, sqlx::Error> {
    Ok(StepView {
        job_id: row.try_get("id")?,
        step: row.try_get("step")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        run_at: row.try_get("run_at")?,
    })
}

/// Executions with their steps, for one claim or one execution id: two
/// queries whatever the count.
async fn executions_where(
    db: &Db,
    column: &str,
    value: &str,
) -> Result<Vec<ExecutionView>, sqlx::Error> {
    let executions = sqlx::query(&format!(
        "SELECT id, claim_id, state, created_at, finished_at FROM executions WHERE {column} = $1 ORDER BY created_at"
    ))
    .bind(value)
    .fetch_all(db.pool())
    .await?;
    let jobs = sqlx::query(&format!(
        "SELECT j.id, j.execution_id, j.step, j.state, j.attempts, j.max_attempts, j.last_error, j.created_at, \
         j.started_at, j.finished_at, j.run_at FROM jobs j JOIN executions e ON e.id = j.execution_id \
         WHERE e.{column} = $1 ORDER BY j.created_at, j.id"
    ))
    .bind(value)
    .fetch_all(db.pool())
    .await?;
    executions
        .iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let steps = jobs
                .iter()
                .filter(|job| {
                    job.try_get::<String, _>("execution_id")
                        .is_ok_and(|e| e == id)
                })
                .map(step_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ExecutionView {
                claim_id: row.try_get("claim_id")?,
                state: row.try_get("state")?,
                created_at: row.try_get("created_at")?,
                finished_at: row.try_get("finished_at")?,
                steps,
                id,
            })
        })
        .collect()
}

pub async fn executions_for_claim(
    db: &Db,
    claim_id: &str,
) -> Result<Vec<ExecutionView>, sqlx::Error> {
    executions_where(db, "claim_id", claim_id).await
}

pub async fn find_execution(db: &Db, id: &str) -> Result<Option<ExecutionView>, sqlx::Error> {
    Ok(executions_where(db, "id", id).await?.into_iter().next())
}

/// Staff retry of a dead job: attempts start again, the execution runs.
pub async fn retry(state: &AppState, context: &AuditContext, job_id: &str) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query("SELECT execution_id, claim_id, step, state FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::NotFound("The job".into()))?;
    if row.try_get::<String, _>("state")? != "dead" {
        return Err(AppError::Conflict(
            "Only a dead-lettered job can be retried; this one is still in the queue or done."
                .into(),
        ));
    }
    let now = now_micros();
    sqlx::query(
        "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(job_id)
    .execute(&mut *tx)
    .await?;
    let execution_id: String = row.try_get("execution_id")?;
    sqlx::query("UPDATE executions SET state = 'running', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&execution_id)
        .execute(&mut *tx)
        .await?;
    let claim_id: String = row.try_get("claim_id")?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "workflow.retried",
            entity_type: "claim",
            entity_id: Some(&claim_id),
            details: json!({ "job_id": job_id, "step": row.try_get::<String, _>("step")?, "execution_id": execution_id }),
        },
    )
    .await?;
    tx.commit().await?;
    wake(state);
    Ok(())
}

/// Jobs by state and the age of the oldest due one, for `/metrics` and the
/// dashboard.
pub async fn outbox_depth(db: &Db) -> Result<(Vec<(String, i64)>, Option<i64>), sqlx::Error> {
    let by_state = sqlx::query("SELECT state, COUNT(*) AS jobs FROM jobs GROUP BY state")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("state")?, row.try_get("jobs")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let oldest: Option<i64> =
        sqlx::query_scalar("SELECT MIN(created_at) FROM jobs WHERE state = 'pending'")
            .fetch_one(db.pool())
            .await?;
    Ok((by_state, oldest.map(|at| (now_micros() - at) / 1_000_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_attempt_up_to_the_cap() {
        let base = Duration::from_secs(2);
        let first = backoff(base, 1);
        assert!(first >= base && first <= base.mul_f64(1.25), "{first:?}");
        let third = backoff(base, 3);
        assert!(
            third >= base * 4 && third <= (base * 4).mul_f64(1.25),
            "{third:?}"
        );
        assert!(backoff(base, 40) <= MAX_BACKOFF.mul_f64(1.25));
    }

    #[test]
    fn the_pipeline_runs_its_steps_in_order_once() {
        let mut step = Some(Step::FIRST);
        let mut seen = Vec::new();
        while let Some(s) = step {
            seen.push(s);
            step = s.next();
        }
        assert_eq!(seen, Step::ALL);
        assert!(
            Step::ALL
                .iter()
                .all(|s| Step::parse(s.as_str()) == Some(*s))
        );
    }
}
