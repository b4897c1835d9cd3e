//! Every SQL statement on staff accounts.

use shared::auth::Role;
use sqlx::{Any, AnyConnection, Executor, Row as _, any::AnyRow};

use crate::db::{new_id, now_micros};

/// A staff account as stored.
#[derive(Clone)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub active: bool,
    pub locked_until: Option<i64>,
    pub session_epoch: i64,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
    /// A confirmed second factor (TOTP) is on.
    pub mfa_enabled: bool,
}

impl std::fmt::Debug for UserRecord {
    /// Without the password hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl UserRecord {
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// Read with the user, so whether a second factor applies costs no query of
/// its own on sign-in or on each request.
const COLUMNS: &str = "id, email, display_name, role, password_hash, active, locked_until, \
                       session_epoch, last_login_at, created_at, \
                       (SELECT COUNT(*) FROM user_mfa WHERE user_mfa.user_id = users.id \
                        AND user_mfa.confirmed_at IS NOT NULL) AS mfa_factors";

fn from_row(row: &AnyRow) -> Result<UserRecord, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse("role", &role).map_err(|e| sqlx::Error::Decode(e.message.into()))?,
        password_hash: row.try_get("password_hash")?,
        active: row.try_get::<i64, _>("active")? != 0,
        locked_until: row.try_get("locked_until")?,
        session_epoch: row.try_get("session_epoch")?,
        last_login_at: row.try_get("last_login_at")?,
        created_at: row.try_get("created_at")?,
        mfa_enabled: row.try_get::<i64, _>("mfa_factors")? > 0,
    })
}

pub async fn find_by_email<'e>(
    db: impl Executor<'e, Database = Any>,
    email: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn find_by_id<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Every account, for the Admin page (staff lists are small).
pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
) -> Result<Vec<UserRecord>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY email"))
        .fetch_all(db)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// Inserts an account; a duplicate email fails with a unique violation on
/// `users_email_key`.
pub async fn insert(conn: &mut AnyConnection, user: &NewUser<'_>) -> Result<String, sqlx::Error> {
    let id = new_id();
    let now = now_micros();
    sqlx::query(
        "INSERT INTO users (id, email, display_name, role, password_hash, active, failed_logins, \
         session_epoch, password_changed_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, 0, 0, $6, $6, $6)",
    )
    .bind(&id)
    .bind(user.email)
    .bind(user.display_name)
    .bind(user.role.as_str())
    .bind(user.password_hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Counts a failed login atomically (several replicas may count at once);
/// the attempt that reaches `threshold` locks the account until `lock_until`
/// and starts the count again. Returns whether this attempt locked it.
pub async fn record_failed_login<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
    threshold: i64,
    lock_until: i64,
) -> Result<bool, sqlx::Error> {
    let locked: Option<i64> = sqlx::query_scalar(
        "UPDATE users SET \
           failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END, \
           locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END, \
           updated_at = $4 \
         WHERE id = $1 RETURNING locked_until",
    )
    .bind(id)
    .bind(threshold)
    .bind(lock_until)
    .bind(now_micros())
    .fetch_optional(db)
    .await?
    .flatten();
    Ok(locked == Some(lock_until))
}

pub async fn record_successful_login<'e>(
    db: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<(), sqlx::Error> {
    let now = now_micros();
    sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $2, updated_at = $2 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Stores a new password hash and moves the session epoch on, which ends
/// every session created before. Returns the new epoch.
pub async fn set_password(
    conn: &mut AnyConnection,
    id: &str,
    hash: &str,
) -> Result<i64, sqlx::Error> {
    let now = now_micros();
    sqlx::query_scalar(
        "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3, \
         failed_logins = 0, locked_until = NULL, session_epoch = session_epoch + 1 \
         WHERE id = $1 RETURNING session_epoch",
    )
    .bind(id)
    .bind(hash)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Changes role and/or active flag; either change ends the user's sessions.
pub async fn update_access(
    conn: &mut AnyConnection,
    id: &str,
    role: Role,
    active: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET role = $2, active = $3, session_epoch = session_epoch + 1, \
         locked_until = CASE WHEN $3 = 1 THEN NULL ELSE locked_until END, updated_at = $4 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(role.as_str())
    .bind(i64::from(active))
    .bind(now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

/// Active administrators, so the last one cannot be demoted or disabled.
pub async fn count_active_admins(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1")
        .fetch_one(conn)
        .await
}

/// Moves the session epoch on: every session and access token of the user
/// ends (their second factor was reset).
pub async fn bump_session_epoch(conn: &mut AnyConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET session_epoch = session_epoch + 1, updated_at = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(now_micros())
    .execute(conn)
    .await?;
    Ok(())
}
