//! Customers through the JSON API and the PII vault underneath.

use serde_json::{Value, json};
use shared::auth::Role;

use crate::helpers::{TestApp, spawn_app};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.new_client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.new_client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn jane(marker: &str) -> Value {
    json!({
        "first_name": format!("Jane{marker}"),
        "last_name": format!("Doe{marker}"),
        "email": format!("jane.{marker}@example.com"),
        "phone": "+1 555 123 4567",
        "date_of_birth": "1980-02-29",
        "national_id": "123-45-6789",
        "address": { "line1": format!("1 {marker} Street"), "city": "Springfield", "postal_code": "12345", "country": "US" },
    })
}

async fn admin_token(app: &TestApp) -> String {
    app.api_token(Role::Admin).await
}

#[tokio::test]
async fn creating_a_customer_answers_201_with_masked_personal_data() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;

    let response = post(&app, &token, "/api/v1/customers", jane("canarya")).await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert!(
        body["customer_number"]
            .as_str()
            .unwrap()
            .starts_with("CUS-")
    );
    assert_eq!(body["email"], "j***@example.com");
    assert_eq!(body["national_id"], "***-**-6789");
    assert_eq!(body["date_of_birth"], "1980-**-**");
    assert_eq!(
        location,
        format!("/api/v1/customers/{}", body["id"].as_str().unwrap())
    );
    let fetched: Value = get(&app, &token, &location).await.json().await.unwrap();
    assert_eq!(fetched["first_name"], "J***");
    assert!(!fetched.to_string().contains("canarya"));
}

#[tokio::test]
async fn invalid_customers_are_refused_with_every_field_named() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;

    let response = post(
        &app,
        &token,
        "/api/v1/customers",
        json!({ "email": "nope", "date_of_birth": "2999-01-01" }),
    )
    .await;
    let not_json = app
        .new_client()
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&token)
        .body("{")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["first_name", "last_name", "email", "date_of_birth"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    assert_eq!(not_json.status(), 422);
}

#[tokio::test]
async fn a_duplicate_email_is_refused_with_409_whatever_its_case() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    post(&app, &token, "/api/v1/customers", jane("dup")).await;
    let mut again = jane("other");
    again["email"] = json!("  JANE.DUP@Example.COM ");

    let response = post(&app, &token, "/api/v1/customers", again).await;

    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "email");
}

#[tokio::test]
async fn look_alike_emails_collapse_to_one_customer_or_are_refused_naming_the_rule() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let mut paul = jane("paul");
    paul["email"] = json!("paul@example.com");
    assert_eq!(
        post(&app, &token, "/api/v1/customers", paul).await.status(),
        201
    );

    let mut fullwidth = jane("fullwidth");
    fullwidth["email"] = json!("\u{FF50}\u{FF41}\u{FF55}\u{FF4C}@example.com");
    let collapsed = post(&app, &token, "/api/v1/customers", fullwidth).await;
    assert_eq!(collapsed.status(), 409, "ｐａｕｌ is paul");
    let body: Value = collapsed.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "email");

    for (look_alike, rule) in [
        ("p\u{0430}ul@example.com", "must not mix scripts"),
        (
            "pa\u{200D}ul@example.com",
            "must not contain invisible characters",
        ),
        (
            "paul\u{202E}@example.com",
            "must not contain bidirectional control characters",
        ),
    ] {
        let mut body = jane("lookalike");
        body["email"] = json!(look_alike);
        let refused = post(&app, &token, "/api/v1/customers", body).await;
        assert_eq!(refused.status(), 422, "{look_alike:?}");
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "email", "{look_alike:?}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with(rule), "{look_alike:?}: {message}");
    }
    let found: Value = get(
        &app,
        &token,
        "/api/v1/customers?email=%EF%BD%90aul%40example.com",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(found["total"], 1, "a fullwidth search finds paul: {found}");
}

#[tokio::test]
async fn customers_are_found_by_exact_email_through_the_blind_index() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    post(&app, &token, "/api/v1/customers", jane("find")).await;
    post(&app, &token, "/api/v1/customers", jane("other")).await;

    let found: Value = get(
        &app,
        &token,
        "/api/v1/customers?email=%20JANE.FIND%40example.com",
    )
    .await
    .json()
    .await
    .unwrap();
    let all: Value = get(&app, &token, "/api/v1/customers?per_page=1")
        .await
        .json()
        .await
        .unwrap();
    let bad_page = get(&app, &token, "/api/v1/customers?per_page=1000").await;

    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["email"], "j***@example.com");
    assert_eq!(all["total"], 2);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    assert_eq!(bad_page.status(), 422);
}

#[tokio::test]
async fn no_personal_data_is_readable_in_the_database_or_the_logs() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    // Letters only (names allow no digits): the UUID's hex digits become letters.
    let marker: String = format!("canary{}", uuid::Uuid::now_v7().simple())
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from(b'g' + (c as u8 - b'0'))
            } else {
                c
            }
        })
        .collect();
    let created = post(&app, &token, "/api/v1/customers", jane(&marker)).await;
    assert_eq!(created.status(), 201);

    // Every personal-data column of the customers table, as raw bytes.
    let needle = marker.as_bytes();
    for column in [
        "first_name",
        "last_name",
        "email",
        "phone",
        "date_of_birth",
        "address",
        "national_id",
    ] {
        let values: Vec<Option<Vec<u8>>> =
            sqlx::query_scalar(&format!("SELECT {column} FROM customers"))
                .fetch_all(app.state.db.pool())
                .await
                .unwrap();
        for value in values.into_iter().flatten() {
            assert!(
                !value.windows(needle.len()).any(|w| w == needle),
                "{column}"
            );
        }
    }
    if let app::db::DatabaseUrl::Postgres(url) = &app.config.database_url {
        let dump = std::process::Command::new("pg_dump")
            .arg(url.as_str())
            .output()
            .expect("pg_dump runs");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(
            !dump.stdout.windows(needle.len()).any(|w| w == needle),
            "plaintext in pg_dump"
        );
        assert!(
            String::from_utf8_lossy(&dump.stdout).contains("customers"),
            "the dump holds the table"
        );
    }
    if let app::db::DatabaseUrl::Sqlite(path) = &app.config.database_url {
        // Checkpoint the WAL so the main file holds everything, then grep it.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "plaintext in the SQLite file"
        );
    }
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_row_or_column_does_not_decrypt() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let a: Value = post(&app, &token, "/api/v1/customers", jane("rowa"))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = post(&app, &token, "/api/v1/customers", jane("rowb"))
        .await
        .json()
        .await
        .unwrap();
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    // Copy A's email envelope over B's, and A's phone envelope into A's email.
    sqlx::query(
        "UPDATE customers SET email = (SELECT email FROM customers WHERE id = $1) WHERE id = $2",
    )
    .bind(a)
    .bind(b)
    .execute(app.state.db.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE customers SET email = phone WHERE id = $1")
        .bind(a)
        .execute(app.state.db.pool())
        .await
        .unwrap();

    for id in [a, b] {
        let customer: Value = get(&app, &token, &format!("/api/v1/customers/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(customer["email"], "unreadable", "{id}");
        assert_eq!(customer["first_name"], "J***", "other fields still read");
    }
}

#[tokio::test]
async fn revealing_a_field_needs_the_permission_and_a_reason_and_is_audited() {
    let app = spawn_app().await;
    let client_token = app.api_token(Role::ApiClient).await;
    let customer: Value = post(&app, &client_token, "/api/v1/customers", jane("reveal"))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/customers/{}/reveal",
        customer["id"].as_str().unwrap()
    );
    let admin = admin_token(&app).await;

    let forbidden = post(
        &app,
        &client_token,
        &path,
        json!({ "field": "email", "reason": "checking the address" }),
    )
    .await;
    let no_reason = post(
        &app,
        &admin,
        &path,
        json!({ "field": "email", "reason": "x" }),
    )
    .await;
    let revealed = post(
        &app,
        &admin,
        &path,
        json!({ "field": "email", "reason": "verifying identity on call 4411" }),
    )
    .await;

    assert_eq!(forbidden.status(), 403);
    assert_eq!(no_reason.status(), 422);
    assert_eq!(revealed.status(), 200);
    let body: Value = revealed.json().await.unwrap();
    assert_eq!(body["value"], "jane.reveal@example.com");
    let details: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'customer.pii_revealed'")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(details.len(), 1);
    assert!(details[0].contains("verifying identity on call 4411") && details[0].contains("email"));
}

#[tokio::test]
async fn erasure_shreds_the_personal_data_and_keeps_the_record_and_the_audit_chain() {
    let app = spawn_app().await;
    let token = admin_token(&app).await;
    let customer: Value = post(&app, &token, "/api/v1/customers", jane("erase"))
        .await
        .json()
        .await
        .unwrap();
    let id = customer["id"].as_str().unwrap();

    let erased = post(
        &app,
        &token,
        &format!("/api/v1/customers/{id}/erasure"),
        json!({ "confirm": "erase" }),
    )
    .await;

    assert_eq!(erased.status(), 204);
    let after: Value = get(&app, &token, &format!("/api/v1/customers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["erased"], true);
    assert_eq!(after["email"], "erased");
    assert_eq!(after["customer_number"], customer["customer_number"]);
    let found: Value = get(
        &app,
        &token,
        "/api/v1/customers?email=jane.erase%40example.com",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(found["total"], 0, "the blind index is gone too");
    let reveal = post(
        &app,
        &token,
        &format!("/api/v1/customers/{id}/reveal"),
        json!({ "field": "email", "reason": "after erasure check" }),
    )
    .await;
    assert_eq!(reveal.status(), 409);
    let key: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT wrapped_key FROM customer_keys WHERE customer_id = $1")
            .bind(id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(key.is_none(), "the data key is destroyed");
    assert!(
        app::audit::verify::verify(&app.state.db, &app.state.audit.verifying_key())
            .await
            .unwrap()
            .is_intact()
    );
}

#[tokio::test]
async fn customer_numbers_are_unique_under_concurrent_creation() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let mut tasks = Vec::new();
    for n in 0..12u8 {
        let (client, url, token) = (
            app.new_client(),
            app.url("/api/v1/customers"),
            token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&jane(&format!("c{}", char::from(b'a' + n))))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.json::<Value>().await.unwrap();
            assert_eq!(status, 201, "{body}");
            body["customer_number"].as_str().unwrap().to_owned()
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 12);
}

#[tokio::test]
async fn rotating_the_master_key_rewraps_every_key_and_old_and_new_rows_read_back() {
    use server::config::{Key32, KeySource};
    let (key_a, key_b) = (Key32::generate().unwrap(), Key32::generate().unwrap());
    let app =
        crate::helpers::spawn_app_with(|c| c.master_key = KeySource::Env(key_a.clone())).await;
    let token = app.api_token(Role::ApiClient).await;
    let mut ids = Vec::new();
    for marker in ["olda", "oldb", "oldc"] {
        let created: Value = post(&app, &token, "/api/v1/customers", jane(marker))
            .await
            .json()
            .await
            .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }

    // Deploy the new key as primary, the old one as previous.
    let rotating = app
        .spawn_replica_with(|c| {
            c.master_key = KeySource::Env(key_b.clone());
            c.previous_master_keys = vec![key_a.clone()];
        })
        .await;
    let token = rotating.api_token(Role::Admin).await;
    let created: Value = post(&rotating, &token, "/api/v1/customers", jane("newa"))
        .await
        .json()
        .await
        .unwrap();
    ids.push(created["id"].as_str().unwrap().to_owned());
    let found: Value = get(
        &rotating,
        &token,
        "/api/v1/customers?email=jane.olda%40example.com",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(found["total"], 1, "searches work before the rotation");

    let report = app::vault::rotation::rotate(&rotating.state.vault, &rotating.state.db)
        .await
        .unwrap();

    assert_eq!(
        report.rewrapped, 4,
        "three data keys and the blind-index root"
    );
    assert!(report.remaining.is_empty(), "{:?}", report.remaining);
    let kek_ids: Vec<String> = sqlx::query_scalar("SELECT DISTINCT kek_id FROM customer_keys")
        .fetch_all(rotating.state.db.pool())
        .await
        .unwrap();
    assert_eq!(kek_ids, [rotating.state.vault.primary_key_id().to_owned()]);

    // The old key retires: the new key alone reads old and new rows.
    let retired = app
        .spawn_replica_with(|c| {
            c.master_key = KeySource::Env(key_b.clone());
            c.previous_master_keys = Vec::new();
        })
        .await;
    let token = retired.api_token(Role::Admin).await;
    for id in &ids {
        let customer: Value = get(&retired, &token, &format!("/api/v1/customers/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(customer["first_name"], "J***", "{id}");
    }
    let revealed: Value = post(
        &retired,
        &token,
        &format!("/api/v1/customers/{}/reveal", ids[0]),
        json!({ "field": "email", "reason": "checking the rotation worked" }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(revealed["value"], "jane.olda@example.com");
    let found: Value = get(
        &retired,
        &token,
        "/api/v1/customers?email=jane.oldb%40example.com",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        found["total"], 1,
        "blind indexes are unchanged by the rotation"
    );

    // A server holding only the old key refuses to start rather than serve noise.
    let mut stale = app.config.clone();
    stale.site_addr = "127.0.0.1:0".parse().unwrap();
    stale.master_key = KeySource::Env(key_a);
    let refused = server::startup::Application::build(&stale).await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn an_edit_reseals_the_changed_fields_moves_the_blind_index_and_refuses_a_stale_etag() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let created: Value = post(&app, &token, "/api/v1/customers", jane("edit"))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let other: Value = post(&app, &token, "/api/v1/customers", jane("other"))
        .await
        .json()
        .await
        .unwrap();
    let envelope_before: Vec<u8> = sqlx::query_scalar("SELECT email FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let patch = |body: Value, tag: &'static str| {
        app.new_client()
            .patch(app.url(&format!("/api/v1/customers/{id}")))
            .bearer_auth(&token)
            .header("if-match", tag)
            .json(&body)
            .send()
    };

    let response = patch(
        json!({ "email": "jane.moved@example.com", "phone": "" }),
        "\"v1\"",
    )
    .await
    .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"v2\"");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "j***@example.com");
    assert_eq!(
        body["phone"], created["phone"],
        "a blank field keeps its value"
    );
    let envelope_after: Vec<u8> = sqlx::query_scalar("SELECT email FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_ne!(envelope_before, envelope_after);
    assert!(!String::from_utf8_lossy(&envelope_after).contains("moved"));
    let found: Value = get(
        &app,
        &token,
        "/api/v1/customers?email=jane.moved@example.com",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(found["total"], 1);
    let gone: Value = get(
        &app,
        &token,
        "/api/v1/customers?email=jane.edit@example.com",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(gone["total"], 0, "the old email no longer finds them");

    let stale = patch(json!({ "first_name": "Janet" }), "\"v1\"")
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let taken = patch(
        json!({ "email": other["email"].as_str().map(|_| "jane.other@example.com") }),
        "\"v2\"",
    )
    .await
    .unwrap();
    assert_eq!(taken.status(), 409);
    let bad = patch(json!({ "email": "not an email" }), "\"v2\"")
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "email");

    let details: String =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'customer.updated'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(
        details.contains("\"email\"") && !details.contains("moved"),
        "{details}"
    );
}
