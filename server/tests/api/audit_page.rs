//! The Audit page as an investigator uses it: filters by record, actor,
//! action (one or a whole feature) and date range, each refused naming its
//! field when it cannot mean anything, money read as money, and a link from
//! each claim to its own trail.

use leptos::server_fn::ServerFn;
use serde_json::Value;
use shared::auth::Role;

use crate::{
    claims::{claim, ingest, pipeline_done, wait_for},
    financials::desk,
};

#[tokio::test]
async fn the_trail_narrows_by_action_feature_record_and_dates_and_names_a_bad_filter() {
    let desk = desk("audit-page").await;
    let (_, auditor) = desk.app.signed_in(Role::Auditor).await;
    let list = <app::audit::ListAuditRecords as ServerFn>::PATH;
    let page = |form: Vec<(&'static str, String)>| {
        let (app, auditor) = (&desk.app, &auditor);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_server_fn(auditor, list, &form).await
        }
    };
    let actions = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap().to_owned())
            .collect()
    };

    let claims: Value = page(vec![("action", "claim".into())])
        .await
        .json()
        .await
        .unwrap();
    let claim_actions = actions(&claims);
    assert!(
        claim_actions.contains(&"claim.submitted".to_owned()),
        "{claim_actions:?}"
    );
    assert!(
        claim_actions.iter().all(|a| a.starts_with("claim.")),
        "{claim_actions:?}"
    );
    let one: Value = page(vec![("action", "claim.submitted".into())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(actions(&one), ["claim.submitted"]);
    let this_claim: Value = page(vec![("entity", desk.id.clone())])
        .await
        .json()
        .await
        .unwrap();
    assert!(!actions(&this_claim).is_empty());
    assert!(
        this_claim["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["entity_id"] == desk.id.as_str()),
        "one record's trail only"
    );
    let today = app::clock::today();
    let dated: Value = page(vec![("from", today.to_string()), ("to", today.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert!(dated["total"].as_u64().unwrap() > 0, "today's records");
    let tomorrow = today.add_days(1).unwrap().to_string();
    let none: Value = page(vec![("from", tomorrow)]).await.json().await.unwrap();
    assert_eq!(none["total"], 0);

    for (field, value) in [("action", "Claim!"), ("from", "2026-02-30")] {
        let refused = page(vec![(field, value.into())]).await;
        assert_eq!(refused.status(), 422, "{field}={value}");
        let body = refused.text().await.unwrap();
        assert!(body.contains(field), "{body}");
    }
    let backwards = page(vec![
        ("from", today.to_string()),
        ("to", today.add_days(-1).unwrap().to_string()),
    ])
    .await;
    assert_eq!(backwards.status(), 422);
    assert!(backwards.text().await.unwrap().contains("on or after from"));
}

#[tokio::test]
async fn money_reads_as_money_on_the_audit_page_and_a_claim_links_to_its_own_trail() {
    let desk = desk("audit-money").await;
    let policy = crate::claims::active_policy(&desk.app, &desk.partner, "audit-money-2").await;
    let receipt: Value = ingest(&desk.app, &desk.partner, &claim(&policy, 123_456), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    wait_for(&desk.app, &desk.partner, id, pipeline_done).await;
    let (_, admin) = desk.app.signed_in(Role::Admin).await;

    let html = desk
        .app
        .get_with(
            &admin,
            &format!("/audit?entity={id}&action=claim.submitted"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("total_claimed USD 1,234.56") || html.contains("USD 1,234.56"),
        "money as money"
    );
    let claim_page = desk
        .app
        .get_with(&admin, &format!("/claims/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        claim_page.contains(&format!("/audit?entity={id}")),
        "the claim links to its trail"
    );
    let (_, adjuster) = desk.app.signed_in(Role::Adjuster).await;
    let claim_page = desk
        .app
        .get_with(&adjuster, &format!("/claims/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !claim_page.contains("claim-audit-link"),
        "not for those who cannot read the trail"
    );
}
