//! Policies through the JSON API: creation rules, lifecycle with optimistic
//! concurrency, filters, renewal.

use serde_json::{Value, json};
use shared::auth::Role;

use crate::helpers::{customer, policy, send, spawn_app};

#[tokio::test]
async fn a_new_policy_is_a_quote_with_a_number_an_etag_and_an_audit_record() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &token, "new").await;

    let response = send(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/policies",
        Some(policy(&customer, "home", "2026-01-01", "2026-12-31")),
        None,
    )
    .await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"v1\"");
    let body: Value = response.json().await.unwrap();
    let number = body["policy_number"].as_str().unwrap();
    assert!(
        number.starts_with("POL-") && number.len() == "POL-2026-000001".len(),
        "{number}"
    );
    assert_eq!(body["status"], "quote");
    assert_eq!(
        body["premium"],
        json!({ "amount": 120000, "currency": "USD" })
    );
    assert_eq!(body["available_actions"], json!(["activate", "cancel"]));
    let details: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'policy.created'")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert!(details[0].contains(number) && !details[0].contains("alex"));
}

#[tokio::test]
async fn invalid_policies_name_every_broken_rule() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &token, "invalid").await;
    let mut bad = policy(&customer, "spaceship", "2026-12-31", "2026-01-01");
    bad["deductible"] = json!({ "amount": 9000000, "currency": "EUR" });

    let response = send(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/policies",
        Some(bad),
        None,
    )
    .await;
    let unknown_customer = send(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/policies",
        Some(policy(
            "no-such-customer",
            "home",
            "2026-01-01",
            "2026-12-31",
        )),
        None,
    )
    .await;

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["line", "ends_on", "deductible.currency"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    assert_eq!(unknown_customer.status(), 422);
    let body: Value = unknown_customer.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "customer_id");
}

#[tokio::test]
async fn a_quote_in_a_currency_off_the_iso_list_is_refused_and_amounts_keep_its_decimals() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &token, "iso").await;
    let create = |body: Value| {
        send(
            &app,
            &token,
            reqwest::Method::POST,
            "/api/v1/policies",
            Some(body),
            None,
        )
    };
    let in_currency = |code: &str| {
        let mut body = policy(&customer, "home", "2026-01-01", "2026-12-31");
        for money in ["premium", "coverage_limit", "deductible"] {
            body[money]["currency"] = json!(code);
        }
        body
    };

    for fake in ["ABC", "XXX"] {
        let refused = create(in_currency(fake)).await;
        assert_eq!(refused.status(), 422, "{fake}");
        let body: Value = refused.json().await.unwrap();
        let error = &body["errors"][0];
        assert_eq!(error["field"], "premium.currency", "{fake}: {body}");
        assert_eq!(
            error["message"], "must be an active ISO 4217 currency code like USD, EUR or JPY",
            "{fake}"
        );
    }
    let kwd = create(in_currency("KWD")).await;
    assert_eq!(kwd.status(), 201);
    let kwd: Value = kwd.json().await.unwrap();
    assert_eq!(
        kwd["premium"],
        json!({ "amount": 120000, "currency": "KWD" })
    );

    // The legacy payload takes the amount as people write it: its decimals
    // are checked against the currency's minor unit.
    let legacy = |amount: Value, currency: &str| {
        app.new_client()
            .post(app.url("/orchestrate"))
            .bearer_auth(&token)
            .json(&json!({
                "claim_details": { "policy_number": "POL-2026-000001" },
                "claimant": { "name": "Sam Hale" },
                "estimated_loss": { "amount": amount, "currency": currency },
            }))
            .send()
    };
    let yen = legacy(json!(1250.5), "JPY").await.unwrap();
    assert_eq!(yen.status(), 422);
    let body: Value = yen.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "estimated_loss.amount");
    assert_eq!(
        body["errors"][0]["message"],
        "must be a whole number of JPY"
    );
    let dinar = legacy(json!(12.345), "KWD").await.unwrap();
    let body: Value = dinar.json().await.unwrap();
    assert!(
        !body.to_string().contains("estimated_loss"),
        "three decimals are a KWD amount: {body}"
    );
    let fake = legacy(json!(10), "ABC").await.unwrap();
    assert_eq!(fake.status(), 422);
    let body: Value = fake.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "estimated_loss.currency");
}

#[tokio::test]
async fn the_lifecycle_refuses_illegal_moves_and_stale_writes() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &token, "life").await;
    let created: Value = send(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/policies",
        Some(policy(&customer, "auto", "2026-01-01", "2026-12-31")),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!(
        "/api/v1/policies/{}/actions",
        created["id"].as_str().unwrap()
    );

    let activated = send(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "action": "activate" })),
        Some("\"v1\""),
    )
    .await;
    assert_eq!(activated.status(), 200);
    assert_eq!(activated.headers()["etag"], "\"v2\"");
    let activated: Value = activated.json().await.unwrap();
    assert_eq!(activated["status"], "active");

    let again = send(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "action": "activate" })),
        None,
    )
    .await;
    assert_eq!(again.status(), 409);
    let reason: Value = again.json().await.unwrap();
    assert!(
        reason["detail"].as_str().unwrap().contains("activate"),
        "{reason}"
    );

    let stale = send(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "action": "lapse", "confirm": "lapse" })),
        Some("\"v1\""),
    )
    .await;
    assert_eq!(stale.status(), 412);

    let lapsed = send(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "action": "lapse", "confirm": "lapse" })),
        Some("\"v2\""),
    )
    .await;
    assert_eq!(lapsed.status(), 200);
    let unknown = send(
        &app,
        &token,
        reqwest::Method::POST,
        &path,
        Some(json!({ "action": "explode" })),
        None,
    )
    .await;
    assert_eq!(unknown.status(), 422);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity_type = 'policy' ORDER BY seq",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["policy.created", "policy.activate", "policy.lapse"]
    );
}

#[tokio::test]
async fn policies_filter_by_line_status_and_expiry_and_paginate() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &token, "filters").await;
    let today = time::OffsetDateTime::now_utc().date();
    let soon = (today + time::Duration::days(20)).to_string();
    let later = (today + time::Duration::days(200)).to_string();
    let start = (today - time::Duration::days(100)).to_string();
    for (line, ends_on) in [("home", &soon), ("home", &later), ("auto", &soon)] {
        let created: Value = send(
            &app,
            &token,
            reqwest::Method::POST,
            "/api/v1/policies",
            Some(policy(&customer, line, &start, ends_on)),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        send(
            &app,
            &token,
            reqwest::Method::POST,
            &format!(
                "/api/v1/policies/{}/actions",
                created["id"].as_str().unwrap()
            ),
            Some(json!({ "action": "activate" })),
            None,
        )
        .await;
    }
    let get = |query: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let response = send(
                app,
                token,
                reqwest::Method::GET,
                &format!("/api/v1/policies?{query}"),
                None,
                None,
            )
            .await;
            assert_eq!(response.status(), 200, "{query}");
            response.json::<Value>().await.unwrap()
        }
    };

    assert_eq!(get("line=home").await["total"], 2);
    assert_eq!(
        get("status=active&expiring_within_days=30").await["total"],
        2
    );
    assert_eq!(get("line=home&expiring_within_days=30").await["total"], 1);
    assert_eq!(get("status=quote").await["total"], 0);
    let paged = get("per_page=2&page=2").await;
    assert_eq!(
        (
            paged["total"].as_u64(),
            paged["items"].as_array().unwrap().len()
        ),
        (Some(3), 1)
    );
    let bad = send(
        &app,
        &token,
        reqwest::Method::GET,
        "/api/v1/policies?status=sleeping&expiring_within_days=-1",
        None,
        None,
    )
    .await;
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn renewal_issues_the_next_term_once() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &token, "renew").await;
    let created: Value = send(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/policies",
        Some(policy(&customer, "life", "2026-01-01", "2026-12-31")),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap();
    let quote_renewal = send(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/policies/{id}/renewal"),
        None,
        None,
    )
    .await;
    assert_eq!(quote_renewal.status(), 409, "a quote cannot be renewed");
    send(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/policies/{id}/actions"),
        Some(json!({ "action": "activate" })),
        None,
    )
    .await;

    let renewal = send(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/policies/{id}/renewal"),
        None,
        None,
    )
    .await;
    let twice = send(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/policies/{id}/renewal"),
        None,
        None,
    )
    .await;

    assert_eq!(renewal.status(), 201);
    let renewal: Value = renewal.json().await.unwrap();
    assert_eq!(renewal["status"], "quote");
    assert_eq!(
        (renewal["starts_on"].as_str(), renewal["ends_on"].as_str()),
        (Some("2027-01-01"), Some("2027-12-31"))
    );
    assert_eq!(renewal["renewed_from"], id);
    assert_ne!(renewal["policy_number"], created["policy_number"]);
    assert_eq!(twice.status(), 409);
}

#[tokio::test]
async fn an_auditor_reads_policies_but_cannot_change_them() {
    let app = spawn_app().await;
    let writer = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &writer, "perm").await;
    let created: Value = send(
        &app,
        &writer,
        reqwest::Method::POST,
        "/api/v1/policies",
        Some(policy(&customer, "marine", "2026-01-01", "2026-12-31")),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let auditor = app.api_token(Role::Auditor).await;

    let read = send(
        &app,
        &auditor,
        reqwest::Method::GET,
        &format!("/api/v1/policies/{}", created["id"].as_str().unwrap()),
        None,
        None,
    )
    .await;
    let write = send(
        &app,
        &auditor,
        reqwest::Method::POST,
        "/api/v1/policies",
        Some(policy(&customer, "marine", "2026-01-01", "2026-12-31")),
        None,
    )
    .await;

    assert_eq!(read.status(), 200);
    assert_eq!(write.status(), 403);
}

#[tokio::test]
async fn the_dashboard_sums_up_the_book() {
    use leptos::server_fn::ServerFn as _;
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &token, "dash").await;
    let today = time::OffsetDateTime::now_utc().date();
    let soon = (today + time::Duration::days(10)).to_string();
    let start = (today - time::Duration::days(300)).to_string();
    for _ in 0..2 {
        let created: Value = send(
            &app,
            &token,
            reqwest::Method::POST,
            "/api/v1/policies",
            Some(policy(&customer, "home", &start, &soon)),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        let _ = created;
    }
    let first: Value = send(
        &app,
        &token,
        reqwest::Method::GET,
        "/api/v1/policies?per_page=1",
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = first["items"][0]["id"].as_str().unwrap().to_owned();
    send(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/api/v1/policies/{id}/actions"),
        Some(json!({ "action": "activate" })),
        None,
    )
    .await;
    let (_, staff) = app.signed_in(Role::Underwriter).await;

    let summary: Value = app
        .post_server_fn(&staff, app::dashboard::GetBookSummary::PATH, &[])
        .await
        .json()
        .await
        .unwrap();
    let page = app.get_with(&staff, "/").await.text().await.unwrap();

    assert_eq!(summary["customers"], 1, "{summary}");
    assert_eq!(
        summary["policies"]["by_status"],
        json!([["quote", 1], ["active", 1]])
    );
    assert_eq!(
        summary["policies"]["premium_in_force"],
        json!([{ "amount": 120000, "currency": "USD" }])
    );
    assert_eq!(summary["policies"]["expiring"][0]["id"], id.as_str());
    assert!(
        page.contains("Premium in force") && page.contains("USD 1,200.00"),
        "the dashboard renders it"
    );
}

#[tokio::test]
async fn a_quote_can_be_edited_with_its_etag_but_an_issued_policy_cannot() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let customer = customer(&app, &token, "edit").await;
    let created: Value = send(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/policies",
        Some(policy(&customer, "home", "2026-01-01", "2026-12-31")),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/api/v1/policies/{}", created["id"].as_str().unwrap());

    let edited = send(
        &app,
        &token,
        reqwest::Method::PATCH,
        &path,
        Some(
            json!({ "premium": { "amount": 99_000, "currency": "USD" }, "ends_on": "2026-06-30" }),
        ),
        Some("\"v1\""),
    )
    .await;

    assert_eq!(edited.status(), 200);
    assert_eq!(edited.headers()["etag"], "\"v2\"");
    let body: Value = edited.json().await.unwrap();
    assert_eq!(body["premium"]["amount"], 99_000);
    assert_eq!(body["ends_on"], "2026-06-30");
    assert_eq!(
        body["coverage_limit"]["amount"], 5_000_000,
        "left out, kept"
    );
    let stale = send(
        &app,
        &token,
        reqwest::Method::PATCH,
        &path,
        Some(json!({ "line": "auto" })),
        Some("\"v1\""),
    )
    .await;
    assert_eq!(stale.status(), 412);
    let bad = send(
        &app,
        &token,
        reqwest::Method::PATCH,
        &path,
        Some(json!({ "deductible": { "amount": 9_000_000, "currency": "USD" } })),
        None,
    )
    .await;
    assert_eq!(bad.status(), 422);
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "deductible.amount");

    let activated = send(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("{path}/actions"),
        Some(json!({ "action": "activate" })),
        None,
    )
    .await;
    assert_eq!(activated.status(), 200);
    let fixed = send(
        &app,
        &token,
        reqwest::Method::PATCH,
        &path,
        Some(json!({ "line": "auto" })),
        None,
    )
    .await;
    assert_eq!(fixed.status(), 409, "an issued policy's terms are fixed");
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "policy.updated")
    );
}
