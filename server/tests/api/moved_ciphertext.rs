//! A ciphertext a database user moved onto another record does not open
//! there (the vault binds each envelope to its row and column). The record
//! still answers with its readable parts and names the unreadable field;
//! revealing that field is a 409 naming it; a change that leaves it alone
//! succeeds and keeps it as stored, a change that sets it repairs it; each
//! occurrence is audited as `vault.unreadable`.

use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{active_policy, claim, ingest},
    helpers::{TestApp, send, spawn_app},
};

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let response = send(app, token, method, path, body, None).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn customer(marker: &str, national_id: &str) -> Value {
    json!({
        "first_name": "Jane", "last_name": format!("Doe{marker}"),
        "email": format!("jane.{marker}@example.com"), "phone": "+1 555 123 4567",
        "national_id": national_id,
    })
}

async fn reveal(app: &TestApp, token: &str, path: &str, field: &str) -> (u16, Value) {
    call(
        app,
        token,
        Method::POST,
        path,
        Some(json!({ "field": field, "reason": "checking the moved value" })),
    )
    .await
}

/// Copies `column` of customer `from` onto customer `to`.
async fn move_envelope(app: &TestApp, column: &str, from: &str, to: &str) -> Vec<u8> {
    let envelope: Vec<u8> =
        sqlx::query_scalar(&format!("SELECT {column} FROM customers WHERE id = $1"))
            .bind(from)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    sqlx::query(&format!("UPDATE customers SET {column} = $1 WHERE id = $2"))
        .bind(&envelope)
        .bind(to)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    envelope
}

async fn unreadable_audits(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'vault.unreadable' ORDER BY seq",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_customer_with_a_moved_ciphertext_answers_its_readable_parts_and_names_the_unreadable_field()
 {
    let app = spawn_app().await;
    let admin = app.api_token(Role::Admin).await;
    let (_, a) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/customers",
        Some(customer("mva", "111-22-3333")),
    )
    .await;
    let (_, b) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/customers",
        Some(customer("mvb", "444-55-6666")),
    )
    .await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let moved = move_envelope(&app, "national_id", a, b).await;
    let path = format!("/api/v1/customers/{b}");

    let (status, view) = call(&app, &admin, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(view["national_id"], "unreadable");
    assert_eq!(view["unreadable_fields"], json!(["national_id"]));
    assert_eq!(view["email"], "j***@example.com", "the rest reads");
    let (status, page) = call(&app, &admin, Method::GET, "/api/v1/customers", None).await;
    assert_eq!(status, 200, "the list answers too");
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["unreadable_fields"] == json!(["national_id"]))
    );

    let reveal_path = format!("{path}/reveal");
    let reveal = |field: &'static str| reveal(&app, &admin, &reveal_path, field);
    let (status, problem) = reveal("national_id").await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("national_id"),
        "{problem}"
    );
    assert!(!problem.to_string().contains("111-22-3333"));
    let (status, email) = reveal("email").await;
    assert_eq!(
        (status, email["value"].as_str()),
        (200, Some("jane.mvb@example.com"))
    );

    // A change that leaves the field alone keeps it as stored.
    let (status, patched) = call(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({ "phone": "+1 555 987 6543" })),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["unreadable_fields"], json!(["national_id"]));
    assert_eq!(patched["national_id"], "unreadable");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT national_id FROM customers WHERE id = $1")
        .bind(b)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, moved, "kept as it was, not resealed");
    let (_, phone) = reveal("phone").await;
    assert_eq!(phone["value"], "+15559876543");
    // Setting it repairs it.
    let (status, repaired) = call(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({ "national_id": "777-88-9999" })),
    )
    .await;
    assert_eq!(status, 200, "{repaired}");
    assert_eq!(repaired["unreadable_fields"], json!([]));
    let (_, national_id) = reveal("national_id").await;
    assert_eq!(national_id["value"], "777889999");

    let audits = unreadable_audits(&app).await;
    assert!(audits.len() >= 3, "{audits:?}");
    assert!(
        audits
            .iter()
            .all(|d| d.contains("national_id") && !d.contains("111-22-3333"))
    );
}

#[tokio::test]
async fn a_customer_whose_required_field_was_moved_can_still_be_changed_elsewhere() {
    let app = spawn_app().await;
    let admin = app.api_token(Role::Admin).await;
    let (_, a) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/customers",
        Some(customer("rqa", "111-22-3333")),
    )
    .await;
    let (_, b) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/customers",
        Some(customer("rqb", "444-55-6666")),
    )
    .await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    move_envelope(&app, "email", a, b).await;
    let path = format!("/api/v1/customers/{b}");

    let (status, patched) = call(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({ "last_name": "Vale" })),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["email"].as_str(), patched["last_name"].as_str()),
        (Some("unreadable"), Some("V***"))
    );
    let (_, found) = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/customers?email=jane.rqb@example.com",
        None,
    )
    .await;
    assert_eq!(found["items"][0]["id"], b, "its blind index was kept");
}

#[tokio::test]
async fn a_claim_with_a_moved_claimant_ciphertext_answers_and_refuses_only_that_field() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "mvclaim").await;
    let mut ids = Vec::new();
    for amount in [10_000, 20_000] {
        let receipt: Value = ingest(&app, &token, &claim(&policy_number, amount), None)
            .await
            .json()
            .await
            .unwrap();
        ids.push(receipt["id"].as_str().unwrap().to_owned());
    }
    let envelope: Vec<u8> = sqlx::query_scalar("SELECT claimant_name FROM claims WHERE id = $1")
        .bind(&ids[0])
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE claims SET claimant_name = $1 WHERE id = $2")
        .bind(&envelope)
        .bind(&ids[1])
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let path = format!("/api/v1/claims/{}", ids[1]);

    let (status, view) = call(&app, &token, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["claimant"]["name"], "unreadable");
    assert_eq!(view["unreadable_fields"], json!(["claimant_name"]));
    assert_eq!(
        view["claimant"]["email"], "r***@example.com",
        "the rest reads"
    );

    let adjuster = app.api_token_for_staff(Role::Adjuster).await;
    let reveal_path = format!("{path}/reveal");
    let (status, problem) = reveal(&app, &adjuster, &reveal_path, "claimant_name").await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("claimant_name")
    );
    let (status, email) = reveal(&app, &adjuster, &reveal_path, "claimant_email").await;
    assert_eq!(
        (status, email["value"].as_str()),
        (200, Some("robin.vale@example.com"))
    );
    let audits = unreadable_audits(&app).await;
    assert!(
        audits.len() >= 2 && audits.iter().all(|d| d.contains("claimant_name")),
        "{audits:?}"
    );
}
