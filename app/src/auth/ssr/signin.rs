//! Signing in: the password, then (for staff with MFA) the second factor.
//!
//! Both steps share one set of defences: the same rate limits (per client
//! IP and per account, shared by all replicas) before any work, the same
//! lockout counter (a wrong code counts like a wrong password), and the
//! same audit records. The counter is cleared only when the whole sign-in
//! succeeds: a right password alone does not clear it, or knowing the
//! password would buy unlimited guesses at the code.

use std::time::Duration;

use serde_json::json;
use shared::contact::Email;

use super::{
    Accounts, audit_context, mfa, micros, passwords, recovery_codes,
    throttle::{self, Decision},
    users::{self, UserRecord},
};
use crate::{
    audit::ssr::{self as audit, Actor, AuditContext, AuditEvent},
    db::now_micros,
    error::AppError,
    request::RequestMeta,
};

/// Why a sign-in did not succeed. Deliberately coarse: an unknown email, a
/// wrong password, a disabled and a locked account all read the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFailure {
    InvalidCredentials,
    Throttled {
        retry_after: Duration,
    },
    /// The second step only: the code was not right (the form names it).
    WrongCode,
}

impl From<LoginFailure> for AppError {
    fn from(failure: LoginFailure) -> Self {
        match failure {
            LoginFailure::InvalidCredentials => AppError::InvalidCredentials,
            LoginFailure::Throttled { retry_after } => AppError::RateLimited(retry_after.as_secs()),
            LoginFailure::WrongCode => AppError::Validation(
                shared::FieldError::new(
                    "code",
                    "is not a current code of your authenticator app or an unused recovery code",
                )
                .into(),
            ),
        }
    }
}

/// What a right password leads to.
#[derive(Debug, Clone)]
pub enum PasswordOutcome {
    /// No second factor applies: signed in.
    SignedIn(UserRecord),
    /// The user has MFA: a code must follow.
    NeedsCode(UserRecord),
    /// MFA is required and the user has none: enrolment must follow.
    NeedsEnrolment(UserRecord),
}

/// Which second factor completed a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode,
}

impl SecondFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
        }
    }
}

fn user_context(user: &UserRecord, meta: &RequestMeta) -> AuditContext {
    AuditContext {
        actor: Actor::User {
            id: user.id.clone(),
            label: user.email.clone(),
        },
        ..audit_context(None, meta)
    }
}

/// Counts one attempt against the client IP's and the account's buckets;
/// `Some` when either is over the limit (audited).
pub(super) async fn throttled(
    accounts: Accounts<'_>,
    account_key: &str,
    meta: &RequestMeta,
    channel: &'static str,
) -> Result<Option<LoginFailure>, AppError> {
    let ip_key = meta
        .client_ip
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "-".into());
    for bucket in [
        format!("login:ip:{ip_key}"),
        format!("login:account:{account_key}"),
    ] {
        if let Decision::Limited { retry_after } =
            throttle::hit_shared(accounts.db, &bucket, accounts.settings.login_limit).await?
        {
            tracing::warn!(channel, "sign-in throttled");
            audit::append_now(
                accounts.db,
                &audit_context(None, meta),
                AuditEvent {
                    action: "auth.login_throttled",
                    entity_type: "session",
                    entity_id: None,
                    details: json!({ "channel": channel }),
                },
            )
            .await?;
            return Ok(Some(LoginFailure::Throttled { retry_after }));
        }
    }
    Ok(None)
}

/// Records a refused attempt: `counts` ones move the lockout counter on
/// (the attempt that reaches the threshold locks the account, audited).
pub(super) async fn record_failure(
    accounts: Accounts<'_>,
    user: &UserRecord,
    meta: &RequestMeta,
    action: &'static str,
    reason: &'static str,
    counts: bool,
    channel: &'static str,
) -> Result<(), AppError> {
    let settings = &accounts.settings;
    let context = user_context(user, meta);
    let mut tx = accounts.db.begin_write().await?;
    let locked_now = counts
        && users::record_failed_login(
            &mut *tx,
            &user.id,
            settings.lockout_threshold,
            now_micros() + micros(settings.lockout_duration),
        )
        .await?;
    audit::append(
        &mut tx,
        &context,
        AuditEvent {
            action,
            entity_type: "user",
            entity_id: Some(&user.id),
            details: json!({ "channel": channel, "reason": reason }),
        },
    )
    .await?;
    if locked_now {
        audit::append(
            &mut tx,
            &context,
            AuditEvent {
                action: "auth.account_locked",
                entity_type: "user",
                entity_id: Some(&user.id),
                details: json!({ "minutes": settings.lockout_duration.as_secs() / 60 }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A completed sign-in: the lockout counter cleared, audited.
async fn record_success(
    accounts: Accounts<'_>,
    user: &UserRecord,
    meta: &RequestMeta,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let mut tx = accounts.db.begin_write().await?;
    users::record_successful_login(&mut *tx, &user.id).await?;
    audit::append(
        &mut tx,
        &user_context(user, meta),
        AuditEvent {
            action: "auth.login_succeeded",
            entity_type: "user",
            entity_id: Some(&user.id),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Checks an email and password: rate limits first, so the expensive hash
/// cannot be used to exhaust the CPU; then lockout; then the password.
/// Every outcome is audited, never with the password.
pub async fn login_with_password(
    accounts: Accounts<'_>,
    raw_email: &str,
    password: &str,
    meta: &RequestMeta,
    channel: &'static str,
) -> Result<Result<PasswordOutcome, LoginFailure>, AppError> {
    let db = accounts.db;
    let email = Email::parse("email", raw_email).ok();
    let account_key = email.as_ref().map_or("-", Email::as_str);
    if let Some(failure) = throttled(accounts, account_key, meta, channel).await? {
        return Ok(Err(failure));
    }

    let user = match &email {
        Some(email) => users::find_by_email(db.pool(), email.as_str()).await?,
        None => None,
    };
    let password_ok = passwords::verify(
        password.to_owned(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await
    .map_err(|e| AppError::internal(&e))?;

    let Some(user) = user else {
        audit::append_now(
            db,
            &audit_context(None, meta),
            AuditEvent {
                action: "auth.login_failed",
                entity_type: "user",
                entity_id: None,
                details: json!({ "channel": channel, "reason": "unknown_account" }),
            },
        )
        .await?;
        return Ok(Err(LoginFailure::InvalidCredentials));
    };
    let refusal = if !user.active {
        Some("disabled")
    } else if user.is_locked(now_micros()) {
        Some("locked")
    } else if !password_ok {
        Some("wrong_password")
    } else {
        None
    };
    if let Some(reason) = refusal {
        let counts = reason == "wrong_password";
        record_failure(
            accounts,
            &user,
            meta,
            "auth.login_failed",
            reason,
            counts,
            channel,
        )
        .await?;
        return Ok(Err(LoginFailure::InvalidCredentials));
    }

    let next = if user.mfa_enabled {
        "code"
    } else if accounts.settings.require_mfa {
        "enrolment"
    } else {
        record_success(accounts, &user, meta, json!({ "channel": channel })).await?;
        return Ok(Ok(PasswordOutcome::SignedIn(user)));
    };
    audit::append_now(
        db,
        &user_context(&user, meta),
        AuditEvent {
            action: "auth.password_accepted",
            entity_type: "user",
            entity_id: Some(&user.id),
            details: json!({ "channel": channel, "next": next }),
        },
    )
    .await?;
    Ok(Ok(if user.mfa_enabled {
        PasswordOutcome::NeedsCode(user)
    } else {
        PasswordOutcome::NeedsEnrolment(user)
    }))
}

/// The second step: a code from the authenticator app (6 digits) or one
/// of the recovery codes, for the user whose password was just accepted.
/// Throttled and counted toward lockout exactly like a password.
pub async fn verify_second_factor(
    accounts: Accounts<'_>,
    user_id: &str,
    code: &str,
    meta: &RequestMeta,
) -> Result<Result<(UserRecord, SecondFactor), LoginFailure>, AppError> {
    const CHANNEL: &str = "browser";
    let Some(user) = users::find_by_id(accounts.db.pool(), user_id).await? else {
        return Ok(Err(LoginFailure::InvalidCredentials));
    };
    if let Some(failure) = throttled(accounts, &user.email, meta, CHANNEL).await? {
        return Ok(Err(failure));
    }
    if !user.active || user.is_locked(now_micros()) {
        let reason = if user.active { "locked" } else { "disabled" };
        record_failure(
            accounts,
            &user,
            meta,
            "auth.mfa_failed",
            reason,
            false,
            CHANNEL,
        )
        .await?;
        return Ok(Err(LoginFailure::InvalidCredentials));
    }
    let factor = if crate::auth::ssr::totp::normalize_code(code).is_some() {
        mfa::accept_totp(accounts, &user.id, code)
            .await?
            .then_some(SecondFactor::Totp)
    } else {
        recovery_codes::spend(accounts.db, &user.id, code)
            .await?
            .then_some(SecondFactor::RecoveryCode)
    };
    let Some(factor) = factor else {
        record_failure(
            accounts,
            &user,
            meta,
            "auth.mfa_failed",
            "wrong_code",
            true,
            CHANNEL,
        )
        .await?;
        return Ok(Err(LoginFailure::WrongCode));
    };
    record_success(
        accounts,
        &user,
        meta,
        json!({ "channel": CHANNEL, "mfa": factor.as_str() }),
    )
    .await?;
    if factor == SecondFactor::RecoveryCode {
        let left = recovery_codes::left(accounts.db, &user.id).await?;
        audit::append_now(
            accounts.db,
            &user_context(&user, meta),
            AuditEvent {
                action: "auth.recovery_code_used",
                entity_type: "user",
                entity_id: Some(&user.id),
                details: json!({ "remaining": left }),
            },
        )
        .await?;
    }
    Ok(Ok((user, factor)))
}

/// Completes a sign-in that needed enrolment: the factor was just confirmed
/// with a current code, which is the second factor of this sign-in.
pub async fn complete_after_enrolment(
    accounts: Accounts<'_>,
    user: &UserRecord,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    record_success(
        accounts,
        user,
        meta,
        json!({ "channel": "browser", "mfa": "enrolment" }),
    )
    .await
}
