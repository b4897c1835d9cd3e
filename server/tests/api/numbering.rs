//! Claim and customer numbers under concurrency: many writers on two
//! replicas (two pools, two caches of which sequences exist) never get the
//! same number, and numbers continue after the old counter rows.

use std::collections::HashSet;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{active_policy, claim, ingest},
    helpers::{send, spawn_app},
};

/// A counter row as the previous version left it.
async fn seed_counter(app: &crate::helpers::TestApp, name: &str, value: i64) {
    sqlx::query("INSERT INTO counters (name, value) VALUES ($1, $2)")
        .bind(name)
        .bind(value)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

/// The sequence part of `CLM-2026-000042` / `CUS-000042`.
fn sequence_of(number: &str) -> i64 {
    number.rsplit('-').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn claims_filed_at_once_on_two_replicas_get_distinct_numbers_after_the_old_counter() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "numbering").await;
    let year = app::clock::today().year();
    seed_counter(&app, &format!("claim:{year}"), 41).await;

    let filings = (0..24).map(|n| {
        let (target, token, body) = (
            if n % 2 == 0 { &app } else { &replica },
            token.clone(),
            claim(&policy_number, 10_000 + n),
        );
        async move {
            let key = format!("numbering-{n}");
            let response = ingest(target, &token, &body, Some(&key)).await;
            assert_eq!(response.status(), 202);
            let receipt: Value = response.json().await.unwrap();
            receipt["claim_number"].as_str().unwrap().to_owned()
        }
    });
    let numbers = join_all(filings).await;

    let distinct: HashSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), numbers.len(), "{numbers:?}");
    for number in &numbers {
        assert!(number.starts_with(&format!("CLM-{year}-")), "{number}");
        assert!(
            sequence_of(number) > 41,
            "continues after the counter: {number}"
        );
    }
}

#[tokio::test]
async fn customers_created_at_once_on_two_replicas_get_distinct_numbers_after_the_old_counter() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let token = app.api_token(Role::ApiClient).await;
    seed_counter(&app, "customer", 7).await;

    let creations = (0..16).map(|n| {
        let (target, token) = (if n % 2 == 0 { &app } else { &replica }, token.clone());
        async move {
            let body = json!({ "first_name": "Sam", "last_name": "Reed", "email": format!("sam.{n}@example.com") });
            let response = send(target, &token, Method::POST, "/api/v1/customers", Some(body), None).await;
            assert_eq!(response.status(), 201);
            let created: Value = response.json().await.unwrap();
            created["customer_number"].as_str().unwrap().to_owned()
        }
    });
    let numbers = join_all(creations).await;

    let distinct: HashSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), numbers.len(), "{numbers:?}");
    assert!(numbers.iter().all(|n| sequence_of(n) > 7), "{numbers:?}");
}
