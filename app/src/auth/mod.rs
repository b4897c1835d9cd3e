//! Staff identity: signing in and out, the current user, one's own password.
//! The server side (sessions, tokens, the permission check, account
//! services) is in [`ssr`].

pub mod mfa;
pub mod mfa_pages;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::auth::{Permission, Role};

use crate::error::AppError;

/// The signed-in member of staff, as the UI sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn can(&self, permission: Permission) -> bool {
        self.role.permits(permission)
    }
}

/// Who is signed in (`None` on the sign-in page).
#[server]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    Ok(current_user_snapshot())
}

/// The signed-in user of the request being rendered, without a round trip:
/// read from the request on the server, and carried to the browser inside
/// the page (see `Layout`). Outside a request (in the browser) it is `None`.
pub fn current_user_snapshot() -> Option<CurrentUser> {
    #[cfg(feature = "ssr")]
    {
        ssr::current_principal()
            .filter(|p| p.kind == ssr::tokens::SubjectKind::User)
            .map(|p| CurrentUser {
                id: p.id,
                email: p.label,
                display_name: p.name,
                role: p.role,
            })
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Sends the browser to `path` with a full page load, so the signed-in
/// frame is rendered afresh by the server (after signing in or out).
pub fn reload_at(path: &str) {
    #[cfg(feature = "hydrate")]
    let _ = window().location().assign(path);
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Where to go after signing in (the rule is shared with the browser).
pub use shared::redirect::safe_next;

/// The password step. Answers where the browser goes next: `next` (checked)
/// when that signs the user in, else the second step (a code, or enrolment
/// when MFA is required and the user has none), which the session then
/// waits for without being signed in.
#[server]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use crate::{error::respond, request::RequestMeta, state::AppState};
    use ssr::{PasswordOutcome, sessions::PendingStage};
    respond(
        async move {
            let state = AppState::from_context()?;
            let session = extract_session().await?;
            let meta = RequestMeta::current();
            let outcome =
                ssr::login_with_password(state.accounts(), &email, &password, &meta, "browser")
                    .await??;
            let destination = match outcome {
                PasswordOutcome::SignedIn(user) => {
                    ssr::start_session(&session, &user).await?;
                    safe_next(next.as_deref())
                }
                PasswordOutcome::NeedsCode(user) => {
                    ssr::start_pending(&session, &user, PendingStage::Verify, next).await?;
                    mfa::VERIFY_PATH.to_owned()
                }
                PasswordOutcome::NeedsEnrolment(user) => {
                    ssr::start_pending(&session, &user, PendingStage::Enrol, next).await?;
                    mfa::ENROL_PATH.to_owned()
                }
            };
            if crate::request::is_plain_form_post() {
                leptos_axum::redirect(&destination);
            }
            Ok(destination)
        }
        .await,
    )
}

#[server]
pub async fn logout() -> Result<(), AppError> {
    use crate::{error::respond, request::RequestMeta, state::AppState};
    respond(
        async move {
            let state = AppState::from_context()?;
            let session = extract_session().await?;
            let principal = ssr::current_principal();
            ssr::end_session(
                state.accounts(),
                &session,
                principal.as_ref(),
                &RequestMeta::current(),
            )
            .await?;
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
}

#[server]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use crate::{request::RequestMeta, server_call::serve_own};
    serve_own(|call| async move {
        let session = extract_session().await?;
        ssr::change_password(
            call.state.accounts(),
            &session,
            &call.principal,
            &RequestMeta::current(),
            &current_password,
            &new_password,
            &confirm_password,
        )
        .await
    })
    .await
}

#[cfg(feature = "ssr")]
pub(crate) async fn extract_session() -> Result<tower_sessions::Session, AppError> {
    leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(AppError::internal_message)
}
