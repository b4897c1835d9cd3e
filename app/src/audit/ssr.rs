//! Appending to and verifying the audit chain (all of the trail's SQL).

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, Row as _};

use crate::db::{Db, new_id, now_micros};

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A member of staff, by user id and email.
    User { id: String, label: String },
    /// A partner system, by client id and name.
    ApiClient { id: String, label: String },
    /// Vanguard itself (workers, operator commands).
    System(&'static str),
    /// Nobody authenticated (failed logins, refused calls).
    Anonymous,
}

impl Actor {
    /// The user or API client id; `None` for Vanguard itself and nobody.
    pub fn id(&self) -> Option<&str> {
        self.parts().1
    }

    fn parts(&self) -> (&'static str, Option<&str>, Option<&str>) {
        match self {
            Actor::User { id, label } => ("user", Some(id), Some(label)),
            Actor::ApiClient { id, label } => ("api_client", Some(id), Some(label)),
            Actor::System(name) => ("system", None, Some(name)),
            Actor::Anonymous => ("anonymous", None, None),
        }
    }
}

/// Who, and within which request.
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub actor: Actor,
    pub correlation_id: Option<String>,
    pub client_ip: Option<String>,
}

impl AuditContext {
    /// For operator commands and background work outside any request.
    pub fn system(name: &'static str) -> Self {
        Self {
            actor: Actor::System(name),
            correlation_id: None,
            client_ip: None,
        }
    }
}

/// What happened. `details` must not contain secrets or unredacted PII.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// `feature.verb`, e.g. `auth.login_failed`, `claim.approved`.
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<&'a str>,
    pub details: serde_json::Value,
}

/// The hashed form of a record. Field order is fixed by the struct, and
/// every value is hashed exactly as it is stored (details as its JSON text,
/// instants as integers), so verification never depends on re-encoding.
#[derive(Serialize)]
struct Canonical<'a> {
    id: &'a str,
    occurred_at: i64,
    actor_kind: &'a str,
    actor_id: Option<&'a str>,
    actor_label: Option<&'a str>,
    action: &'a str,
    entity_type: &'a str,
    entity_id: Option<&'a str>,
    details: &'a str,
    correlation_id: Option<&'a str>,
    client_ip: Option<&'a str>,
}

fn chain_hash(prev_hash: &str, seq: i64, record: &Canonical<'_>) -> Result<String, sqlx::Error> {
    let canonical = serde_json::to_string(record).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"|");
    hasher.update(seq.to_string().as_bytes());
    hasher.update(b"|");
    hasher.update(canonical.as_bytes());
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// An audit record to append later in the same transaction, with others
/// ([`append_all`]): a batch of pipeline steps appends its records in one
/// go at the end, so it takes the chain's head once and late.
#[derive(Debug, Clone)]
pub struct Pending {
    context: AuditContext,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    details: String,
}

impl Pending {
    pub fn new(context: &AuditContext, event: AuditEvent<'_>) -> Self {
        Self {
            context: context.clone(),
            action: event.action.to_owned(),
            entity_type: event.entity_type.to_owned(),
            entity_id: event.entity_id.map(str::to_owned),
            details: event.details.to_string(),
        }
    }
}

/// Appends one record inside the caller's write transaction and returns its
/// sequence number.
pub async fn append(
    conn: &mut AnyConnection,
    context: &AuditContext,
    event: AuditEvent<'_>,
) -> Result<i64, sqlx::Error> {
    append_all(conn, &[Pending::new(context, event)]).await
}

/// Appends `records`, in order, inside the caller's write transaction, in
/// three statements whatever their number; returns the first one's sequence
/// number (0 when there are none).
///
/// The first statement moves the head forward by the number of records; it
/// takes the head row's lock on PostgreSQL (held until the caller commits)
/// and runs under SQLite's single writer lock, so no two writers can chain
/// onto the same record. Keep it late in the transaction: the lock is held
/// until commit.
pub async fn append_all(conn: &mut AnyConnection, records: &[Pending]) -> Result<i64, sqlx::Error> {
    if records.is_empty() {
        return Ok(0);
    }
    let count = i64::try_from(records.len()).unwrap_or(i64::MAX);
    let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(count)
        .fetch_one(&mut *conn)
        .await?;
    let first: i64 = head.try_get::<i64, _>("seq")? - count + 1;
    let mut prev_hash: String = head.try_get("hash")?;

    // Stamped under the head's lock: instants rise with sequence numbers.
    let occurred_at = now_micros();
    let mut rows = Vec::with_capacity(records.len());
    for (seq, pending) in (first..).zip(records) {
        let (actor_kind, actor_id, actor_label) = pending.context.actor.parts();
        let id = new_id();
        let record = Canonical {
            id: &id,
            occurred_at,
            actor_kind,
            actor_id,
            actor_label,
            action: &pending.action,
            entity_type: &pending.entity_type,
            entity_id: pending.entity_id.as_deref(),
            details: &pending.details,
            correlation_id: pending.context.correlation_id.as_deref(),
            client_ip: pending.context.client_ip.as_deref(),
        };
        let hash = chain_hash(&prev_hash, seq, &record)?;
        rows.push((
            seq,
            id,
            std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        ));
    }

    const COLUMNS: usize = 14;
    let values = (0..records.len())
        .map(|row| format!("({})", crate::db::placeholders(1 + row * COLUMNS, COLUMNS)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO audit_log (seq, id, occurred_at, actor_kind, actor_id, actor_label, action, \
         entity_type, entity_id, details, correlation_id, client_ip, prev_hash, hash) VALUES {values}"
    );
    let mut insert = sqlx::query(&sql);
    for ((seq, id, prev, hash), pending) in rows.iter().zip(records) {
        let (actor_kind, actor_id, actor_label) = pending.context.actor.parts();
        insert = insert
            .bind(*seq)
            .bind(id)
            .bind(occurred_at)
            .bind(actor_kind)
            .bind(actor_id)
            .bind(actor_label)
            .bind(&pending.action)
            .bind(&pending.entity_type)
            .bind(&pending.entity_id)
            .bind(&pending.details)
            .bind(&pending.context.correlation_id)
            .bind(&pending.context.client_ip)
            .bind(prev)
            .bind(hash);
    }
    insert.execute(&mut *conn).await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev_hash)
        .execute(&mut *conn)
        .await?;
    Ok(first)
}

/// Appends one record in a transaction of its own, for events that change
/// nothing else (a failed login, a refused call).
pub async fn append_now(
    db: &Db,
    context: &AuditContext,
    event: AuditEvent<'_>,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let seq = append(&mut tx, context, event).await?;
    tx.commit().await?;
    Ok(seq)
}

/// The outcome of recomputing the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Verification {
    /// Records checked.
    pub records: i64,
    /// The first record that does not chain, if any.
    pub first_broken: Option<BrokenLink>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// A record as read back for verification.
struct StoredRecord {
    id: String,
    occurred_at: i64,
    actor_kind: String,
    actor_id: Option<String>,
    actor_label: Option<String>,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    details: String,
    correlation_id: Option<String>,
    client_ip: Option<String>,
}

impl StoredRecord {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            occurred_at: row.try_get("occurred_at")?,
            actor_kind: row.try_get("actor_kind")?,
            actor_id: row.try_get("actor_id")?,
            actor_label: row.try_get("actor_label")?,
            action: row.try_get("action")?,
            entity_type: row.try_get("entity_type")?,
            entity_id: row.try_get("entity_id")?,
            details: row.try_get("details")?,
            correlation_id: row.try_get("correlation_id")?,
            client_ip: row.try_get("client_ip")?,
        })
    }

    fn canonical(&self) -> Canonical<'_> {
        Canonical {
            id: &self.id,
            occurred_at: self.occurred_at,
            actor_kind: &self.actor_kind,
            actor_id: self.actor_id.as_deref(),
            actor_label: self.actor_label.as_deref(),
            action: &self.action,
            entity_type: &self.entity_type,
            entity_id: self.entity_id.as_deref(),
            details: &self.details,
            correlation_id: self.correlation_id.as_deref(),
            client_ip: self.client_ip.as_deref(),
        }
    }
}

/// Records fetched per round trip while verifying.
const VERIFY_BATCH: i64 = 1_000;

/// Recomputes every hash from the first record to the head.
pub async fn verify(db: &Db) -> Result<Verification, sqlx::Error> {
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut expected_seq = 1_i64;
    let mut records = 0_i64;
    let broken = |seq: i64, reason: String, records: i64| Verification {
        records,
        first_broken: Some(BrokenLink { seq, reason }),
    };

    loop {
        let rows = sqlx::query(
            "SELECT seq, id, occurred_at, actor_kind, actor_id, actor_label, action, entity_type, \
             entity_id, details, correlation_id, client_ip, prev_hash, hash \
             FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(VERIFY_BATCH)
        .fetch_all(db.pool())
        .await?;
        let batch_len = rows.len();
        for row in rows {
            let seq: i64 = row.try_get("seq")?;
            if seq != expected_seq {
                return Ok(broken(
                    expected_seq,
                    format!("record {expected_seq} is missing (next is {seq})"),
                    records,
                ));
            }
            let prev_hash: String = row.try_get("prev_hash")?;
            if prev_hash != expected_prev {
                return Ok(broken(
                    seq,
                    "its prev_hash does not match the previous record's hash".into(),
                    records,
                ));
            }
            let record = StoredRecord::from_row(&row)?;
            let stored: String = row.try_get("hash")?;
            if chain_hash(&prev_hash, seq, &record.canonical())? != stored {
                return Ok(broken(
                    seq,
                    "its contents do not match its hash (the record was altered)".into(),
                    records,
                ));
            }
            records += 1;
            expected_prev = stored;
            expected_seq += 1;
        }
        if (batch_len as i64) < VERIFY_BATCH {
            break;
        }
    }

    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(db.pool())
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    if head_seq != expected_seq - 1 || head_hash != expected_prev {
        return Ok(broken(
            expected_seq,
            format!(
                "the chain ends at record {} but its head says {head_seq} (records were removed)",
                expected_seq - 1
            ),
            records,
        ));
    }
    Ok(Verification {
        records,
        first_broken: None,
    })
}

/// A page of the trail, newest first, optionally for one entity.
pub async fn list(
    db: &Db,
    entity_id: Option<&str>,
    page: shared::pagination::PageRequest,
) -> Result<shared::pagination::Page<super::AuditRecordView>, sqlx::Error> {
    let mut filter = crate::db::Filter::default();
    if let Some(id) = entity_id {
        filter.equals("entity_id", id.to_owned());
    }
    let (rows, total) = filter
        .fetch_page(
            db,
            "SELECT seq, occurred_at, actor_kind, actor_label, action, entity_type, entity_id, \
             details, correlation_id, client_ip FROM audit_log",
            "audit_log",
            "seq DESC",
            page,
        )
        .await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(super::AuditRecordView {
                seq: row.try_get("seq")?,
                occurred_at: row.try_get("occurred_at")?,
                actor_kind: row.try_get("actor_kind")?,
                actor: row.try_get("actor_label")?,
                action: row.try_get("action")?,
                entity_type: row.try_get("entity_type")?,
                entity_id: row.try_get("entity_id")?,
                details: row.try_get("details")?,
                correlation_id: row.try_get("correlation_id")?,
                client_ip: row.try_get("client_ip")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(shared::pagination::Page::new(page, items, total))
}
