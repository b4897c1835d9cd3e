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
