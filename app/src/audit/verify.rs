//! Verifying the Merkle log, and inclusion proofs for one record.
//!
//! [`verify`] reads the sealed records in leaf order (about 5,000 per round
//! trip), recomputes each leaf hash from the stored contents, rebuilds the
//! tree incrementally and, at every checkpoint's size, compares the root
//! and checks the checkpoint's signature with the audit public key. So an
//! edited, deleted, renumbered or moved record, a leaf hash or root
//! rewritten with SQL, and a checkpoint signed with another key are all
//! reported, naming the first record or checkpoint that does not hold.

use std::collections::VecDeque;

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

use super::{
    merkle::{self, Frontier, Hash},
    signing::checkpoint_note,
    ssr::{RECORD_COLUMNS, StoredRecord},
};
use crate::{db::Db, encoding::hex};

/// Rows read per round trip.
const BATCH: i64 = 5_000;

/// The outcome of verifying the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Sealed records verified (those covered by a good checkpoint).
    pub records: i64,
    /// Checkpoints whose root and signature verified.
    pub checkpoints: i64,
    /// Records committed but not sealed yet (not a break: the sealer folds
    /// them in within about a second).
    pub unsealed: i64,
    /// The first record or checkpoint that does not hold, if any.
    pub first_broken: Option<BrokenLink>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Where verification stopped, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenLink {
    /// The record at fault, when it is a record.
    pub seq: Option<i64>,
    /// The checkpoint (by tree size) at fault, when it is a checkpoint.
    pub tree_size: Option<i64>,
    pub reason: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.seq, self.tree_size) {
            (Some(seq), _) => write!(f, "record {seq}: {}", self.reason),
            (None, Some(size)) => write!(f, "checkpoint {size}: {}", self.reason),
            (None, None) => f.write_str(&self.reason),
        }
    }
}

/// A checkpoint row.
struct Checkpoint {
    tree_size: i64,
    root_hash: String,
    origin: String,
    sealed_at: i64,
    key_id: String,
    signature: String,
}

const CHECKPOINT_COLUMNS: &str = "tree_size, root_hash, origin, sealed_at, key_id, signature";

impl Checkpoint {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            tree_size: row.try_get("tree_size")?,
            root_hash: row.try_get("root_hash")?,
            origin: row.try_get("origin")?,
            sealed_at: row.try_get("sealed_at")?,
            key_id: row.try_get("key_id")?,
            signature: row.try_get("signature")?,
        })
    }

    fn note(&self) -> String {
        checkpoint_note(
            &self.origin,
            self.tree_size,
            &self.root_hash,
            self.sealed_at,
        )
    }

    fn signature_bytes(&self) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.signature)
            .ok()
    }

    fn signed_by(&self, key: &VerifyingKey) -> bool {
        self.signature_bytes()
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .is_some_and(|sig| key.verify(self.note().as_bytes(), &sig).is_ok())
    }
}

/// Checkpoints in tree-size order, read in batches.
struct Checkpoints<'a> {
    db: &'a Db,
    buffered: VecDeque<Checkpoint>,
    after: i64,
    done: bool,
}

impl<'a> Checkpoints<'a> {
    fn new(db: &'a Db) -> Self {
        Self {
            db,
            buffered: VecDeque::new(),
            after: -1,
            done: false,
        }
    }

    async fn next(&mut self) -> Result<Option<Checkpoint>, sqlx::Error> {
        if self.buffered.is_empty() && !self.done {
            let rows = sqlx::query(&format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE tree_size > $1 \
                 ORDER BY tree_size LIMIT $2"
            ))
            .bind(self.after)
            .bind(BATCH)
            .fetch_all(self.db.pool())
            .await?;
            self.done = (rows.len() as i64) < BATCH;
            for row in &rows {
                let checkpoint = Checkpoint::from_row(row)?;
                self.after = checkpoint.tree_size;
                self.buffered.push_back(checkpoint);
            }
        }
        Ok(self.buffered.pop_front())
    }
}

/// Verifies the whole log against `key` (the audit public key).
pub async fn verify(db: &Db, key: &VerifyingKey) -> Result<Verification, sqlx::Error> {
    let unsealed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE leaf_index IS NULL")
            .fetch_one(db.pool())
            .await?;
    let mut outcome = Verification {
        records: 0,
        checkpoints: 0,
        unsealed,
        first_broken: None,
    };
    let broken = |mut outcome: Verification, seq, tree_size, reason: String| {
        outcome.first_broken = Some(BrokenLink {
            seq,
            tree_size,
            reason,
        });
        Ok(outcome)
    };

    let mut checkpoints = Checkpoints::new(db);
    let mut next_checkpoint = checkpoints.next().await?;
    let mut frontier = Frontier::default();
    let mut expected = 0_i64;
    let select = format!(
        "SELECT {RECORD_COLUMNS}, leaf_index, leaf_hash FROM audit_log \
         WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2"
    );
    loop {
        let rows = sqlx::query(&select)
            .bind(expected)
            .bind(BATCH)
            .fetch_all(db.pool())
            .await?;
        let batch_len = rows.len();
        for row in rows {
            let record = StoredRecord::from_row(&row)?;
            let index: i64 = row.try_get("leaf_index")?;
            if index != expected {
                return broken(
                    outcome,
                    Some(record.seq),
                    None,
                    format!(
                        "leaf {expected} is missing before it (a sealed record was deleted); \
                         this record is leaf {index}"
                    ),
                );
            }
            let stored: Option<String> = row.try_get("leaf_hash")?;
            let computed = record.leaf_hash(index)?;
            if stored.as_deref().and_then(merkle::parse_hash) != Some(computed) {
                return broken(
                    outcome,
                    Some(record.seq),
                    None,
                    format!(
                        "its contents do not match its sealed leaf hash (leaf {index}: the \
                         record was altered, renumbered or moved)"
                    ),
                );
            }
            frontier.push(computed);
            expected += 1;
            while let Some(checkpoint) = next_checkpoint.take_if(|c| c.tree_size <= expected) {
                if checkpoint.tree_size < expected {
                    return broken(
                        outcome,
                        None,
                        Some(checkpoint.tree_size),
                        "its size is not a position in the log".into(),
                    );
                }
                if checkpoint.root_hash != hex(&frontier.root()) {
                    return broken(
                        outcome,
                        None,
                        Some(checkpoint.tree_size),
                        "its root hash does not match the records it covers (a record, its \
                         leaf hash or the checkpoint was rewritten)"
                            .into(),
                    );
                }
                if !checkpoint.signed_by(key) {
                    return broken(
                        outcome,
                        None,
                        Some(checkpoint.tree_size),
                        format!(
                            "its signature does not verify with the audit public key (it \
                             claims key {}: forged, or signed with another key)",
                            checkpoint.key_id
                        ),
                    );
                }
                outcome.records = checkpoint.tree_size;
                outcome.checkpoints += 1;
                next_checkpoint = checkpoints.next().await?;
            }
        }
        if (batch_len as i64) < BATCH {
            break;
        }
    }

    if let Some(checkpoint) = next_checkpoint {
        return broken(
            outcome,
            None,
            Some(checkpoint.tree_size),
            format!(
                "it covers {} records but only {expected} sealed records remain (sealed \
                 records were deleted)",
                checkpoint.tree_size
            ),
        );
    }
    if expected > outcome.records {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM audit_log WHERE leaf_index = $1")
                .bind(outcome.records)
                .fetch_optional(db.pool())
                .await?;
        return broken(
            outcome.clone(),
            seq,
            None,
            format!(
                "it claims leaf index {} but no signed checkpoint covers it",
                outcome.records
            ),
        );
    }
    Ok(outcome)
}

/// An inclusion proof of one record in the latest checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub seq: i64,
    pub leaf_index: i64,
    /// Hex.
    pub leaf_hash: String,
    pub tree_size: i64,
    /// Hex.
    pub root_hash: String,
    /// RFC 9162 audit path, bottom up, hex.
    pub audit_path: Vec<String>,
    /// The signed checkpoint note, byte for byte.
    pub checkpoint: String,
    /// Base64 Ed25519 signature over `checkpoint`.
    pub signature: String,
    pub key_id: String,
}

impl InclusionProof {
    /// Whether the path leads from the leaf to the root (RFC 9162
    /// 2.1.3.2). The caller still checks the checkpoint's signature.
    pub fn verifies(&self) -> bool {
        let (Some(leaf), Some(root)) = (
            merkle::parse_hash(&self.leaf_hash),
            merkle::parse_hash(&self.root_hash),
        ) else {
            return false;
        };
        let Some(path) = self
            .audit_path
            .iter()
            .map(|h| merkle::parse_hash(h))
            .collect::<Option<Vec<_>>>()
        else {
            return false;
        };
        match (
            u64::try_from(self.leaf_index),
            u64::try_from(self.tree_size),
        ) {
            (Ok(index), Ok(size)) => merkle::verify_inclusion(index, size, &leaf, &path, &root),
            _ => false,
        }
    }
}

/// What [`proof`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofLookup {
    NotFound,
    /// Committed but not in a checkpoint yet.
    NotSealed,
    Proof(Box<InclusionProof>),
}

/// The inclusion proof of record `seq` in the latest checkpoint. It reads
/// the 32-byte leaf hashes of the whole tree (no interior nodes are
/// stored), so it costs O(n): about a second per million records.
pub async fn proof(db: &Db, seq: i64) -> Result<ProofLookup, sqlx::Error> {
    let Some(row) = sqlx::query("SELECT leaf_index, leaf_hash FROM audit_log WHERE seq = $1")
        .bind(seq)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(ProofLookup::NotFound);
    };
    let (Some(leaf_index), Some(leaf_hash)) = (
        row.try_get::<Option<i64>, _>("leaf_index")?,
        row.try_get::<Option<String>, _>("leaf_hash")?,
    ) else {
        return Ok(ProofLookup::NotSealed);
    };
    let Some(row) = sqlx::query(&format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1"
    ))
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(ProofLookup::NotSealed);
    };
    let checkpoint = Checkpoint::from_row(&row)?;
    if leaf_index >= checkpoint.tree_size {
        return Ok(ProofLookup::NotSealed);
    }

    let mut leaves: Vec<Hash> =
        Vec::with_capacity(usize::try_from(checkpoint.tree_size).unwrap_or(0));
    while (leaves.len() as i64) < checkpoint.tree_size {
        let rows = sqlx::query(
            "SELECT leaf_hash FROM audit_log WHERE leaf_index >= $1 AND leaf_index < $2 \
             ORDER BY leaf_index LIMIT $3",
        )
        .bind(leaves.len() as i64)
        .bind(checkpoint.tree_size)
        .bind(BATCH)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let hash: Option<String> = row.try_get("leaf_hash")?;
            // A damaged leaf gives a proof that does not verify, which is
            // the truth; `verify` names the damage.
            leaves.push(
                hash.as_deref()
                    .and_then(merkle::parse_hash)
                    .unwrap_or([0; 32]),
            );
        }
    }
    let index = usize::try_from(leaf_index).unwrap_or(usize::MAX);
    let audit_path = merkle::inclusion_proof(&leaves, index)
        .iter()
        .map(|h| hex(h))
        .collect();
    Ok(ProofLookup::Proof(Box::new(InclusionProof {
        seq,
        leaf_index,
        leaf_hash,
        tree_size: checkpoint.tree_size,
        root_hash: checkpoint.root_hash.clone(),
        audit_path,
        checkpoint: checkpoint.note(),
        signature: checkpoint.signature.clone(),
        key_id: checkpoint.key_id.clone(),
    })))
}
