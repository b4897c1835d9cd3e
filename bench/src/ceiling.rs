//! Vanguard's ingestion SQL replayed: the SQL of one idempotent claim
//! ingestion, run straight through sqlx with no HTTP, JSON, authentication
//! or encryption around it, by the same number of concurrent tasks as the
//! HTTP load. Not the ceiling (that is the engine's own, `write_ceiling`):
//! an info figure that tells whether ingestion's cost is in its statements
//! or around them.
//!
//! The statements copy, in order, what `POST /api/v1/claims` sends with an
//! `Idempotency-Key` and a claimant (`app/src/claims/ssr.rs` `ingest` and
//! `insert`, `app/src/workflow/ssr.rs` `start_execution`,
//! `app/src/audit/ssr.rs` `append`): the key look-up on the pool, then one
//! write transaction (`BEGIN IMMEDIATE` on SQLite) that claims the key,
//! finds the policy and the customer's wrapped key, bumps the claim
//! counter, inserts the claim, its two lines, the execution and its first
//! job, moves the audit head, appends the hash-chained audit record and
//! stores the answer under the key. The pool has the pragmas of
//! `app/src/db.rs` (WAL, `synchronous=FULL`, foreign keys, busy timeout).
//! Not included: the bearer token's client look-up, which is
//! authentication rather than ingestion.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use sqlx::{
    AnyPool, Row as _,
    any::{AnyPoolOptions, install_default_drivers},
};

use crate::{load, server::Engine, stats::Summary};

/// A policy claims can name, from the seeded ceiling database.
#[derive(Debug, Clone)]
struct Policy {
    id: String,
    number: String,
    customer_id: String,
}

/// Opens a pool like the server's: `size` connections, the server's
/// SQLite pragmas.
pub async fn pool(engine: Engine, url: &str, size: u32) -> anyhow::Result<AnyPool> {
    install_default_drivers();
    let mut options = AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(5));
    if engine == Engine::Sqlite {
        options = options.after_connect(|conn, _meta| {
            Box::pin(async move {
                use sqlx::Executor as _;
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA busy_timeout = 5000").await?;
                Ok(())
            })
        });
    }
    options
        .connect(url)
        .await
        .context("cannot open the ceiling database")
}

/// Runs the ceiling: `tasks` loops of one ingestion transaction each, for
/// `warmup` and then `window`.
pub async fn run(
    engine: Engine,
    pool: AnyPool,
    tasks: usize,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Summary> {
    let policies: Vec<Policy> = sqlx::query(
        "SELECT p.id, p.policy_number, p.customer_id FROM policies p \
         JOIN customer_keys k ON k.customer_id = p.customer_id WHERE p.status = 'active' ORDER BY p.policy_number",
    )
    .fetch_all(&pool)
    .await?
    .iter()
    .map(|row| {
        Ok(Policy {
            id: row.try_get("id")?,
            number: row.try_get("policy_number")?,
            customer_id: row.try_get("customer_id")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    anyhow::ensure!(
        !policies.is_empty(),
        "the ceiling database has no active policy (did `server seed-demo` run?)"
    );
    let policies = Arc::new(policies);
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let summary = load::closed_loop(tasks, warmup, window, move |task, sequence| {
        let pool = pool.clone();
        let policies = Arc::clone(&policies);
        let key = format!("ceiling-{run_id}-{task}-{sequence}");
        async move {
            let policy = policies
                .get(task % policies.len())
                .context("no policy for this task")?;
            ingest_once(engine, &pool, policy, &key).await
        }
    })
    .await?;
    Ok(summary)
}

/// The caller the idempotency keys are scoped to (there is no foreign key).
const CALLER: &str = "bench-ceiling";

pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A sealed field's size: version byte, 24-byte nonce, text, 16-byte tag.
fn envelope(text: &str) -> Vec<u8> {
    vec![1_u8; 1 + 24 + text.len() + 16]
}

async fn ingest_once(
    engine: Engine,
    pool: &AnyPool,
    policy: &Policy,
    key: &str,
) -> anyhow::Result<()> {
    let request_hash = hex(&Sha256::digest(key.as_bytes()));
    // The replay check, on the pool, before the transaction.
    let replay = sqlx::query(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE caller = $1 AND idem_key = $2",
    )
    .bind(CALLER)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    anyhow::ensure!(replay.is_none(), "a fresh key was already stored");

    let mut tx = match engine {
        Engine::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Engine::Postgres => pool.begin().await?,
    };
    let now = now_micros();
    sqlx::query(
        "INSERT INTO idempotency_keys (caller, idem_key, request_hash, status, response, created_at) \
         VALUES ($1, $2, $3, 0, '', $4)",
    )
    .bind(CALLER)
    .bind(key)
    .bind(&request_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let found = sqlx::query("SELECT id, customer_id FROM policies WHERE policy_number = $1")
        .bind(&policy.number)
        .fetch_one(&mut *tx)
        .await?;
    let policy_id: String = found.try_get("id")?;
    let customer_id: String = found.try_get("customer_id")?;
    anyhow::ensure!(
        policy_id == policy.id && customer_id == policy.customer_id,
        "policy look-up"
    );
    let wrapped =
        sqlx::query("SELECT kek_id, wrapped_key FROM customer_keys WHERE customer_id = $1")
            .bind(&customer_id)
            .fetch_optional(&mut *tx)
            .await?;
    anyhow::ensure!(wrapped.is_some(), "the customer has no data key");
    let year = time::OffsetDateTime::now_utc().year();
    let incident_date = crate::fixtures::days_from_today(-1)?;
    let sequence: i64 = sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .bind(format!("claim:{year}"))
    .fetch_one(&mut *tx)
    .await?;
    let claim_id = uuid::Uuid::now_v7().to_string();
    // Its own series ("C"): on PostgreSQL the server numbers claims from a
    // sequence that started above this counter, so plain numbers collide.
    let number = format!("CLM-{year}-C{sequence:06}");
    sqlx::query(
        "INSERT INTO claims (id, claim_number, policy_id, customer_id, status, incident_date, description, \
         currency, total_claimed, claimant_name, claimant_email, claimant_phone, fraud_flags, source, \
         version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '[]', $13, 1, $14, $14)",
    )
    .bind(&claim_id)
    .bind(&number)
    .bind(&policy_id)
    .bind(&customer_id)
    .bind("submitted")
    .bind(&incident_date)
    .bind(crate::fixtures::CLAIM_DESCRIPTION)
    .bind("USD")
    .bind(120_000_i64)
    .bind(envelope("Robin Vale"))
    .bind(envelope("robin.vale@example.com"))
    .bind(envelope("+44 20 7946 0001"))
    .bind("api")
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO claim_lines (claim_id, position, code, description, amount) VALUES \
         ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)",
    )
    .bind(&claim_id)
    .bind(0_i64)
    .bind("PLUMB")
    .bind(Some("Emergency plumber"))
    .bind(60_000_i64)
    .bind(&claim_id)
    .bind(1_i64)
    .bind("FLOOR")
    .bind(None::<String>)
    .bind(60_000_i64)
    .execute(&mut *tx)
    .await?;
    let execution_id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO executions (id, claim_id, state, created_at, updated_at) VALUES ($1, $2, 'running', $3, $3)",
    )
    .bind(&execution_id)
    .bind(&claim_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO jobs (id, execution_id, claim_id, step, state, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $6, $6) ON CONFLICT (execution_id, step) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&execution_id)
    .bind(&claim_id)
    .bind("check_coverage")
    .bind(5_i64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // The audit append: one INSERT (the sealer hashes it into the Merkle
    // log later, outside the request).
    let audit_id = uuid::Uuid::now_v7().to_string();
    let details = serde_json::json!({ "after": {
        "claim_number": number, "policy_number": policy.number, "incident_date": incident_date,
        "total_claimed": { "amount": 120_000, "currency": "USD" }, "lines": 2,
        "claimant_given": true, "source": "api", "execution_id": execution_id,
    }})
    .to_string();
    sqlx::query(
        "INSERT INTO audit_log (id, occurred_at, actor_kind, actor_id, actor_label, action, \
         entity_type, entity_id, details, correlation_id, client_ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&audit_id)
    .bind(now)
    .bind("api_client")
    .bind(CALLER)
    .bind("bench")
    .bind("claim.submitted")
    .bind("claim")
    .bind(&claim_id)
    .bind(&details)
    .bind(key)
    .bind("127.0.0.1")
    .execute(&mut *tx)
    .await?;
    let response = serde_json::json!({
        "id": claim_id, "claim_number": number, "status": "submitted", "execution_id": execution_id,
    })
    .to_string();
    sqlx::query(
        "UPDATE idempotency_keys SET status = 202, response = $3 WHERE caller = $1 AND idem_key = $2",
    )
    .bind(CALLER)
    .bind(key)
    .bind(&response)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
