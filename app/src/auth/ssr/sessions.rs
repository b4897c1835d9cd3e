//! Browser sessions: a tower-sessions store on the application database
//! (every replica sees every session) and the rules for a signed-in session.
//!
//! The table is keyed by the SHA-256 of the session id, so neither a backup
//! nor a read of the table yields a usable cookie.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store,
};

use crate::{
    db::{Db, now_micros},
    encoding::hex,
};

/// The session key under which a signed-in user is recorded.
pub const AUTH_KEY: &str = "auth";

/// What a signed-in session remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: String,
    /// The user's `session_epoch` at sign-in; a later epoch ends the session.
    pub epoch: i64,
    /// For the absolute timeout (microseconds).
    pub authenticated_at: i64,
    /// For the idle timeout (microseconds); refreshed at most once a minute
    /// so a busy user does not cost a write per request.
    pub last_seen_at: i64,
}

/// The session key of a sign-in half done: the password was right, the
/// second factor (or, when MFA is required, its enrolment) is still to come.
/// Such a session is not signed in: nothing but the second step reads it.
pub const PENDING_KEY: &str = "mfa_pending";

/// What the second step needs to remember between the two requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuth {
    pub user_id: String,
    pub epoch: i64,
    pub stage: PendingStage,
    /// When the password was accepted (microseconds).
    pub started_at: i64,
    /// Where to go once fully signed in (checked again then).
    pub next: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStage {
    /// Asking for a code from the app, or a recovery code.
    Verify,
    /// MFA is required and the user has none: set it up first.
    Enrol,
}

/// How long the second step may take: long enough to find a phone, short
/// enough that an abandoned half-sign-in is useless soon.
pub const PENDING_TTL_MICROS: i64 = 10 * 60 * 1_000_000;

/// How often `last_seen_at` is written back.
pub const TOUCH_INTERVAL_MICROS: i64 = 60_000_000;

#[derive(Debug, Clone)]
pub struct SqlSessionStore {
    db: Db,
}

impl SqlSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Removes expired records; run periodically.
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_micros())
            .execute(self.db.pool())
            .await?
            .rows_affected())
    }
}

fn key(id: &Id) -> String {
    hex(&Sha256::digest(id.to_string().as_bytes()))
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn encode(record: &Record) -> session_store::Result<(String, Option<String>, i64)> {
    let data = serde_json::to_string(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    // A half-signed-in session is the user's too, so ending a user's
    // sessions (password change, reset) ends it as well.
    let user_id = record
        .data
        .get(AUTH_KEY)
        .or_else(|| record.data.get(PENDING_KEY))
        .and_then(|auth| auth.get("user_id"))
        .and_then(|id| id.as_str())
        .map(str::to_owned);
    let expires_at =
        i64::try_from(record.expiry_date.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX);
    Ok((data, user_id, expires_at))
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    /// Inserts a new record, drawing a new id on the (astronomically
    /// unlikely) collision instead of overwriting someone else's session.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let (data, user_id, expires_at) = encode(record)?;
        loop {
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(key(&record.id))
            .bind(&user_id)
            .bind(&data)
            .bind(expires_at)
            .execute(self.db.pool())
            .await
            .map_err(backend)?
            .rows_affected();
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (data, user_id, expires_at) = encode(record)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(key(&record.id))
        .bind(&user_id)
        .bind(&data)
        .bind(expires_at)
        .execute(self.db.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row =
            sqlx::query("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(key(id))
                .bind(now_micros())
                .fetch_optional(self.db.pool())
                .await
                .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.try_get("data").map_err(backend)?;
        let expires_at: i64 = row.try_get("expires_at").map_err(backend)?;
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(expires_at) * 1_000,
            )
            .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(key(id))
            .execute(self.db.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Ends every session of `user_id` except `keep` (the caller's own, after a
/// password change). The epoch check ends them too; deleting the rows makes
/// it immediate and frees the space.
pub async fn end_sessions_of(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    keep: Option<&Id>,
) -> Result<u64, sqlx::Error> {
    let keep = keep.map(key).unwrap_or_default();
    Ok(
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// How many live sessions a user has (for the Admin page and tests).
pub async fn count_for_user(db: &Db, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_at > $2")
        .bind(user_id)
        .bind(now_micros())
        .fetch_one(db.pool())
        .await
}
