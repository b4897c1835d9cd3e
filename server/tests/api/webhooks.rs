//! Signed webhooks: the pipeline's notify step posts `claim.triaged` to each
//! endpoint with an HMAC signature, retries a failing receiver with backoff,
//! logs every attempt for administrators, and replays on request.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{active_policy, claim, ingest, pipeline_done, wait_for},
    helpers::{allow_local_webhooks, read_json, send, spawn_app_with},
};

/// What the receiver saw, and what it answers next (500 until told).
#[derive(Default)]
pub(crate) struct Receiver {
    pub(crate) requests: Vec<(HeaderMap, Bytes)>,
    failures_left: usize,
}

async fn receive(
    State(receiver): State<Arc<Mutex<Receiver>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut receiver = receiver.lock().unwrap();
    receiver.requests.push((headers, body));
    if receiver.failures_left > 0 {
        receiver.failures_left -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

pub(crate) async fn start_receiver(failures: usize) -> (SocketAddr, Arc<Mutex<Receiver>>) {
    let receiver = Arc::new(Mutex::new(Receiver {
        failures_left: failures,
        ..Receiver::default()
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, receiver)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers[name].to_str().unwrap()
}

#[tokio::test]
async fn a_triaged_claim_is_posted_signed_retried_past_a_failing_receiver_logged_and_replayable() {
    let app = spawn_app_with(|config| {
        allow_local_webhooks(config);
        config.workers.backoff = Duration::from_millis(20);
    })
    .await;
    let (address, receiver) = start_receiver(1).await;
    let admin = app.api_token_for_staff(Role::Admin).await;
    let token = app.api_token(Role::ApiClient).await;
    let refused = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({ "url": "http://partner.example.com/hook", "description": "Acme" })),
        None,
    )
    .await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "url");
    let forbidden = send(&app, &token, Method::GET, "/api/v1/webhooks", None, None).await;
    assert_eq!(forbidden.status(), 403, "partners do not manage webhooks");

    let created = send(&app, &admin, Method::POST, "/api/v1/webhooks",
        Some(json!({ "url": format!("http://{address}/hook"), "description": "Acme claims gateway" })), None).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let stored: Vec<u8> = sqlx::query_scalar("SELECT wrapped_secret FROM webhook_endpoints")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains(&secret[6..]),
        "only wrapped at rest"
    );

    let policy_number = active_policy(&app, &token, "hook").await;
    let receipt: Value = ingest(&app, &token, &claim(&policy_number, 30_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    wait_for(&app, &token, id, pipeline_done).await;

    let requests = receiver.lock().unwrap().requests.clone();
    assert_eq!(requests.len(), 2, "one refused, one retried after backoff");
    let now = app::db::now_micros() / 1_000_000;
    for (headers, body) in &requests {
        assert_eq!(header(headers, "vanguard-event"), "claim.triaged");
        assert_eq!(
            header(headers, "vanguard-event-id"),
            receipt["execution_id"].as_str().unwrap()
        );
        assert!(app::webhooks::ssr::verify(
            &secret,
            header(headers, "vanguard-signature"),
            body,
            now
        ));
        assert!(!app::webhooks::ssr::verify(
            "whsec_wrong",
            header(headers, "vanguard-signature"),
            body,
            now
        ));
    }
    assert_eq!(
        requests[0].1, requests[1].1,
        "a retry resends the same bytes"
    );
    let event: Value = serde_json::from_slice(&requests[1].1).unwrap();
    assert_eq!(event["type"], "claim.triaged");
    assert_eq!(event["data"]["claim_number"], receipt["claim_number"]);
    assert_eq!(event["data"]["status"], "triaged");
    assert!(
        !String::from_utf8_lossy(&requests[1].1).contains("Robin"),
        "no claimant PII"
    );

    let log: Value = read_json(&app, &admin, Method::GET, "/api/v1/webhook-deliveries").await;
    let outcomes: Vec<(&str, Value)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["outcome"].as_str().unwrap(), d["response_status"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        [("delivered", json!(204)), ("failed", json!(500))],
        "newest first"
    );
    let delivered = log[0]["id"].as_str().unwrap();

    let replayed = send(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/webhook-deliveries/{delivered}/replay"),
        None,
        None,
    )
    .await;
    assert_eq!(replayed.status(), 200);
    let replayed: Value = replayed.json().await.unwrap();
    assert_eq!(
        (replayed["cause"].as_str(), replayed["outcome"].as_str()),
        (Some("replay"), Some("delivered"))
    );
    let requests = receiver.lock().unwrap().requests.clone();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        header(&requests[2].0, "vanguard-event-id"),
        receipt["execution_id"].as_str().unwrap()
    );
    assert_eq!(requests[2].1, requests[1].1);
    assert!(
        app.audit_actions()
            .await
            .contains(&"webhook.replayed".to_owned())
    );

    let endpoint = created["id"].as_str().unwrap();
    let disabled = send(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/webhooks/{endpoint}"),
        None,
        None,
    )
    .await;
    assert_eq!(disabled.status(), 204);
    let second: Value = ingest(&app, &token, &claim(&policy_number, 40_000), None)
        .await
        .json()
        .await
        .unwrap();
    wait_for(&app, &token, second["id"].as_str().unwrap(), pipeline_done).await;
    assert_eq!(
        receiver.lock().unwrap().requests.len(),
        3,
        "a disabled endpoint gets nothing"
    );
    let again = send(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/webhook-deliveries/{delivered}/replay"),
        None,
        None,
    )
    .await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_dead_letters_the_notify_step_with_its_answer() {
    let app = spawn_app_with(|config| {
        allow_local_webhooks(config);
        config.workers.backoff = Duration::from_millis(10);
        config.workers.max_attempts = 2;
    })
    .await;
    let (address, receiver) = start_receiver(usize::MAX).await;
    let admin = app.api_token_for_staff(Role::Admin).await;
    let token = app.api_token(Role::ApiClient).await;
    send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({ "url": format!("http://{address}/hook"), "description": "Always down" })),
        None,
    )
    .await;
    let policy_number = active_policy(&app, &token, "down").await;
    let receipt: Value = ingest(&app, &token, &claim(&policy_number, 30_000), None)
        .await
        .json()
        .await
        .unwrap();

    let status = wait_for(&app, &token, receipt["id"].as_str().unwrap(), |s| {
        s["execution"]["state"] == "failed"
    })
    .await;

    assert_eq!(
        status["status"], "triaged",
        "the claim is in the queue all the same"
    );
    let execution: Value = read_json(
        &app,
        &token,
        Method::GET,
        &format!(
            "/api/v1/executions/{}",
            receipt["execution_id"].as_str().unwrap()
        ),
    )
    .await;
    let notify = &execution["steps"][3];
    assert_eq!(
        (notify["step"].as_str(), notify["state"].as_str()),
        (Some("notify"), Some("dead"))
    );
    assert!(
        notify["last_error"].as_str().unwrap().contains("HTTP 500"),
        "{notify}"
    );
    assert_eq!(receiver.lock().unwrap().requests.len(), 2);
}
