//! OTLP trace export: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the real binary
//! sends its spans (the request's and each workflow step's, all carrying the
//! request's correlation id) to the collector, flushing them on SIGTERM.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use serde_json::Value;

use crate::lifecycle::{Partner, ServerProcess};

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
    let mut partner = Partner::seed(data_dir.path(), &[]);
    let server = ServerProcess::start_with(
        data_dir.path(),
        Stdio::null(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
    );
    partner.connect(&server).await;
    let receipt: Value = partner
        .client
        .post(server.url("/api/v1/claims"))
        .bearer_auth(&partner.bearer)
        .header("x-correlation-id", CORRELATION_ID)
        .json(&partner.claim("Traced claim", 12_000))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let state = partner
        .pipeline_state(&server, receipt["id"].as_str().unwrap())
        .await;
    assert_eq!(state, "completed");

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
