//! What each step does, in two halves: [`prepare`] does the slow part
//! outside any write transaction (reads, object storage, webhook calls), and
//! [`commit`] records the outcome inside the batch's write transaction. On
//! SQLite that transaction holds the database's single write lock, so only
//! the few statements that must be atomic with the job's completion run
//! under it.

use serde_json::json;
use shared::triage::{Assessment, RuleBook, TriageRules};

use super::{Job, Step};
use crate::{
    audit::ssr::{self as audit, AuditContext},
    claims::ssr as claims,
    error::AppError,
    state::AppState,
    webhooks::ssr as webhooks,
};

/// What a prepared step still has to write, beside its completion.
#[derive(Debug)]
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
#[derive(Debug)]
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

/// The slow half of a step; it may run many times for one job (a crash or a
/// lost lease repeats it), so each is idempotent.
pub(super) async fn prepare(state: &AppState, job: &Job, step: Step) -> Result<Work, StepError> {
    match step {
        Step::CheckCoverage => {
            // The claim and its policy must exist and be readable; triage
            // decides what the coverage is, with the rest of the facts.
            let mut conn = state.db.pool().acquire().await?;
            claims::claim_facts(&mut conn, &job.claim_id).await?;
            Ok(Work::Complete)
        }
        Step::Triage => {
            // Read outside the write lock: a claim filed meanwhile on the
            // same policy may be missed as a duplicate of this one, but this
            // one is then found as a duplicate of it, when it is triaged.
            let mut conn = state.db.pool().acquire().await?;
            Ok(
                match claims::triage_facts(&mut conn, &job.claim_id).await? {
                    Some(triage) => Work::Triage {
                        assessment: Box::new(RuleBook.assess(&triage.facts)),
                        candidates: triage.candidates,
                    },
                    // Already triaged by an earlier attempt that committed.
                    None => Work::Complete,
                },
            )
        }
        Step::Snapshot => {
            snapshot(state, job).await?;
            Ok(Work::Complete)
        }
        Step::Notify => {
            // The execution id names the event: a retry resends the same
            // event to the endpoints that have not acknowledged it.
            webhooks::notify_claim_triaged(state, &job.execution_id, &job.claim_id)
                .await?
                .map_err(StepError)?;
            Ok(Work::Complete)
        }
    }
}

/// The claim as triaged, as JSON in object storage (writing the same object
/// again is harmless).
async fn snapshot(state: &AppState, job: &Job) -> Result<(), StepError> {
    let claim = claims::view(state, &job.claim_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The claim".into()))?;
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
    state.storage.put(&path, body).await?;
    Ok(())
}

/// The atomic half: the step's writes, in the caller's transaction, which
/// holds the job's lease and then completes it with the rest of its batch.
/// Returns the step's audit record, which the caller appends before it
/// commits.
pub(super) async fn commit(
    tx: &mut sqlx::AnyConnection,
    job: &Job,
    work: Work,
) -> Result<Option<audit::Pending>, AppError> {
    Ok(match work {
        Work::Triage {
            assessment,
            candidates,
        } => {
            let context = AuditContext::system("workflow");
            Some(
                claims::record_triage(tx, &context, &job.claim_id, &assessment, &candidates)
                    .await?,
            )
        }
        Work::Complete => None,
    })
}
