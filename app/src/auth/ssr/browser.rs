//! A browser session's sign-in: started (fully or half, pending a second
//! factor), resolved on every request against the timeouts and the account,
//! and ended. The store behind it is [`super::sessions`].

use serde_json::json;
use tower_sessions::Session;

use super::{
    Accounts, Principal, audit_context, micros,
    sessions::{
        AUTH_KEY, PENDING_KEY, PENDING_TTL_MICROS, PendingAuth, PendingStage, SessionAuth,
        TOUCH_INTERVAL_MICROS,
    },
    users::UserRecord,
};
use crate::{
    audit::ssr::{self as audit, AuditEvent},
    db::now_micros,
    error::AppError,
    request::RequestMeta,
};

pub(super) fn session_error(error: tower_sessions::session::Error) -> AppError {
    AppError::internal(&error)
}

/// Signs `user` into `session`: a new session id (no fixation), then the
/// record of who and when. A half-done sign-in it completes is forgotten.
pub async fn start_session(session: &Session, user: &UserRecord) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    session
        .remove_value(PENDING_KEY)
        .await
        .map_err(session_error)?;
    let now = now_micros();
    session
        .insert(
            AUTH_KEY,
            SessionAuth {
                user_id: user.id.clone(),
                epoch: user.session_epoch,
                authenticated_at: now,
                last_seen_at: now,
            },
        )
        .await
        .map_err(session_error)
}

/// Records a half-done sign-in (the password was right; `stage` comes
/// next) in a new session id. The session is not signed in.
pub async fn start_pending(
    session: &Session,
    user: &UserRecord,
    stage: PendingStage,
    next: Option<String>,
) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    session
        .remove_value(AUTH_KEY)
        .await
        .map_err(session_error)?;
    session
        .insert(
            PENDING_KEY,
            PendingAuth {
                user_id: user.id.clone(),
                epoch: user.session_epoch,
                stage,
                started_at: now_micros(),
                next,
            },
        )
        .await
        .map_err(session_error)
}

/// A session whose sign-in is half done, as the middleware resolved it. It
/// is deliberately not a [`Principal`]: every page, server function and
/// route that asks for one treats this session as signed out; only the
/// second step (and, at [`PendingStage::Enrol`], the enrolment) reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    pub user_id: String,
    pub email: String,
    pub stage: PendingStage,
    pub next: Option<String>,
}

/// What a browser session amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    SignedIn(Principal),
    Pending(PendingSignIn),
    SignedOut,
}

/// What `session` is, if still valid: within the idle and absolute
/// timeouts, the account active and its session epoch unchanged (a
/// half-done sign-in within [`PENDING_TTL_MICROS`]). An invalid session is
/// ended on the spot. A signed-in user without a second factor while MFA is
/// required (signed in before it was) is moved back to enrolment.
pub async fn resolve_session(
    accounts: Accounts<'_>,
    session: &Session,
) -> Result<SessionState, AppError> {
    let now = now_micros();
    if let Some(auth) = session
        .get::<SessionAuth>(AUTH_KEY)
        .await
        .map_err(session_error)?
    {
        let settings = &accounts.settings;
        let expired = now - auth.authenticated_at > micros(settings.session_absolute)
            || now - auth.last_seen_at > micros(settings.session_idle);
        let user = if expired {
            None
        } else {
            settings
                .identity
                .user(accounts.db, &auth.user_id)
                .await?
                .filter(|user| user.active && user.session_epoch == auth.epoch)
        };
        let Some(user) = user else {
            session.flush().await.map_err(session_error)?;
            return Ok(SessionState::SignedOut);
        };
        if settings.require_mfa && !user.mfa_enabled {
            start_pending(session, &user, PendingStage::Enrol, None).await?;
            return Ok(SessionState::Pending(PendingSignIn {
                user_id: user.id,
                email: user.email,
                stage: PendingStage::Enrol,
                next: None,
            }));
        }
        if now - auth.last_seen_at > TOUCH_INTERVAL_MICROS {
            session
                .insert(
                    AUTH_KEY,
                    SessionAuth {
                        last_seen_at: now,
                        ..auth
                    },
                )
                .await
                .map_err(session_error)?;
        }
        return Ok(SessionState::SignedIn(Principal::user(&user)));
    }
    let Some(pending) = session
        .get::<PendingAuth>(PENDING_KEY)
        .await
        .map_err(session_error)?
    else {
        return Ok(SessionState::SignedOut);
    };
    let user = if now - pending.started_at > PENDING_TTL_MICROS {
        None
    } else {
        accounts
            .settings
            .identity
            .user(accounts.db, &pending.user_id)
            .await?
            // A factor reset (or enrolled elsewhere) since the password
            // step changes what the step must be: start again.
            .filter(|user| {
                user.active
                    && user.session_epoch == pending.epoch
                    && user.mfa_enabled == (pending.stage == PendingStage::Verify)
            })
    };
    let Some(user) = user else {
        session.flush().await.map_err(session_error)?;
        return Ok(SessionState::SignedOut);
    };
    Ok(SessionState::Pending(PendingSignIn {
        user_id: user.id,
        email: user.email,
        stage: pending.stage,
        next: pending.next,
    }))
}

/// The half-done sign-in of the request being handled, if any.
pub fn current_pending() -> Option<PendingSignIn> {
    leptos::prelude::use_context::<http::request::Parts>()?
        .extensions
        .get::<PendingSignIn>()
        .cloned()
}

/// Ends `session` (logout), audited.
pub async fn end_session(
    accounts: Accounts<'_>,
    session: &Session,
    principal: Option<&Principal>,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)?;
    if let Some(principal) = principal {
        audit::append_now(
            accounts.db,
            &audit_context(Some(principal), meta),
            AuditEvent {
                action: "auth.logout",
                entity_type: "user",
                entity_id: Some(&principal.id),
                details: json!({}),
            },
        )
        .await?;
    }
    Ok(())
}
