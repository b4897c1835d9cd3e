//! Browser authentication: who the session belongs to, and the sign-in gate
//! in front of every page.
//!
//! The JSON API never passes through here: it has no session layer at all,
//! so a session cookie means nothing there (see `crate::api`).

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse as _, Redirect, Response},
};
use tower_sessions::Session;

use app::{
    auth::{
        mfa::{ENROL_PATH, VERIFY_PATH},
        ssr::{self as auth, PendingSignIn, Principal, SessionState, sessions::PendingStage},
    },
    request::CallerSlot,
    state::AppState,
};

/// Puts the session's [`Principal`] (if any, and still valid) into the
/// request's extensions, where server functions and pages find it. A
/// half-done sign-in puts a [`PendingSignIn`] there instead, which nothing
/// mistakes for a principal.
pub async fn resolve_principal(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    match auth::resolve_session(state.accounts(), &session).await {
        Ok(SessionState::SignedIn(principal)) => {
            CallerSlot::record(request.extensions(), principal.kind.as_str(), &principal.id);
            request.extensions_mut().insert(principal);
        }
        Ok(SessionState::Pending(pending)) => {
            request.extensions_mut().insert(pending);
        }
        Ok(SessionState::SignedOut) => {}
        Err(error) => {
            return (
                axum::http::StatusCode::from_u16(error.status_code())
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                error.to_string(),
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Pages need a signed-in user: anyone else is sent to the sign-in page,
/// which brings them back afterwards. A half-signed-in session sees only
/// its step (the code, or enrolment) and is sent there from everywhere
/// else. Server functions (POST) are not redirected; each checks its
/// permission and answers 401/403 itself.
pub async fn require_sign_in(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        let path = request.uri().path();
        let step = |stage| match stage {
            PendingStage::Verify => VERIFY_PATH,
            PendingStage::Enrol => ENROL_PATH,
        };
        let is_step = path == VERIFY_PATH || path == ENROL_PATH;
        if request.extensions().get::<Principal>().is_some() {
            if path == "/login" || is_step {
                return Redirect::to("/").into_response();
            }
        } else if let Some(pending) = request.extensions().get::<PendingSignIn>() {
            let own_step = step(pending.stage);
            if path != own_step {
                return Redirect::to(own_step).into_response();
            }
        } else if is_step {
            return Redirect::to("/login").into_response();
        } else if path != "/login" {
            let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
            let next = url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>();
            return Redirect::to(&format!("/login?next={next}")).into_response();
        }
    }
    next.run(request).await
}

/// The signed-in member of staff behind a browser route that is not a
/// Leptos page or server function (exports, attachment uploads and
/// downloads), refused unless their role has `permission` (audited like a
/// server function's refusal).
pub async fn authorize_session(
    state: &AppState,
    principal: Option<axum::Extension<Principal>>,
    extensions: &axum::http::Extensions,
    permission: shared::auth::Permission,
) -> Result<Principal, crate::api::ApiError> {
    let principal = principal.map(|axum::Extension(p)| p);
    Ok(auth::require(
        &state.db,
        principal.as_ref(),
        permission,
        &app::request::RequestMeta::from_extensions(extensions),
    )
    .await?)
}
