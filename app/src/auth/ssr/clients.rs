//! Every SQL statement on API clients.

use shared::auth::Role;
use sqlx::{Any, AnyConnection, Executor, Row as _, any::AnyRow};
use subtle::ConstantTimeEq as _;

use super::tokens::{random_secret, secret_hash};
use crate::db::{new_id, now_micros};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClientRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// The partner organisation the client belongs to.
    pub partner_id: Option<String>,
    /// Granted explicitly by an administrator (or by migration 0008 to
    /// clients older than tenancy): sees every organisation's records.
    pub internal: bool,
}

/// Whose records a new client will see: one partner's, or (granted
/// explicitly) everyone's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    Partner(String),
    Internal,
}

const COLUMNS: &str = "id, name, role, created_at, revoked_at, last_used_at, partner_id, internal";

fn from_row(row: &AnyRow) -> Result<ApiClientRecord, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(ApiClientRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse("role", &role).map_err(|e| sqlx::Error::Decode(e.message.into()))?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
        partner_id: row.try_get("partner_id")?,
        internal: row.try_get::<i64, _>("internal")? == 1,
    })
}

/// Creates a client and returns it with its secret, which exists in clear
/// only in this return value: the table keeps its hash.
pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    role: Role,
    membership: &Membership,
    created_by: Option<&str>,
) -> Result<(ApiClientRecord, String), sqlx::Error> {
    let (partner_id, internal) = match membership {
        Membership::Partner(id) => (Some(id.clone()), false),
        Membership::Internal => (None, true),
    };
    let secret = random_secret("vcs_").map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let record = ApiClientRecord {
        id: new_id(),
        name: name.to_owned(),
        role,
        created_at: now_micros(),
        revoked_at: None,
        last_used_at: None,
        partner_id,
        internal,
    };
    sqlx::query(
        "INSERT INTO api_clients (id, name, role, secret_hash, created_by, created_at, partner_id, \
         internal, internal_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&record.id)
    .bind(&record.name)
    .bind(role.as_str())
    .bind(secret_hash(&secret))
    .bind(created_by)
    .bind(record.created_at)
    .bind(&record.partner_id)
    .bind(i64::from(internal))
    .bind(internal.then_some("granted by an administrator"))
    .execute(conn)
    .await?;
    Ok((record, secret))
}

pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<ApiClientRecord>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM api_clients WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Every client, or (with `partner`) one partner's clients.
pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
    partner: Option<&str>,
) -> Result<Vec<ApiClientRecord>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_clients WHERE ($1 IS NULL OR partner_id = $1) \
         ORDER BY revoked_at IS NOT NULL, name"
    ))
    .bind(partner)
    .fetch_all(db)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The active client whose secret matches, compared in constant time.
pub async fn authenticate<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    secret: &str,
) -> Result<Option<ApiClientRecord>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, secret_hash FROM api_clients WHERE id = $1 AND revoked_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: String = row.try_get("secret_hash")?;
    let presented = secret_hash(secret);
    if bool::from(stored.as_bytes().ct_eq(presented.as_bytes())) {
        from_row(&row).map(Some)
    } else {
        Ok(None)
    }
}

pub async fn touch<'e>(db: impl Executor<'e, Database = Any>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_clients SET last_used_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now_micros())
        .execute(db)
        .await?;
    Ok(())
}

/// Clients that are internal only because they predate tenancy (migration
/// 0008): start-up names them so an administrator can assign partners.
pub async fn migrated_internal<'e>(
    db: impl Executor<'e, Database = Any>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT name FROM api_clients WHERE internal = 1 AND revoked_at IS NULL \
         AND internal_reason LIKE 'migration 0008%' ORDER BY name",
    )
    .fetch_all(db)
    .await
}

/// Makes a client one partner's (no longer internal).
pub async fn set_partner(
    conn: &mut AnyConnection,
    id: &str,
    partner_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_clients SET partner_id = $1, internal = 0, internal_reason = NULL WHERE id = $2",
    )
    .bind(partner_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns whether an active client was revoked.
pub async fn revoke(conn: &mut AnyConnection, id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE api_clients SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now_micros())
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}
