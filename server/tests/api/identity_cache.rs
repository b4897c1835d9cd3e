//! The caller's identity is cached per process, yet a revoked client, a
//! deactivated user or a changed role is refused at once: in the process
//! that made the change, and (PostgreSQL, `NOTIFY vanguard_identity`) in
//! every other process on the same database. The caches here keep entries
//! for a minute, so only the eviction can explain a refusal.

use std::time::Duration;

use app::audit::ssr::AuditContext;
use reqwest::{Method, StatusCode};
use shared::auth::Role;

use crate::helpers::{TestApp, require_postgres, send, spawn_app_with};

const LONG: Duration = Duration::from_secs(60);

async fn me(app: &TestApp, token: &str) -> StatusCode {
    send(app, token, Method::GET, "/api/v1/me", None, None)
        .await
        .status()
}

/// A member of staff's id and password-grant token.
async fn staff(app: &TestApp, role: Role) -> (String, String) {
    let user = app.create_user(role).await;
    let response = app
        .token(serde_json::json!({ "grant_type": "password", "username": user.email, "password": user.password }))
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    (user.id, body["access_token"].as_str().unwrap().to_owned())
}

/// Asks `app` until it refuses `token` (10 s at most).
async fn refused_soon(app: &TestApp, token: &str) {
    for _ in 0..200 {
        if me(app, token).await == StatusCode::UNAUTHORIZED {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the other replica still accepts the token");
}

fn system() -> AuditContext {
    AuditContext::system("test")
}

#[tokio::test]
async fn a_revoked_client_a_deactivated_user_and_a_role_change_are_refused_at_once_despite_the_cache()
 {
    let app = spawn_app_with(|config| config.security.identity_cache = LONG).await;
    let (client_id, secret) = app.create_api_client(Role::ApiClient).await;
    let client = app.client_token(&client_id, &secret).await;
    let (leaver, leaver_token) = staff(&app, Role::Adjuster).await;
    let (mover, mover_token) = staff(&app, Role::Adjuster).await;
    for token in [&client, &leaver_token, &mover_token] {
        assert_eq!(me(&app, token).await, StatusCode::OK);
        assert_eq!(me(&app, token).await, StatusCode::OK, "now from the cache");
    }

    app::auth::ssr::revoke_api_client(&app.state.db, &system(), &client_id)
        .await
        .unwrap();
    assert_eq!(me(&app, &client).await, StatusCode::UNAUTHORIZED);

    app::auth::ssr::update_user_access(&app.state.db, &system(), &leaver, "adjuster", false)
        .await
        .unwrap();
    assert_eq!(me(&app, &leaver_token).await, StatusCode::UNAUTHORIZED);

    app::auth::ssr::update_user_access(&app.state.db, &system(), &mover, "auditor", true)
        .await
        .unwrap();
    assert_eq!(
        me(&app, &mover_token).await,
        StatusCode::UNAUTHORIZED,
        "a role change ends the tokens issued under the old one"
    );
}

// One SQLite file is served by one process: there is no other replica's
// cache to reach.
#[tokio::test]
#[ignore = "needs PostgreSQL: TEST_DATABASE_URL=postgres://… cargo test -- --include-ignored"]
async fn a_change_made_by_one_replica_evicts_the_identity_another_replica_cached() {
    require_postgres();
    let app = spawn_app_with(|config| config.security.identity_cache = LONG).await;
    let other = app.spawn_replica().await;
    let (client_id, secret) = app.create_api_client(Role::ApiClient).await;
    let client = app.client_token(&client_id, &secret).await;
    let (leaver, leaver_token) = staff(&app, Role::Adjuster).await;
    let (mover, mover_token) = staff(&app, Role::Adjuster).await;
    for token in [&client, &leaver_token, &mover_token] {
        assert_eq!(me(&other, token).await, StatusCode::OK);
        assert_eq!(me(&other, token).await, StatusCode::OK);
    }

    app::auth::ssr::revoke_api_client(&app.state.db, &system(), &client_id)
        .await
        .unwrap();
    refused_soon(&other, &client).await;
    app::auth::ssr::update_user_access(&app.state.db, &system(), &leaver, "adjuster", false)
        .await
        .unwrap();
    refused_soon(&other, &leaver_token).await;
    app::auth::ssr::update_user_access(&app.state.db, &system(), &mover, "auditor", true)
        .await
        .unwrap();
    refused_soon(&other, &mover_token).await;
}
