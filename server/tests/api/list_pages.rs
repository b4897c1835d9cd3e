//! List pages in one statement: the claims list pages by keyset as well as
//! by number, and its total is counted up to a cap, never over the whole
//! table.

use reqwest::Method;
use serde_json::Value;
use shared::auth::Role;
use sqlx::Row as _;

use crate::{
    attachments::new_claim,
    claims::{claim, ingest, pipeline_done, wait_for},
    helpers::{TestApp, read_json, spawn_app},
};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Copies claim `template` `copies` times straight in the table (the API
/// would take minutes for a thousand claims): new ids and numbers, older
/// receipt times.
async fn copy_claim(app: &TestApp, template: &str, copies: i64) {
    let pool = app.state.db.pool();
    let sql = match app.state.db.engine() {
        app::db::Engine::Postgres => {
            "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns \
             WHERE table_name = 'claims' AND table_schema = current_schema() ORDER BY ordinal_position"
        }
        app::db::Engine::Sqlite => "SELECT name FROM pragma_table_info('claims') ORDER BY cid",
    };
    let columns: Vec<String> = sqlx::query(sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("name").unwrap())
        .collect();
    let values = columns
        .iter()
        .map(|column| match column.as_str() {
            "id" | "claim_number" => format!("t.{column} || '-' || CAST(s.n AS TEXT)"),
            "created_at" | "updated_at" => format!("t.{column} - s.n"),
            _ => format!("t.{column}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let columns = columns.join(", ");
    let insert = match app.state.db.engine() {
        app::db::Engine::Postgres => format!(
            "INSERT INTO claims ({columns}) SELECT {values} FROM claims t \
             CROSS JOIN generate_series(1, CAST($2 AS BIGINT)) AS s(n) WHERE t.id = $1"
        ),
        app::db::Engine::Sqlite => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $2) \
             INSERT INTO claims ({columns}) SELECT {values} FROM claims t CROSS JOIN s WHERE t.id = $1"
        ),
    };
    sqlx::query(&insert)
        .bind(template)
        .bind(copies)
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_claims_list_pages_by_keyset_through_the_same_rows_as_by_number() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (first, _) = new_claim(&app, &token, "keyset").await;
    // Triaged first, so that no row moves while the list is read.
    wait_for(&app, &token, &first, pipeline_done).await;
    copy_claim(&app, &first, 6).await;

    for sort in ["newest", "oldest", "priority", "amount"] {
        let by_number: Vec<String> = {
            let mut all = Vec::new();
            for page in 1..=4 {
                let listed = read_json(
                    &app,
                    &token,
                    Method::GET,
                    &format!("/api/v1/claims?sort={sort}&per_page=2&page={page}"),
                )
                .await;
                all.extend(ids(&listed));
            }
            all
        };
        assert_eq!(by_number.len(), 7, "{sort}");
        let mut by_keyset = Vec::new();
        let mut path = format!("/api/v1/claims?sort={sort}&per_page=2");
        loop {
            let listed = read_json(&app, &token, Method::GET, &path).await;
            assert_eq!(listed["total"], 7, "{sort}: the count ignores the cursor");
            by_keyset.extend(ids(&listed));
            match listed["next_after"].as_str() {
                Some(next) => path = format!("/api/v1/claims?sort={sort}&per_page=2&after={next}"),
                None => break,
            }
        }
        assert_eq!(by_keyset, by_number, "{sort}");
    }

    let foreign = read_json(
        &app,
        &token,
        Method::GET,
        "/api/v1/claims?sort=newest&per_page=2",
    )
    .await;
    let cursor = foreign["next_after"].as_str().unwrap();
    let refused = crate::helpers::send(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims?sort=oldest&after={cursor}"),
        None,
        None,
    )
    .await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "after", "{problem}");
}

#[tokio::test]
async fn a_list_longer_than_the_cap_says_how_far_it_counted() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (first, _) = new_claim(&app, &token, "capped").await;
    // A second claim of another kind: the filtered count stays exact.
    let policy = crate::claims::active_policy(&app, &token, "capped-other").await;
    let other: Value = ingest(&app, &token, &claim(&policy, 10_000), None)
        .await
        .json()
        .await
        .unwrap();
    copy_claim(&app, &first, 1_000).await;

    let listed = read_json(&app, &token, Method::GET, "/api/v1/claims?per_page=10").await;
    assert_eq!(listed["total"], 1_000);
    assert_eq!(listed["total_capped"], true);
    assert_eq!(listed["items"].as_array().unwrap().len(), 10);
    let deep = read_json(
        &app,
        &token,
        Method::GET,
        "/api/v1/claims?per_page=100&page=11",
    )
    .await;
    assert_eq!(
        deep["items"].as_array().unwrap().len(),
        2,
        "1,002 claims in all"
    );
    assert_eq!(
        deep["total"], 1_002,
        "counted to the end of the page asked for"
    );
    assert_eq!(deep.get("total_capped"), None);

    let policy_id: String = sqlx::query_scalar("SELECT policy_id FROM claims WHERE id = $1")
        .bind(other["id"].as_str().unwrap())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let filtered = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims?policy_id={policy_id}"),
    )
    .await;
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered.get("total_capped"), None);

    let (_, browser) = app.signed_in(Role::Adjuster).await;
    let html = app
        .get_with(&browser, "/claims")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("1,000+ claims"),
        "the pager says the count stopped"
    );
}

#[tokio::test]
async fn the_claims_pages_pager_keeps_every_filter_and_the_audit_pager_its_entity() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (first, _) = new_claim(&app, &token, "pager").await;
    copy_claim(&app, &first, 30).await;
    let (_, staff) = app.signed_in(Role::Admin).await;

    let html = app
        .get_with(&staff, "/claims?sort=amount&per_page=25&page=1")
        .await
        .text()
        .await
        .unwrap();
    let pager = html.split(r#"class="pager""#).nth(1).unwrap_or_default();
    assert!(
        pager.contains(r#"href="?sort=amount&amp;per_page=25&amp;page=2""#),
        "Next keeps the sort and the page size: {}",
        &pager[..pager.len().min(400)]
    );
    let html = app
        .get_with(&staff, &format!("/audit?entity={first}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains(r#"href="?page=2""#),
        "the audit pager never drops the entity filter"
    );
}
