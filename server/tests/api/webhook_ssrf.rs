//! Webhook targets cannot reach into the operator's network: private,
//! loopback, link-local, unique-local, CGNAT, multicast, unspecified and
//! metadata addresses (and local names) are refused when an endpoint is
//! registered, and again when a delivery is sent, whatever the stored
//! address has become since. Only the development allow-list opens them.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{active_policy, claim, ingest, wait_for},
    helpers::{TestApp, allow_local_webhooks, read_json, send, spawn_app_with},
    webhooks::start_receiver,
};

async fn register(app: &TestApp, admin: &str, url: &str) -> reqwest::Response {
    send(
        app,
        admin,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({ "url": url, "description": "Probe" })),
        None,
    )
    .await
}

#[tokio::test]
async fn webhook_targets_on_internal_addresses_are_refused_at_registration_naming_url_and_the_rule()
{
    let app = spawn_app_with(|_| {}).await;
    let admin = app.api_token_for_staff(Role::Admin).await;
    for (url, rule) in [
        ("https://10.0.0.5/hook", "10.0.0.5 is a private address"),
        ("https://192.168.0.1/hook", "is a private address"),
        (
            "https://169.254.169.254/latest/meta-data/",
            "is a cloud metadata address",
        ),
        ("https://127.0.0.1/hook", "is a loopback address"),
        ("https://2130706433/hook", "127.0.0.1 is a loopback address"),
        ("https://[::ffff:127.0.0.1]/hook", "is a loopback address"),
        ("https://[::1]/hook", "is a loopback address"),
        ("https://[fe80::1]/hook", "is a link-local address"),
        ("https://169.254.10.10/hook", "is a link-local address"),
        ("https://[fd00::5]/hook", "is a unique-local address"),
        ("https://100.64.0.9/hook", "is a carrier-grade NAT address"),
        ("https://239.1.1.1/hook", "is a multicast address"),
        ("https://0.0.0.0/hook", "is an unspecified address"),
        (
            "https://localhost:5432/",
            "localhost is a name of this machine",
        ),
        (
            "https://metadata.google.internal/computeMetadata/v1/",
            "is a private network name",
        ),
        ("http://127.0.0.1:9999/hook", "must be an https:// address"),
    ] {
        let refused = register(&app, &admin, url).await;
        assert_eq!(refused.status(), 422, "{url}");
        assert!(
            refused.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "url", "{url}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(rule), "{url}: {message}");
    }
    let endpoints: Value = read_json(&app, &admin, Method::GET, "/api/v1/webhooks").await;
    assert_eq!(endpoints, json!([]), "nothing was registered");
    let accepted = register(&app, &admin, "https://93.184.216.34/hook").await;
    assert_eq!(accepted.status(), 201, "a public address is accepted");
}

/// Registers `public`, then points the stored row at `internal` (as a
/// re-pointed name or an edited row would), and runs one claim through the
/// pipeline with a single notify attempt.
async fn deliver_after_repointing(app: &TestApp, internal: &str) -> Value {
    let admin = app.api_token_for_staff(Role::Admin).await;
    let token = app.api_token(Role::ApiClient).await;
    let created = register(app, &admin, "https://93.184.216.34/hook").await;
    assert_eq!(created.status(), 201);
    sqlx::query("UPDATE webhook_endpoints SET url = $1")
        .bind(internal)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let policy_number = active_policy(app, &token, "ssrf").await;
    let receipt: Value = ingest(app, &token, &claim(&policy_number, 30_000), None)
        .await
        .json()
        .await
        .unwrap();
    wait_for(app, &token, receipt["id"].as_str().unwrap(), |s| {
        s["execution"]["state"] == "failed"
    })
    .await;
    let log: Value = read_json(app, &admin, Method::GET, "/api/v1/webhook-deliveries").await;
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    log[0].clone()
}

#[tokio::test]
async fn a_target_re_pointed_at_an_internal_address_is_refused_at_delivery_and_logged_as_failed() {
    let app = spawn_app_with(|config| config.workers.max_attempts = 1).await;
    let (address, receiver) = start_receiver(0).await;

    let delivery = deliver_after_repointing(&app, &format!("http://{address}/hook")).await;

    assert!(
        receiver.lock().unwrap().requests.is_empty(),
        "no request reached the internal receiver"
    );
    assert_eq!(delivery["outcome"], "failed");
    assert_eq!(delivery["response_status"], Value::Null);
    let error = delivery["error"].as_str().unwrap();
    assert!(
        error.starts_with("refused:") && error.contains("127.0.0.1 is a loopback address"),
        "{error}"
    );
    assert!(!error.contains("whsec_"), "no secret in the log");
}

#[tokio::test]
async fn the_allow_list_opens_only_the_hosts_it_names_not_other_spellings_of_them() {
    let app = spawn_app_with(|config| {
        allow_local_webhooks(config);
        config.workers.max_attempts = 1;
        config.workers.backoff = Duration::from_millis(10);
    })
    .await;
    let (address, receiver) = start_receiver(0).await;
    let admin = app.api_token_for_staff(Role::Admin).await;
    let mapped = format!("http://[::ffff:127.0.0.1]:{}/hook", address.port());
    let refused = register(&app, &admin, &mapped).await;
    assert_eq!(
        refused.status(),
        422,
        "127.0.0.1 is listed, ::ffff:127.0.0.1 is not"
    );

    let delivery = deliver_after_repointing(&app, &mapped).await;

    assert!(receiver.lock().unwrap().requests.is_empty());
    let error = delivery["error"].as_str().unwrap();
    assert!(error.contains("is a loopback address"), "{error}");
}
