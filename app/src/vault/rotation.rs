//! Master-key rotation: re-wrap every data key (and the blind-index root)
//! under the primary master key, in batches, while the server keeps serving.
//!
//! Field ciphertexts do not change: they are encrypted under the
//! customers' data keys, which stay the same; only the wrapping changes.
//! Once nothing is wrapped by an older master key any more, that key can be
//! removed from `VANGUARD_MASTER_KEY_PREVIOUS`.

use std::collections::BTreeMap;

use serde_json::json;
use sqlx::Row as _;

use super::{BLIND_INDEX_ROOT, Vault, WrappedKey};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    db::Db,
};

/// Data keys re-wrapped per transaction.
pub const BATCH: i64 = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub primary: String,
    pub rewrapped: u64,
    /// Keys still wrapped by another master key, by its id (should be empty).
    pub remaining: BTreeMap<String, i64>,
}

pub async fn rotate(vault: &Vault, db: &Db) -> Result<RotationReport, super::VaultFailure> {
    let primary = vault.primary_key_id().to_owned();
    let mut rewrapped = 0_u64;

    // The blind-index root first, so searches keep working throughout.
    let mut tx = db.begin_write().await?;
    if let Some(row) = sqlx::query("SELECT kek_id, wrapped_key FROM vault_keys WHERE purpose = $1")
        .bind(BLIND_INDEX_ROOT)
        .fetch_optional(&mut *tx)
        .await?
    {
        let kek_id: String = row.try_get("kek_id")?;
        if kek_id != primary {
            let stored = WrappedKey {
                kek_id: kek_id.clone(),
                wrapped: row.try_get("wrapped_key")?,
            };
            let key = vault.unwrap_owned("vault_keys", BLIND_INDEX_ROOT, &stored)?;
            let wrapped = vault.wrap_owned("vault_keys", BLIND_INDEX_ROOT, &key)?;
            sqlx::query("UPDATE vault_keys SET kek_id = $1, wrapped_key = $2 WHERE purpose = $3 AND kek_id = $4")
                .bind(&primary)
                .bind(wrapped)
                .bind(BLIND_INDEX_ROOT)
                .bind(&kek_id)
                .execute(&mut *tx)
                .await?;
            rewrapped += 1;
        }
    }
    tx.commit().await?;

    // Webhook signing secrets and staff TOTP secrets: a handful of rows
    // each, one transaction per table.
    for (table, id_column) in [("webhook_endpoints", "id"), ("user_mfa", "user_id")] {
        rewrapped += rewrap_secrets(vault, db, &primary, table, id_column).await?;
    }

    loop {
        let mut tx = db.begin_write().await?;
        let rows = sqlx::query(
            "SELECT customer_id, kek_id, wrapped_key FROM customer_keys \
             WHERE kek_id <> $1 AND wrapped_key IS NOT NULL ORDER BY customer_id LIMIT $2",
        )
        .bind(&primary)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let customer_id: String = row.try_get("customer_id")?;
            let old = WrappedKey {
                kek_id: row.try_get("kek_id")?,
                wrapped: row.try_get("wrapped_key")?,
            };
            let dek = vault.unwrap_key(&customer_id, &old)?;
            let wrapped = vault.wrap_owned("customer_keys", &customer_id, &dek)?;
            sqlx::query("UPDATE customer_keys SET kek_id = $1, wrapped_key = $2 WHERE customer_id = $3 AND kek_id = $4")
                .bind(&primary)
                .bind(wrapped)
                .bind(&customer_id)
                .bind(&old.kek_id)
                .execute(&mut *tx)
                .await?;
        }
        rewrapped += rows.len() as u64;
        tx.commit().await?;
    }

    // Destroyed keys have nothing to re-wrap; moving their label lets the
    // old master key retire.
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE customer_keys SET kek_id = $1 WHERE wrapped_key IS NULL AND kek_id <> $1")
        .bind(&primary)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        &AuditContext::system("server rotate-keys"),
        AuditEvent {
            action: "vault.keys_rotated",
            entity_type: "master_key",
            entity_id: Some(&primary),
            details: json!({ "rewrapped": rewrapped }),
        },
    )
    .await?;
    tx.commit().await?;

    let mut remaining = BTreeMap::new();
    for row in sqlx::query(
        "SELECT kek_id, COUNT(*) AS keys FROM customer_keys WHERE kek_id <> $1 GROUP BY kek_id",
    )
    .bind(&primary)
    .fetch_all(db.pool())
    .await?
    {
        remaining.insert(row.try_get("kek_id")?, row.try_get("keys")?);
    }
    Ok(RotationReport {
        primary,
        rewrapped,
        remaining,
    })
}

/// Re-wraps every `wrapped_secret` of `table` (rows named by `id_column`)
/// that an older master key wrapped. The names are this module's constants.
async fn rewrap_secrets(
    vault: &Vault,
    db: &Db,
    primary: &str,
    table: &'static str,
    id_column: &'static str,
) -> Result<u64, super::VaultFailure> {
    let mut tx = db.begin_write().await?;
    let rows = sqlx::query(&format!(
        "SELECT {id_column} AS id, kek_id, wrapped_secret FROM {table} WHERE kek_id <> $1"
    ))
    .bind(primary)
    .fetch_all(&mut *tx)
    .await?;
    for row in &rows {
        let id: String = row.try_get("id")?;
        let old = WrappedKey {
            kek_id: row.try_get("kek_id")?,
            wrapped: row.try_get("wrapped_secret")?,
        };
        let secret = vault.unwrap_owned(table, &id, &old)?;
        sqlx::query(&format!(
            "UPDATE {table} SET kek_id = $1, wrapped_secret = $2 WHERE {id_column} = $3 AND kek_id = $4"
        ))
        .bind(primary)
        .bind(vault.wrap_owned(table, &id, &secret)?)
        .bind(&id)
        .bind(&old.kek_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}
