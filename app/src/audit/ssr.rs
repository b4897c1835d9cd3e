//! Appending to and listing the audit trail; sealing ([`super::seal`]),
//! verification and proofs ([`super::verify`]) build on it and live beside it.

use serde::Serialize;
use sqlx::{AnyConnection, Row as _};

use crate::db::{Db, new_id, now_micros};

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

/// An audit record to append later in the same transaction, with others
/// ([`append_all`]): a batch of pipeline steps appends its records in one
/// statement at the end.
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
/// one statement whatever their number; returns the first one's sequence
/// number (0 when there are none).
///
/// `seq` comes from the engine (a sequence on PostgreSQL, the rowid on
/// SQLite) and nothing else is read or locked: concurrent writers never
/// wait for each other here. The records are protected by the database's
/// permissions until the sealer ([`super::seal`]) folds them into a signed
/// checkpoint, within about a second.
pub async fn append_all(conn: &mut AnyConnection, records: &[Pending]) -> Result<i64, sqlx::Error> {
    if records.is_empty() {
        return Ok(0);
    }
    let occurred_at = now_micros();
    const COLUMNS: usize = 11;
    let values = (0..records.len())
        .map(|row| format!("({})", crate::db::placeholders(1 + row * COLUMNS, COLUMNS)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO audit_log (id, occurred_at, actor_kind, actor_id, actor_label, action, \
         entity_type, entity_id, details, correlation_id, client_ip) VALUES {values} RETURNING seq"
    );
    let mut insert = sqlx::query(&sql);
    for pending in records {
        let (actor_kind, actor_id, actor_label) = pending.context.actor.parts();
        insert = insert
            .bind(new_id())
            .bind(occurred_at)
            .bind(actor_kind)
            .bind(actor_id)
            .bind(actor_label)
            .bind(&pending.action)
            .bind(&pending.entity_type)
            .bind(&pending.entity_id)
            .bind(&pending.details)
            .bind(&pending.context.correlation_id)
            .bind(&pending.context.client_ip);
    }
    let rows = insert.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| row.try_get::<i64, _>("seq"))
        .try_fold(i64::MAX, |first, seq| Ok(first.min(seq?)))
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

/// A record as stored, read back by the sealer and the verifier (public so
/// that tests can forge what an attacker with SQL access could).
pub struct StoredRecord {
    pub seq: i64,
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

/// The columns [`StoredRecord::from_row`] reads.
pub const RECORD_COLUMNS: &str = "seq, id, occurred_at, actor_kind, actor_id, actor_label, \
     action, entity_type, entity_id, details, correlation_id, client_ip";

/// The bytes a leaf hash covers. Field order is fixed by the struct and
/// every value is taken exactly as stored (details as its JSON text,
/// instants as integers), so verification never depends on re-encoding.
/// The leaf's position and the record's seq are part of it: moving a record
/// in the log, or renumbering it, changes its leaf hash.
#[derive(Serialize)]
struct LeafData<'a> {
    v: u8,
    leaf_index: i64,
    seq: i64,
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

impl StoredRecord {
    pub fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            seq: row.try_get("seq")?,
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

    /// RFC 6962 leaf hash of this record at `leaf_index`.
    pub fn leaf_hash(&self, leaf_index: i64) -> Result<super::merkle::Hash, sqlx::Error> {
        let data = LeafData {
            v: 1,
            leaf_index,
            seq: self.seq,
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
        };
        let bytes = serde_json::to_vec(&data).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        Ok(super::merkle::leaf_hash(&bytes))
    }
}

/// A page of the trail, newest first, optionally for one entity.
/// The filters, checked: every error names its field. Dates bound the
/// trail in UTC days, `to` included.
fn audit_filter(filters: &super::AuditFilters) -> Result<crate::db::Filter, shared::FieldErrors> {
    use shared::{FieldErrors, dates::Date};
    let mut errors = FieldErrors::new();
    let mut filter = crate::db::Filter::default();
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Some(id) = present(&filters.entity) {
        filter.equals("entity_id", id);
    }
    if let Some(actor) = present(&filters.actor) {
        filter.equals("actor_label", actor);
    }
    if let Some(action) = present(&filters.action) {
        let word =
            |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        match action.split_once('.') {
            Some((feature, verb)) if word(feature) && word(verb) => filter.equals("action", action),
            None if word(&action) => filter.compare("action", "LIKE", format!("{action}.%")),
            _ => errors.push(
                "action",
                "must be an action (claim.reassigned) or a feature (claim): lower-case letters and underscores",
            ),
        }
    }
    let day_start = |date: Date| {
        date.to_time()
            .midnight()
            .assume_utc()
            .unix_timestamp()
            .saturating_mul(1_000_000)
    };
    let from = present(&filters.from).and_then(|raw| errors.check(Date::parse("from", &raw)));
    let to = present(&filters.to).and_then(|raw| errors.check(Date::parse("to", &raw)));
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        errors.push("to", "must be on or after from");
    }
    // Literals, not binds: the values are integers computed here, and the
    // column is a BIGINT that a text bind would not compare with.
    if let Some(from) = from {
        filter.literal(&format!("occurred_at >= {}", day_start(from)));
    }
    if let Some(next) = to.and_then(|to| to.add_days(1)) {
        filter.literal(&format!("occurred_at < {}", day_start(next)));
    }
    errors.into_result()?;
    Ok(filter)
}

pub async fn list(
    db: &Db,
    filters: &super::AuditFilters,
    page: shared::pagination::PageRequest,
) -> Result<shared::pagination::Page<super::AuditRecordView>, crate::error::AppError> {
    let filter = audit_filter(filters)?;
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
                summary: super::details::readable(&row.try_get::<String, _>("details")?),
                details: row.try_get("details")?,
                correlation_id: row.try_get("correlation_id")?,
                client_ip: row.try_get("client_ip")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(shared::pagination::Page::new(page, items, total))
}
