//! What each step does, in two halves: [`prepare_all`] does the slow part
//! outside any write transaction (reads, object storage, webhook calls), for
//! every job of a batch at once, and [`commit_triage`] records triage's
//! outcomes inside the batch's write transaction. On SQLite that transaction
//! holds the database's single write lock, so only the few statements that
//! must be atomic with the jobs' completion run under it.

use std::future::Future;

use serde_json::json;
use shared::triage::{Assessment, RuleBook, TriageRules};

use super::{Job, Pipeline, Step};
use crate::{
    audit::ssr::{self as audit, AuditContext},
    claims::ssr as claims,
    error::AppError,
    webhooks::ssr as webhooks,
};

/// What a prepared step still has to write, beside its completion.
#[derive(Debug, Clone)]
pub(super) enum Work {
    /// Nothing: the step's effect is already outside the database (or
    /// there was nothing to do).
    Complete,
    /// Triage's outcome, recorded on the claim, and the ids of the possible
    /// duplicates it read (linked if the outcome flags them).
    Triage {
        assessment: Box<Assessment>,
        candidates: Vec<String>,
    },
}

/// Why a step failed, as staff see it on the claim page and in the
/// dead-letter audit record: the underlying cause in words (a storage or
/// database error), never row data.
#[derive(Debug, Clone)]
pub(super) struct StepError(pub(super) String);

impl From<AppError> for StepError {
    fn from(error: AppError) -> Self {
        Self(error.cause())
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

/// The slow half of every job of a batch, one result per job in the order
/// given. Each may run many times for one job (a crash or a lost lease
/// repeats it), so each is idempotent.
///
/// The jobs are grouped by step and each group is read in a few statements
/// whatever its size ([`claims::claim_facts`], [`claims::triage_facts`],
/// [`claims::snapshots`], [`webhooks::notify_claims_triaged`]); the four
/// groups run at once, each on a connection of its own.
pub(super) async fn prepare_all(pipeline: &Pipeline, jobs: &[Job]) -> Vec<Result<Work, StepError>> {
    let of = |step: Step| -> Vec<&Job> {
        jobs.iter()
            .filter(|job| Step::parse(&job.step) == Some(step))
            .collect()
    };
    let (coverage, triage, snapshot, notify) = (
        of(Step::CheckCoverage),
        of(Step::Triage),
        of(Step::Snapshot),
        of(Step::Notify),
    );
    let (coverage_done, triage_done, snapshot_done, notify_done) = futures_util::join!(
        group(&coverage, check_coverage(pipeline, &coverage)),
        group(&triage, triage_all(pipeline, &triage)),
        group(&snapshot, snapshot_all(pipeline, &snapshot)),
        group(&notify, notify_all(pipeline, &notify)),
    );
    let mut outcomes: std::collections::HashMap<&str, Result<Work, StepError>> = coverage_done
        .into_iter()
        .chain(triage_done)
        .chain(snapshot_done)
        .chain(notify_done)
        .collect();
    jobs.iter()
        .map(|job| {
            outcomes
                .remove(job.id.as_str())
                .unwrap_or_else(|| Err(StepError(format!("unknown step {}", job.step))))
        })
        .collect()
}

/// A group's outcomes by job id; a failure of the whole group (its read
/// failed) is every job's. An empty group's work is never started.
async fn group<'a>(
    jobs: &[&'a Job],
    work: impl Future<Output = Result<Vec<Result<Work, StepError>>, StepError>>,
) -> Vec<(&'a str, Result<Work, StepError>)> {
    if jobs.is_empty() {
        return Vec::new();
    }
    match work.await {
        Ok(outcomes) => jobs
            .iter()
            .map(|job| job.id.as_str())
            .zip(outcomes)
            .collect(),
        Err(StepError(error)) => jobs
            .iter()
            .map(|job| (job.id.as_str(), Err(StepError(error.clone()))))
            .collect(),
    }
}

fn claim_ids<'a>(jobs: &[&'a Job]) -> Vec<&'a str> {
    jobs.iter().map(|job| job.claim_id.as_str()).collect()
}

/// The claim and its policy must exist and be readable; triage decides what
/// the coverage is, with the rest of the facts.
async fn check_coverage(
    pipeline: &Pipeline,
    jobs: &[&Job],
) -> Result<Vec<Result<Work, StepError>>, StepError> {
    let mut conn = pipeline.db.pool().acquire().await?;
    Ok(claims::claim_facts(&mut conn, &claim_ids(jobs))
        .await?
        .into_iter()
        .map(|facts| facts.map(|_| Work::Complete).map_err(StepError::from))
        .collect())
}

/// Read outside the write lock: a claim filed meanwhile on the same policy
/// may be missed as a duplicate of this one, but this one is then found as
/// a duplicate of it, when it is triaged.
async fn triage_all(
    pipeline: &Pipeline,
    jobs: &[&Job],
) -> Result<Vec<Result<Work, StepError>>, StepError> {
    let mut conn = pipeline.db.pool().acquire().await?;
    Ok(
        claims::triage_facts(&mut conn, pipeline.db.engine(), &claim_ids(jobs))
            .await?
            .into_iter()
            .map(|facts| match facts {
                Ok(Some(triage)) => Ok(Work::Triage {
                    assessment: Box::new(RuleBook.assess(&triage.facts)),
                    candidates: triage.candidates,
                }),
                // Already triaged by an earlier attempt that committed.
                Ok(None) => Ok(Work::Complete),
                Err(error) => Err(StepError::from(error)),
            })
            .collect(),
    )
}

/// Snapshots written at once to object storage: each is a request of its
/// own there, and waiting on them one by one would leave the worker idle.
const SNAPSHOT_WRITES: usize = 8;

/// Each claim as triaged, as JSON in object storage (writing the same
/// object again is harmless).
async fn snapshot_all(
    pipeline: &Pipeline,
    jobs: &[&Job],
) -> Result<Vec<Result<Work, StepError>>, StepError> {
    use futures_util::StreamExt as _;
    let snapshots = claims::snapshots(&pipeline.db, &claim_ids(jobs)).await?;
    // The writes, made up front (a stream's `map` to an async block trips
    // the worker task's `Send` bound), then run a few at a time, in order.
    let writes: Vec<_> = jobs
        .iter()
        .zip(snapshots)
        .map(|(job, snapshot)| {
            let object = snapshot
                .map_err(StepError::from)
                .and_then(|snapshot| snapshot_object(job, snapshot));
            async move {
                let (path, body) = object?;
                pipeline.storage.put(&path, body).await?;
                Ok::<_, StepError>(Work::Complete)
            }
        })
        .collect();
    Ok(futures_util::stream::iter(writes)
        .buffered(SNAPSHOT_WRITES)
        .collect()
        .await)
}

/// A snapshot's object path (by the claim's filing day) and body.
fn snapshot_object(job: &Job, claim: claims::Snapshot) -> Result<(String, Vec<u8>), StepError> {
    let day = time::OffsetDateTime::from_unix_timestamp(claim.summary.created_at / 1_000_000)
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    let path = format!(
        "claims/{:04}/{:02}/{:02}/{}.json",
        day.year(),
        u8::from(day.month()),
        day.day(),
        claim.summary.claim_number
    );
    let body = serde_json::to_vec_pretty(&json!({
        "claim": claim.summary,
        "description": claim.description,
        "coverage": claim.coverage,
        "coverage_note": claim.coverage_note,
        "lines": claim.lines,
        "execution_id": job.execution_id,
    }))
    .map_err(|e| StepError(format!("cannot encode the snapshot: {e}")))?;
    Ok((path, body))
}

/// The execution id names the event: a retry resends the same event to the
/// endpoints that have not acknowledged it.
async fn notify_all(
    pipeline: &Pipeline,
    jobs: &[&Job],
) -> Result<Vec<Result<Work, StepError>>, StepError> {
    let events: Vec<(&str, &str)> = jobs
        .iter()
        .map(|job| (job.execution_id.as_str(), job.claim_id.as_str()))
        .collect();
    Ok(
        webhooks::notify_claims_triaged(pipeline.webhooks(), &events)
            .await?
            .into_iter()
            .map(|outcome| match outcome {
                Ok(Ok(())) => Ok(Work::Complete),
                Ok(Err(failures)) => Err(StepError(failures)),
                Err(error) => Err(StepError::from(error)),
            })
            .collect(),
    )
}

/// The atomic half of the triage jobs of a batch (the only step with
/// writes of its own), in the caller's transaction, which holds their
/// leases and then completes them with the rest of the batch: one
/// [`claims::record_triage`] for all of them. Per job, its audit record for
/// the caller to append before it commits, or why it failed.
pub(super) async fn commit_triage(
    tx: &mut sqlx::AnyConnection,
    jobs: &[(&Job, &Assessment, &[String])],
) -> Result<Vec<Result<audit::Pending, AppError>>, AppError> {
    let context = AuditContext::system("workflow");
    let outcomes: Vec<claims::Outcome<'_>> = jobs
        .iter()
        .map(|(job, assessment, candidates)| claims::Outcome {
            claim_id: &job.claim_id,
            assessment,
            candidates,
        })
        .collect();
    claims::record_triage(tx, &context, &outcomes).await
}
