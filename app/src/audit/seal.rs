//! The sealer: folds committed, unsealed records into the Merkle log and
//! signs a checkpoint over it, then exports the checkpoint.
//!
//! One sealer at a time across replicas: on PostgreSQL the sealing
//! transaction takes `pg_try_advisory_xact_lock` (a replica that does not
//! get it skips this round); SQLite has a single writer anyway. Sealing
//! order is the log order: records are taken by `seq` among those
//! committed and still unsealed, so a record whose transaction commits
//! late, with a lower `seq` than records already sealed, simply gets a
//! later leaf index. Each seal reads only the new records and the last
//! checkpoint's frontier: O(new leaves + log n).

use std::{sync::Arc, time::Duration};

use base64::Engine as _;
use sqlx::Row as _;

use super::{
    merkle::Frontier,
    signing::{AuditSigner, ORIGIN, checkpoint_note},
    ssr::{RECORD_COLUMNS, StoredRecord},
};
use crate::{
    db::{Db, Engine, now_micros},
    encoding::hex,
    lifecycle::Lifecycle,
    storage::Storage,
};

/// The advisory lock key of the sealer ("VGAUDIT" in ASCII).
const SEALER_LOCK: i64 = 0x0056_4741_5544_4954;
/// Records read (and updated in one statement) per round trip.
const BATCH: i64 = 1_000;
/// At most this many records per seal, to bound the transaction; the rest
/// goes into the next checkpoint.
const MAX_PER_SEAL: usize = 100_000;
/// Checkpoints exported per seal (a backlog after an outage drains over
/// several seals).
const EXPORT_BATCH: i64 = 100;

/// What one call of [`seal_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    /// Nothing new to seal.
    Nothing,
    /// Another replica is sealing right now.
    Busy,
    /// A checkpoint of `tree_size` leaves, `new_leaves` of them new.
    Checkpoint { tree_size: i64, new_leaves: i64 },
}

fn corrupt(message: String) -> sqlx::Error {
    sqlx::Error::Protocol(message)
}

/// Seals what is committed and unsealed into a signed checkpoint (in one
/// transaction), then exports the checkpoints not yet in object storage.
/// An export failure is logged and retried at the next seal: the
/// checkpoint is safe in the database meanwhile.
pub async fn seal_once(
    db: &Db,
    signer: &AuditSigner,
    storage: &Storage,
) -> Result<Sealed, sqlx::Error> {
    let sealed = seal(db, signer).await?;
    if let Err(error) = export_pending(db, storage).await {
        tracing::warn!(%error, "could not export audit checkpoints; retrying at the next seal");
    }
    Ok(sealed)
}

async fn seal(db: &Db, signer: &AuditSigner) -> Result<Sealed, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if db.engine() == Engine::Postgres {
        let got: i64 = sqlx::query_scalar(
            "SELECT (CASE WHEN pg_try_advisory_xact_lock($1) THEN 1 ELSE 0 END)::BIGINT",
        )
        .bind(SEALER_LOCK)
        .fetch_one(&mut *tx)
        .await?;
        if got == 0 {
            return Ok(Sealed::Busy);
        }
    }
    let last = sqlx::query(
        "SELECT tree_size, frontier FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let mut frontier = match last {
        None => Frontier::default(),
        Some(row) => {
            let size: i64 = row.try_get("tree_size")?;
            let text: String = row.try_get("frontier")?;
            u64::try_from(size)
                .ok()
                .and_then(|size| Frontier::decode(size, &text))
                .ok_or_else(|| corrupt(format!("checkpoint {size} has an unreadable frontier")))?
        }
    };
    let before = frontier.size();

    let select = format!(
        "SELECT {RECORD_COLUMNS} FROM audit_log WHERE leaf_index IS NULL ORDER BY seq LIMIT $1"
    );
    let mut sealed = 0_usize;
    loop {
        let rows = sqlx::query(&select).bind(BATCH).fetch_all(&mut *tx).await?;
        let mut leaves = Vec::with_capacity(rows.len());
        for row in &rows {
            let record = StoredRecord::from_row(row)?;
            let index = i64::try_from(frontier.size()).unwrap_or(i64::MAX);
            let hash = record.leaf_hash(index)?;
            frontier.push(hash);
            leaves.push((record.seq, index, hex(&hash)));
        }
        set_leaves(&mut tx, &leaves).await?;
        sealed += leaves.len();
        if (rows.len() as i64) < BATCH || sealed >= MAX_PER_SEAL {
            break;
        }
    }
    if sealed == 0 {
        return Ok(Sealed::Nothing);
    }

    let tree_size = i64::try_from(frontier.size()).unwrap_or(i64::MAX);
    let root = hex(&frontier.root());
    let sealed_at = now_micros();
    let note = checkpoint_note(ORIGIN, tree_size, &root, sealed_at);
    let signature = base64::engine::general_purpose::STANDARD.encode(signer.sign(&note));
    sqlx::query(
        "INSERT INTO audit_checkpoints \
         (tree_size, root_hash, frontier, origin, sealed_at, key_id, signature, exported) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
    )
    .bind(tree_size)
    .bind(&root)
    .bind(frontier.encode())
    .bind(ORIGIN)
    .bind(sealed_at)
    .bind(signer.key_id())
    .bind(&signature)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Sealed::Checkpoint {
        tree_size,
        new_leaves: i64::try_from(frontier.size() - before).unwrap_or(i64::MAX),
    })
}

/// Sets the leaves of a batch in one statement (`UPDATE ... FROM VALUES`,
/// which both engines name `column1..3`).
async fn set_leaves(
    conn: &mut sqlx::AnyConnection,
    leaves: &[(i64, i64, String)],
) -> Result<(), sqlx::Error> {
    if leaves.is_empty() {
        return Ok(());
    }
    let values = (0..leaves.len())
        .map(|row| format!("({})", crate::db::placeholders(1 + row * 3, 3)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE audit_log SET leaf_index = v.column2, leaf_hash = v.column3 \
         FROM (VALUES {values}) AS v WHERE audit_log.seq = v.column1"
    );
    let mut update = sqlx::query(&sql);
    for (seq, index, hash) in leaves {
        update = update.bind(*seq).bind(*index).bind(hash);
    }
    let done = update.execute(&mut *conn).await?.rows_affected();
    if done != leaves.len() as u64 {
        return Err(corrupt(format!(
            "sealing set {done} of {} leaves",
            leaves.len()
        )));
    }
    Ok(())
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Storage(#[from] crate::storage::StorageError),
}

/// The object keys of a checkpoint's note and raw 64-byte signature.
pub fn export_keys(tree_size: i64) -> (String, String) {
    (
        format!("audit/checkpoints/{tree_size}.txt"),
        format!("audit/checkpoints/{tree_size}.sig"),
    )
}

/// Writes the checkpoints not yet exported to object storage, oldest
/// first, and marks them; stops at the first failure.
async fn export_pending(db: &Db, storage: &Storage) -> Result<(), ExportError> {
    let rows = sqlx::query(
        "SELECT tree_size, root_hash, origin, sealed_at, signature FROM audit_checkpoints \
         WHERE exported = 0 ORDER BY tree_size LIMIT $1",
    )
    .bind(EXPORT_BATCH)
    .fetch_all(db.pool())
    .await?;
    for row in rows {
        let tree_size: i64 = row.try_get("tree_size")?;
        let root: String = row.try_get("root_hash")?;
        let origin: String = row.try_get("origin")?;
        let sealed_at: i64 = row.try_get("sealed_at")?;
        let signature: String = row.try_get("signature")?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|e| {
                corrupt(format!(
                    "checkpoint {tree_size}: bad signature encoding: {e}"
                ))
            })?;
        let (note_key, sig_key) = export_keys(tree_size);
        let note = checkpoint_note(&origin, tree_size, &root, sealed_at);
        storage.put(&note_key, note.into_bytes()).await?;
        storage.put(&sig_key, signature).await?;
        sqlx::query("UPDATE audit_checkpoints SET exported = 1 WHERE tree_size = $1")
            .bind(tree_size)
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

/// Seals every `interval` until the process drains (run next to the
/// workers; every replica may run one, the lock lets one seal at a time).
pub fn spawn_sealer(
    db: Db,
    signer: Arc<AuditSigner>,
    storage: Storage,
    lifecycle: Lifecycle,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !lifecycle.is_draining() {
            ticks.tick().await;
            match seal_once(&db, &signer, &storage).await {
                Ok(Sealed::Checkpoint {
                    tree_size,
                    new_leaves,
                }) => tracing::debug!(tree_size, new_leaves, "audit checkpoint signed"),
                Ok(Sealed::Nothing | Sealed::Busy) => {}
                Err(error) => tracing::warn!(%error, "could not seal the audit log"),
            }
        }
    })
}
