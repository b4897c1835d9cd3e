//! Staff multi-factor authentication: the TOTP factor, stored, checked and
//! administered. The recovery codes are in [`super::recovery_codes`], the
//! sign-in step that uses both in [`super::signin`], the arithmetic of
//! codes in [`super::totp`].
//!
//! * The shared secret never sits in the clear: it is a random 32-byte key
//!   wrapped by the vault's master key exactly like a webhook signing
//!   secret (bound to `user_mfa` and the user's id, named by `kek_id`, so
//!   `server rotate-keys` re-wraps it). Its first 20 bytes are the TOTP
//!   secret (RFC 4226 recommends 160 bits; 32 base32 characters to type).

use serde_json::json;
use sqlx::Row as _;

use super::{
    Accounts,
    recovery_codes::{self, RECOVERY_CODES},
    sessions,
    tokens::{self, SubjectKind},
    totp, users,
};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    db::{Db, now_micros},
    error::AppError,
    vault::{WrappedKey, crypto::SecretKey},
};

/// An enrolment not confirmed within this long starts again with a new key
/// (a key that was on screen for long may have been seen).
const ENROLMENT_TTL_MICROS: i64 = 30 * 60 * 1_000_000;
/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "Vanguard";

/// A user's TOTP factor, unwrapped.
pub struct Factor {
    pub secret: [u8; totp::SECRET_LEN],
    pub confirmed: bool,
    pub last_used_step: u64,
    pub created_at: i64,
}

fn now_step() -> u64 {
    totp::step_at(u64::try_from(now_micros() / 1_000_000).unwrap_or(0))
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

fn secret_of(key: &SecretKey) -> [u8; totp::SECRET_LEN] {
    let mut secret = [0u8; totp::SECRET_LEN];
    secret.copy_from_slice(&key.expose()[..totp::SECRET_LEN]);
    secret
}

/// The factor of `user_id`, confirmed or in enrolment.
pub async fn load(accounts: Accounts<'_>, user_id: &str) -> Result<Option<Factor>, AppError> {
    let Some(row) = sqlx::query(
        "SELECT kek_id, wrapped_secret, confirmed_at, last_used_step, created_at \
         FROM user_mfa WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(accounts.db.pool())
    .await?
    else {
        return Ok(None);
    };
    let wrapped = WrappedKey {
        kek_id: row.try_get("kek_id")?,
        wrapped: row.try_get("wrapped_secret")?,
    };
    let key = accounts
        .vault
        .unwrap_owned("user_mfa", user_id, &wrapped)
        .map_err(|e| AppError::internal(&e))?;
    Ok(Some(Factor {
        secret: secret_of(&key),
        confirmed: row.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
        last_used_step: u64::try_from(row.try_get::<i64, _>("last_used_step")?).unwrap_or(0),
        created_at: row.try_get("created_at")?,
    }))
}

/// The key of an enrolment in progress: the one waiting, while it is
/// recent, or a new one. Refused when a factor is already on.
pub async fn begin_enrolment(
    accounts: Accounts<'_>,
    user_id: &str,
) -> Result<[u8; totp::SECRET_LEN], AppError> {
    match load(accounts, user_id).await? {
        Some(factor) if factor.confirmed => {
            return Err(AppError::Conflict(
                "Multi-factor authentication is already on for this account.".into(),
            ));
        }
        Some(factor) if now_micros() - factor.created_at < ENROLMENT_TTL_MICROS => {
            return Ok(factor.secret);
        }
        _ => {}
    }
    let key = SecretKey::generate().map_err(|e| AppError::internal(&e))?;
    let wrapped = accounts
        .vault
        .wrap_owned("user_mfa", user_id, &key)
        .map_err(|e| AppError::internal(&e))?;
    // Never replaces a confirmed factor, even when two tabs race here.
    sqlx::query(
        "INSERT INTO user_mfa (user_id, kek_id, wrapped_secret, confirmed_at, last_used_step, created_at) \
         VALUES ($1, $2, $3, NULL, 0, $4) \
         ON CONFLICT (user_id) DO UPDATE SET kek_id = excluded.kek_id, \
           wrapped_secret = excluded.wrapped_secret, created_at = excluded.created_at, \
           last_used_step = 0 \
         WHERE user_mfa.confirmed_at IS NULL",
    )
    .bind(user_id)
    .bind(accounts.vault.primary_key_id())
    .bind(wrapped)
    .bind(now_micros())
    .execute(accounts.db.pool())
    .await?;
    Ok(load(accounts, user_id)
        .await?
        .filter(|factor| !factor.confirmed)
        .ok_or_else(|| {
            AppError::Conflict("Multi-factor authentication is already on for this account.".into())
        })?
        .secret)
}

fn wrong_code(field: &'static str) -> AppError {
    AppError::Validation(
        shared::FieldError::new(
            field,
            "is not the current code of your authenticator app (check that the phone's clock is right)",
        )
        .into(),
    )
}

/// Switches the factor on once `code` proves the app has the key, issues the
/// recovery codes (returned: the only time they exist in the clear) and
/// ends the user's refresh tokens (issued before a second factor guarded
/// the account).
pub async fn confirm_enrolment(
    accounts: Accounts<'_>,
    context: &AuditContext,
    user_id: &str,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let factor = load(accounts, user_id)
        .await?
        .filter(|factor| !factor.confirmed)
        .ok_or_else(|| {
            AppError::Conflict(
                "No enrolment is waiting for a code: open the set-up page again.".into(),
            )
        })?;
    let Some(step) = totp::matching_step(&factor.secret, code, now_step(), factor.last_used_step)
    else {
        audit::append_now(
            accounts.db,
            context,
            AuditEvent {
                action: "auth.mfa_enrolment_failed",
                entity_type: "user",
                entity_id: Some(user_id),
                details: json!({ "factor": "totp", "reason": "wrong_code" }),
            },
        )
        .await?;
        return Err(wrong_code("code"));
    };
    let mut tx = accounts.db.begin_write().await?;
    let confirmed = sqlx::query(
        "UPDATE user_mfa SET confirmed_at = $2, last_used_step = $3 \
         WHERE user_id = $1 AND confirmed_at IS NULL",
    )
    .bind(user_id)
    .bind(now_micros())
    .bind(step_i64(step))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if confirmed != 1 {
        return Err(AppError::Conflict(
            "Multi-factor authentication is already on for this account.".into(),
        ));
    }
    let codes = recovery_codes::replace(&mut tx, user_id).await?;
    tokens::revoke_subject(&mut tx, SubjectKind::User, user_id).await?;
    tx.identity_changed(user_id).await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "auth.mfa_enrolled",
            entity_type: "user",
            entity_id: Some(user_id),
            details: json!({ "factor": "totp", "recovery_codes": RECOVERY_CODES }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// Accepts `code` for the confirmed factor of `user_id` once: the step it
/// belongs to becomes the last used one in the same statement that checks
/// it is newer, so two replicas cannot both accept one code.
pub async fn accept_totp(
    accounts: Accounts<'_>,
    user_id: &str,
    code: &str,
) -> Result<bool, AppError> {
    let Some(factor) = load(accounts, user_id).await?.filter(|f| f.confirmed) else {
        return Ok(false);
    };
    let Some(step) = totp::matching_step(&factor.secret, code, now_step(), factor.last_used_step)
    else {
        return Ok(false);
    };
    let updated = sqlx::query(
        "UPDATE user_mfa SET last_used_step = $2 \
         WHERE user_id = $1 AND last_used_step < $2 AND confirmed_at IS NOT NULL",
    )
    .bind(user_id)
    .bind(step_i64(step))
    .execute(accounts.db.pool())
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// The user switches their own factor off, proving it with a current code.
/// Refused while MFA is required for all staff.
pub async fn disable_own(
    accounts: Accounts<'_>,
    context: &AuditContext,
    user_id: &str,
    code: &str,
) -> Result<(), AppError> {
    if accounts.settings.require_mfa {
        return Err(AppError::Conflict(
            "Multi-factor authentication is required for all staff here (VANGUARD_REQUIRE_MFA); \
             it cannot be switched off."
                .into(),
        ));
    }
    if !accept_totp(accounts, user_id, code).await? {
        return Err(wrong_code("code"));
    }
    let mut tx = accounts.db.begin_write().await?;
    delete_factors(&mut tx, user_id).await?;
    tx.identity_changed(user_id).await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "auth.mfa_disabled",
            entity_type: "user",
            entity_id: Some(user_id),
            details: json!({ "factor": "totp" }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn delete_factors(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<u64, AppError> {
    recovery_codes::delete_all(&mut *conn, user_id).await?;
    Ok(sqlx::query("DELETE FROM user_mfa WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Removes every factor of `user_id` (an administrator on the Admin page,
/// or `server reset-mfa`) and ends the user's sessions and refresh tokens:
/// whoever held them signs in again and enrols anew. Audited as
/// `auth.mfa_reset`.
pub async fn reset(db: &Db, context: &AuditContext, user_id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    users::find_by_id(&mut *tx, user_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The account".into()))?;
    let removed = delete_factors(&mut tx, user_id).await?;
    users::bump_session_epoch(&mut tx, user_id).await?;
    tx.identity_changed(user_id).await?;
    sessions::end_sessions_of(&mut tx, user_id, None).await?;
    tokens::revoke_subject(&mut tx, SubjectKind::User, user_id).await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "auth.mfa_reset",
            entity_type: "user",
            entity_id: Some(user_id),
            details: json!({ "had_factor": removed > 0 }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// New recovery codes for the signed-in user (the old ones stop working).
pub async fn regenerate(
    accounts: Accounts<'_>,
    context: &AuditContext,
    user_id: &str,
) -> Result<Vec<String>, AppError> {
    if !load(accounts, user_id).await?.is_some_and(|f| f.confirmed) {
        return Err(AppError::Conflict(
            "Multi-factor authentication is not on for this account.".into(),
        ));
    }
    let mut tx = accounts.db.begin_write().await?;
    let codes = recovery_codes::replace(&mut tx, user_id).await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "auth.recovery_codes_regenerated",
            entity_type: "user",
            entity_id: Some(user_id),
            details: json!({ "recovery_codes": RECOVERY_CODES }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}
