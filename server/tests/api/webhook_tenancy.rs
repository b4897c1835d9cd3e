//! Webhook endpoints and partner tenancy: an endpoint registered for a
//! partner hears only about that partner's claims; the insurer's own
//! endpoints hear about every claim; partners still cannot manage webhooks.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{active_policy, claim, ingest, pipeline_done, wait_for},
    helpers::{TestApp, allow_local_webhooks, read_json, send, spawn_app_with},
    webhooks::start_receiver,
};

async fn register(app: &TestApp, admin: &str, url: String, partner: Option<&str>) -> Value {
    let created = send(
        app,
        admin,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({ "url": url, "description": "Gateway", "partner": partner })),
        None,
    )
    .await;
    assert_eq!(created.status(), 201);
    created.json().await.unwrap()
}

/// Files one claim as `token`'s organisation and waits for the pipeline.
async fn file_claim(app: &TestApp, token: &str, marker: &str) -> String {
    let policy_number = active_policy(app, token, marker).await;
    let receipt: Value = ingest(app, token, &claim(&policy_number, 25_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap().to_owned();
    wait_for(app, token, &id, pipeline_done).await;
    id
}

fn claims_heard(receiver: &std::sync::Mutex<crate::webhooks::Receiver>) -> Vec<String> {
    let mut claims: Vec<String> = receiver
        .lock()
        .unwrap()
        .requests
        .iter()
        .map(|(_, body)| {
            let event: Value = serde_json::from_slice(body).unwrap();
            event["data"]["claim_id"].as_str().unwrap().to_owned()
        })
        .collect();
    claims.sort();
    claims
}

#[tokio::test]
async fn a_partners_webhook_endpoint_receives_only_events_about_that_partners_claims() {
    let app = spawn_app_with(|config| {
        allow_local_webhooks(config);
        config.workers.backoff = Duration::from_millis(10);
    })
    .await;
    let admin = app.api_token_for_staff(Role::Admin).await;
    let acme_id = app.create_partner("acme").await;
    app.create_partner("bravo").await;
    let (acme_address, acme_receiver) = start_receiver(0).await;
    let (bravo_address, bravo_receiver) = start_receiver(0).await;
    let (own_address, own_receiver) = start_receiver(0).await;
    let acme_endpoint = register(
        &app,
        &admin,
        format!("http://{acme_address}/hook"),
        Some("acme"),
    )
    .await;
    assert_eq!(acme_endpoint["partner_id"], acme_id.as_str());
    register(
        &app,
        &admin,
        format!("http://{bravo_address}/hook"),
        Some("bravo"),
    )
    .await;
    let own = register(&app, &admin, format!("http://{own_address}/hook"), None).await;
    assert_eq!(own["partner_id"], Value::Null);

    let acme = app.partner_token("acme").await;
    let bravo = app.partner_token("bravo").await;
    let acme_claim = file_claim(&app, &acme, "acme").await;
    let bravo_claim = file_claim(&app, &bravo, "bravo").await;
    let insurer_claim = file_claim(&app, &app.api_token(Role::ApiClient).await, "own").await;

    assert_eq!(
        claims_heard(&acme_receiver),
        std::slice::from_ref(&acme_claim)
    );
    assert_eq!(
        claims_heard(&bravo_receiver),
        std::slice::from_ref(&bravo_claim)
    );
    let mut every = vec![acme_claim, bravo_claim, insurer_claim];
    every.sort();
    assert_eq!(
        claims_heard(&own_receiver),
        every,
        "the insurer's own hears all"
    );

    let log: Value = read_json(&app, &admin, Method::GET, "/api/v1/webhook-deliveries").await;
    assert_eq!(log.as_array().unwrap().len(), 5, "staff see every delivery");
    let forbidden = send(&app, &acme, Method::GET, "/api/v1/webhooks", None, None).await;
    assert_eq!(forbidden.status(), 403, "partners do not manage webhooks");
}

#[tokio::test]
async fn an_endpoint_for_an_unknown_partner_is_refused_naming_the_field() {
    let app = spawn_app_with(allow_local_webhooks).await;
    let admin = app.api_token_for_staff(Role::Admin).await;
    let refused = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({ "url": "https://93.184.216.34/hook", "description": "Gateway", "partner": "nobody" })),
        None,
    )
    .await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "partner");
}
