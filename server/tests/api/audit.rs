//! The audit log: appended without a shared row, sealed into signed Merkle
//! checkpoints, and every kind of tampering with sealed records named.

use serde_json::json;

use app::{
    audit::{
        merkle,
        seal::{Sealed, seal_once},
        signing::AuditSigner,
        ssr::{self as audit, AuditContext, AuditEvent},
        verify::{self, Verification},
    },
    db::{Db, Engine, PoolSettings},
};

use crate::helpers::{TestApp, spawn_app_with};

/// An application whose background sealer is off, so each test decides
/// when records are sealed.
async fn spawn_quiet_app() -> TestApp {
    spawn_app_with(|config| config.audit_seal_interval = None).await
}

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

/// Seals until nothing is left (another sealer may hold the lock for a
/// moment on PostgreSQL).
async fn seal_all_with(app: &TestApp, db: &Db, signer: &AuditSigner) {
    loop {
        match seal_once(db, signer, &app.state.storage).await.unwrap() {
            Sealed::Nothing => return,
            Sealed::Busy | Sealed::Checkpoint { .. } => tokio::task::yield_now().await,
        }
    }
}

async fn seal(app: &TestApp) {
    seal_all_with(app, &app.state.db, &app.state.audit).await;
}

async fn verify(app: &TestApp) -> Verification {
    verify::verify(&app.state.db, &app.state.audit.verifying_key())
        .await
        .unwrap()
}

/// What only a database superuser could do: switch the guards off.
async fn disable_guards(db: &Db) {
    let statements: &[&str] = match db.engine() {
        Engine::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_seal_once",
            "DROP TRIGGER audit_log_no_delete",
            "DROP TRIGGER audit_checkpoints_no_update",
        ],
        Engine::Postgres => &[
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
            "ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_no_update_delete",
        ],
    };
    for statement in statements {
        sqlx::query(statement).execute(db.pool()).await.unwrap();
    }
}

async fn execute(db: &Db, sql: &str) {
    sqlx::query(sql).execute(db.pool()).await.unwrap();
}

/// Records 1-2 in checkpoint 2, records 3-5 in checkpoint 5.
async fn two_checkpoints() -> TestApp {
    let app = spawn_quiet_app().await;
    for n in 1..=2 {
        append(&app.state.db, n).await;
    }
    seal(&app).await;
    for n in 3..=5 {
        append(&app.state.db, n).await;
    }
    seal(&app).await;
    let intact = verify(&app).await;
    assert!(intact.is_intact(), "{intact:?}");
    assert_eq!((intact.records, intact.checkpoints), (5, 2));
    disable_guards(&app.state.db).await;
    app
}

fn broken(verification: &Verification) -> &verify::BrokenLink {
    verification
        .first_broken
        .as_ref()
        .unwrap_or_else(|| panic!("tampering went unnoticed: {verification:?}"))
}

#[tokio::test]
async fn records_are_sealed_into_signed_checkpoints_and_unsealed_ones_are_counted() {
    let app = spawn_quiet_app().await;
    for n in 0..3 {
        append(&app.state.db, n).await;
    }
    let before = verify(&app).await;
    assert!(before.is_intact());
    assert_eq!((before.records, before.unsealed), (0, 3));

    seal(&app).await;
    append(&app.state.db, 3).await;
    let after = verify(&app).await;
    assert!(after.is_intact(), "{after:?}");
    assert_eq!(
        (after.records, after.checkpoints, after.unsealed),
        (3, 1, 1)
    );

    // The checkpoint went to object storage as a note and a raw signature
    // that the public key verifies.
    let note = app
        .state
        .storage
        .get("audit/checkpoints/3.txt")
        .await
        .unwrap()
        .unwrap();
    let signature = app
        .state
        .storage
        .get("audit/checkpoints/3.sig")
        .await
        .unwrap()
        .unwrap();
    let note = String::from_utf8(note).unwrap();
    assert!(note.starts_with("vanguard-audit-checkpoint v1\nvanguard-audit\n3\n"));
    assert!(app.state.audit.verifies(&note, &signature));
}

#[tokio::test]
async fn an_edited_sealed_record_is_named() {
    let app = two_checkpoints().await;
    execute(
        &app.state.db,
        "UPDATE audit_log SET details = '{\"n\":99}' WHERE seq = 4",
    )
    .await;

    let verification = verify(&app).await;
    let broken = broken(&verification);
    assert_eq!(broken.seq, Some(4));
    assert!(broken.reason.contains("do not match"), "{broken}");
    assert_eq!(verification.records, 2, "the first checkpoint still holds");
}

#[tokio::test]
async fn a_deleted_sealed_record_is_detected_in_the_middle_and_at_the_end() {
    let app = two_checkpoints().await;
    execute(&app.state.db, "DELETE FROM audit_log WHERE seq = 5").await;
    let at_end = verify(&app).await;
    assert_eq!(broken(&at_end).tree_size, Some(5));
    assert!(broken(&at_end).reason.contains("deleted"), "{at_end:?}");

    execute(&app.state.db, "DELETE FROM audit_log WHERE seq = 2").await;
    let in_middle = verify(&app).await;
    let broken = broken(&in_middle);
    assert_eq!(broken.seq, Some(3), "the record after the gap");
    assert!(broken.reason.contains("leaf 1 is missing"), "{broken}");
}

#[tokio::test]
async fn swapping_two_records_seqs_or_leaf_indexes_is_detected() {
    let app = two_checkpoints().await;
    let db = &app.state.db;
    for statement in [
        "UPDATE audit_log SET seq = -1 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -1",
    ] {
        execute(db, statement).await;
    }
    let renumbered = verify(&app).await;
    assert_eq!(broken(&renumbered).seq, Some(3), "{renumbered:?}");

    // Put them back, then move them in the log instead.
    for statement in [
        "UPDATE audit_log SET seq = -1 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -1",
    ] {
        execute(db, statement).await;
    }
    assert!(verify(&app).await.is_intact());
    for statement in [
        "UPDATE audit_log SET leaf_index = -1 WHERE leaf_index = 3",
        "UPDATE audit_log SET leaf_index = 3 WHERE leaf_index = 4",
        "UPDATE audit_log SET leaf_index = 4 WHERE leaf_index = -1",
    ] {
        execute(db, statement).await;
    }
    let moved = verify(&app).await;
    let broken = broken(&moved);
    assert_eq!(broken.seq, Some(5), "record 5 now sits at leaf 3");
    assert!(broken.reason.contains("leaf 3"), "{broken}");
}

#[tokio::test]
async fn a_record_rewritten_with_its_leaf_hash_and_root_recomputed_in_sql_fails_the_signature() {
    let app = two_checkpoints().await;
    let db = &app.state.db;
    execute(
        db,
        "UPDATE audit_log SET details = '{\"n\":99}' WHERE seq = 4",
    )
    .await;
    // Recompute what an attacker can: the leaf hash by the documented
    // format, and the root over every leaf.
    forge_leaf(db, 4, 3).await;
    let leaves: Vec<String> =
        sqlx::query_scalar("SELECT leaf_hash FROM audit_log ORDER BY leaf_index")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let leaves: Vec<merkle::Hash> = leaves
        .iter()
        .map(|h| merkle::parse_hash(h).unwrap())
        .collect();
    sqlx::query("UPDATE audit_checkpoints SET root_hash = $1 WHERE tree_size = 5")
        .bind(app::encoding::hex(&merkle::root_of(&leaves)))
        .execute(db.pool())
        .await
        .unwrap();

    let verification = verify(&app).await;
    let broken = broken(&verification);
    assert_eq!(broken.tree_size, Some(5));
    assert!(broken.reason.contains("signature"), "{broken}");
}

#[tokio::test]
async fn a_checkpoint_signed_with_another_key_is_refused_and_an_uncovered_leaf_is_named() {
    let app = two_checkpoints().await;
    append(&app.state.db, 6).await;
    // Whoever can write the database, but has not got the key, can only
    // sign with a key of their own.
    let forger = AuditSigner::from_seed(&[9; 32]);
    seal_all_with(&app, &app.state.db, &forger).await;
    let forged = verify(&app).await;
    let link = broken(&forged);
    assert_eq!(link.tree_size, Some(6));
    assert!(link.reason.contains("signature"), "{link}");
    assert_eq!(forged.records, 5);

    // A leaf index written on a record outside every checkpoint.
    let app = two_checkpoints().await;
    append(&app.state.db, 6).await;
    forge_leaf(&app.state.db, 6, 5).await;
    let uncovered = verify(&app).await;
    let link = broken(&uncovered);
    assert_eq!(link.seq, Some(6), "{uncovered:?}");
    assert!(link.reason.contains("no signed checkpoint"), "{link}");
}

/// Gives record `seq` leaf `index` with a leaf hash computed as the sealer
/// would over what it holds now.
async fn forge_leaf(db: &Db, seq: i64, index: i64) {
    let row = sqlx::query(&format!(
        "SELECT {} FROM audit_log WHERE seq = $1",
        audit::RECORD_COLUMNS
    ))
    .bind(seq)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let leaf = audit::StoredRecord::from_row(&row)
        .unwrap()
        .leaf_hash(index)
        .unwrap();
    sqlx::query("UPDATE audit_log SET leaf_index = $1, leaf_hash = $2 WHERE seq = $3")
        .bind(index)
        .bind(app::encoding::hex(&leaf))
        .bind(seq)
        .execute(db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_trail_refuses_update_delete_and_truncate() {
    let app = spawn_quiet_app().await;
    let db = &app.state.db;
    append(db, 1).await;
    seal(&app).await;

    let mut statements = vec![
        "UPDATE audit_log SET action = 'forged'",
        "UPDATE audit_log SET leaf_hash = 'forged'",
        "DELETE FROM audit_log",
        "UPDATE audit_checkpoints SET root_hash = 'forged'",
        "DELETE FROM audit_checkpoints",
    ];
    if db.engine() == Engine::Postgres {
        statements.extend(["TRUNCATE audit_log", "TRUNCATE audit_checkpoints"]);
    }
    for statement in statements {
        let error = sqlx::query(statement).execute(db.pool()).await.unwrap_err();
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    assert!(verify(&app).await.is_intact());
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
async fn concurrent_writers_and_sealers_on_two_pools_keep_every_record_in_a_verifiable_log() {
    let app = spawn_quiet_app().await;
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
    // Two sealers, one per pool, sealing while the writers write.
    let writers = futures_util::future::join_all(tasks);
    let sealers = async {
        let (signer, storage) = (&app.state.audit, &app.state.storage);
        for _ in 0..20 {
            seal_once(&app.state.db, signer, storage).await.unwrap();
            seal_once(&second, signer, storage).await.unwrap();
            tokio::task::yield_now().await;
        }
    };
    let (written, ()) = tokio::join!(writers, sealers);
    for task in written {
        task.unwrap();
    }
    seal(&app).await;

    let verification = verify(&app).await;
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!((verification.records, verification.unsealed), (200, 0));
    let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT entity_id) FROM audit_log")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(distinct, 200, "every record kept");
    second.close().await;
}

#[tokio::test]
async fn an_inclusion_proof_from_the_api_leads_to_the_signed_checkpoint() {
    let app = spawn_quiet_app().await;
    let token = app.api_token(shared::auth::Role::Auditor).await;
    for n in 0..6 {
        append(&app.state.db, n).await;
    }
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let get = |path: String| {
        app.new_client()
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
    };

    let unsealed = get(format!("/api/v1/audit/{last}/proof")).await.unwrap();
    assert_eq!(unsealed.status(), 409);
    assert!(
        unsealed.text().await.unwrap().contains("not sealed yet"),
        "problem+json says why"
    );
    assert_eq!(
        get("/api/v1/audit/999999/proof".into())
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        get("/api/v1/audit/abc/proof".into())
            .await
            .unwrap()
            .status(),
        404
    );

    seal(&app).await;
    for seq in [1, last - 2, last] {
        let response = get(format!("/api/v1/audit/{seq}/proof")).await.unwrap();
        assert_eq!(response.status(), 200);
        let proof: verify::InclusionProof = response.json().await.unwrap();
        assert_eq!(proof.seq, seq);
        assert!(proof.verifies(), "{proof:?}");
        let signature = base64_decode(&proof.signature);
        assert!(app.state.audit.verifies(&proof.checkpoint, &signature));
        assert!(proof.checkpoint.contains(&proof.root_hash));
        let mut wrong = proof.clone();
        wrong.leaf_index = (proof.leaf_index + 1) % proof.tree_size;
        assert!(!wrong.verifies());
    }

    let adjuster_token = app.api_token(shared::auth::Role::Adjuster).await;
    let refused = app
        .new_client()
        .get(app.url("/api/v1/audit/1/proof"))
        .bearer_auth(adjuster_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[tokio::test]
async fn auditors_list_the_trail_and_verify_it_from_the_audit_page() {
    use leptos::server_fn::ServerFn as _;
    let app = spawn_quiet_app().await;
    let (auditor, client) = app.signed_in(shared::auth::Role::Auditor).await;
    seal(&app).await;

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
    assert!(verified["first_broken"].is_null(), "{verified}");
    assert!(verified["checkpoints"].as_i64().unwrap() >= 1);
    assert!(page.contains("Verify the chain") && page.contains("auth.login_succeeded"));
}
