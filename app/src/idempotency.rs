//! `Idempotency-Key` for the API's writes: the first answer is stored in
//! the same transaction as the change it reports, so a retried request
//! (a timeout, a lost response) gets that answer again instead of a second
//! claim or a second payment. Keys are scoped to the caller; the same key
//! with a different request is refused, naming the header.

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use shared::{FieldError, FieldErrors};
use sqlx::{AnyConnection, Row as _};

use crate::{
    db::{Db, now_micros},
    error::AppError,
};

/// One request's key: who sent it, the key, and a hash of the request.
#[derive(Debug, Clone)]
pub struct Key {
    pub caller: String,
    pub key: String,
    pub request_hash: String,
}

impl Key {
    /// `key` from `caller` for `request` (hashed as parsed, so formatting
    /// and key order do not make the same request look different), on
    /// `route`, so one key cannot answer two different operations.
    pub fn new(
        caller: &str,
        key: &str,
        route: &str,
        request: &impl Serialize,
    ) -> Result<Self, AppError> {
        let canonical = serde_json::to_vec(request).map_err(|e| AppError::internal(&e))?;
        let mut hash = Sha256::new();
        hash.update(route.as_bytes());
        hash.update([0]);
        hash.update(&canonical);
        Ok(Self {
            caller: caller.to_owned(),
            key: key.to_owned(),
            request_hash: crate::encoding::hex(&hash.finalize()),
        })
    }
}

/// A stored answer: its status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub body: String,
}

/// Stores the answer `(status, body)` for `key` in the change's
/// transaction. A key used before makes this fail (PostgreSQL's unique
/// index makes a concurrent request with the same key wait for the first to
/// commit; SQLite's writer lock queues it); the caller then looks it up
/// with [`replay`].
pub async fn remember(
    conn: &mut AnyConnection,
    key: &Key,
    status: u16,
    body: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO idempotency_keys (caller, idem_key, request_hash, status, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.caller)
    .bind(&key.key)
    .bind(&key.request_hash)
    .bind(i64::from(status))
    .bind(body)
    .bind(now_micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The answer stored for `key`, if any; a key stored for another request
/// is a 422 naming `Idempotency-Key`.
pub async fn replay(db: &Db, key: &Key) -> Result<Option<Stored>, AppError> {
    let Some(row) = sqlx::query(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE caller = $1 AND idem_key = $2",
    )
    .bind(&key.caller)
    .bind(&key.key)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    if row.try_get::<String, _>("request_hash")? != key.request_hash {
        return Err(FieldErrors::from(FieldError::new(
            "Idempotency-Key",
            "was already used with a different request body",
        ))
        .into());
    }
    let status: i64 = row.try_get("status")?;
    Ok(Some(Stored {
        status: u16::try_from(status).unwrap_or(200),
        body: row.try_get("response")?,
    }))
}
