//! Activities through the JSON API: planned on a claim with an owner, a
//! due date and a priority, listed as the owner's work (overdue first),
//! completed, and in the way of closing until they are.

use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    financials::desk,
    helpers::{read_json, send},
};

#[tokio::test]
async fn an_adjuster_plans_activities_sees_them_as_their_work_and_cannot_close_until_they_are_done()
{
    let desk = desk("activities").await;
    let today = app::clock::today();
    let plan = |subject: &str, days: i64, priority: &str| {
        let body = json!({ "subject": subject, "due_on": today.add_days(days).unwrap().to_string(), "priority": priority });
        desk.post("activities", body)
    };
    let later = plan("Review the engineer's report", 3, "low").await;
    assert_eq!(later.status(), 201);
    let later: Value = later.json().await.unwrap();
    assert_eq!(later["due"], "due in 3 days");
    assert_eq!(later["status"], "open");
    assert_eq!(plan("Call the claimant", 0, "urgent").await.status(), 201);

    let past = plan("Yesterday's call", -1, "").await;
    assert_eq!(past.status(), 422);
    let problem: Value = past.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "due_on");
    let nobody = desk
        .post(
            "activities",
            json!({ "subject": "Chase the garage", "due_on": today.to_string(), "owner_id": "no-such-user" }),
        )
        .await;
    assert_eq!(nobody.status(), 422);

    let mine = read_json(
        &desk.app,
        &desk.adjuster,
        Method::GET,
        "/api/v1/me/activities",
    )
    .await;
    let subjects: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        ["Call the claimant", "Review the engineer's report"],
        "soonest due first"
    );
    let someone_else = desk.app.api_token_for_staff(Role::Adjuster).await;
    let theirs = read_json(
        &desk.app,
        &someone_else,
        Method::GET,
        "/api/v1/me/activities",
    )
    .await;
    assert_eq!(theirs["items"], json!([]), "my work is mine");

    // A denied claim closes only once its activities are done.
    let denied = desk
        .post(
            "decision",
            json!({ "kind": "deny", "reason": "Not covered by this policy.", "confirm": "deny" }),
        )
        .await;
    assert_eq!(denied.status(), 200);
    let closing = desk.post("actions", json!({ "action": "close" })).await;
    assert_eq!(closing.status(), 409);
    let problem: Value = closing.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Call the claimant"),
        "{problem}"
    );
    for activity in desk.get("/activities").await["items"].as_array().unwrap() {
        let done = desk
            .post(
                &format!("activities/{}/complete", activity["id"].as_str().unwrap()),
                json!({}),
            )
            .await;
        assert_eq!(done.status(), 200);
    }
    let again = desk
        .post(
            &format!("activities/{}/complete", later["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(again.status(), 409, "done once");
    assert_eq!(
        desk.post("actions", json!({ "action": "close" }))
            .await
            .status(),
        200
    );
    let claim = desk.get("").await;
    assert_eq!(claim["activities"][0]["status"], "done");
    let actions = desk.app.audit_actions().await;
    for action in ["claim.activity_added", "claim.activity_completed"] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
    let partner = send(
        &desk.app,
        &desk.partner,
        Method::GET,
        &format!("/api/v1/claims/{}/activities", desk.id),
        None,
        None,
    )
    .await;
    assert_eq!(
        partner.status(),
        200,
        "the claim's partner reads its activities"
    );
}

#[tokio::test]
async fn the_dashboard_shows_an_adjusters_open_work_and_no_such_panel_to_an_auditor() {
    let desk = desk("dashboard-work").await;
    let (adjuster, page) = desk.app.signed_in(Role::Adjuster).await;
    let today = app::clock::today().to_string();
    let planned = desk
        .post(
            "activities",
            json!({ "subject": "Call the body shop", "due_on": today, "owner_id": adjuster.id }),
        )
        .await;
    assert_eq!(planned.status(), 201);

    let html = desk.app.get_with(&page, "/").await.text().await.unwrap();
    assert!(
        html.contains(r#"id="my-work-panel""#),
        "the adjuster's dashboard has My work"
    );
    assert!(html.contains("Call the body shop") && html.contains("1 open, none overdue."));
    let (_, auditor) = desk.app.signed_in(Role::Auditor).await;
    let html = desk.app.get_with(&auditor, "/").await.text().await.unwrap();
    assert!(
        !html.contains("my-work-panel"),
        "an auditor does no claim work"
    );
    assert!(html.contains("Dashboard"));
}
