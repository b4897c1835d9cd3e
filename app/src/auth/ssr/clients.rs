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
}

const COLUMNS: &str = "id, name, role, created_at, revoked_at, last_used_at";

fn from_row(row: &AnyRow) -> Result<ApiClientRecord, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(ApiClientRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse("role", &role).map_err(|e| sqlx::Error::Decode(e.message.into()))?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

/// Creates a client and returns it with its secret, which exists in clear
/// only in this return value: the table keeps its hash.
pub async fn insert(
    conn: &mut AnyConnection,
    name: &str,
    role: Role,
    created_by: Option<&str>,
) -> Result<(ApiClientRecord, String), sqlx::Error> {
    let secret = random_secret("vcs_").map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let record = ApiClientRecord {
        id: new_id(),
        name: name.to_owned(),
        role,
        created_at: now_micros(),
        revoked_at: None,
        last_used_at: None,
    };
    sqlx::query(
        "INSERT INTO api_clients (id, name, role, secret_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&record.id)
    .bind(&record.name)
    .bind(role.as_str())
    .bind(secret_hash(&secret))
    .bind(created_by)
    .bind(record.created_at)
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

pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
) -> Result<Vec<ApiClientRecord>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_clients ORDER BY revoked_at IS NOT NULL, name"
    ))
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
