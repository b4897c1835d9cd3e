//! Staff multi-factor authentication as the browser reaches it: the second
//! sign-in step, enrolment (QR code, manual key, confirmation), recovery
//! codes, switching it off. The services are in [`super::ssr::mfa`] and
//! [`super::ssr::signin`]; the pages in [`super::mfa_pages`].
//!
//! A half-signed-in session reaches only [`VerifySignInCode`] (at the
//! second step) and [`GetMfaSetup`] / [`ConfirmMfa`] (when it must enrol):
//! the server-function guard lets nothing else through, and these check
//! the stage themselves.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The second sign-in step.
pub const VERIFY_PATH: &str = "/login/verify";
/// Enrolment a signed-out-until-enrolled user is held at (MFA required).
pub const ENROL_PATH: &str = "/login/enrol";
/// Enrolment and management for a signed-in user.
pub const ACCOUNT_PATH: &str = "/account/mfa";

/// What the set-up page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaSetup {
    pub enabled: bool,
    /// `VANGUARD_REQUIRE_MFA`: it cannot be switched off.
    pub required: bool,
    pub recovery_codes_left: i64,
    /// Recovery codes issued by the action just taken: shown this once.
    pub fresh_recovery_codes: Vec<String>,
    /// While not enabled: the key to put into the app.
    pub enrolment: Option<EnrolmentKey>,
}

/// The key of an enrolment in progress, as QR code and as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentKey {
    /// An `<svg>` element drawn by the server (no script, no request).
    pub qr_svg: String,
    /// Base32 in groups of four, for typing.
    pub manual_key: String,
    pub account: String,
}

/// Whom the set-up is for: the signed-in user, or a half-signed-in one at
/// the enrolment stage (MFA required). Anyone else: 401.
#[cfg(feature = "ssr")]
struct SetupSubject {
    user_id: String,
    email: String,
    context: crate::audit::ssr::AuditContext,
    /// Enrolling completes this session's sign-in.
    completes_sign_in: bool,
}

#[cfg(feature = "ssr")]
fn setup_subject() -> Result<SetupSubject, AppError> {
    use super::ssr::{self, sessions::PendingStage};
    use crate::{audit::ssr::Actor, request::RequestMeta};
    let meta = RequestMeta::current();
    if let Ok(principal) = ssr::signed_in() {
        return Ok(SetupSubject {
            context: ssr::audit_context(Some(&principal), &meta),
            user_id: principal.id,
            email: principal.label,
            completes_sign_in: false,
        });
    }
    let pending = ssr::current_pending()
        .filter(|pending| pending.stage == PendingStage::Enrol)
        .ok_or(AppError::Unauthenticated)?;
    Ok(SetupSubject {
        context: crate::audit::ssr::AuditContext {
            actor: Actor::User {
                id: pending.user_id.clone(),
                label: pending.email.clone(),
            },
            ..ssr::audit_context(None, &meta)
        },
        user_id: pending.user_id,
        email: pending.email,
        completes_sign_in: true,
    })
}

/// Sends a plain form post on to `path` (the WASM follows the answer).
#[cfg(feature = "ssr")]
fn go_to(path: String) -> String {
    if crate::request::is_plain_form_post() {
        leptos_axum::redirect(&path);
    }
    path
}

#[server]
pub async fn get_mfa_setup() -> Result<MfaSetup, AppError> {
    use super::ssr::{mfa, recovery_codes, totp};
    use crate::{error::respond, state::AppState};
    respond(
        async {
            let subject = setup_subject()?;
            let state = AppState::from_context()?;
            let session = super::extract_session().await?;
            let fresh_recovery_codes =
                recovery_codes::take_fresh(&state.vault, &session, &subject.user_id).await?;
            let enabled = mfa::load(state.accounts(), &subject.user_id)
                .await?
                .is_some_and(|factor| factor.confirmed);
            let enrolment = if enabled {
                None
            } else {
                let secret = mfa::begin_enrolment(state.accounts(), &subject.user_id).await?;
                let uri = totp::otpauth_uri(mfa::ISSUER, &subject.email, &secret);
                Some(EnrolmentKey {
                    qr_svg: totp::qr_svg(&uri).map_err(|e| AppError::internal(&e))?,
                    manual_key: totp::grouped_secret(&secret),
                    account: subject.email.clone(),
                })
            };
            Ok(MfaSetup {
                enabled,
                required: state.auth.require_mfa,
                recovery_codes_left: recovery_codes::left(&state.db, &subject.user_id).await?,
                fresh_recovery_codes,
                enrolment,
            })
        }
        .await,
    )
}

/// Confirms the enrolment with a current code. Answers where to go: the
/// account page, which shows the recovery codes once. For a user held at
/// enrolment this completes the sign-in.
#[server]
pub async fn confirm_mfa(code: String) -> Result<String, AppError> {
    use super::ssr::{self, mfa, recovery_codes, signin, users};
    use crate::{error::respond, request::RequestMeta, state::AppState};
    respond(
        async move {
            let subject = setup_subject()?;
            let state = AppState::from_context()?;
            let session = super::extract_session().await?;
            let codes =
                mfa::confirm_enrolment(state.accounts(), &subject.context, &subject.user_id, &code)
                    .await?;
            if subject.completes_sign_in {
                let user = users::find_by_id(state.db.pool(), &subject.user_id)
                    .await?
                    .ok_or(AppError::Unauthenticated)?;
                signin::complete_after_enrolment(state.accounts(), &user, &RequestMeta::current())
                    .await?;
                ssr::start_session(&session, &user).await?;
            }
            recovery_codes::stash_fresh(&state.vault, &session, &subject.user_id, &codes).await?;
            Ok(go_to(ACCOUNT_PATH.to_owned()))
        }
        .await,
    )
}

/// The second sign-in step: a code from the app, or a recovery code.
/// Answers where to go (the `next` of the sign-in, checked).
#[server]
pub async fn verify_sign_in_code(code: String) -> Result<String, AppError> {
    use super::ssr::{self, sessions::PendingStage, signin};
    use crate::{error::respond, request::RequestMeta, state::AppState};
    respond(
        async move {
            let pending = ssr::current_pending()
                .filter(|pending| pending.stage == PendingStage::Verify)
                .ok_or(AppError::Unauthenticated)?;
            let state = AppState::from_context()?;
            let session = super::extract_session().await?;
            let (user, _) = signin::verify_second_factor(
                state.accounts(),
                &pending.user_id,
                &code,
                &RequestMeta::current(),
            )
            .await??;
            ssr::start_session(&session, &user).await?;
            Ok(go_to(super::safe_next(pending.next.as_deref())))
        }
        .await,
    )
}

/// New recovery codes (the old ones stop working), shown once.
#[server]
pub async fn regenerate_recovery_codes() -> Result<String, AppError> {
    use super::ssr::{mfa, recovery_codes};
    use crate::server_call::serve_own;
    serve_own(|call| async move {
        let (state, me) = (&call.state, &call.principal.id);
        let session = super::extract_session().await?;
        let codes = mfa::regenerate(state.accounts(), &call.context, me).await?;
        recovery_codes::stash_fresh(&state.vault, &session, me, &codes).await?;
        Ok(go_to(ACCOUNT_PATH.to_owned()))
    })
    .await
}

/// Switches one's own second factor off, with a current code (refused
/// while MFA is required).
#[server]
pub async fn disable_mfa(code: String) -> Result<String, AppError> {
    use super::ssr::mfa;
    use crate::server_call::serve_own;
    serve_own(|call| async move {
        let (accounts, me) = (call.state.accounts(), &call.principal.id);
        mfa::disable_own(accounts, &call.context, me, &code).await?;
        Ok(go_to(ACCOUNT_PATH.to_owned()))
    })
    .await
}
