//! CSV exports of the lists, for signed-in staff.

use serde_json::json;
use shared::auth::Role;

use crate::helpers::spawn_app;

#[tokio::test]
async fn staff_export_the_filtered_lists_as_csv_with_personal_data_masked() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let api = app.new_client();
    for marker in ["exa", "exb"] {
        let customer: serde_json::Value = api
            .post(app.url("/api/v1/customers"))
            .bearer_auth(&token)
            .json(&json!({ "first_name": "Kim", "last_name": "Reyes", "email": format!("kim.{marker}@example.com") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        api.post(app.url("/api/v1/policies"))
            .bearer_auth(&token)
            .json(&json!({
                "customer_id": customer["id"], "line": "auto", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
                "premium": { "amount": 99950, "currency": "USD" },
                "coverage_limit": { "amount": 2000000, "currency": "USD" },
                "deductible": { "amount": 0, "currency": "USD" },
            }))
            .send()
            .await
            .unwrap();
    }
    let (_, adjuster) = app.signed_in(Role::Adjuster).await;

    let customers = app
        .get_with(&adjuster, "/customers/export.csv?q=kim.exa%40example.com")
        .await;
    let policies = app
        .get_with(&adjuster, "/policies/export.csv?status=quote&line=auto")
        .await;
    let anonymous = app.get("/customers/export.csv").await;

    assert_eq!(customers.status(), 200);
    assert_eq!(
        customers.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        customers.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("customers.csv")
    );
    let csv = customers.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "customer_number,first_name,last_name,email,phone,created_at"
    );
    assert_eq!(lines.len(), 2, "only the filtered customer: {csv}");
    assert!(lines[1].contains("k***@example.com") && !csv.contains("kim.exa"));
    let csv = policies.text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.contains(",auto,quote,2026-01-01,2026-12-31,USD,999.50,\"20,000.00\",0.00"),
        "{csv}"
    );
    assert_eq!(anonymous.status(), 303, "the sign-in gate covers exports");
}

#[tokio::test]
async fn the_review_queue_my_work_and_the_filtered_audit_trail_export_as_csv() {
    let desk = crate::financials::desk("exports-desk").await;
    let (adjuster, page) = desk.app.signed_in(Role::Adjuster).await;
    let today = app::clock::today().to_string();
    let planned = desk
        .post(
            "activities",
            json!({ "subject": "=Call the garage", "due_on": today, "owner_id": adjuster.id }),
        )
        .await;
    assert_eq!(planned.status(), 201);

    let work = desk.app.get_with(&page, "/work/export.csv").await;
    assert_eq!(work.status(), 200);
    let work = work.text().await.unwrap();
    assert!(
        work.starts_with("due_on,due,subject,claim_number,priority\r\n"),
        "{work}"
    );
    assert!(
        work.contains("'=Call the garage"),
        "a formula is defused: {work}"
    );

    let queue = desk
        .app
        .get_with(&page, "/claims/export.csv?queue=true")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        queue
            .lines()
            .next()
            .unwrap()
            .ends_with("sla_clock,sla_due_at,sla_time_left"),
        "{queue}"
    );
    assert!(
        queue.contains(",decide,") && queue.contains("due in 29 days"),
        "{queue}"
    );

    let (_, auditor) = desk.app.signed_in(Role::Auditor).await;
    let trail = desk
        .app
        .get_with(&auditor, "/audit/export.csv?action=claim")
        .await;
    assert_eq!(trail.status(), 200);
    let trail = trail.text().await.unwrap();
    let rows: Vec<&str> = trail.lines().skip(1).collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.split(',').nth(3).is_some_and(|a| a.starts_with("claim."))),
        "{trail}"
    );
    assert_eq!(
        desk.app
            .get_with(&auditor, "/audit/export.csv?from=yesterday")
            .await
            .status(),
        422
    );
    assert_eq!(
        desk.app.get_with(&page, "/audit/export.csv").await.status(),
        403,
        "adjusters do not read the trail"
    );
}
