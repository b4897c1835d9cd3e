//! SLA clocks end to end: a claim takes its deadlines from its policy's
//! jurisdiction and line, the queue puts the soonest breach first, the test
//! clock (never a sleep) carries it past its deadline, `/metrics` counts it,
//! taking the claim stops the acknowledge clock and deciding stops the
//! other; administrators edit the rules, audited.

use std::time::Duration;

use leptos::server_fn::ServerFn;
use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{claim, ingest, pipeline_done, wait_for},
    helpers::{TestApp, customer, policy, read_json, send, spawn_app},
};

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

/// An active home policy written in `jurisdiction` (`None`: not set).
async fn policy_in(app: &TestApp, token: &str, marker: &str, jurisdiction: Option<&str>) -> String {
    let customer = customer(app, token, marker).await;
    let today = app::clock::today();
    let mut body = policy(
        &customer,
        "home",
        &today.add_days(-100).unwrap().to_string(),
        &today.add_days(265).unwrap().to_string(),
    );
    if let Some(jurisdiction) = jurisdiction {
        body["jurisdiction"] = json!(jurisdiction);
    }
    let created = send(
        app,
        token,
        Method::POST,
        "/api/v1/policies",
        Some(body),
        None,
    )
    .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/policies/{id}/actions");
    let activated = send(
        app,
        token,
        Method::POST,
        &path,
        Some(json!({ "action": "activate" })),
        None,
    )
    .await;
    assert_eq!(activated.status(), 200);
    created["policy_number"].as_str().unwrap().to_owned()
}

/// A triaged claim on `policy_number`; its id.
async fn triaged_claim(app: &TestApp, token: &str, policy_number: &str) -> String {
    let receipt: Value = ingest(app, token, &claim(policy_number, 200_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap().to_owned();
    wait_for(app, token, &id, pipeline_done).await;
    id
}

async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_claim_runs_on_its_jurisdictions_clocks_breaches_on_the_test_clock_and_stops_when_taken_and_decided()
 {
    let app = spawn_app().await;
    let partner = app.api_token(Role::ApiClient).await;
    let adjuster = app.api_token_for_staff(Role::Adjuster).await;
    let florida = policy_in(&app, &partner, "sla-fl", Some("us-fl")).await;
    let anywhere = policy_in(&app, &partner, "sla-any", None).await;
    let fl_claim = triaged_claim(&app, &partner, &florida).await;
    let default_claim = triaged_claim(&app, &partner, &anywhere).await;

    let claim_of = |id: &str| {
        let path = format!("/api/v1/claims/{id}");
        let (app, adjuster) = (&app, &adjuster);
        async move { read_json(app, adjuster, Method::GET, &path).await }
    };
    let fl = claim_of(&fl_claim).await;
    let created = fl["created_at"].as_i64().unwrap();
    assert_eq!(
        fl["acknowledge_due_at"].as_i64().unwrap() - created,
        14 * DAY,
        "Florida: 14 days"
    );
    assert_eq!(fl["decide_due_at"].as_i64().unwrap() - created, 90 * DAY);
    assert_eq!(fl["deadline"]["clock"], "acknowledge");
    let other = claim_of(&default_claim).await;
    let created_other = other["created_at"].as_i64().unwrap();
    assert_eq!(
        other["acknowledge_due_at"].as_i64().unwrap() - created_other,
        15 * DAY,
        "the default: 15 days"
    );
    assert_eq!(
        other["decide_due_at"].as_i64().unwrap() - created_other,
        30 * DAY
    );
    assert_eq!(
        metric(&app, "vanguard_sla_overdue_claims{clock=\"acknowledge\"}").await,
        0.0
    );

    // Fourteen and a half days on: Florida's claim is past its deadline,
    // the other is not, and the queue shows the breach first.
    app.state
        .db
        .clock()
        .advance(Duration::from_secs(14 * 86_400 + 12 * 3_600));
    let queue = read_json(&app, &adjuster, Method::GET, "/api/v1/claims?queue=true").await;
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], fl_claim.as_str(), "soonest breach first");
    assert!(items[0]["deadline"]["remaining"].as_i64().unwrap() < 0);
    assert!(items[1]["deadline"]["remaining"].as_i64().unwrap() > 0);
    assert_eq!(
        metric(&app, "vanguard_sla_overdue_claims{clock=\"acknowledge\"}").await,
        1.0
    );
    let page = app.signed_in(Role::Adjuster).await.1;
    let html = app.get_with(&page, "/reviews").await.text().await.unwrap();
    assert!(
        html.contains("Acknowledge 12 h overdue"),
        "the queue says it in words"
    );
    assert!(html.contains("Acknowledge due in 11 h") || html.contains("Acknowledge due in 12 h"));

    // Taking the claim acknowledges it, late: the decide clock runs on.
    let breaches_before = metric(&app, "vanguard_sla_breaches_total{clock=\"acknowledge\"}").await;
    let path = format!("/api/v1/claims/{fl_claim}/actions");
    let taken = send(
        &app,
        &adjuster,
        Method::POST,
        &path,
        Some(json!({ "action": "start_review" })),
        None,
    )
    .await;
    assert_eq!(taken.status(), 200);
    let fl = claim_of(&fl_claim).await;
    assert_eq!(fl["deadline"]["clock"], "decide");
    assert!(fl["acknowledged_at"].as_i64().unwrap() > fl["acknowledge_due_at"].as_i64().unwrap());
    assert_eq!(
        metric(&app, "vanguard_sla_overdue_claims{clock=\"acknowledge\"}").await,
        0.0
    );
    assert!(
        metric(&app, "vanguard_sla_breaches_total{clock=\"acknowledge\"}").await > breaches_before
    );
    let html = app
        .get_with(&page, &format!("/claims/{fl_claim}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Decide due in 75 days"),
        "the claim header shows the running clock"
    );
    assert!(
        html.contains(", late)"),
        "and that the acknowledgement was late"
    );

    // Approving it stops the last clock.
    let path = format!("/api/v1/claims/{fl_claim}/decision");
    let approve = json!({ "kind": "approve", "amount": { "amount": 100_000, "currency": "USD" } });
    let decided = send(&app, &adjuster, Method::POST, &path, Some(approve), None).await;
    assert_eq!(decided.status(), 200);
    assert_eq!(claim_of(&fl_claim).await["deadline"], Value::Null);
    let decided_last =
        read_json(&app, &adjuster, Method::GET, "/api/v1/claims?sort=deadline").await;
    assert_eq!(
        decided_last["items"][1]["id"],
        fl_claim.as_str(),
        "a decided claim sorts last"
    );
}

#[tokio::test]
async fn administrators_edit_the_rules_audited_new_claims_follow_and_others_are_refused() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let (_, adjuster) = app.signed_in(Role::Adjuster).await;
    let save = <app::claims::sla::SaveSlaRule as ServerFn>::PATH;
    let delete = <app::claims::sla::DeleteSlaRule as ServerFn>::PATH;
    let rule = [
        ("jurisdiction", "us-ny"),
        ("line", "home"),
        ("acknowledge_hours", "48"),
        ("decide_hours", "240"),
    ];
    assert_eq!(
        app.post_server_fn(&adjuster, save, &rule).await.status(),
        403
    );
    let saved = app.post_server_fn(&admin, save, &rule).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let bad = app
        .post_server_fn(
            &admin,
            save,
            &[
                ("jurisdiction", "New York"),
                ("line", "*"),
                ("acknowledge_hours", "48"),
                ("decide_hours", "24"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(
        body.contains("jurisdiction") && body.contains("decide_hours"),
        "{body}"
    );
    let fallback = app
        .post_server_fn(&admin, delete, &[("jurisdiction", "*"), ("line", "*")])
        .await;
    assert_eq!(fallback.status(), 422, "the fallback rule stays");
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "sla.rule_saved"), "{actions:?}");

    // The page lists it for anyone who works claims.
    let html = app.get_with(&adjuster, "/sla").await.text().await.unwrap();
    assert!(
        html.contains("US-NY") && html.contains("10 days"),
        "the rule in days"
    );

    // A claim on a New York home policy gets two days to be acknowledged.
    let partner = app.api_token(Role::ApiClient).await;
    let new_york = policy_in(&app, &partner, "sla-ny", Some("US-NY")).await;
    let receipt: Value = ingest(&app, &partner, &claim(&new_york, 100_000), None)
        .await
        .json()
        .await
        .unwrap();
    let claim = read_json(
        &app,
        &partner,
        Method::GET,
        &format!("/api/v1/claims/{}", receipt["id"].as_str().unwrap()),
    )
    .await;
    let created = claim["created_at"].as_i64().unwrap();
    assert_eq!(
        claim["acknowledge_due_at"].as_i64().unwrap() - created,
        2 * DAY
    );
    assert_eq!(claim["decide_due_at"].as_i64().unwrap() - created, 10 * DAY);

    let deleted = app
        .post_server_fn(
            &admin,
            delete,
            &[("jurisdiction", "US-NY"), ("line", "home")],
        )
        .await;
    assert_eq!(deleted.status(), 200);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "sla.rule_deleted")
    );
}
