//! The server side of identity: who is calling, what they may do, and the
//! services behind sign-in, tokens and account administration.
//!
//! [`require`] is the one permission check: server functions reach it
//! through [`crate::server_call::serve`], the JSON API through its
//! extractor, and it audits every refusal.

mod browser;
pub mod clients;
pub mod identity;
mod issuing;
pub mod mfa;
pub mod partners;
pub mod passwords;
pub mod recovery_codes;
pub mod sessions;
pub mod signin;
pub mod throttle;
pub mod tokens;
pub mod totp;
pub mod users;

use std::time::Duration;

use serde_json::json;
use shared::{
    FieldErrors,
    auth::{NewPassword, Permission, Role},
    contact::Email,
    tenancy::Scope,
};
use tower_sessions::Session;

use self::{
    browser::session_error,
    sessions::{AUTH_KEY, SessionAuth},
    throttle::{Limit, LocalLimiter},
    tokens::{JwtKeys, SubjectKind},
    users::UserRecord,
};
pub use self::{
    browser::{
        PendingSignIn, SessionState, current_pending, end_session, resolve_session, start_pending,
        start_session,
    },
    issuing::{create_api_client, create_partner, move_api_client, revoke_api_client},
    signin::{LoginFailure, PasswordOutcome, login_with_password},
};
use crate::{
    audit::ssr::{self as audit, Actor, AuditContext, AuditEvent},
    db::{Db, now_micros},
    error::AppError,
    request::RequestMeta,
    vault::Vault,
};

/// What identity's services run on, borrowed from the server state: the
/// database, the settings derived once at start-up (timeouts, limits, token
/// keys, the identity cache) and the vault that seals second factors and
/// fresh recovery codes. The services take this rather than the whole
/// server state, so identity depends on nothing else the server holds.
#[derive(Debug, Clone, Copy)]
pub struct Accounts<'a> {
    pub db: &'a Db,
    pub settings: &'a AuthSettings,
    pub vault: &'a Vault,
}

/// An authenticated caller: a member of staff (browser session or password
/// grant) or an API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: SubjectKind,
    pub id: String,
    /// Email of a user, name of a client: what the audit trail shows.
    pub label: String,
    /// How the UI greets them.
    pub name: String,
    pub role: Role,
    /// Whose records they see: staff and internal clients everyone's, a
    /// partner's client its organisation's only.
    pub scope: Scope,
}

impl Principal {
    pub fn user(user: &UserRecord) -> Self {
        Self {
            kind: SubjectKind::User,
            id: user.id.clone(),
            label: user.email.clone(),
            name: user.display_name.clone(),
            role: user.role,
            scope: Scope::All,
        }
    }

    /// An active API client's principal. `None` for a revoked client, and
    /// for one that has neither a partner nor an explicit internal grant
    /// (fail closed: such a row can only come from a hand edit).
    pub fn client(client: clients::ApiClientRecord) -> Option<Self> {
        if client.revoked_at.is_some() {
            return None;
        }
        let scope = match (client.partner_id, client.internal) {
            // A partner wins over an internal flag: the narrower scope.
            (Some(partner), _) => Scope::Partner(partner),
            (None, true) => Scope::All,
            (None, false) => return None,
        };
        Some(Self {
            kind: SubjectKind::ApiClient,
            id: client.id,
            label: client.name.clone(),
            name: client.name,
            role: client.role,
            scope,
        })
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.role.permits(permission)
    }

    pub fn actor(&self) -> Actor {
        match self.kind {
            SubjectKind::User => Actor::User {
                id: self.id.clone(),
                label: self.label.clone(),
            },
            SubjectKind::ApiClient => Actor::ApiClient {
                id: self.id.clone(),
                label: self.label.clone(),
            },
        }
    }
}

/// The audit context of a request made by `principal` (or nobody).
pub fn audit_context(principal: Option<&Principal>, meta: &RequestMeta) -> AuditContext {
    AuditContext {
        actor: principal.map_or(Actor::Anonymous, Principal::actor),
        correlation_id: meta.correlation_id.clone(),
        client_ip: meta.client_ip.map(|ip| ip.to_string()),
    }
}

/// Timeouts, token lifetimes, lockout and rate limits.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Failed sign-ins that lock an account, and for how long.
    pub lockout_threshold: i64,
    pub lockout_duration: Duration,
    /// Sign-in and token requests, per client IP and per account.
    pub login_limit: Limit,
    /// JSON API calls per API client (per replica).
    pub api_limit: Limit,
    pub jwt: JwtKeys,
    pub api_limiter: LocalLimiter,
    /// Users and API clients read recently (see [`identity`]).
    pub identity: std::sync::Arc<identity::IdentityCache>,
    /// Every member of staff must have a second factor
    /// (`VANGUARD_REQUIRE_MFA`): without one, signing in leads to
    /// enrolment and nothing else.
    pub require_mfa: bool,
}

impl AuthSettings {
    pub fn new(jwt_secret: &[u8; 32]) -> Self {
        Self {
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 60 * 60),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            lockout_threshold: 5,
            lockout_duration: Duration::from_secs(15 * 60),
            login_limit: Limit::per_minute(5),
            api_limit: Limit::per_minute(60),
            jwt: JwtKeys::new(jwt_secret),
            api_limiter: LocalLimiter::default(),
            identity: std::sync::Arc::default(),
            require_mfa: false,
        }
    }
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// The permission check. No principal: 401. A principal whose role lacks the
/// permission: 403, audited (who, what, from where).
pub async fn require(
    db: &Db,
    principal: Option<&Principal>,
    permission: Permission,
    meta: &RequestMeta,
) -> Result<Principal, AppError> {
    let Some(principal) = principal else {
        return Err(AppError::Unauthenticated);
    };
    if principal.can(permission) {
        return Ok(principal.clone());
    }
    tracing::warn!(principal = %principal.id, ?permission, "permission denied");
    audit::append_now(
        db,
        &audit_context(Some(principal), meta),
        AuditEvent {
            action: "access.denied",
            entity_type: "permission",
            entity_id: None,
            details: json!({ "permission": permission, "role": principal.role }),
        },
    )
    .await?;
    Err(AppError::Forbidden(permission.describe().into()))
}

/// The caller of the server function or page being handled, as the auth
/// middleware resolved it from the session.
pub fn current_principal() -> Option<Principal> {
    leptos::prelude::use_context::<http::request::Parts>()?
        .extensions
        .get::<Principal>()
        .cloned()
}

/// The signed-in user, for server functions that any member of staff may
/// call (their own account).
pub fn signed_in() -> Result<Principal, AppError> {
    current_principal()
        .filter(|p| p.kind == SubjectKind::User)
        .ok_or(AppError::Unauthenticated)
}

/// The principal of a bearer access token: signature and claims checked,
/// then the subject looked up (one primary-key read, cached briefly and
/// evicted on every change, see [`identity`]) so a revoked client or a
/// disabled user is refused at once, not when the token expires.
pub async fn resolve_bearer(
    accounts: Accounts<'_>,
    token: &str,
) -> Result<Option<Principal>, AppError> {
    let Ok(claims) = accounts.settings.jwt.verify_access(token) else {
        return Ok(None);
    };
    let principal = match claims.kind {
        // The same primary-key read carries the client's partner: tenancy
        // costs no extra query and a moved client is re-scoped at once.
        SubjectKind::ApiClient => accounts
            .settings
            .identity
            .client(accounts.db, &claims.sub)
            .await?
            .and_then(Principal::client),
        SubjectKind::User => accounts
            .settings
            .identity
            .user(accounts.db, &claims.sub)
            .await?
            .filter(|user| user.active && Some(user.session_epoch) == claims.sep)
            .map(|user| Principal::user(&user)),
    };
    Ok(principal)
}

/// Creates a staff account (Admin page and `server create-admin`).
pub async fn create_user(
    db: &Db,
    context: &AuditContext,
    raw_email: &str,
    display_name: &str,
    raw_role: &str,
    password: &str,
) -> Result<String, AppError> {
    let mut errors = FieldErrors::new();
    let email = errors.check(Email::parse("email", raw_email));
    let role = errors.check(Role::parse_staff("role", raw_role));
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        errors.push("display_name", "must be 1 to 100 characters");
    }
    let password = errors.check(NewPassword::parse("password", password, Some(raw_email)));
    errors.clone().into_result()?;
    let (Some(email), Some(role), Some(password)) = (email, role, password) else {
        return Err(errors.into());
    };

    let hash = passwords::hash(password.expose().to_owned())
        .await
        .map_err(|e| AppError::internal(&e))?;
    let mut tx = db.begin_write().await?;
    let id = users::insert(
        &mut tx,
        &users::NewUser {
            email: email.as_str(),
            display_name,
            role,
            password_hash: &hash,
        },
    )
    .await
    .map_err(|e| AppError::on_unique(e, "email", "is already used by another account"))?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "user.created",
            entity_type: "user",
            entity_id: Some(&id),
            details: json!({ "after": { "email": email.as_str(), "display_name": display_name, "role": role } }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a user's role and active flag (Admin page). Either change ends
/// the user's sessions and refresh tokens; the last active administrator
/// cannot be demoted or disabled.
pub async fn update_user_access(
    db: &Db,
    context: &AuditContext,
    user_id: &str,
    raw_role: &str,
    active: bool,
) -> Result<(), AppError> {
    let role = Role::parse_staff("role", raw_role).map_err(FieldErrors::from)?;
    let mut tx = db.begin_write().await?;
    let before = users::find_by_id(&mut *tx, user_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The account".into()))?;
    if before.role == role && before.active == active {
        return Ok(());
    }
    if before.role == Role::Admin
        && before.active
        && (role != Role::Admin || !active)
        && users::count_active_admins(&mut tx).await? <= 1
    {
        return Err(AppError::Conflict(
            "This is the last active administrator: make someone else an administrator first."
                .into(),
        ));
    }
    users::update_access(&mut tx, user_id, role, active).await?;
    tx.identity_changed(user_id).await?;
    sessions::end_sessions_of(&mut tx, user_id, None).await?;
    tokens::revoke_subject(&mut tx, SubjectKind::User, user_id).await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "user.access_changed",
            entity_type: "user",
            entity_id: Some(user_id),
            details: json!({
                "before": { "role": before.role, "active": before.active },
                "after": { "role": role, "active": active },
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the signed-in user's password after checking the current one,
/// and ends all their other sessions (and refresh tokens). The current
/// session stays signed in, on the new epoch.
pub async fn change_password(
    accounts: Accounts<'_>,
    session: &Session,
    principal: &Principal,
    meta: &RequestMeta,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), AppError> {
    let user = users::find_by_id(accounts.db.pool(), &principal.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // The current password is guessed here as at sign-in: the same limits,
    // counted in the same buckets, and the same lockout.
    const CHANNEL: &str = "password_change";
    if let Some(throttled) = signin::throttled(accounts, &user.email, meta, CHANNEL).await? {
        return Err(throttled.into());
    }
    let context = audit_context(Some(principal), meta);
    let now = now_micros();
    if let Some(until) = user.locked_until.filter(|_| user.is_locked(now)) {
        let failure = "auth.password_change_failed";
        signin::record_failure(accounts, &user, meta, failure, "locked", false, CHANNEL).await?;
        let seconds = u64::try_from(until - now).unwrap_or(0).div_ceil(1_000_000);
        return Err(AppError::RateLimited(seconds.max(1)));
    }
    let mut errors = FieldErrors::new();
    let new_password = errors.check(NewPassword::parse("new_password", new, Some(&user.email)));
    if new != confirm {
        errors.push("confirm_password", "must match the new password");
    }
    if new == current {
        errors.push("new_password", "must differ from the current password");
    }
    let current_ok = passwords::verify(current.to_owned(), Some(user.password_hash.clone()))
        .await
        .map_err(|e| AppError::internal(&e))?;
    if !current_ok {
        let failure = "auth.password_change_failed";
        signin::record_failure(
            accounts,
            &user,
            meta,
            failure,
            "wrong_password",
            true,
            CHANNEL,
        )
        .await?;
        errors.push("current_password", "is not your current password");
    }
    errors.clone().into_result()?;
    let Some(new_password) = new_password else {
        return Err(errors.into());
    };

    let hash = passwords::hash(new_password.expose().to_owned())
        .await
        .map_err(|e| AppError::internal(&e))?;
    let mut tx = accounts.db.begin_write().await?;
    let epoch = users::set_password(&mut tx, &user.id, &hash).await?;
    tx.identity_changed(&user.id).await?;
    let ended = sessions::end_sessions_of(&mut tx, &user.id, session.id().as_ref()).await?;
    tokens::revoke_subject(&mut tx, SubjectKind::User, &user.id).await?;
    audit::append(
        &mut tx,
        &context,
        AuditEvent {
            action: "auth.password_changed",
            entity_type: "user",
            entity_id: Some(&user.id),
            details: json!({ "other_sessions_ended": ended }),
        },
    )
    .await?;
    tx.commit().await?;

    // Keep this session, moved onto the new epoch and a new id.
    session.cycle_id().await.map_err(session_error)?;
    if let Some(auth) = session
        .get::<SessionAuth>(AUTH_KEY)
        .await
        .map_err(session_error)?
    {
        session
            .insert(AUTH_KEY, SessionAuth { epoch, ..auth })
            .await
            .map_err(session_error)?;
    }
    Ok(())
}
