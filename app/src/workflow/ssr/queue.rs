//! Every SQL statement on the outbox (`executions` and `jobs`): enqueue,
//! lease, complete, fail, retry, prune and count.

use serde_json::json;
use sqlx::Row as _;

use super::{Step, WorkerSettings, backoff};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    batch::{Arg, Batch, bind_all},
    db::{Db, Engine, new_id, now_micros},
    error::AppError,
};

/// Attempts of a job enqueued by ingestion; a lease sets the configured
/// number, so a changed setting applies to jobs already queued.
const DEFAULT_MAX_ATTEMPTS: i64 = 5;

/// Creates an execution for `claim_id` and enqueues its first step, as two
/// statements of the caller's `batch` (run in the transaction that stores
/// the claim); returns the execution's id.
/// `correlation_id` is the ingesting request's: each step's span carries it,
/// so a trace search for one request finds the pipeline work it caused.
pub fn start_execution(batch: &mut Batch, claim_id: &str, correlation_id: Option<&str>) -> String {
    let id = new_id();
    let now = now_micros();
    batch.push(
        "INSERT INTO executions (id, claim_id, state, correlation_id, created_at, updated_at) \
         VALUES ($1, $2, 'running', $3, $4, $4)",
        vec![
            id.as_str().into(),
            claim_id.into(),
            correlation_id.into(),
            now.into(),
        ],
    );
    let first = NewJob {
        execution_id: &id,
        claim_id,
        step: Step::FIRST,
        max_attempts: DEFAULT_MAX_ATTEMPTS,
    };
    let (sql, args) = enqueue_statement(&[first], now);
    batch.push(sql, args);
    id
}

/// The lease statement of [`lease_batch`]. Binds: `$1` worker, `$2` lease
/// end, `$3` now, `$4` max attempts, `$5` batch size. Public so a test can
/// read its query plan.
pub fn lease_statement(engine: Engine) -> String {
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    format!(
        "WITH due AS (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= $3 ORDER BY run_at, id LIMIT $5{lock}), \
         stale AS (SELECT id FROM jobs WHERE state = 'running' AND locked_until < $3 ORDER BY locked_until LIMIT $5{lock}) \
         UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, \
         started_at = $3, finished_at = NULL, updated_at = $3, max_attempts = $4 \
         WHERE id IN (SELECT id FROM due UNION ALL SELECT id FROM stale) \
         RETURNING id, execution_id, claim_id, step, attempts, max_attempts, \
         (SELECT correlation_id FROM executions e WHERE e.id = jobs.execution_id) AS correlation_id"
    )
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

fn micros(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX / 2)
}

/// Leases up to `settings.batch` of the oldest due jobs, and as many running
/// jobs whose lease ran out (a worker that vanished), for `worker`, in one
/// statement.
///
/// Each half is a range scan of its own partial index (`jobs_pending_due_idx`,
/// `jobs_running_lease_idx`) that stops after the limit, so leasing costs the
/// same with ten or a million jobs waiting. On PostgreSQL `FOR UPDATE SKIP
/// LOCKED` lets many workers lease at once without waiting on each other;
/// SQLite has one writer, so the single UPDATE is already exclusive.
pub async fn lease_batch(
    db: &Db,
    worker: &str,
    settings: &WorkerSettings,
) -> Result<Vec<Job>, sqlx::Error> {
    // A write: in a write transaction, so on SQLite it takes its turn with
    // the other writers rather than meeting them in the busy handler.
    let mut tx = db.begin_write().await?;
    let jobs = lease_in(&mut tx, db.engine(), worker, settings).await?;
    tx.commit().await?;
    Ok(jobs)
}

/// [`lease_batch`] in the caller's write transaction (the batch runner
/// leases the next batch in the transaction that records the last one, so
/// a busy worker needs one write turn per batch, not two).
pub(super) async fn lease_in(
    tx: &mut sqlx::AnyConnection,
    engine: Engine,
    worker: &str,
    settings: &WorkerSettings,
) -> Result<Vec<Job>, sqlx::Error> {
    let now = now_micros();
    let until = now.saturating_add(micros(settings.lease));
    let rows = sqlx::query(&lease_statement(engine))
        .bind(worker)
        .bind(until)
        .bind(now)
        .bind(settings.max_attempts)
        .bind(i64::try_from(settings.batch).unwrap_or(1).max(1))
        .fetch_all(&mut *tx)
        .await?;
    let mut jobs = rows
        .iter()
        .map(|row| {
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
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // RETURNING has no order; claims are recorded in a stable one (oldest
    // first by UUIDv7 id), so batches lock rows in the same order.
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(jobs)
}

/// Gives leased jobs back unrun (a worker that stops with a batch in hand):
/// due again at once, the attempt not counted.
pub(super) async fn release(db: &Db, worker: &str, jobs: &[Job]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for job in jobs {
        sqlx::query(
            "UPDATE jobs SET state = 'pending', attempts = attempts - 1, locked_by = NULL, locked_until = NULL, \
             started_at = NULL, updated_at = $1 WHERE id = $2 AND state = 'running' AND locked_by = $3",
        )
        .bind(now_micros())
        .bind(&job.id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Of `jobs`, the ids still leased by `worker`, locked until the caller's
/// transaction ends (on PostgreSQL; SQLite's write lock already keeps every
/// other worker out), so that no other worker can take one over between a
/// step's writes and its completion: the work of a step is committed at
/// most once. One statement for the whole batch.
pub(super) async fn hold_leases(
    tx: &mut sqlx::AnyConnection,
    engine: Engine,
    worker: &str,
    jobs: &[&Job],
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    if jobs.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let lock = match engine {
        Engine::Postgres => " FOR UPDATE",
        Engine::Sqlite => "",
    };
    let sql = format!(
        "SELECT id FROM jobs WHERE state = 'running' AND locked_by = $1 AND id IN ({}){lock}",
        crate::db::placeholders(2, jobs.len())
    );
    let mut select = sqlx::query_scalar::<_, String>(&sql).bind(worker);
    for job in jobs {
        select = select.bind(&job.id);
    }
    Ok(select.fetch_all(&mut *tx).await?.into_iter().collect())
}

/// Marks many jobs done in three statements whatever their number
/// (on PostgreSQL each statement is a round trip, and most steps write
/// nothing but their completion): the jobs still leased by `worker` are
/// marked done, each one's next step is enqueued, and the executions whose
/// last step it was are completed. Returns the jobs whose lease was lost;
/// nothing is written for them.
pub(super) async fn complete_all<'a>(
    tx: &mut sqlx::AnyConnection,
    jobs: &[(&'a Job, Step)],
    worker: &str,
) -> Result<Vec<&'a Job>, sqlx::Error> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_micros();
    let sql = format!(
        "UPDATE jobs SET state = 'done', finished_at = $1, locked_by = NULL, locked_until = NULL, \
         last_error = NULL, updated_at = $1 WHERE state = 'running' AND locked_by = $2 AND id IN ({}) RETURNING id",
        crate::db::placeholders(3, jobs.len())
    );
    let mut update = sqlx::query_scalar::<_, String>(&sql).bind(now).bind(worker);
    for (job, _) in jobs {
        update = update.bind(&job.id);
    }
    let done: std::collections::HashSet<String> =
        update.fetch_all(&mut *tx).await?.into_iter().collect();
    let (completed, lost): (Vec<_>, Vec<_>) =
        jobs.iter().partition(|(job, _)| done.contains(&job.id));

    let next: Vec<_> = completed
        .iter()
        .filter_map(|(job, step)| {
            step.next().map(|next| NewJob {
                execution_id: &job.execution_id,
                claim_id: &job.claim_id,
                step: next,
                max_attempts: job.max_attempts,
            })
        })
        .collect();
    if !next.is_empty() {
        enqueue_all(tx, &next, now).await?;
    }
    let finished: Vec<&str> = completed
        .iter()
        .filter(|(_, step)| step.next().is_none())
        .map(|(job, _)| job.execution_id.as_str())
        .collect();
    if !finished.is_empty() {
        let sql = format!(
            "UPDATE executions SET state = 'completed', finished_at = $1, updated_at = $1 WHERE id IN ({})",
            crate::db::placeholders(2, finished.len())
        );
        let mut update = sqlx::query(&sql).bind(now);
        for id in finished {
            update = update.bind(id);
        }
        update.execute(&mut *tx).await?;
    }
    Ok(lost.into_iter().map(|(job, _)| job).collect())
}

/// A step to enqueue.
struct NewJob<'a> {
    execution_id: &'a str,
    claim_id: &'a str,
    step: Step,
    max_attempts: i64,
}

/// Enqueues steps in one multi-row insert, due at `now`; a step already
/// enqueued stays as it is (a repeated step must not fork the pipeline).
async fn enqueue_all(
    tx: &mut sqlx::AnyConnection,
    jobs: &[NewJob<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    let (sql, args) = enqueue_statement(jobs, now);
    bind_all(sqlx::query(&sql), args).execute(&mut *tx).await?;
    Ok(())
}

/// The statement of [`enqueue_all`] and its values.
fn enqueue_statement(jobs: &[NewJob<'_>], now: i64) -> (String, Vec<Arg>) {
    let rows = (0..jobs.len())
        .map(|row| {
            let [id, execution, claim, step, attempts] =
                std::array::from_fn(|column| 2 + row * 5 + column);
            format!(
                "(${id}, ${execution}, ${claim}, ${step}, 'pending', 0, ${attempts}, $1, $1, $1)"
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO jobs (id, execution_id, claim_id, step, state, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES {rows} ON CONFLICT (execution_id, step) DO NOTHING"
    );
    let mut args = Vec::with_capacity(1 + jobs.len() * 5);
    args.push(now.into());
    for job in jobs {
        args.extend([
            new_id().into(),
            job.execution_id.into(),
            job.claim_id.into(),
            job.step.as_str().into(),
            job.max_attempts.into(),
        ]);
    }
    (sql, args)
}

/// Records a failed attempt in the caller's transaction: back to `pending`
/// after a backoff, or `dead` (and the execution `failed`, audited) when
/// the attempts are used up. A job whose lease another worker took is left
/// alone.
pub(super) async fn record_failure(
    tx: &mut sqlx::AnyConnection,
    settings: &WorkerSettings,
    job: &Job,
    worker: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    let now = now_micros();
    // Errors are shown to staff: keep them short and free of row data.
    let error: String = error.chars().take(500).collect();
    let dead = job.attempts >= job.max_attempts;
    let run_at = now.saturating_add(micros(backoff(settings.backoff, job.attempts)));
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
            tx,
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
    Ok(())
}

/// [`record_failure`] in a transaction of its own.
pub(super) async fn fail(
    db: &Db,
    settings: &WorkerSettings,
    job: &Job,
    worker: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    record_failure(&mut tx, settings, job, worker, error).await?;
    tx.commit().await
}

/// Puts a dead job back in the queue with its attempts reset, and the
/// execution back to running, audited.
pub(super) async fn requeue_dead(
    db: &Db,
    context: &AuditContext,
    job_id: &str,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
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
        sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE state = 'pending'")
            .fetch_one(db.pool())
            .await?;
    Ok((
        by_state,
        oldest.map(|at| (now_micros() - at).max(0) / 1_000_000),
    ))
}

/// Deletes the done jobs of completed executions that finished before
/// `before` (microseconds); returns how many went. A completed execution
/// keeps its row (the claim page still says the pipeline ran); the jobs of a
/// failed or running execution stay, since staff need them.
pub async fn prune_done_jobs(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    crate::retention::delete_in_chunks(
        db,
        "DELETE FROM jobs WHERE id IN (SELECT j.id FROM jobs j JOIN executions e ON e.id = j.execution_id \
         WHERE j.state = 'done' AND j.finished_at < $1 AND e.state = 'completed' LIMIT $2)",
        before,
    )
    .await
}
