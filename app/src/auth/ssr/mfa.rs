//! Staff multi-factor authentication: the TOTP factor and its recovery
//! codes, stored, checked and administered. The sign-in step that uses them
//! is in [`super::signin`]; the arithmetic of codes in [`super::totp`].
//!
//! * The shared secret never sits in the clear: it is a random 32-byte key
//!   wrapped by the vault's master key exactly like a webhook signing
//!   secret (bound to `user_mfa` and the user's id, named by `kek_id`, so
//!   `server rotate-keys` re-wraps it). Its first 20 bytes are the TOTP
//!   secret (RFC 4226 recommends 160 bits; 32 base32 characters to type).
//! * Recovery codes are 80 random bits each, stored as SHA-256 of
//!   (user id, code). Not argon2 like passwords: a slow hash protects
//!   guessable secrets, and nobody guesses 80 random bits, offline or not;
//!   while a slow hash would cost ten argon2 runs per attempt (the codes
//!   cannot be found by their hash otherwise), a CPU lever for anyone who
//!   knows a password. The user id in the hash keeps one user's table rows
//!   useless for another's.

use serde_json::json;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;
use tower_sessions::Session;

use super::{
    sessions,
    tokens::{self, SubjectKind},
    totp, users,
};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent, hex},
    db::{Db, new_id, now_micros},
    error::AppError,
    state::AppState,
    vault::{
        WrappedKey,
        crypto::{self, SecretKey},
    },
};

/// How many recovery codes an enrolment (or a regeneration) issues.
pub const RECOVERY_CODES: usize = 10;
/// An enrolment not confirmed within this long starts again with a new key
/// (a key that was on screen for long may have been seen).
const ENROLMENT_TTL_MICROS: i64 = 30 * 60 * 1_000_000;
/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "Vanguard";
/// The session key under which freshly issued recovery codes wait for the
/// page that shows them (once), encrypted.
const FRESH_CODES_KEY: &str = "mfa_fresh_codes";

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
pub async fn load(state: &AppState, user_id: &str) -> Result<Option<Factor>, AppError> {
    let Some(row) = sqlx::query(
        "SELECT kek_id, wrapped_secret, confirmed_at, last_used_step, created_at \
         FROM user_mfa WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(state.db.pool())
    .await?
    else {
        return Ok(None);
    };
    let wrapped = WrappedKey {
        kek_id: row.try_get("kek_id")?,
        wrapped: row.try_get("wrapped_secret")?,
    };
    let key = state
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
    state: &AppState,
    user_id: &str,
) -> Result<[u8; totp::SECRET_LEN], AppError> {
    match load(state, user_id).await? {
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
    let wrapped = state
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
    .bind(state.vault.primary_key_id())
    .bind(wrapped)
    .bind(now_micros())
    .execute(state.db.pool())
    .await?;
    Ok(load(state, user_id)
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
    state: &AppState,
    context: &AuditContext,
    user_id: &str,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let factor = load(state, user_id)
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
            &state.db,
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
    let mut tx = state.db.begin_write().await?;
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
    let codes = replace_recovery_codes(&mut tx, user_id).await?;
    tokens::revoke_subject(&mut tx, SubjectKind::User, user_id).await?;
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
pub async fn accept_totp(state: &AppState, user_id: &str, code: &str) -> Result<bool, AppError> {
    let Some(factor) = load(state, user_id).await?.filter(|f| f.confirmed) else {
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
    .execute(state.db.pool())
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// A new recovery code: 80 random bits, base32, `xxxx-xxxx-xxxx-xxxx`.
fn new_recovery_code() -> Result<String, AppError> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(AppError::internal_message)?;
    let text = totp::encode_secret(&bytes).to_ascii_lowercase();
    Ok(totp::group(&text, 4).replace(' ', "-"))
}

/// A typed recovery code in its stored form (dashes, spaces and case do not
/// matter), or `None` when it cannot be one.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == 16 && code.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7')))
        .then_some(code)
}

fn recovery_hash(user_id: &str, normalized: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(user_id.as_bytes());
    hasher.update([0]);
    hasher.update(normalized.as_bytes());
    hex(&hasher.finalize())
}

/// Replaces every recovery code of `user_id` with [`RECOVERY_CODES`] new
/// ones, returned in the clear (stored hashed).
async fn replace_recovery_codes(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<Vec<String>, AppError> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let now = now_micros();
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = new_recovery_code()?;
        let normalized = normalize_recovery_code(&code).unwrap_or_default();
        sqlx::query(
            "INSERT INTO mfa_recovery_codes (id, user_id, code_hash, used_at, created_at) \
             VALUES ($1, $2, $3, NULL, $4)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(recovery_hash(user_id, &normalized))
        .bind(now)
        .execute(&mut *conn)
        .await?;
        codes.push(code);
    }
    Ok(codes)
}

/// Spends one unused recovery code of `user_id`, atomically (a code works
/// once, whichever replica sees it first).
pub async fn spend_recovery_code(db: &Db, user_id: &str, code: &str) -> Result<bool, AppError> {
    let Some(normalized) = normalize_recovery_code(code) else {
        return Ok(false);
    };
    let spent = sqlx::query(
        "UPDATE mfa_recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(recovery_hash(user_id, &normalized))
    .bind(now_micros())
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(spent == 1)
}

/// Recovery codes of `user_id` not used yet.
pub async fn recovery_codes_left(db: &Db, user_id: &str) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(db.pool())
    .await?)
}

/// New recovery codes for the signed-in user (the old ones stop working).
pub async fn regenerate_recovery_codes(
    state: &AppState,
    context: &AuditContext,
    user_id: &str,
) -> Result<Vec<String>, AppError> {
    if !load(state, user_id).await?.is_some_and(|f| f.confirmed) {
        return Err(AppError::Conflict(
            "Multi-factor authentication is not on for this account.".into(),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let codes = replace_recovery_codes(&mut tx, user_id).await?;
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

/// The user switches their own factor off, proving it with a current code.
/// Refused while MFA is required for all staff.
pub async fn disable_own(
    state: &AppState,
    context: &AuditContext,
    user_id: &str,
    code: &str,
) -> Result<(), AppError> {
    if state.auth.require_mfa {
        return Err(AppError::Conflict(
            "Multi-factor authentication is required for all staff here (VANGUARD_REQUIRE_MFA); \
             it cannot be switched off."
                .into(),
        ));
    }
    if !accept_totp(state, user_id, code).await? {
        return Err(wrong_code("code"));
    }
    let mut tx = state.db.begin_write().await?;
    delete_factors(&mut tx, user_id).await?;
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
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
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

/// Keeps freshly issued codes in the session until the page that shows
/// them renders (once; works without JavaScript, where a form post is
/// followed by a redirect and the answer's body is never seen). Encrypted
/// under a one-off key wrapped by the vault, so the session table never
/// holds them in the clear.
pub async fn stash_fresh_codes(
    state: &AppState,
    session: &Session,
    user_id: &str,
    codes: &[String],
) -> Result<(), AppError> {
    use base64::Engine as _;
    let key = SecretKey::generate().map_err(|e| AppError::internal(&e))?;
    let wrapped = state
        .vault
        .wrap_owned("sessions", user_id, &key)
        .map_err(|e| AppError::internal(&e))?;
    let sealed = crypto::seal(
        &key,
        codes.join("\n").as_bytes(),
        &crypto::aad("sessions", FRESH_CODES_KEY, user_id, "1"),
    )
    .map_err(|e| AppError::internal(&e))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    session
        .insert(
            FRESH_CODES_KEY,
            (
                state.vault.primary_key_id(),
                b64.encode(wrapped),
                b64.encode(sealed),
            ),
        )
        .await
        .map_err(|e| AppError::internal(&e))
}

/// The codes [`stash_fresh_codes`] kept, removed from the session.
pub async fn take_fresh_codes(
    state: &AppState,
    session: &Session,
    user_id: &str,
) -> Result<Vec<String>, AppError> {
    use base64::Engine as _;
    let Some((kek_id, wrapped, sealed)) = session
        .remove::<(String, String, String)>(FRESH_CODES_KEY)
        .await
        .map_err(|e| AppError::internal(&e))?
    else {
        return Ok(Vec::new());
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Ok(wrapped), Ok(sealed)) = (b64.decode(wrapped), b64.decode(sealed)) else {
        return Ok(Vec::new());
    };
    let opened = state
        .vault
        .unwrap_owned(
            "sessions",
            user_id,
            &WrappedKey {
                kek_id,
                wrapped: Some(wrapped),
            },
        )
        .and_then(|key| {
            crypto::open(
                &key,
                &sealed,
                &crypto::aad("sessions", FRESH_CODES_KEY, user_id, "1"),
            )
        });
    // Another user's stash (it cannot be: the session is the user's) or a
    // rotated key: nothing to show, the user regenerates.
    Ok(opened
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_sixteen_base32_characters_in_four_groups() {
        let code = new_recovery_code().expect("random");
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.matches('-').count(), 3);
        assert!(normalize_recovery_code(&code).is_some());
        assert_eq!(
            normalize_recovery_code(&code.to_uppercase().replace('-', " ")),
            normalize_recovery_code(&code),
            "case, spaces and dashes do not matter"
        );
        assert_eq!(normalize_recovery_code("123456"), None);
    }

    #[test]
    fn a_recovery_code_hashes_differently_for_another_user() {
        assert_ne!(
            recovery_hash("user-a", "ABCDEFGHIJKLMNOP"),
            recovery_hash("user-b", "ABCDEFGHIJKLMNOP")
        );
    }
}
