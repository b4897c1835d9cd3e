//! The audit chain: append-only, hash-chained, never forked.

use serde_json::json;

use app::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    db::{Db, Engine, PoolSettings},
};

use crate::helpers::spawn_app;

async fn append(db: &Db, n: usize) {
    audit::append_now(
        db,
        &AuditContext::system("test"),
        AuditEvent {
            action: "test.event",
            entity_type: "test",
            entity_id: Some(&n.to_string()),
            details: json!({ "n": n }),
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_chain_verifies_and_names_the_first_altered_record() {
    let app = spawn_app().await;
    let db = &app.state.db;
    for n in 0..5 {
        append(db, n).await;
    }
    let intact = audit::verify(db).await.unwrap();
    assert!(intact.is_intact());
    assert_eq!(intact.records, 5);

    // What only a database superuser could do: switch the guard off and edit.
    let disable = match db.engine() {
        Engine::Sqlite => "DROP TRIGGER audit_log_no_update",
        Engine::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
    };
    sqlx::query(disable).execute(db.pool()).await.unwrap();
    sqlx::query("UPDATE audit_log SET details = '{\"n\":99}' WHERE seq = 3")
        .execute(db.pool())
        .await
        .unwrap();

    let broken = audit::verify(db).await.unwrap();
    assert_eq!(broken.first_broken.unwrap().seq, 3);
    assert_eq!(broken.records, 2);
}

#[tokio::test]
async fn removing_the_newest_records_is_detected() {
    let app = spawn_app().await;
    let db = &app.state.db;
    for n in 0..3 {
        append(db, n).await;
    }
    let disable = match db.engine() {
        Engine::Sqlite => "DROP TRIGGER audit_log_no_delete",
        Engine::Postgres => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
    };
    sqlx::query(disable).execute(db.pool()).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(db.pool())
        .await
        .unwrap();

    let verification = audit::verify(db).await.unwrap();
    assert_eq!(verification.first_broken.unwrap().seq, 3);
}

#[tokio::test]
async fn the_trail_refuses_update_delete_and_truncate() {
    let app = spawn_app().await;
    let db = &app.state.db;
    append(db, 1).await;

    let mut statements = vec![
        "UPDATE audit_log SET action = 'forged'",
        "DELETE FROM audit_log",
    ];
    if db.engine() == Engine::Postgres {
        statements.push("TRUNCATE audit_log");
    }
    for statement in statements {
        let error = sqlx::query(statement).execute(db.pool()).await.unwrap_err();
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    assert!(audit::verify(db).await.unwrap().is_intact());
}

/// Records `first..first + 5` in one transaction, in one append.
async fn append_five(db: &Db, first: usize) {
    let context = AuditContext::system("test");
    let records: Vec<_> = (first..first + 5)
        .map(|n| {
            audit::Pending::new(
                &context,
                AuditEvent {
                    action: "test.event",
                    entity_type: "test",
                    entity_id: Some(&n.to_string()),
                    details: json!({ "n": n }),
                },
            )
        })
        .collect();
    let mut tx = db.begin_write().await.unwrap();
    let seq = audit::append_all(&mut tx, &records).await.unwrap();
    tx.commit().await.unwrap();
    assert!(seq > 0);
}

#[tokio::test]
async fn concurrent_writers_on_two_pools_and_batched_appends_never_fork_the_chain() {
    let app = spawn_app().await;
    let second = Db::connect(&app.config.database_url, &PoolSettings::default())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for task in 0..8 {
        let db = if task % 2 == 0 {
            app.state.db.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            if task % 4 < 2 {
                for n in 0..25 {
                    append(&db, task * 100 + n).await;
                }
            } else {
                // Five records a transaction, as a pipeline batch appends.
                for chunk in 0..5 {
                    append_five(&db, task * 100 + chunk * 5).await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let verification = audit::verify(&app.state.db).await.unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.records, 200);
    second.close().await;
}

#[tokio::test]
async fn auditors_list_the_trail_and_verify_it_from_the_audit_page() {
    use leptos::server_fn::ServerFn as _;
    let app = spawn_app().await;
    let (auditor, client) = app.signed_in(shared::auth::Role::Auditor).await;

    let listed = app
        .post_server_fn(&client, app::audit::ListAuditRecords::PATH, &[])
        .await;
    let verified = app
        .post_server_fn(&client, app::audit::VerifyAuditChain::PATH, &[])
        .await;
    let page = app.get_with(&client, "/audit").await.text().await.unwrap();

    assert_eq!(listed.status(), 200);
    let listed: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(
        listed["items"][0]["action"], "auth.login_succeeded",
        "newest first"
    );
    assert_eq!(listed["items"][0]["actor"], auditor.email.as_str());
    let verified: serde_json::Value = verified.json().await.unwrap();
    assert!(verified["first_broken"].is_null());
    assert!(page.contains("Verify the chain") && page.contains("auth.login_succeeded"));
}
