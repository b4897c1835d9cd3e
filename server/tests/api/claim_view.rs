//! The claim view, read in one statement: every part (lines, notes, links,
//! attachments, pipeline runs, timeline) is what the routes that read each
//! part on its own answer, in the same order.

use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    attachments::{file, new_claim, png, upload},
    claims::{active_policy, claim, ingest, pipeline_done, wait_for},
    helpers::{read_json, send, spawn_app},
};

#[tokio::test]
async fn the_claim_view_in_one_statement_holds_every_part_in_order() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let adjuster = app.api_token_for_staff(Role::Adjuster).await;
    let policy_number = active_policy(&app, &token, "oneread").await;
    let first: Value = ingest(&app, &token, &claim(&policy_number, 120_000), None)
        .await
        .json()
        .await
        .unwrap();
    wait_for(&app, &token, first["id"].as_str().unwrap(), pipeline_done).await;
    // The same loss again: linked to the first at triage.
    let second: Value = ingest(&app, &token, &claim(&policy_number, 125_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = second["id"].as_str().unwrap();
    wait_for(&app, &token, id, pipeline_done).await;
    let bytes = png("one-read");
    let uploaded = upload(&app, &token, id, file(bytes.clone(), "receipt.png")).await;
    assert_eq!(uploaded.status(), 201);
    for body in ["Called the claimant.", "Receipts on file."] {
        let noted = send(
            &app,
            &adjuster,
            Method::POST,
            &format!("/api/v1/claims/{id}/notes"),
            Some(json!({ "body": body })),
            None,
        )
        .await;
        assert_eq!(noted.status(), 201);
    }

    let view = read_json(
        &app,
        &adjuster,
        Method::GET,
        &format!("/api/v1/claims/{id}"),
    )
    .await;

    assert_eq!(
        view["lines"],
        json!([
            { "code": "PLUMB", "description": "Emergency plumber", "amount": { "amount": 62_500, "currency": "USD" } },
            { "code": "FLOOR", "description": null, "amount": { "amount": 62_500, "currency": "USD" } },
        ])
    );
    let notes: Vec<&str> = view["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        ["Receipts on file.", "Called the claimant."],
        "newest first"
    );
    assert!(
        view["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["author"].as_str().is_some_and(|a| a != "Vanguard")
                && n["created_at"].as_i64().is_some()),
        "{}",
        view["notes"]
    );
    assert_eq!(view["related"].as_array().unwrap().len(), 1);
    assert_eq!(view["related"][0]["id"], first["id"]);
    assert_eq!(view["related"][0]["claim_number"], first["claim_number"]);
    assert!(view["related"][0]["status"].is_string());
    assert!(
        view["related"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );

    // The routes that read one part each agree with the single statement.
    let attachments = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{id}/attachments"),
    )
    .await;
    assert_eq!(view["attachments"], attachments);
    assert_eq!(view["attachments"][0]["filename"], "receipt.png");
    assert_eq!(view["attachments"][0]["size_bytes"], json!(bytes.len()));
    let executions = view["executions"].as_array().unwrap();
    assert_eq!(executions.len(), 1);
    let execution = read_json(
        &app,
        &token,
        Method::GET,
        &format!(
            "/api/v1/executions/{}",
            second["execution_id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(executions[0], execution);
    let steps: Vec<&str> = executions[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["check_coverage", "triage", "snapshot", "notify"]);

    let recorded: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity_type = 'claim' AND entity_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    let timeline: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, recorded);
    assert_eq!(
        timeline
            .iter()
            .filter(|a| **a == "claim.note_added")
            .count(),
        2,
        "{timeline:?}"
    );
}

#[tokio::test]
async fn a_claim_with_nothing_attached_reads_empty_parts() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (id, number) = new_claim(&app, &token, "bare").await;
    let view = read_json(&app, &token, Method::GET, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(view["claim_number"], number);
    assert_eq!(view["notes"], json!([]));
    assert_eq!(view["attachments"], json!([]));
    assert_eq!(view["related"], json!([]));
    assert_eq!(view["lines"].as_array().unwrap().len(), 2);
    assert!(view["timeline"].as_array().is_some_and(|t| !t.is_empty()));
}
