//! Claims through the JSON API: idempotent ingestion, the durable pipeline
//! (coverage, triage, snapshot, retries, dead letters, workers racing), the
//! review workflow with optimistic concurrency, the claimant's PII, the
//! legacy `/orchestrate` payload, filters and CSV.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::helpers::{TestApp, customer, policy, send, spawn_app, spawn_app_with};

/// An active policy whose term covers the last 100 days; its number.
pub(crate) async fn active_policy(app: &TestApp, token: &str, marker: &str) -> String {
    let customer = customer(app, token, marker).await;
    let today = app::clock::today();
    let starts = today.add_days(-100).unwrap().to_string();
    let ends = today.add_days(265).unwrap().to_string();
    let created: Value = send(
        app,
        token,
        Method::POST,
        "/api/v1/policies",
        Some(policy(&customer, "home", &starts, &ends)),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap();
    let activated = send(
        app,
        token,
        Method::POST,
        &format!("/api/v1/policies/{id}/actions"),
        Some(json!({ "action": "activate" })),
        None,
    )
    .await;
    assert_eq!(activated.status(), 200);
    created["policy_number"].as_str().unwrap().to_owned()
}

/// A claim on `policy_number` for `amount` minor units of USD, yesterday.
pub(crate) fn claim(policy_number: &str, amount: i64) -> Value {
    let yesterday = app::clock::today().add_days(-1).unwrap();
    json!({
        "policy_number": policy_number,
        "incident_date": yesterday.to_string(),
        "description": "Water damage in the kitchen after a pipe burst.",
        "claimant": { "name": "Robin Vale", "email": "robin.vale@example.com", "phone": "+44 20 7946 0001" },
        "lines": [
            { "code": "PLUMB", "description": "Emergency plumber", "amount": { "amount": amount / 2, "currency": "USD" } },
            { "code": "FLOOR", "amount": { "amount": amount - amount / 2, "currency": "USD" } },
        ],
    })
}

pub(crate) async fn ingest(
    app: &TestApp,
    token: &str,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .new_client()
        .post(app.url("/api/v1/claims"))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

/// Polls the claim's status until `done` says so (10 s at most).
pub(crate) async fn wait_for(
    app: &TestApp,
    token: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let status: Value = send(
            app,
            token,
            Method::GET,
            &format!("/api/v1/claims/{id}/status"),
            None,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        if done(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("claim {id} did not get there in time");
}

pub(crate) fn pipeline_done(status: &Value) -> bool {
    status["execution"]["state"] == "completed"
}

#[tokio::test]
async fn an_ingested_claim_is_numbered_triaged_snapshotted_and_queued_for_review() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "ingest").await;

    let response = ingest(&app, &token, &claim(&policy_number, 500_000), None).await;

    assert_eq!(response.status(), 202);
    let receipt: Value = response.json().await.unwrap();
    let number = receipt["claim_number"].as_str().unwrap();
    let year = app::clock::today().year();
    assert!(
        number.starts_with(&format!("CLM-{year}-")) && number.len() == "CLM-2026-000001".len(),
        "{number}"
    );
    assert_eq!(receipt["status"], "submitted");
    let id = receipt["id"].as_str().unwrap();
    let status = wait_for(&app, &token, id, pipeline_done).await;
    assert_eq!(status["status"], "triaged");
    assert_eq!(
        status["priority"], "standard",
        "5,000.00 of a 50,000.00 limit"
    );

    let execution: Value = send(
        &app,
        &token,
        Method::GET,
        &format!(
            "/api/v1/executions/{}",
            receipt["execution_id"].as_str().unwrap()
        ),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let steps: Vec<(&str, &str)> = execution["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("check_coverage", "done"),
            ("triage", "done"),
            ("snapshot", "done"),
            ("notify", "done")
        ]
    );

    let view: Value = send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{id}"),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        view["total_claimed"],
        json!({ "amount": 500000, "currency": "USD" })
    );
    assert_eq!(view["lines"].as_array().unwrap().len(), 2);
    assert_eq!(view["coverage"], "covered");
    assert_eq!(
        view["claimant"]["name"], "R***",
        "masked: {}",
        view["claimant"]
    );

    let today = app::clock::today();
    let snapshot = app.config.data_dir.join(format!(
        "objects/claims/{:04}/{:02}/{:02}/{number}.json",
        today.year(),
        today.month(),
        today.day()
    ));
    let stored: Value = serde_json::from_slice(&std::fs::read(&snapshot).unwrap()).unwrap();
    assert_eq!(stored["claim"]["claim_number"], number);
    assert!(
        !String::from_utf8_lossy(&std::fs::read(&snapshot).unwrap()).contains("Robin"),
        "the snapshot holds no claimant PII"
    );

    let queue: Value = send(
        &app,
        &token,
        Method::GET,
        "/api/v1/claims?queue=true",
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(queue["total"], 1);
    let actions = app.audit_actions().await;
    for action in ["claim.submitted", "claim.triage"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "idem").await;
    let body = claim(&policy_number, 100_000);

    // Eight identical requests at once: one claim, eight identical answers.
    let answers =
        join_all((0..8).map(|_| ingest(&app, &token, &body, Some("partner-req-0001")))).await;
    let mut ids = Vec::new();
    for response in answers {
        assert_eq!(response.status(), 202);
        let receipt: Value = response.json().await.unwrap();
        ids.push(receipt["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one claim for one key: {ids:?}");
    let replay = ingest(&app, &token, &body, Some("partner-req-0001")).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");

    let mut other = body.clone();
    other["description"] = json!("A different claim under the same key.");
    let refused = ingest(&app, &token, &other, Some("partner-req-0001")).await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");

    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM claims")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_bad_claim_is_refused_with_every_field_named_and_nothing_stored() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let tomorrow = app::clock::today().add_days(1).unwrap();

    let response = ingest(
        &app,
        &token,
        &json!({ "policy_number": "nonsense", "incident_date": tomorrow.to_string(), "description": "", "lines": [] }),
        None,
    )
    .await;

    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["policy_number", "incident_date", "description", "lines"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    let unknown = ingest(&app, &token, &claim("POL-2026-999999", 1000), None).await;
    assert_eq!(unknown.status(), 422);
    let problem: Value = unknown.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "policy_number");
    let not_json = app
        .new_client()
        .post(app.url("/api/v1/claims"))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 422);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM claims")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn concurrent_claims_get_distinct_numbers_and_two_workers_triage_each_exactly_once() {
    let app = spawn_app_with(|config| config.workers.concurrency = 2).await;
    // A second process on the same database, racing for the same jobs.
    let replica = app
        .spawn_replica_with(|config| config.workers.concurrency = 2)
        .await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "race").await;

    let body = claim(&policy_number, 50_000);
    let answers = join_all((0..20).map(|i| {
        let target = if i % 2 == 0 { &app } else { &replica };
        ingest(target, &token, &body, None)
    }))
    .await;
    let mut numbers = Vec::new();
    let mut ids = Vec::new();
    for response in answers {
        assert_eq!(response.status(), 202);
        let receipt: Value = response.json().await.unwrap();
        numbers.push(receipt["claim_number"].as_str().unwrap().to_owned());
        ids.push(receipt["id"].as_str().unwrap().to_owned());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 20, "claim numbers are never shared");
    for id in &ids {
        wait_for(&app, &token, id, pipeline_done).await;
    }

    let triaged: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'claim.triage'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(triaged, 20, "each claim triaged once");
    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'done'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(done, 80, "four steps per claim, each done once");
    let workers: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT started_at) FROM jobs")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(workers > 1);
}

#[tokio::test]
async fn a_failing_step_backs_off_then_dead_letters_and_a_staff_retry_completes_it() {
    let app = spawn_app_with(|config| {
        config.workers.max_attempts = 3;
        config.workers.backoff = Duration::from_millis(20);
    })
    .await;
    // A file where the snapshot directory must go: every write fails.
    let blocker = app.config.data_dir.join("objects/claims");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let token = app.api_token(Role::ApiClient).await;
    let admin = app.api_token_for_staff(Role::Admin).await;
    let policy_number = active_policy(&app, &token, "dead").await;
    let receipt: Value = ingest(&app, &token, &claim(&policy_number, 10_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();

    wait_for(&app, &token, id, |s| s["execution"]["state"] == "failed").await;
    let execution: Value = send(
        &app,
        &token,
        Method::GET,
        &format!(
            "/api/v1/executions/{}",
            receipt["execution_id"].as_str().unwrap()
        ),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let snapshot = &execution["steps"][2];
    assert_eq!(snapshot["step"], "snapshot");
    assert_eq!(snapshot["state"], "dead");
    assert_eq!(snapshot["attempts"], 3);
    assert!(
        snapshot["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot write"),
        "{snapshot}"
    );
    // The claim itself was triaged: a storage outage does not hold up review.
    let status = wait_for(&app, &token, id, |_| true).await;
    assert_eq!(status["status"], "triaged");

    std::fs::remove_file(&blocker).unwrap();
    let job_id = snapshot["job_id"].as_str().unwrap();
    let forbidden = send(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/jobs/{job_id}/retry"),
        None,
        None,
    )
    .await;
    assert_eq!(
        forbidden.status(),
        403,
        "API clients cannot operate the pipeline"
    );
    let retried = send(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/jobs/{job_id}/retry"),
        None,
        None,
    )
    .await;
    assert_eq!(retried.status(), 202);
    wait_for(&app, &token, id, pipeline_done).await;
    let actions = app.audit_actions().await;
    for action in ["workflow.dead_lettered", "workflow.retried"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn an_adjuster_reviews_approves_within_limits_and_pays_with_optimistic_concurrency() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let adjuster = app.api_token_for_staff(Role::Adjuster).await;
    let policy_number = active_policy(&app, &token, "review").await;
    let receipt: Value = ingest(&app, &token, &claim(&policy_number, 400_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    let triaged = wait_for(&app, &token, id, pipeline_done).await;
    let version = triaged["version"].as_i64().unwrap();
    let tag = |v: i64| format!("\"v{v}\"");
    let path = |tail: &str| format!("/api/v1/claims/{id}/{tail}");

    let early = send(
        &app,
        &adjuster,
        Method::POST,
        &path("decision"),
        Some(json!({ "kind": "approve", "amount": { "amount": 1000, "currency": "USD" } })),
        None,
    )
    .await;
    assert_eq!(early.status(), 409, "a triaged claim is not in review yet");
    let started = send(
        &app,
        &adjuster,
        Method::POST,
        &path("actions"),
        Some(json!({ "action": "start_review" })),
        Some(&tag(version)),
    )
    .await;
    assert_eq!(started.status(), 200);
    assert_eq!(started.headers()["etag"], tag(version + 1).as_str());
    let stale = send(
        &app,
        &adjuster,
        Method::POST,
        &path("decision"),
        Some(json!({ "kind": "deny", "reason": "Not covered by this policy.", "confirm": "deny" })),
        Some(&tag(version)),
    )
    .await;
    assert_eq!(stale.status(), 412, "a decision on a stale page is refused");

    let too_much = send(
        &app,
        &adjuster,
        Method::POST,
        &path("decision"),
        Some(json!({ "kind": "approve", "amount": { "amount": 4_960_000, "currency": "USD" } })),
        None,
    )
    .await;
    assert_eq!(
        too_much.status(),
        422,
        "above the limit less the deductible"
    );
    let problem: Value = too_much.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "amount.amount");
    let above_authority = send(
        &app,
        &adjuster,
        Method::POST,
        &path("decision"),
        Some(json!({ "kind": "approve", "amount": { "amount": 3_000_000, "currency": "USD" } })),
        None,
    )
    .await;
    assert_eq!(above_authority.status(), 422);
    let problem: Value = above_authority.json().await.unwrap();
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("authority"),
        "{problem}"
    );
    let no_reason = send(
        &app,
        &adjuster,
        Method::POST,
        &path("decision"),
        Some(json!({ "kind": "deny" })),
        None,
    )
    .await;
    assert_eq!(no_reason.status(), 422);

    let approved = send(&app, &adjuster, Method::POST, &path("decision"), Some(json!({ "kind": "approve", "amount": { "amount": 350_000, "currency": "USD" }, "priority": "urgent" })), None).await;
    assert_eq!(approved.status(), 200);
    let body: Value = approved.json().await.unwrap();
    assert_eq!(body["status"], "approved");
    assert_eq!(body["priority"], "urgent");
    assert_eq!(body["approved_amount"]["amount"], 350_000);
    // Settlement: the claimant is paid from a reserve; the final
    // claim-cost payment moves the claim to paid.
    let party: Value = send(
        &app,
        &adjuster,
        Method::POST,
        &path("parties"),
        Some(json!({ "role": "claimant", "name": "Robin Vale" })),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let reserved = send(
        &app,
        &adjuster,
        Method::POST,
        &path("reserves"),
        Some(json!({ "cost_type": "claim_cost", "category": "property", "amount": { "amount": 350_000, "currency": "USD" }, "reason": "Approved repair estimate" })),
        None,
    )
    .await;
    assert_eq!(reserved.status(), 201);
    let payment = send(
        &app,
        &adjuster,
        Method::POST,
        &path("payments"),
        Some(json!({ "cost_type": "claim_cost", "category": "property", "payee_id": party["id"], "method": "bank_transfer", "payment_type": "final", "amount": { "amount": 350_000, "currency": "USD" } })),
        None,
    )
    .await;
    assert_eq!(payment.status(), 201);
    let paid: Value = send(
        &app,
        &adjuster,
        Method::GET,
        &format!("/api/v1/claims/{id}"),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["paid_amount"]["amount"], 350_000);
    let closed: Value = send(
        &app,
        &adjuster,
        Method::POST,
        &path("actions"),
        Some(json!({ "action": "close" })),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["available_actions"], json!(["reopen"]));
    let reopen = send(
        &app,
        &adjuster,
        Method::POST,
        &path("actions"),
        Some(json!({ "action": "reopen" })),
        None,
    )
    .await;
    assert_eq!(reopen.status(), 422, "reopening needs a reason");

    let noted = send(
        &app,
        &adjuster,
        Method::POST,
        &path("notes"),
        Some(json!({ "body": "Called the claimant; receipts on file." })),
        None,
    )
    .await;
    assert_eq!(noted.status(), 201);
    let view: Value = noted.json().await.unwrap();
    assert_eq!(
        view["notes"][0]["body"],
        "Called the claimant; receipts on file."
    );
    let timeline: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        [
            "claim.submitted",
            "claim.triage",
            "claim.start_review",
            "claim.approve",
            "claim.party_added",
            "claim.reserve_set",
            "claim.payment_recorded",
            "claim.pay",
            "claim.close",
            "claim.note_added"
        ]
    );
    let ingest_only = send(
        &app,
        &token,
        Method::POST,
        &path("decision"),
        Some(json!({ "kind": "deny", "reason": "Not covered by this policy." })),
        None,
    )
    .await;
    assert_eq!(
        ingest_only.status(),
        403,
        "API clients ingest; people decide"
    );
}

#[tokio::test]
async fn claimant_details_are_sealed_at_rest_bound_to_their_row_and_shredded_with_the_customer() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "pii").await;
    let first: Value = ingest(&app, &token, &claim(&policy_number, 10_000), None)
        .await
        .json()
        .await
        .unwrap();
    let second: Value = ingest(&app, &token, &claim(&policy_number, 20_000), None)
        .await
        .json()
        .await
        .unwrap();
    let (first_id, second_id) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );

    let raw: Vec<u8> = sqlx::query_scalar("SELECT claimant_name FROM claims WHERE id = $1")
        .bind(first_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("Robin"));
    // The first claim's envelope moved onto the second claim's row.
    sqlx::query("UPDATE claims SET claimant_name = $1 WHERE id = $2")
        .bind(&raw)
        .bind(second_id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let moved = send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{second_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(moved.status(), 200, "the readable parts still answer");
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(
        moved["claimant"]["name"], "unreadable",
        "a moved ciphertext does not open"
    );
    assert!(!moved.to_string().contains("Robin"));

    let adjuster = app.api_token_for_staff(Role::Adjuster).await;
    let reveal_path = format!("/api/v1/claims/{first_id}/reveal");
    let reveal = |reason: &'static str| {
        send(
            &app,
            &adjuster,
            Method::POST,
            &reveal_path,
            Some(json!({ "field": "claimant_email", "reason": reason })),
            None,
        )
    };
    assert_eq!(reveal("why").await.status(), 422, "a reason is required");
    let revealed: Value = reveal("Calling back about the plumber's invoice")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revealed["value"], "robin.vale@example.com");
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "claim.pii_revealed")
    );
    let denied = send(
        &app,
        &token,
        Method::POST,
        &reveal_path,
        Some(json!({ "field": "claimant_email", "reason": "Partner systems may not look" })),
        None,
    )
    .await;
    assert_eq!(denied.status(), 403);

    let view: Value = send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{first_id}"),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let customer_id = view["customer_id"].as_str().unwrap();
    let admin = app.api_token_for_staff(Role::Admin).await;
    let erased = send(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/customers/{customer_id}/erasure"),
        Some(json!({ "confirm": "erase" })),
        None,
    )
    .await;
    assert_eq!(erased.status(), 204);
    let after: Value = send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{first_id}"),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(after["claimant"]["name"], shared::customer::ERASED);
    assert_eq!(
        after["total_claimed"]["amount"], 10_000,
        "the claim itself stays"
    );
}

#[tokio::test]
async fn the_legacy_orchestrate_payload_is_accepted_once_under_its_correlation_id() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "legacy").await;
    let payload = json!({
        "metadata": { "correlation_id": "legacy-7f3a-0001", "source": "broker-portal" },
        "claim_details": { "policy_number": policy_number },
        "claimant": { "name": "Sam Hale" },
        "estimated_loss": { "amount": 1250.5 },
        "attachments": [{ "name": "photo.jpg" }],
    });
    let post = || {
        app.new_client()
            .post(app.url("/orchestrate"))
            .bearer_auth(&token)
            .json(&payload)
            .send()
    };

    let response = post().await.unwrap();

    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["x-correlation-id"], "legacy-7f3a-0001");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "accepted");
    let execution_id = body["execution_id"].as_str().unwrap().to_owned();
    let again: Value = post().await.unwrap().json().await.unwrap();
    assert_eq!(
        again["execution_id"],
        execution_id.as_str(),
        "a resend files nothing new"
    );
    let recorded: String =
        sqlx::query_scalar("SELECT correlation_id FROM audit_log WHERE action = 'claim.submitted'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(recorded, "legacy-7f3a-0001");
    let view: Value = send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{}", body["claim_id"].as_str().unwrap()),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(view["total_claimed"]["amount"], 125_050);
    assert_eq!(view["source"], "legacy");

    let missing = app
        .new_client()
        .post(app.url("/orchestrate"))
        .bearer_auth(&token)
        .json(&json!({ "claim_details": { "policy_number": policy_number } }))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 422);
    let problem: Value = missing.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "estimated_loss.amount");
}

#[tokio::test]
async fn the_claim_list_filters_sorts_pages_and_exports_the_same_rows() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "list").await;
    let mut ids = Vec::new();
    for (i, amount) in [10_000, 3_000_000, 200_000].into_iter().enumerate() {
        // Different items: not possible duplicates of each other.
        let mut body = claim(&policy_number, amount);
        body["lines"][0]["code"] = json!(format!("ITEM{i}"));
        body["lines"][1]["code"] = json!(format!("PART{i}"));
        let receipt: Value = ingest(&app, &token, &body, None)
            .await
            .json()
            .await
            .unwrap();
        ids.push(receipt["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        wait_for(&app, &token, id, pipeline_done).await;
    }

    let urgent: Value = send(
        &app,
        &token,
        Method::GET,
        "/api/v1/claims?priority=urgent",
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        urgent["total"], 1,
        "30,000.00 of a 50,000.00 limit is urgent"
    );
    let by_amount: Value = send(
        &app,
        &token,
        Method::GET,
        "/api/v1/claims?sort=amount&per_page=2",
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(by_amount["total"], 3);
    assert_eq!(by_amount["items"].as_array().unwrap().len(), 2);
    assert_eq!(by_amount["items"][0]["total_claimed"]["amount"], 3_000_000);
    let queue: Value = send(
        &app,
        &token,
        Method::GET,
        "/api/v1/claims?queue=true&sort=priority",
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        queue["items"][0]["priority"], "urgent",
        "the queue by priority puts urgent first"
    );
    let bad = send(
        &app,
        &token,
        Method::GET,
        "/api/v1/claims?status=lost&sort=random",
        None,
        None,
    )
    .await;
    assert_eq!(bad.status(), 422);

    let (_, staff) = app.signed_in(Role::Adjuster).await;
    let csv = app
        .get_with(&staff, "/claims/export.csv?priority=urgent")
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(",urgent,") && lines[1].contains("\"30,000.00\""),
        "{csv}"
    );
    assert!(!csv.contains("Robin"), "no claimant PII in exports");
}

#[tokio::test]
async fn a_second_claim_for_the_same_loss_is_flagged_and_linked_as_a_possible_duplicate() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "dupe").await;
    let first: Value = ingest(&app, &token, &claim(&policy_number, 120_000), None)
        .await
        .json()
        .await
        .unwrap();
    wait_for(&app, &token, first["id"].as_str().unwrap(), pipeline_done).await;

    let second: Value = ingest(&app, &token, &claim(&policy_number, 125_000), None)
        .await
        .json()
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap();
    let status = wait_for(&app, &token, second_id, pipeline_done).await;

    assert_eq!(status["fraud_flags"][0]["code"], "possible_duplicate");
    let view: Value = send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{second_id}"),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(view["related"][0]["claim_number"], first["claim_number"]);
    let back: Value = send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{}", first["id"].as_str().unwrap()),
        None,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        back["related"][0]["claim_number"], second["claim_number"],
        "linked both ways"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_report_the_pipeline_and_pool() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "metrics").await;
    let receipt: Value = ingest(&app, &token, &claim(&policy_number, 10_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    wait_for(&app, &token, id, pipeline_done).await;

    let response = app.get("/metrics").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    for expected in [
        "route=\"/api/v1/claims/{id}/status\",status=\"200\"",
        "vanguard_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/claims\",le=\"+Inf\"}",
        "vanguard_http_requests_in_flight ",
        "vanguard_ready 1",
        "vanguard_db_pool_connections{state=\"idle\"}",
        "vanguard_outbox_jobs{state=\"done\"} 4",
        "vanguard_outbox_jobs{state=\"dead\"} 0",
        "vanguard_claims_ingested_total{source=\"api\"}",
        "vanguard_policies_created_total",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    assert!(!text.contains(id), "route labels are templates, never ids");
}

#[tokio::test]
async fn claims_are_found_by_claim_number_policy_number_or_the_insureds_last_name() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "search").await;
    let other_policy = active_policy(&app, &token, "search-other").await;
    let receipt: Value = ingest(&app, &token, &claim(&policy_number, 100_000), None)
        .await
        .json()
        .await
        .unwrap();
    ingest(&app, &token, &claim(&other_policy, 100_000), None).await;
    let number = receipt["claim_number"].as_str().unwrap();
    let staff = app.api_token_for_staff(Role::Adjuster).await;
    let found = |q: String| {
        let (app, staff) = (&app, &staff);
        async move {
            let path = format!("/api/v1/claims?q={}", app::encoding::urlencode(&q));
            send(app, staff, Method::GET, &path, None, None).await
        }
    };

    let by_number: Value = found(number.to_lowercase()).await.json().await.unwrap();
    assert_eq!(by_number["total"], 1);
    assert_eq!(by_number["items"][0]["claim_number"], number);
    let by_policy: Value = found(policy_number.clone()).await.json().await.unwrap();
    assert_eq!(by_policy["total"], 1);
    // Both policyholders are Alex Moss (the helper's customer).
    let by_name: Value = found(" moss ".into()).await.json().await.unwrap();
    assert_eq!(by_name["total"], 2, "the insured's last name, case aside");
    let nobody: Value = found("Nobody".into()).await.json().await.unwrap();
    assert_eq!(nobody["total"], 0);
    let bad = found("12345".into()).await;
    assert_eq!(bad.status(), 422);
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "q");

    let (_, page) = app.signed_in(Role::Adjuster).await;
    let html = app
        .get_with(&page, &format!("/claims?q={number}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("1 claims") && html.contains(number),
        "the page finds it too"
    );
}
