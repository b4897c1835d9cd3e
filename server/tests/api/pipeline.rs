//! The pipeline's throughput machinery (issue 14): leases that read partial
//! indexes whatever the backlog, batches whose jobs fail alone, triage that
//! looks at a bounded number of candidates, dead letters that keep their
//! cause, and retention of done jobs and idempotent responses.

use app::{
    db::{Engine, now_micros},
    workflow::ssr::{Job, WorkerSettings, lease_batch, lease_statement, run_batch},
};
use serde_json::Value;
use shared::auth::Role;

use crate::{
    claims::{active_policy, claim, ingest},
    helpers::{TestApp, spawn_app_with},
};

/// No workers: the test leases and runs batches itself.
async fn app_without_workers() -> TestApp {
    spawn_app_with(|config| config.workers.concurrency = 0).await
}

/// Ingests `count` claims on one policy; their ids, oldest first.
async fn claims(app: &TestApp, count: usize) -> Vec<String> {
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(app, &token, "pipeline").await;
    let mut ids = Vec::new();
    for _ in 0..count {
        let receipt: Value = ingest(app, &token, &claim(&policy_number, 40_000), None)
            .await
            .json()
            .await
            .unwrap();
        ids.push(receipt["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn job_of(app: &TestApp, claim_id: &str, step: &str) -> (String, String, Option<String>) {
    let row: (String, String, Option<String>) =
        sqlx::query_as("SELECT id, state, last_error FROM jobs WHERE claim_id = $1 AND step = $2")
            .bind(claim_id)
            .bind(step)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    row
}

async fn status_of(app: &TestApp, claim_id: &str) -> String {
    let (status,): (String,) = sqlx::query_as("SELECT status FROM claims WHERE id = $1")
        .bind(claim_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    status
}

/// Runs `jobs` (leased by `test-worker`), then each batch its commit
/// leased, until nothing is due.
async fn drain_from(app: &TestApp, settings: &WorkerSettings, mut jobs: Vec<Job>) {
    for _ in 0..100 {
        if jobs.is_empty() {
            jobs = lease_batch(&app.state.db, "test-worker", settings)
                .await
                .unwrap();
            if jobs.is_empty() {
                return;
            }
        }
        jobs = run_batch(&app.state.pipeline(), settings, "test-worker", jobs).await;
    }
    panic!("the pipeline did not drain");
}

/// Runs the first batch (the coverage checks of the `claims` just filed)
/// and returns the batch its commit leased: their triages.
async fn past_the_coverage_check(
    app: &TestApp,
    settings: &WorkerSettings,
    claims: usize,
) -> Vec<Job> {
    let first = lease_batch(&app.state.db, "test-worker", settings)
        .await
        .unwrap();
    let next = run_batch(&app.state.pipeline(), settings, "test-worker", first).await;
    assert_eq!(next.len(), claims, "{next:?}");
    assert!(next.iter().all(|job| job.step == "triage"), "{next:?}");
    next
}

/// Leases and runs batches until nothing is due.
async fn drain(app: &TestApp, settings: &WorkerSettings) {
    drain_from(app, settings, Vec::new()).await;
}

#[tokio::test]
async fn a_lease_takes_the_oldest_due_jobs_and_expired_leases_and_leaves_the_rest() {
    let app = app_without_workers().await;
    let ids = claims(&app, 4).await;
    let db = app.state.db.pool();
    let now = now_micros();
    let set = |sql: &'static str, at: i64, claim: &str| {
        sqlx::query(sql).bind(at).bind(claim.to_owned()).execute(db)
    };
    // 0: due for a while; 1: running, but its worker vanished (lease over);
    // 2: due later than 0; 3: not due for an hour (a retry's backoff).
    set(
        "UPDATE jobs SET run_at = $1 WHERE claim_id = $2",
        now - 3_000_000,
        &ids[0],
    )
    .await
    .unwrap();
    set(
        "UPDATE jobs SET state = 'running', locked_by = 'gone', locked_until = $1, attempts = 1 WHERE claim_id = $2",
        now - 1_000_000,
        &ids[1],
    )
    .await
    .unwrap();
    set(
        "UPDATE jobs SET run_at = $1 WHERE claim_id = $2",
        now - 1_000_000,
        &ids[2],
    )
    .await
    .unwrap();
    set(
        "UPDATE jobs SET run_at = $1 WHERE claim_id = $2",
        now + 3_600_000_000,
        &ids[3],
    )
    .await
    .unwrap();

    let one = WorkerSettings {
        batch: 1,
        ..WorkerSettings::default()
    };
    let first = lease_batch(&app.state.db, "w1", &one).await.unwrap();
    let mut leased: Vec<&str> = first.iter().map(|job| job.claim_id.as_str()).collect();
    leased.sort_unstable();
    let mut expected = vec![ids[0].as_str(), ids[1].as_str()];
    expected.sort_unstable();
    assert_eq!(
        leased, expected,
        "a batch of one takes the oldest due job and one expired lease"
    );
    let taken_over = first.iter().find(|job| job.claim_id == ids[1]).unwrap();
    assert_eq!(taken_over.attempts, 2, "a take-over is another attempt");

    let rest = lease_batch(&app.state.db, "w2", &WorkerSettings::default())
        .await
        .unwrap();
    assert_eq!(
        rest.iter()
            .map(|job| job.claim_id.as_str())
            .collect::<Vec<_>>(),
        [ids[2].as_str()],
        "leased jobs are not leased again; a job not yet due waits"
    );
    let (_, state, _) = job_of(&app, &ids[3], "check_coverage").await;
    assert_eq!(state, "pending");
}

#[tokio::test]
async fn the_lease_statement_reads_the_partial_indexes_without_a_scan_or_a_sort() {
    let app = app_without_workers().await;
    let engine = app.state.db.engine();
    let mut conn = app.state.db.pool().acquire().await.unwrap();
    let explain = match engine {
        Engine::Sqlite => "EXPLAIN QUERY PLAN ",
        Engine::Postgres => {
            // An empty table is cheapest to scan: forbid that, so the plan
            // shows whether an index *can* answer the statement.
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            "EXPLAIN "
        }
    };
    let sql = format!("{explain}{}", lease_statement(engine));
    let now = now_micros();
    let rows = sqlx::query(&sql)
        .bind("w")
        .bind(now)
        .bind(now)
        .bind(5_i64)
        .bind(16_i64)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let plan: Vec<String> = rows
        .iter()
        .map(|row| {
            use sqlx::Row as _;
            match engine {
                Engine::Sqlite => row.try_get::<String, _>("detail").unwrap(),
                Engine::Postgres => row.try_get::<String, _>(0).unwrap(),
            }
        })
        .collect();
    let text = plan.join("\n");
    for index in ["jobs_pending_due_idx", "jobs_running_lease_idx"] {
        assert!(text.contains(index), "{index} is not used:\n{text}");
    }
    let scans_jobs = plan.iter().any(|line| {
        let line = line.trim();
        line == "SCAN jobs" || line.contains("Seq Scan on jobs")
    });
    assert!(!scans_jobs, "the lease scans the jobs table:\n{text}");
    // Sorting the handful of leased ids (PostgreSQL's semi-join) is fine;
    // sorting the due rows by their time is what an index must spare.
    let sorts_due_rows = plan.iter().any(|line| {
        line.contains("TEMP B-TREE FOR ORDER BY")
            || (line.contains("Sort Key")
                && (line.contains("run_at") || line.contains("locked_until")))
    });
    assert!(!sorts_due_rows, "the lease sorts the due jobs:\n{text}");
}

#[tokio::test]
async fn one_failing_job_leaves_the_rest_of_its_batch_done_and_its_dead_letter_names_the_cause() {
    let app = app_without_workers().await;
    let ids = claims(&app, 3).await;
    // A value no release writes: reading the claim fails inside the step.
    sqlx::query("UPDATE claims SET incident_date = 'not a date' WHERE id = $1")
        .bind(&ids[1])
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let settings = WorkerSettings {
        max_attempts: 1,
        ..WorkerSettings::default()
    };
    let batch = lease_batch(&app.state.db, "test-worker", &settings)
        .await
        .unwrap();
    assert_eq!(batch.len(), 3, "one lease takes the three due jobs");
    let next = run_batch(&app.state.pipeline(), &settings, "test-worker", batch).await;

    for id in [&ids[0], &ids[2]] {
        assert_eq!(job_of(&app, id, "check_coverage").await.1, "done");
        assert_eq!(
            job_of(&app, id, "triage").await.1,
            "running",
            "the commit leased the next steps"
        );
    }
    let mut next_claims: Vec<&str> = next.iter().map(|job| job.claim_id.as_str()).collect();
    next_claims.sort_unstable();
    let mut expected = vec![ids[0].as_str(), ids[2].as_str()];
    expected.sort_unstable();
    assert_eq!(next_claims, expected);
    let (_, state, error) = job_of(&app, &ids[1], "check_coverage").await;
    assert_eq!(state, "dead");
    let error = error.unwrap();
    assert!(
        error.contains("incident_date") && !error.contains("reference"),
        "the dead letter keeps the cause, not an opaque reference: {error}"
    );
    let recorded: String = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'workflow.dead_lettered' AND entity_id = $1",
    )
    .bind(&ids[1])
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert!(recorded.contains("incident_date"), "{recorded}");

    drain_from(&app, &settings, next).await;
    for id in [&ids[0], &ids[2]] {
        assert_eq!(job_of(&app, id, "notify").await.1, "done");
    }
}

#[tokio::test]
async fn a_job_whose_lease_was_taken_over_is_left_to_its_new_worker_and_the_rest_of_the_batch_completes()
 {
    let app = app_without_workers().await;
    let ids = claims(&app, 3).await;
    let settings = WorkerSettings::default();
    let batch = lease_batch(&app.state.db, "test-worker", &settings)
        .await
        .unwrap();
    assert_eq!(batch.len(), 3);
    // The second claim's step is taken over while this batch runs (its
    // worker looked dead): the takeover's attempt owns it now.
    let taken = &batch.iter().find(|job| job.claim_id == ids[1]).unwrap().id;
    sqlx::query("UPDATE jobs SET locked_by = 'other-worker' WHERE id = $1")
        .bind(taken)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let next = run_batch(&app.state.pipeline(), &settings, "test-worker", batch).await;

    let (_, state, _) = job_of(&app, &ids[1], "check_coverage").await;
    assert_eq!(state, "running", "left to the worker that took it over");
    let triage_jobs: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE claim_id = $1 AND step = 'triage'")
            .bind(&ids[1])
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(triage_jobs, 0, "nothing of the lost attempt was written");
    for id in [&ids[0], &ids[2]] {
        assert_eq!(job_of(&app, id, "check_coverage").await.1, "done");
    }
    assert_eq!(next.len(), 2, "the commit leased the two next steps");

    drain_from(&app, &settings, next).await;
    for id in [&ids[0], &ids[2]] {
        assert_eq!(job_of(&app, id, "notify").await.1, "done");
        let (state,): (String,) =
            sqlx::query_as("SELECT state FROM executions WHERE claim_id = $1")
                .bind(id)
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert_eq!(state, "completed");
    }
}

#[tokio::test]
async fn triage_names_and_links_a_bounded_number_of_possible_duplicates() {
    let app = app_without_workers().await;
    let bound = usize::try_from(app::claims::ssr::TRIAGE_CANDIDATES).unwrap();
    // The same loss filed again and again: every claim has the same policy,
    // day and item codes.
    let ids = claims(&app, bound + 3).await;
    drain(&app, &WorkerSettings::default()).await;

    let last = ids.last().unwrap();
    let flags: String = sqlx::query_scalar("SELECT fraud_flags FROM claims WHERE id = $1")
        .bind(last)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let flags: Value = serde_json::from_str(&flags).unwrap();
    let duplicate = flags
        .as_array()
        .unwrap()
        .iter()
        .find(|flag| flag["code"] == "possible_duplicate")
        .unwrap_or_else(|| panic!("no duplicate flag in {flags}"));
    let named = duplicate["reason"]
        .as_str()
        .unwrap()
        .matches("CLM-")
        .count();
    assert!(
        (1..=bound).contains(&named),
        "{named} claims named: {duplicate}"
    );
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM claim_links WHERE claim_id = $1")
        .bind(last)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(
        (1..=i64::try_from(bound).unwrap() + 2).contains(&links),
        "{links} links"
    );
}

#[tokio::test]
async fn retention_prunes_old_done_jobs_and_idempotency_keys_and_keeps_failed_pipelines_and_the_audit_trail()
 {
    let app = app_without_workers().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "retention").await;
    let mut ids = Vec::new();
    for key in ["old-key", "new-key", "failed-key"] {
        let receipt: Value = ingest(&app, &token, &claim(&policy_number, 30_000), Some(key))
            .await
            .json()
            .await
            .unwrap();
        ids.push(receipt["id"].as_str().unwrap().to_owned());
    }
    drain(&app, &WorkerSettings::default()).await;
    let db = app.state.db.pool();
    let long_ago = now_micros() - 40 * 24 * 3_600_000_000;
    // Claim 0's pipeline and key are old; claim 2's pipeline is old but
    // failed (staff still need its steps).
    for (sql, id) in [
        (
            "UPDATE jobs SET finished_at = $1 WHERE claim_id = $2",
            &ids[0],
        ),
        (
            "UPDATE jobs SET finished_at = $1 WHERE claim_id = $2",
            &ids[2],
        ),
        (
            "UPDATE executions SET state = 'failed', updated_at = $1 WHERE claim_id = $2",
            &ids[2],
        ),
    ] {
        sqlx::query(sql)
            .bind(long_ago)
            .bind(id)
            .execute(db)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE idempotency_keys SET created_at = $1 WHERE idem_key = 'old-key'")
        .bind(long_ago)
        .execute(db)
        .await
        .unwrap();
    let audit_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(db)
        .await
        .unwrap();

    let pruned = app::retention::prune(&app.state.db, &app.config.retention)
        .await
        .unwrap();
    assert_eq!(pruned.jobs, 4, "claim 0's four done steps");
    assert_eq!(pruned.idempotency_keys, 1);

    let jobs_left = |id: String| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM jobs WHERE claim_id = $1")
            .bind(id)
            .fetch_one(db)
            .await
            .unwrap()
    };
    assert_eq!(jobs_left(ids[0].clone()).await, 0);
    assert_eq!(jobs_left(ids[1].clone()).await, 4, "recent");
    assert_eq!(jobs_left(ids[2].clone()).await, 4, "a failed pipeline");
    let executions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM executions")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(executions, 3, "execution rows stay");
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT idem_key FROM idempotency_keys ORDER BY idem_key")
            .fetch_all(db)
            .await
            .unwrap();
    assert_eq!(keys, ["failed-key", "new-key"]);
    let audit_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(audit_after, audit_before, "audit records are never pruned");

    // The pruned key is a new request now: a repeat creates a new claim.
    let again = ingest(
        &app,
        &token,
        &claim(&policy_number, 30_000),
        Some("old-key"),
    )
    .await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers().get("idempotent-replayed"), None);
}

#[tokio::test]
async fn a_triage_whose_lease_was_taken_over_writes_nothing_and_is_left_to_its_new_worker() {
    let app = app_without_workers().await;
    let ids = claims(&app, 2).await;
    let settings = WorkerSettings::default();
    let next = past_the_coverage_check(&app, &settings, 2).await;
    sqlx::query(
        "UPDATE jobs SET locked_by = 'other-worker' WHERE claim_id = $1 AND step = 'triage'",
    )
    .bind(&ids[0])
    .execute(app.state.db.pool())
    .await
    .unwrap();

    run_batch(&app.state.pipeline(), &settings, "test-worker", next).await;

    assert_eq!(
        status_of(&app, &ids[0]).await,
        "submitted",
        "the lost triage wrote nothing"
    );
    assert_eq!(job_of(&app, &ids[0], "triage").await.1, "running");
    assert_ne!(
        status_of(&app, &ids[1]).await,
        "submitted",
        "the other triage committed"
    );
    assert_eq!(job_of(&app, &ids[1], "triage").await.1, "done");
}

#[tokio::test]
async fn the_workers_keep_going_while_every_web_connection_is_taken() {
    // One worker and a web pool of two connections, both held below: the
    // workers, and the audit sealer beside them, have a pool of their own.
    // (With the sealer on the web pool, on SQLite it took the write turn
    // and then waited for a web connection, and every worker waited on it.)
    let app = spawn_app_with(|config| {
        config.workers.concurrency = 1;
        config.pool.max_connections = 2;
    })
    .await;
    let _held = [
        app.state.db.pool().acquire().await.unwrap(),
        app.state.db.pool().acquire().await.unwrap(),
    ];
    // Claims come in through a replica without workers.
    let intake = app
        .spawn_replica_with(|config| {
            config.workers.concurrency = 0;
            config.pool.max_connections = 10;
        })
        .await;
    let ids = claims(&intake, 2).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let completed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM executions WHERE state = 'completed' AND claim_id IN ($1, $2)",
        )
        .bind(&ids[0])
        .bind(&ids[1])
        .fetch_one(intake.state.db.pool())
        .await
        .unwrap();
        if completed == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pipeline stalled behind the web pool ({completed} of 2 completed)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Makes the database refuse every update of claim `id`, as a constraint
/// or a damaged page would: the statement that tries fails as a whole.
async fn refuse_updates_of(app: &TestApp, id: &str) {
    let statements = match app.state.db.engine() {
        Engine::Sqlite => vec![format!(
            "CREATE TRIGGER refuse_claim BEFORE UPDATE ON claims WHEN OLD.id = '{id}' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )],
        Engine::Postgres => vec![
            "CREATE FUNCTION refuse_claim() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER refuse_claim BEFORE UPDATE ON claims FOR EACH ROW \
                 WHEN (OLD.id = '{id}') EXECUTE FUNCTION refuse_claim()"
            ),
        ],
    };
    for statement in statements {
        sqlx::query(&statement)
            .execute(app.state.db.pool())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_claim_whose_write_breaks_the_batch_statement_fails_alone_and_the_rest_of_its_batch_is_triaged()
 {
    let app = app_without_workers().await;
    let ids = claims(&app, 3).await;
    let settings = WorkerSettings::default();
    // The three triages' claims are written by one statement.
    let next = past_the_coverage_check(&app, &settings, 3).await;
    refuse_updates_of(&app, &ids[1]).await;

    run_batch(&app.state.pipeline(), &settings, "test-worker", next).await;

    for id in [&ids[0], &ids[2]] {
        assert_ne!(status_of(&app, id).await, "submitted", "triaged alone");
        assert_eq!(job_of(&app, id, "triage").await.1, "done");
    }
    assert_eq!(status_of(&app, &ids[1]).await, "submitted");
    let (_, state, error) = job_of(&app, &ids[1], "triage").await;
    assert_eq!(state, "pending", "retried later");
    let error = error.unwrap_or_default();
    assert!(error.contains("refused by the test"), "{error}");
}

/// Waits (up to 5 s) for the process's once-a-second count of pending jobs
/// to refuse intake (`over`) or to take it again.
async fn until_admission(app: &TestApp, over: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.state.admission.check().is_err() != over {
        assert!(
            std::time::Instant::now() < deadline,
            "the backlog count did not change"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn claim_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM claims")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn intake_answers_503_while_the_backlog_is_over_its_limit_and_takes_claims_again_once_it_drains()
 {
    let app = spawn_app_with(|config| {
        config.workers.concurrency = 0;
        config.intake_max_backlog = Some(2);
    })
    .await;
    claims(&app, 3).await;
    until_admission(&app, true).await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "backlog").await;
    let before = claim_count(&app).await;

    let refused = ingest(&app, &token, &claim(&policy_number, 40_000), Some("over")).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let problem: Value = refused.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("pipeline is behind") && detail.contains("Nothing was stored"),
        "{problem}"
    );
    assert_eq!(claim_count(&app).await, before, "nothing was stored");

    drain(&app, &WorkerSettings::default()).await;
    until_admission(&app, false).await;
    let taken = ingest(&app, &token, &claim(&policy_number, 40_000), Some("over")).await;
    assert_eq!(
        taken.status(),
        202,
        "the same request, taken once caught up"
    );
}
