//! Handing a claim to someone else through the API and the claim page's
//! server function: the assignee must work claims, the reason is required
//! and kept in the audit trail, a stale version is refused, and a triaged
//! claim moves into review (its acknowledge clock stops).

use leptos::server_fn::ServerFn;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{claim, ingest, pipeline_done, wait_for},
    financials::desk,
    helpers::{read_json, send},
};

#[tokio::test]
async fn a_claim_goes_to_another_adjuster_with_a_reason_and_only_to_someone_who_works_claims() {
    let desk = desk("reassign").await;
    let colleague = desk.app.create_user(Role::Adjuster).await;
    let underwriter = desk.app.create_user(Role::Underwriter).await;
    let reassign = |body: Value| desk.post("assignment", body);

    let refused =
        reassign(json!({ "assignee_id": underwriter.id, "reason": "Underwriting wants it" })).await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "assignee_id");
    let short = reassign(json!({ "assignee_id": colleague.id, "reason": "busy" })).await;
    assert_eq!(short.status(), 422);
    let problem: Value = short.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "reason");
    let nobody =
        reassign(json!({ "assignee_id": "no-such-user", "reason": "Covering the Florida queue" }))
            .await;
    assert_eq!(nobody.status(), 422);

    let before = desk.get("").await;
    let moved = reassign(
        json!({ "assignee_id": colleague.id, "reason": "Covering the Florida queue this week" }),
    )
    .await;
    assert_eq!(moved.status(), 200);
    let after: Value = moved.json().await.unwrap();
    assert_eq!(after["assignee_id"], colleague.id.as_str());
    assert_eq!(
        after["version"].as_i64().unwrap(),
        before["version"].as_i64().unwrap() + 1
    );
    let again = reassign(
        json!({ "assignee_id": colleague.id, "reason": "Covering the Florida queue this week" }),
    )
    .await;
    assert_eq!(again.status(), 409, "already theirs");
    let stale = send(
        &desk.app,
        &desk.adjuster,
        reqwest::Method::POST,
        &format!("/api/v1/claims/{}/assignment", desk.id),
        Some(json!({ "assignee_id": desk.app.create_user(Role::Admin).await.id, "reason": "Escalated to the team lead" })),
        Some(&format!("\"{}\"", before["version"])),
    )
    .await;
    assert_eq!(stale.status(), 412);

    let details: Vec<String> = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'claim.reassigned' AND entity_id = $1",
    )
    .bind(&desk.id)
    .fetch_all(desk.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(details.len(), 1, "one reassignment happened");
    let text = &details[0];
    assert!(
        text.contains("Covering the Florida queue this week"),
        "the reason is kept"
    );
}

#[tokio::test]
async fn a_supervisor_gives_a_triaged_claim_to_an_adjuster_from_the_claim_page_which_starts_its_review()
 {
    let desk = desk("reassign-page").await;
    let partner = &desk.partner;
    let policy = crate::claims::active_policy(&desk.app, partner, "reassign-page-2").await;
    let receipt: Value = ingest(&desk.app, partner, &claim(&policy, 150_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    wait_for(&desk.app, partner, id, pipeline_done).await;
    let colleague = desk.app.create_user(Role::Adjuster).await;
    let (_, supervisor) = desk.app.signed_in(Role::Admin).await;

    let page = desk
        .app
        .get_with(&supervisor, &format!("/claims/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Give to someone else"));
    let claim_now = read_json(
        &desk.app,
        &desk.adjuster,
        reqwest::Method::GET,
        &format!("/api/v1/claims/{id}"),
    )
    .await;
    assert_eq!(claim_now["status"], "triaged");
    assert_eq!(claim_now["deadline"]["clock"], "acknowledge");
    let version = claim_now["version"].to_string();
    let path = <app::claims::assignment::ReassignClaim as ServerFn>::PATH;
    let form = [
        ("id", id),
        ("version", version.as_str()),
        ("assignee_id", colleague.id.as_str()),
        ("reason", "Auto claims in Florida go to Sam"),
    ];
    let response = desk.app.post_server_fn(&supervisor, path, &form).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let claim_now = read_json(
        &desk.app,
        &desk.adjuster,
        reqwest::Method::GET,
        &format!("/api/v1/claims/{id}"),
    )
    .await;
    assert_eq!(claim_now["status"], "in_review");
    assert_eq!(claim_now["assignee_id"], colleague.id.as_str());
    assert_eq!(
        claim_now["deadline"]["clock"], "decide",
        "giving it to someone acknowledges it"
    );
}
