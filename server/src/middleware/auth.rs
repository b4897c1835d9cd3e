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
    auth::ssr::{self as auth, Principal},
    request::CallerSlot,
    state::AppState,
};

/// Puts the session's [`Principal`] (if any, and still valid) into the
/// request's extensions, where server functions and pages find it.
pub async fn resolve_principal(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    match auth::resolve_session(&state, &session).await {
        Ok(Some(principal)) => {
            CallerSlot::record(request.extensions(), principal.kind.as_str(), &principal.id);
            request.extensions_mut().insert(principal);
        }
        Ok(None) => {}
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
/// which brings them back afterwards. Server functions (POST) are not
/// redirected; each checks its permission and answers 401/403 itself.
pub async fn require_sign_in(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        let signed_in = request.extensions().get::<Principal>().is_some();
        let path = request.uri().path();
        if path == "/login" && signed_in {
            return Redirect::to("/").into_response();
        }
        if path != "/login" && !signed_in {
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
