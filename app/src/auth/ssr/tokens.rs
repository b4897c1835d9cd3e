//! API tokens: short-lived JWT access tokens and rotating refresh tokens.
//!
//! Access tokens are HS256 only (one algorithm: a token whose header names
//! any other, `none` included, is refused before its signature is looked
//! at), carry `iss`, `aud`, `exp`, `nbf`, `iat` and `typ = "access"`, and are
//! checked with a 5-second leeway. Refresh tokens are opaque random strings
//! stored as SHA-256 hashes; each use spends one and issues its successor in
//! the same family, and presenting a spent one revokes the family (it can
//! only mean the token was copied).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use shared::auth::Role;
use sqlx::Row as _;

use crate::{
    db::{Db, new_id, now_micros},
    encoding::hex,
};

pub const ISSUER: &str = "vanguard";
pub const AUDIENCE: &str = "vanguard-api";
pub const ACCESS_TYPE: &str = "access";
const LEEWAY_SECS: u64 = 5;

/// Who a token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    User,
    ApiClient,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::ApiClient => "api_client",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(SubjectKind::User),
            "api_client" => Some(SubjectKind::ApiClient),
            _ => None,
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    /// Token type: always `access`; anything else is refused.
    pub typ: String,
    pub kind: SubjectKind,
    pub role: Role,
    /// The user's session epoch (users only): a password change or disable
    /// invalidates their outstanding tokens too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sep: Option<i64>,
}

/// Signing and checking keys, derived once at start-up.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

impl JwtKeys {
    pub fn new(secret: &[u8; 32]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs an access token valid for `ttl_secs` from now.
    pub fn issue_access(
        &self,
        kind: SubjectKind,
        subject: &str,
        role: Role,
        session_epoch: Option<i64>,
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: subject.into(),
            exp: now + ttl_secs,
            nbf: now,
            iat: now,
            jti: new_id(),
            typ: ACCESS_TYPE.into(),
            kind,
            role,
            sep: session_epoch,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Verifies signature, algorithm, issuer, audience, times and type.
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        if data.claims.typ != ACCESS_TYPE {
            return Err(TokenError::Invalid("not an access token".into()));
        }
        Ok(data.claims)
    }
}

/// A fresh random secret: `prefix` + 256 bits, base64url.
pub fn random_secret(prefix: &str) -> Result<String, getrandom::Error> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// How secrets with 256 bits of entropy are stored: a plain SHA-256 is
/// enough (nothing to brute-force), unlike passwords.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Issues a refresh token in `family` (a new family when `None`).
pub async fn issue_refresh(
    conn: &mut sqlx::AnyConnection,
    family: Option<&str>,
    kind: SubjectKind,
    subject: &str,
    ttl_secs: u64,
) -> Result<String, sqlx::Error> {
    let token = random_secret("vrt_").map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let now = now_micros();
    let family = family.map_or_else(new_id, str::to_owned);
    sqlx::query(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, subject_kind, subject_id, \
         issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(secret_hash(&token))
    .bind(&family)
    .bind(kind.as_str())
    .bind(subject)
    .bind(now)
    .bind(
        now.saturating_add(
            i64::try_from(ttl_secs)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000),
        ),
    )
    .execute(conn)
    .await?;
    Ok(token)
}

/// The result of presenting a refresh token.
#[derive(Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// Spent; the successor is in the same family.
    Rotated {
        kind: SubjectKind,
        subject: String,
        family: String,
        successor: String,
    },
    /// Unknown, expired or revoked.
    Invalid,
    /// Already spent: the family is now revoked.
    Reused {
        kind: SubjectKind,
        subject: String,
        family: String,
    },
}

/// Spends `token` and issues its successor, or revokes its family if it was
/// spent before. One write transaction, so two replicas racing with the same
/// token cannot both rotate it.
pub async fn redeem_refresh(db: &Db, token: &str, ttl_secs: u64) -> Result<Redeemed, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT id, family_id, subject_kind, subject_id, expires_at, used_at, revoked_at \
         FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(secret_hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Redeemed::Invalid);
    };
    let id: String = row.try_get("id")?;
    let family: String = row.try_get("family_id")?;
    let subject: String = row.try_get("subject_id")?;
    let kind_raw: String = row.try_get("subject_kind")?;
    let Some(kind) = SubjectKind::parse(&kind_raw) else {
        return Ok(Redeemed::Invalid);
    };
    let expires_at: i64 = row.try_get("expires_at")?;
    let used_at: Option<i64> = row.try_get("used_at")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    let now = now_micros();

    if revoked_at.is_some() || expires_at <= now {
        return Ok(Redeemed::Invalid);
    }
    // Spend it only if nobody else did in the meantime.
    let spent =
        sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if used_at.is_some() || spent == 0 {
        revoke_family(&mut tx, &family).await?;
        tx.commit().await?;
        return Ok(Redeemed::Reused {
            kind,
            subject,
            family,
        });
    }
    let successor = issue_refresh(&mut tx, Some(&family), kind, &subject, ttl_secs).await?;
    tx.commit().await?;
    Ok(Redeemed::Rotated {
        kind,
        subject,
        family,
        successor,
    })
}

pub async fn revoke_family(
    conn: &mut sqlx::AnyConnection,
    family: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .bind(now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes every refresh token of a subject (client revoked, user disabled).
pub async fn revoke_subject(
    conn: &mut sqlx::AnyConnection,
    kind: SubjectKind,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3 \
         WHERE subject_kind = $1 AND subject_id = $2 AND revoked_at IS NULL",
    )
    .bind(kind.as_str())
    .bind(subject)
    .bind(now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(&[7u8; 32])
    }

    #[test]
    fn an_issued_access_token_verifies_with_its_claims() {
        let token = keys()
            .issue_access(
                SubjectKind::ApiClient,
                "client-1",
                Role::ApiClient,
                None,
                300,
            )
            .unwrap();
        let claims = keys().verify_access(&token).unwrap();
        assert_eq!(claims.sub, "client-1");
        assert_eq!(claims.role, Role::ApiClient);
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            (ISSUER, AUDIENCE)
        );
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let token = JwtKeys::new(&[8u8; 32])
            .issue_access(SubjectKind::User, "u", Role::Admin, Some(0), 300)
            .unwrap();
        assert!(keys().verify_access(&token).is_err());
    }

    #[test]
    fn secrets_are_random_prefixed_and_hashed() {
        let a = random_secret("vcs_").unwrap();
        assert!(a.starts_with("vcs_") && a.len() == 4 + 43);
        assert_ne!(a, random_secret("vcs_").unwrap());
        assert_eq!(secret_hash(&a).len(), 64);
    }
}
