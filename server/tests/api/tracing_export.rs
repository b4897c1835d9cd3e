//! OTLP trace export: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the real binary
//! sends its spans (the request's and each workflow step's, all carrying the
//! request's correlation id) to the collector, flushing them on SIGTERM.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use serde_json::{Value, json};

use crate::{
    durability::token,
    lifecycle::{ServerProcess, printed_value, server_command},
};

const CORRELATION_ID: &str = "otlp-trace-check-7f3a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_otlp_endpoint_request_and_workflow_spans_are_exported_with_the_correlation_id() {
    let received: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://{}", listener.local_addr().unwrap());
    let store = received.clone();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(
                |State(store): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes| async move {
                    store.lock().unwrap().push(body);
                    ""
                },
            ),
        )
        .with_state(store);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let data_dir = tempfile::tempdir().unwrap();
    let seeded = server_command(data_dir.path())
        .arg("seed-demo")
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let issued = server_command(data_dir.path())
        .args(["create-api-client", "--name", "otlp-partner"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&issued.stdout).into_owned();
    let server = ServerProcess::start_with(
        data_dir.path(),
        Stdio::null(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
    );
    let client = reqwest::Client::new();
    let bearer = token(
        &client,
        &server,
        &printed_value(&printed, "client_id"),
        &printed_value(&printed, "client_secret"),
    )
    .await;
    let policies: Value = client
        .get(server.url("/api/v1/policies?status=active&per_page=1"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let yesterday = app::customers::ssr::today().add_days(-1).unwrap();
    let receipt: Value = client
        .post(server.url("/api/v1/claims"))
        .bearer_auth(&bearer)
        .header("x-correlation-id", CORRELATION_ID)
        .json(&json!({
            "policy_number": policies["items"][0]["policy_number"], "incident_date": yesterday.to_string(),
            "description": "Traced claim",
            "lines": [{ "code": "LOSS", "amount": { "amount": 12_000, "currency": "USD" } }],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    for _ in 0..200 {
        let status: Value = client
            .get(server.url(&format!("/api/v1/claims/{id}/status")))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["execution"]["state"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(server.terminate(), Some(0));

    // OTLP/protobuf carries strings as raw UTF-8: look for them in the bodies.
    let bodies = received.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "the collector received spans");
    let all: Vec<u8> = bodies.concat();
    let text = String::from_utf8_lossy(&all);
    assert!(text.contains("vanguard"), "service name");
    assert!(text.contains("request"), "request spans");
    assert!(text.contains("workflow_step"), "workflow step spans");
    assert!(text.contains("triage"), "the step name");
    assert!(
        text.matches(CORRELATION_ID).count() >= 2,
        "the request and its pipeline steps carry the correlation id"
    );
}
