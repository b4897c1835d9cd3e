//! One-time recovery codes: ten per enrolment, each usable once instead of
//! a code from the app, replaced all at once on request.
//!
//! Each is 80 random bits, stored as SHA-256 of (user id, code). Not
//! argon2 like passwords: a slow hash protects guessable secrets, and
//! nobody guesses 80 random bits, offline or not; while a slow hash would
//! cost ten argon2 runs per attempt (a salted slow hash cannot be looked up,
//! so each stored code would be tried), a CPU lever for anyone who knows a
//! password. The user id in the hash keeps one user's rows useless for
//! another's.

use sha2::{Digest as _, Sha256};
use tower_sessions::Session;

use super::totp;
use crate::{
    db::{Db, new_id, now_micros},
    encoding::hex,
    error::AppError,
    vault::{
        Vault, WrappedKey,
        crypto::{self, SecretKey},
    },
};

/// How many recovery codes an enrolment (or a regeneration) issues.
pub const RECOVERY_CODES: usize = 10;
/// The session key under which freshly issued codes wait for the page that
/// shows them (once), encrypted.
const FRESH_CODES_KEY: &str = "mfa_fresh_codes";

/// A new recovery code: 80 random bits, base32, `xxxx-xxxx-xxxx-xxxx`.
fn new_code() -> Result<String, AppError> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(AppError::internal_message)?;
    let text = totp::encode_secret(&bytes).to_ascii_lowercase();
    Ok(totp::group(&text, 4).replace(' ', "-"))
}

/// A typed recovery code in its stored form (dashes, spaces and case do not
/// matter), or `None` when it cannot be one.
pub fn normalize(input: &str) -> Option<String> {
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
pub(super) async fn replace(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<Vec<String>, AppError> {
    delete_all(&mut *conn, user_id).await?;
    let now = now_micros();
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = new_code()?;
        let normalized = normalize(&code).unwrap_or_default();
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
pub async fn spend(db: &Db, user_id: &str, code: &str) -> Result<bool, AppError> {
    let Some(normalized) = normalize(code) else {
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
pub async fn left(db: &Db, user_id: &str) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(db.pool())
    .await?)
}

/// Removes every code of `user_id` (a reset, or before new ones).
pub(super) async fn delete_all(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Keeps freshly issued codes in the session until the page that shows
/// them renders (once; works without JavaScript, where a form post is
/// followed by a redirect and the answer's body is never seen). Encrypted
/// under a one-off key wrapped by the vault, so the session table never
/// holds them in the clear.
pub async fn stash_fresh(
    vault: &Vault,
    session: &Session,
    user_id: &str,
    codes: &[String],
) -> Result<(), AppError> {
    use base64::Engine as _;
    let key = SecretKey::generate().map_err(|e| AppError::internal(&e))?;
    let wrapped = vault
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
                vault.primary_key_id(),
                b64.encode(wrapped),
                b64.encode(sealed),
            ),
        )
        .await
        .map_err(|e| AppError::internal(&e))
}

/// The codes [`stash_fresh`] kept, removed from the session.
pub async fn take_fresh(
    vault: &Vault,
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
    let opened = vault
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
        let code = new_code().expect("random");
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.matches('-').count(), 3);
        assert!(normalize(&code).is_some());
        assert_eq!(
            normalize(&code.to_uppercase().replace('-', " ")),
            normalize(&code),
            "case, spaces and dashes do not matter"
        );
        assert_eq!(normalize("123456"), None);
    }

    #[test]
    fn a_recovery_code_hashes_differently_for_another_user() {
        assert_ne!(
            recovery_hash("user-a", "ABCDEFGHIJKLMNOP"),
            recovery_hash("user-b", "ABCDEFGHIJKLMNOP")
        );
    }
}
