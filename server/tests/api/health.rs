use std::time::Duration;

use app::db::DatabaseUrl;
use serde_json::Value;

use crate::helpers::{FlakyProxy, require_postgres, spawn_app, spawn_app_with};

#[tokio::test]
async fn liveness_answers_200() {
    let app = spawn_app().await;

    let response = app.get("/health/live").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn readiness_answers_200_when_the_database_answers() {
    let app = spawn_app().await;

    let response = app.get("/health/ready").await;

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn health_detail_reports_database_schema_version_and_uptime() {
    let app = spawn_app().await;

    let body: Value = app.get("/health").await.json().await.unwrap();

    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], shared::VERSION);
    assert_eq!(body["database"]["engine"], app.state.db.engine().as_str());
    assert_eq!(body["database"]["status"], "up");
    assert!(body["database"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(body["database"]["schema_version"].as_i64().unwrap() >= 1);
    assert!(body["uptime_seconds"].is_u64());
}

#[tokio::test]
async fn readiness_is_503_while_the_database_is_closed_but_liveness_stays_200() {
    let app = spawn_app().await;

    app.state.db.close().await;

    assert_eq!(app.get("/health/ready").await.status(), 503);
    assert_eq!(app.get("/health").await.status(), 503);
    assert_eq!(app.get("/health/live").await.status(), 200);
}

/// PostgreSQL only: the outage is simulated by cutting a TCP proxy between
/// the application and the database, then restoring it.
#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://… cargo test -- --include-ignored"]
async fn readiness_recovers_without_a_restart_when_postgres_comes_back() {
    let admin_url = require_postgres();
    let upstream = admin_url.socket_addrs(|| Some(5432)).unwrap()[0];
    let proxy = FlakyProxy::start(upstream).await;
    let app = spawn_app_with(|config| {
        let DatabaseUrl::Postgres(url) = &mut config.database_url else {
            unreachable!("TEST_DATABASE_URL names PostgreSQL")
        };
        url.set_ip_host(proxy.addr.ip()).unwrap();
        url.set_port(Some(proxy.addr.port())).unwrap();
        config.pool.acquire_timeout = Duration::from_secs(1);
    })
    .await;
    assert_eq!(app.get("/health/ready").await.status(), 200);

    proxy.cut();
    assert_eq!(app.get("/health/ready").await.status(), 503);
    assert_eq!(app.get("/health/live").await.status(), 200);

    proxy.restore();
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/health/ready").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "readiness recovered");
}
