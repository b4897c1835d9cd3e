//! Database faults a client can retry: a full disk answers 507 with
//! `Retry-After`, a busy or restarting database 503 with `Retry-After`;
//! readiness follows writes; and the service recovers by itself, without a
//! restart, once the condition clears.

use std::time::Duration;

use app::db::Engine;
use reqwest::Response;
use serde_json::{Value, json};
use shared::auth::Role;
use sqlx::{Connection as _, Executor as _};

use crate::{
    attachments::{file, new_claim, png, upload},
    claims::{active_policy, claim, ingest},
    helpers::{TestApp, require_postgres, spawn_app_with},
};

/// One pooled connection, so what a test does to "the" connection (a page
/// limit, a broken transaction) is what the next request gets.
async fn spawn_single_connection_app() -> TestApp {
    spawn_app_with(|config| {
        config.pool.max_connections = 1;
        config.security.api_rate_per_minute = 100_000;
    })
    .await
}

fn retry_after(response: &Response) -> Option<u64> {
    response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

async fn assert_storage_full(response: Response, what: &str) {
    assert_eq!(response.status(), 507, "{what}");
    assert!(retry_after(&response).is_some(), "{what}: Retry-After");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["title"], "Out of storage", "{what}");
    assert!(
        body["detail"].as_str().unwrap().contains("storage"),
        "{what}: the detail names storage"
    );
}

/// Simulates a full disk on SQLite: the database may not grow past the
/// pages it has (`max_page_count` is per connection, hence the single
/// pooled connection), its free pages are used up, and every audited write
/// (all of them) needs fresh pages through a test-only trigger, as it would
/// need disk on a full volume.
async fn fill_the_disk(app: &TestApp) {
    let mut conn = app.state.db.pool().acquire().await.unwrap();
    conn.execute(
        "CREATE TABLE IF NOT EXISTS test_ballast (b BLOB); \
         CREATE TRIGGER IF NOT EXISTS test_audit_needs_space AFTER INSERT ON audit_log \
         BEGIN INSERT INTO test_ballast VALUES (zeroblob(16384)); END;",
    )
    .await
    .unwrap();
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    conn.execute(format!("PRAGMA max_page_count = {pages}").as_str())
        .await
        .unwrap();
    // Use up the free pages: small rows until SQLite says it is full.
    loop {
        match conn
            .execute("INSERT INTO test_ballast VALUES (zeroblob(512))")
            .await
        {
            Ok(_) => {}
            Err(error) => {
                assert!(error.to_string().contains("full"), "{error}");
                break;
            }
        }
    }
}

/// Frees space: the database may grow again (on this connection; a new one
/// has no limit).
async fn free_the_disk(app: &TestApp) {
    let mut conn = app.state.db.pool().acquire().await.unwrap();
    conn.execute("PRAGMA max_page_count = 1073741823")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_full_disk_answers_507_with_retry_after_and_everything_recovers_once_space_returns() {
    let app = spawn_single_connection_app().await;
    if app.state.db.engine() != Engine::Sqlite {
        eprintln!("skipped: max_page_count is SQLite's (see the PostgreSQL restart test)");
        return;
    }
    let token = app.api_token(Role::ApiClient).await;
    let (client_id, secret) = app.create_api_client(Role::ApiClient).await;
    let grant = json!({ "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret });
    let policy_number = active_policy(&app, &token, "full").await;
    let (claim_id, _) = new_claim(&app, &token, "full-upload").await;
    let staff = app.create_user(Role::Adjuster).await;
    let body = claim(&policy_number, 30_000);

    fill_the_disk(&app).await;
    assert_storage_full(ingest(&app, &token, &body, Some("full-1")).await, "claim").await;
    fill_the_disk(&app).await;
    assert_eq!(
        app.get("/health/ready").await.status(),
        503,
        "readiness writes, and writes fail"
    );
    assert_eq!(app.get("/health/live").await.status(), 200);
    fill_the_disk(&app).await;
    assert_storage_full(app.token(grant.clone()).await, "token").await;
    fill_the_disk(&app).await;
    let uploaded = upload(&app, &token, &claim_id, file(png("full"), "a.png")).await;
    assert_storage_full(uploaded, "upload").await;
    fill_the_disk(&app).await;
    let browser = app.new_client();
    let signed_in = app
        .post_login(&browser, &staff.email, &staff.password)
        .await;
    assert_eq!(signed_in.status(), 507, "sign-in (a server function)");
    assert!(retry_after(&signed_in).is_some(), "sign-in: Retry-After");

    free_the_disk(&app).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let accepted = ingest(&app, &token, &body, Some("full-1")).await;
    assert_eq!(accepted.status(), 202, "the same request succeeds on retry");
    assert_eq!(app.token(grant).await.status(), 200);
    let uploaded = upload(&app, &token, &claim_id, file(png("full"), "a.png")).await;
    assert_eq!(uploaded.status(), 201);
    let signed_in = app
        .post_login(&browser, &staff.email, &staff.password)
        .await;
    assert_eq!(signed_in.status(), 200);
}

/// The drill's failure: SQLite had rolled the transaction back itself (as
/// it does on `SQLITE_FULL`), so the ROLLBACK queued by the dropped
/// `Transaction` failed and the connection went back to the pool at
/// transaction depth 1; every later write on it failed with "attempted to
/// call begin_with at non-zero transaction depth" until a restart.
#[tokio::test]
async fn a_connection_whose_rollback_failed_is_closed_so_the_next_write_succeeds() {
    let app = spawn_single_connection_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "depth").await;

    for _ in 0..3 {
        let mut tx = app.state.db.begin_write().await.unwrap();
        // The engine ends the transaction behind sqlx's back.
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        drop(tx);

        let mut tx = app
            .state
            .db
            .begin_write()
            .await
            .expect("a clean connection");
        sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = app.state.db.begin_write().await.unwrap();
    sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
    drop(tx);
    let accepted = ingest(&app, &token, &claim(&policy_number, 10_000), None).await;
    assert_eq!(accepted.status(), 202);
}

/// SQLite: another process holds the write lock past the busy timeout.
#[tokio::test]
async fn a_locked_sqlite_database_answers_503_with_retry_after_and_the_retry_succeeds() {
    let app = spawn_single_connection_app().await;
    let app::db::DatabaseUrl::Sqlite(path) = &app.config.database_url else {
        eprintln!("skipped: SQLite's write lock (see the PostgreSQL restart test)");
        return;
    };
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "busy").await;
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    other.execute("BEGIN IMMEDIATE").await.unwrap();

    let body = claim(&policy_number, 10_000);
    let refused = ingest(&app, &token, &body, Some("busy-1")).await;
    assert_eq!(refused.status(), 503);
    assert!(retry_after(&refused).is_some(), "Retry-After");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["title"], "Temporarily unavailable");

    other.execute("ROLLBACK").await.unwrap();
    let accepted = ingest(&app, &token, &body, Some("busy-1")).await;
    assert_eq!(accepted.status(), 202);
}

/// PostgreSQL: the server ends the backend running a request (as a restart
/// or failover does: `57P01 admin_shutdown`).
#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://… cargo test -- --include-ignored"]
async fn a_request_cut_by_a_postgres_restart_answers_503_with_retry_after_and_the_next_succeeds() {
    let admin_url = require_postgres();
    let app = spawn_single_connection_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "restart").await;
    let app::db::DatabaseUrl::Postgres(url) = &app.config.database_url else {
        unreachable!("TEST_DATABASE_URL names PostgreSQL")
    };
    let database = url.path().trim_start_matches('/').to_owned();

    // Hold the claims table so the request waits inside the database.
    let mut blocker = sqlx::PgConnection::connect(url.as_str()).await.unwrap();
    blocker.execute("BEGIN").await.unwrap();
    blocker
        .execute("LOCK TABLE claims IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let blocker_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut blocker)
        .await
        .unwrap();
    let body = claim(&policy_number, 10_000);
    let request = tokio::spawn({
        let (client, url, token, body) = (
            app.new_client(),
            app.url("/api/v1/claims"),
            token.clone(),
            body.clone(),
        );
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", "restart-1")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    });
    let mut admin = sqlx::PgConnection::connect(admin_url.as_str())
        .await
        .unwrap();
    let mut terminated = 0_i64;
    for _ in 0..100 {
        terminated = sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> $2 AND wait_event_type = 'Lock'",
        )
        .bind(&database)
        .bind(blocker_pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if terminated > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(terminated > 0, "the request was waiting in the database");

    let refused = request.await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(retry_after(&refused).is_some(), "Retry-After");
    blocker.execute("ROLLBACK").await.unwrap();
    let accepted = ingest(&app, &token, &body, Some("restart-1")).await;
    assert_eq!(accepted.status(), 202, "the pool reconnected");
}

/// PostgreSQL: the pool does not ping a connection before handing it out,
/// so a connection that died while idle (a restart or failover ended its
/// backend) is found by the request that gets it. That request answers a
/// retryable 503, never a 500, and the retry gets a fresh connection.
#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://… cargo test -- --include-ignored"]
async fn an_idle_connection_ended_by_a_postgres_restart_costs_one_retryable_503_then_the_pool_recovers()
 {
    let admin_url = require_postgres();
    let app = spawn_single_connection_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "idle-restart").await;
    let body = claim(&policy_number, 10_000);
    assert_eq!(
        ingest(&app, &token, &body, Some("idle-1")).await.status(),
        202
    );
    let app::db::DatabaseUrl::Postgres(url) = &app.config.database_url else {
        unreachable!("TEST_DATABASE_URL names PostgreSQL")
    };
    let database = url.path().trim_start_matches('/').to_owned();
    let mut admin = sqlx::PgConnection::connect(admin_url.as_str())
        .await
        .unwrap();
    // Wait until the pool's one connection is back and idle, then end it.
    let mut terminated = 0_i64;
    for _ in 0..100 {
        terminated = sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND state = 'idle' AND pid <> pg_backend_pid()",
        )
        .bind(&database)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if terminated > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(terminated > 0, "the pooled connection was idle");

    let first = ingest(&app, &token, &body, Some("idle-2")).await;
    assert!(
        first.status() == 202 || (first.status() == 503 && retry_after(&first).is_some()),
        "retryable, not a 500: {}",
        first.status()
    );
    let retried = ingest(&app, &token, &body, Some("idle-2")).await;
    assert_eq!(
        retried.status(),
        202,
        "the pool replaced the dead connection"
    );
    let again = ingest(&app, &token, &body, Some("idle-3")).await;
    assert_eq!(again.status(), 202);
}
