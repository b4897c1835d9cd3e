//! The outbox and its workers: the steps of the claims pipeline, how
//! workers lease and run them in batches, and the pipeline's read side.
//!
//! A worker leases a batch of due jobs in one statement ([`lease_batch`]),
//! runs the slow half of every job outside any write transaction, the jobs
//! of each step read together in a few statements ([`steps::prepare_all`]),
//! then records every outcome in one write transaction of a dozen
//! statements whatever the batch's size ([`record_batch`]). Under load the
//! batches fill up, and a batch of N steps costs about what one step does:
//! that is what lets the pipeline keep up with ingestion, on SQLite where
//! every commit is an fsync under the single write lock, and on PostgreSQL
//! where every statement is a round trip.

mod admission;
mod queue;
mod steps;

pub use admission::{Admission, count_pending, spawn_counter};

use std::{sync::Arc, time::Duration};

use sqlx::{FromRow as _, Row as _};
use tokio::sync::Notify;

pub use queue::{
    Job, lease_batch, lease_statement, outbox_depth, prune_done_jobs, start_execution,
};

use self::steps::{StepError, Work};
use super::{ExecutionView, StepView};
use crate::{
    audit::ssr::{self as audit, AuditContext},
    db::Db,
    error::AppError,
    lifecycle::Lifecycle,
    storage::Storage,
    vault::Vault,
    webhooks::ssr::{WebhookClient, Webhooks},
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

    pub(super) fn next(self) -> Option<Step> {
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

/// What the workers run on: the parts of the server state the steps use,
/// each a cheap clone (a pool, an `Arc`), owned so a worker task can keep
/// them for the life of the process.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub db: Db,
    /// Where the triaged claim's snapshot goes.
    pub storage: Storage,
    /// Unwraps the webhook endpoints' secrets.
    pub vault: Arc<Vault>,
    pub webhook_client: WebhookClient,
    /// Wakes this process's workers when a job is enqueued.
    pub jobs: JobSignal,
    /// Workers stop leasing once the process is draining.
    pub lifecycle: Lifecycle,
}

impl Pipeline {
    /// What the `notify` step's webhook calls need.
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks {
            db: &self.db,
            vault: &self.vault,
            client: &self.webhook_client,
        }
    }
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
    /// Most jobs one lease takes (and one commit records).
    pub batch: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 1,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            max_attempts: 5,
            backoff: Duration::from_secs(2),
            batch: 64,
        }
    }
}

impl WorkerSettings {
    /// Connections the workers use at most: each prepares
    /// [`PREPARE_CONCURRENCY`] steps at once and then records them in one
    /// transaction. The size of their own pool ([`crate::db::Db::with_own_pool`]).
    pub fn connections_needed(&self) -> u32 {
        u32::try_from(self.concurrency * (PREPARE_CONCURRENCY + 1)).unwrap_or(u32::MAX)
    }
}

pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Connections a worker's slow halves hold at once: one per step, whose
/// jobs are read together ([`steps::prepare_all`]).
const PREPARE_CONCURRENCY: usize = Step::ALL.len();

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

/// Runs one leased batch: every job's slow half at once, then one write
/// transaction for all of their outcomes, which also leases the next batch
/// (returned; empty when nothing is due or the process is draining).
pub async fn run_batch(
    pipeline: &Pipeline,
    settings: &WorkerSettings,
    worker: &str,
    jobs: Vec<Job>,
) -> Vec<Job> {
    let started = std::time::Instant::now();
    // A span per job, open while its batch runs: a trace search for the
    // request that filed a claim finds the steps it caused.
    let spans: Vec<tracing::Span> = jobs
        .iter()
        .map(|job| {
            tracing::info_span!(
                "workflow_step",
                step = %job.step,
                job = %job.id,
                claim_id = %job.claim_id,
                attempt = job.attempts,
                correlation_id = job.correlation_id.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    let prepared = steps::prepare_all(pipeline, &jobs).await;
    let prepare_ms = started.elapsed().as_millis() as u64;
    let next = match record_batch(pipeline, settings, worker, &jobs, &prepared, true).await {
        Ok(next) => next,
        Err(StepError(error)) => {
            // The batch's transaction is gone, with every outcome in it: one
            // failing statement fails the whole batch. Each job is recorded
            // again in a transaction of its own, so a claim that breaks a
            // statement fails only its own step (and none waits for its
            // lease to run out).
            tracing::error!(%worker, %error, jobs = jobs.len(), "could not record a workflow batch; recording its jobs one by one");
            for (job, outcome) in jobs.iter().zip(prepared) {
                let alone = std::slice::from_ref(job);
                if let Err(StepError(error)) =
                    record_batch(pipeline, settings, worker, alone, &[outcome], false).await
                {
                    let message = format!("could not record the outcome: {error}");
                    if let Err(db_error) =
                        queue::fail(&pipeline.db, settings, job, worker, &message).await
                    {
                        tracing::error!(job = %job.id, error = %db_error, "could not record the failure");
                    }
                }
            }
            Vec::new()
        }
    };
    tracing::info!(
        %worker, jobs = jobs.len(), prepare_ms, elapsed_ms = started.elapsed().as_millis() as u64,
        "workflow batch done"
    );
    for (span, job) in spans.iter().zip(&jobs) {
        span.in_scope(|| tracing::debug!(step = %job.step, "workflow step recorded"));
    }
    next
}

/// The write half of [`run_batch`], in one transaction that then leases
/// the next batch (the steps just enqueued among them) when `lease_next`.
/// The leases of the triage jobs (the only step with writes of its own) are
/// locked first ([`queue::hold_leases`]); their writes go in together
/// ([`steps::commit_triage`]); a triage its claim refuses (changed
/// meanwhile, or no longer waiting for triage) writes nothing and is
/// recorded as failed; then every completion is recorded together
/// ([`queue::complete_all`]). Whatever the batch's size that is a dozen
/// statements: on PostgreSQL each statement is a round trip, and under load
/// a round trip waits its turn for the CPU, so a batch's cost is its
/// statements.
async fn record_batch(
    pipeline: &Pipeline,
    settings: &WorkerSettings,
    worker: &str,
    jobs: &[Job],
    prepared: &[Result<Work, StepError>],
    lease_next: bool,
) -> Result<Vec<Job>, StepError> {
    let (mut plain, mut triage, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for (job, outcome) in jobs.iter().zip(prepared) {
        match (outcome, Step::parse(&job.step)) {
            (Ok(Work::Complete), Some(step)) => plain.push((job, step)),
            (
                Ok(Work::Triage {
                    assessment,
                    candidates,
                }),
                Some(step),
            ) => triage.push((job, step, &**assessment, candidates.as_slice())),
            (Ok(_), None) => failed.push((job, format!("unknown step {}", job.step))),
            (Err(StepError(error)), _) => failed.push((job, error.clone())),
        }
    }
    let mut tx = pipeline.db.begin_write().await?;
    let writers: Vec<&Job> = triage.iter().map(|(job, ..)| *job).collect();
    let held = queue::hold_leases(&mut tx, pipeline.db.engine(), worker, &writers).await?;
    let (triage, lost): (Vec<_>, Vec<_>) = triage
        .into_iter()
        .partition(|(job, ..)| held.contains(&job.id));
    for (job, ..) in lost {
        lease_lost(job, worker);
    }
    let writes: Vec<_> = triage
        .iter()
        .map(|(job, _, assessment, candidates)| (*job, *assessment, *candidates))
        .collect();
    let mut records = Vec::new();
    for ((job, step, ..), outcome) in triage
        .iter()
        .zip(steps::commit_triage(&mut tx, &writes).await?)
    {
        match outcome {
            Ok(record) => {
                records.push(record);
                plain.push((*job, *step));
            }
            Err(error) => failed.push((*job, StepError::from(error).0)),
        }
    }
    // Every completion in three statements, the triage jobs among them
    // (their leases are held, so none of those is lost here).
    for job in queue::complete_all(&mut tx, &plain, worker).await? {
        lease_lost(job, worker);
    }
    for (job, error) in &failed {
        tracing::warn!(job = %job.id, step = %job.step, attempt = job.attempts, %error, "workflow step failed");
        queue::record_failure(&mut tx, settings, job, worker, error).await?;
    }
    // The steps' audit records last, in one append.
    audit::append_all(&mut tx, &records).await?;
    let next = if lease_next && !pipeline.lifecycle.is_draining() {
        queue::lease_in(&mut tx, pipeline.db.engine(), worker, settings).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(next)
}

/// Another worker took the lease over (this one was too slow): the step
/// stays with it, and nothing of this attempt is written.
fn lease_lost(job: &Job, worker: &str) {
    tracing::warn!(job = %job.id, step = %job.step, %worker, "lease lost before the step was recorded");
}

/// Runs workers until the process starts draining; each finishes the batch
/// it is on. Returns their handles so shutdown can wait for them.
pub fn spawn_workers(
    pipeline: &Pipeline,
    settings: &WorkerSettings,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..settings.concurrency)
        .map(|n| {
            let (pipeline, settings) = (pipeline.clone(), settings.clone());
            let worker = format!("{}-{n}", short_host_id());
            tokio::spawn(async move { worker_loop(pipeline, settings, worker).await })
        })
        .collect()
}

/// Distinguishes this process's workers from other replicas' in `locked_by`.
fn short_host_id() -> String {
    crate::db::new_id().chars().rev().take(8).collect()
}

async fn worker_loop(pipeline: Pipeline, settings: WorkerSettings, worker: String) {
    tracing::info!(%worker, "workflow worker started");
    // The batch the last commit leased, if any.
    let mut next = Vec::new();
    while !pipeline.lifecycle.is_draining() {
        let leased = if next.is_empty() {
            lease_batch(&pipeline.db, &worker, &settings).await
        } else {
            Ok(std::mem::take(&mut next))
        };
        match leased {
            Ok(jobs) if !jobs.is_empty() => {
                next = run_batch(&pipeline, &settings, &worker, jobs).await
            }
            Ok(_) => {
                tokio::select! {
                    () = pipeline.jobs.notified() => {}
                    () = tokio::time::sleep(settings.poll_interval) => {}
                }
            }
            Err(error) => {
                tracing::warn!(%worker, %error, "could not lease jobs");
                tokio::time::sleep(settings.poll_interval).await;
            }
        }
    }
    // Leased by the last commit as draining began: back to the queue, so
    // another worker need not wait for the lease to run out.
    if !next.is_empty()
        && let Err(error) = queue::release(&pipeline.db, &worker, &next).await
    {
        tracing::warn!(%worker, %error, jobs = next.len(), "could not give back leased jobs");
    }
    tracing::info!(%worker, "workflow worker stopped");
}

/// Staff retry of a dead job: attempts start again, the execution runs.
pub async fn retry(
    db: &Db,
    jobs: &JobSignal,
    context: &AuditContext,
    job_id: &str,
) -> Result<(), AppError> {
    queue::requeue_dead(db, context, job_id).await?;
    // This process's workers start at once; other replicas' at their next
    // poll.
    jobs.notify();
    Ok(())
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
                .map(StepView::from_row)
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
