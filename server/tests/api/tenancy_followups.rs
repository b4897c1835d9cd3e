//! Tenancy follow-ups: probing another partner's records with bad input
//! tells nothing (the answer is the one a missing id gets, ownership before
//! validation), and an administrator can move an API client to a partner
//! (`server move-api-client`, audited).

use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{active_policy, claim},
    helpers::{TestApp, policy, send, spawn_app},
    lifecycle::{printed_value, server_command},
};

async fn answer(
    app: &TestApp,
    token: &str,
    method: &Method,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let response = send(app, token, method.clone(), path, Some(body.clone()), None).await;
    let status = response.status().as_u16();
    let mut body: Value = response.json().await.unwrap_or(Value::Null);
    // Correlation ids differ per request; everything else must not.
    if let Some(problem) = body.as_object_mut() {
        problem.remove("instance");
        problem.remove("correlation_id");
    }
    (status, body)
}

#[tokio::test]
async fn invalid_input_about_another_partners_records_is_answered_as_for_a_missing_one() {
    let app = spawn_app().await;
    app.create_partner("acme").await;
    app.create_partner("bravo").await;
    let acme = app.partner_token("acme").await;
    let bravo = app.partner_token("bravo").await;
    let policy_number = active_policy(&app, &acme, "acme").await;
    let listed: Value =
        crate::helpers::read_json(&app, &acme, Method::GET, "/api/v1/policies").await;
    let acme_policy = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let acme_customer = listed["items"][0]["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let missing = "0190b2c1-0000-7000-8000-000000000000";

    let by_id = [
        (
            Method::PATCH,
            "/api/v1/customers/{id}",
            &acme_customer,
            json!({ "email": "not an email" }),
        ),
        (
            Method::PATCH,
            "/api/v1/policies/{id}",
            &acme_policy,
            json!({ "premium": { "amount": -5, "currency": "ABC" } }),
        ),
        (
            Method::POST,
            "/api/v1/policies/{id}/actions",
            &acme_policy,
            json!({ "action": "no-such-action" }),
        ),
        (
            Method::POST,
            "/api/v1/policies/{id}/renewal",
            &acme_policy,
            json!({}),
        ),
    ];
    for (method, template, id, body) in &by_id {
        let theirs = answer(&app, &bravo, method, &template.replace("{id}", id), body).await;
        let absent = answer(
            &app,
            &bravo,
            method,
            &template.replace("{id}", missing),
            body,
        )
        .await;
        assert_eq!(theirs.0, 404, "{method} {template}: {theirs:?}");
        assert_eq!(theirs, absent, "{method} {template}");
    }

    let today = app::clock::today();
    let (starts, ends) = (today.to_string(), today.add_days(365).unwrap().to_string());
    for (path, theirs, absent) in [
        (
            "/api/v1/policies",
            policy(&acme_customer, "home", &starts, &ends),
            policy(missing, "home", &starts, &ends),
        ),
        (
            "/api/v1/claims",
            claim(&policy_number, 10_000),
            claim("POL-2000-999999", 10_000),
        ),
    ] {
        let theirs = answer(&app, &bravo, &Method::POST, path, &theirs).await;
        let absent = answer(&app, &bravo, &Method::POST, path, &absent).await;
        assert_eq!(theirs.0, 422, "{path}: {theirs:?}");
        assert_eq!(theirs, absent, "{path}");
    }
}

#[tokio::test]
async fn moving_an_internal_api_client_to_a_partner_scopes_it_at_once_and_is_audited() {
    let app = spawn_app().await;
    app.create_partner("acme").await;
    let acme = app.partner_token("acme").await;
    let acme_customer = crate::helpers::customer(&app, &acme, "acme").await;
    let (client_id, secret) = app.create_api_client(Role::ApiClient).await;
    let token = app.client_token(&client_id, &secret).await;
    let insurer_customer = crate::helpers::customer(&app, &token, "own").await;
    let visible = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let before: Value =
        crate::helpers::read_json(&app, &token, Method::GET, "/api/v1/customers").await;
    assert_eq!(visible(&before).len(), 2, "internal: sees both");

    let context = app::audit::ssr::AuditContext::system("test");
    let unknown =
        app::auth::ssr::move_api_client(&app.state.db, &context, &client_id, "nobody").await;
    assert!(
        matches!(unknown, Err(app::error::AppError::Validation(ref e)) if e.0[0].field == "partner"),
        "{unknown:?}"
    );
    let moved = app::auth::ssr::move_api_client(&app.state.db, &context, &client_id, "acme")
        .await
        .unwrap();
    assert!(!moved.internal && moved.partner_id.is_some());

    let after: Value =
        crate::helpers::read_json(&app, &token, Method::GET, "/api/v1/customers").await;
    assert_eq!(
        visible(&after),
        [acme_customer],
        "the same token, now acme's"
    );
    let theirs = send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/customers/{insurer_customer}"),
        None,
        None,
    )
    .await;
    assert_eq!(theirs.status(), 404);
    let details: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'api_client.moved'")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(details.len(), 1);
    assert!(
        details[0].contains("\"internal\":true")
            && details[0].contains(moved.partner_id.as_deref().unwrap())
    );
}

#[tokio::test]
async fn server_move_api_client_moves_a_client_to_a_partner_and_refuses_an_unknown_one() {
    let data_dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        server_command(data_dir.path())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .output()
            .unwrap()
    };
    assert!(
        run(&[
            "create-partner",
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--kind",
            "broker"
        ])
        .status
        .success()
    );
    let issued = run(&[
        "create-api-client",
        "--name",
        "legacy-gateway",
        "--internal",
    ]);
    let client = printed_value(&String::from_utf8_lossy(&issued.stdout), "client_id");

    let refused = run(&[
        "move-api-client",
        "--client",
        &client,
        "--partner",
        "nobody",
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("partner"),
        "names the field"
    );
    let moved = run(&["move-api-client", "--client", &client, "--partner", "acme"]);
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    assert!(!printed_value(&String::from_utf8_lossy(&moved.stdout), "partner_id").is_empty());
}
