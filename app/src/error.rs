//! One error type for every server function and page.
//!
//! It crosses the wire as JSON (`FromServerFnError`), so a form can show the
//! field errors of a rejected submission and a page can show why it failed.
//! Each variant documents the HTTP status it maps to. Database and other
//! internal errors never reach the client: they are logged with the request's
//! correlation id and the client gets an opaque reference instead.

use leptos::prelude::*;
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use shared::FieldErrors;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// `401 Unauthorized`: no valid session.
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// `403 Forbidden`: signed in, but the role lacks the permission named.
    #[error("You do not have permission to {0}.")]
    Forbidden(String),
    /// `404 Not Found`: the record (named) does not exist or is not visible.
    #[error("{0} was not found.")]
    NotFound(String),
    /// `409 Conflict`: the change clashes with the current state of a record.
    #[error("{0}")]
    Conflict(String),
    /// `422 Unprocessable Entity`: input broke the named rules.
    #[error("Please correct the highlighted fields: {0}")]
    Validation(FieldErrors),
    /// `503 Service Unavailable`: a dependency (the database) is down.
    #[error("The service is temporarily unavailable; please try again shortly.")]
    Unavailable,
    /// `500 Internal Server Error`: details are in the server log under the
    /// reference, never in the response.
    #[error("Something went wrong on our side (reference {0}).")]
    Internal(String),
    /// A transport or encoding failure reported by the server-function layer.
    #[error("{0}")]
    ServerFn(ServerFnErrorErr),
}

impl AppError {
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Validation(_) => 422,
            Self::Unavailable => 503,
            Self::Internal(_) => 500,
            Self::ServerFn(ServerFnErrorErr::Request(_)) => 503,
            Self::ServerFn(_) => 400,
        }
    }

    pub fn title(&self) -> &'static str {
        match self.status_code() {
            401 => "Sign-in required",
            403 => "Not allowed",
            404 => "Not found",
            409 => "Conflict",
            422 => "Check your input",
            503 => "Temporarily unavailable",
            400 => "Bad request",
            _ => "Something went wrong",
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::ServerFn(value)
    }
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    /// The message is logged, not returned: it can name tables, constraints
    /// or values.
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::error!(error = %error, "database unavailable");
                Self::Unavailable
            }
            other => Self::internal(&other),
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Logs `error` under a fresh reference and returns an opaque 500.
    pub fn internal(error: &dyn std::error::Error) -> Self {
        let reference = format!("{:08x}", rand_reference());
        tracing::error!(error = %error, reference = %reference, "internal error");
        Self::Internal(reference)
    }
}

/// A short random number to quote to support; it only has to be unique
/// enough to find one log line.
#[cfg(feature = "ssr")]
fn rand_reference() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    // RandomState is seeded from the OS per instance; hashing the clock
    // through it gives an unpredictable value without another dependency.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    RandomState::new().hash_one(nanos) as u32
}

/// Shows an error with its title, and sets the response status when it is
/// rendered on the server.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            http::StatusCode::from_u16(error.status_code())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    view! {
        <section class="error-panel" role="alert">
            <p class="error-code">{error.status_code()}</p>
            <h1>{error.title()}</h1>
            <p>{error.to_string()}</p>
            <p><a href="/">"Back to the dashboard"</a></p>
        </section>
    }
}

/// The fallback of every `ErrorBoundary`: the first error, shown in full.
#[component]
pub fn ErrorPage(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let error = errors
        .get_untracked()
        .into_iter()
        .next()
        .map(|(_, error)| match error.downcast_ref::<AppError>() {
            Some(app_error) => app_error.clone(),
            None => AppError::ServerFn(ServerFnErrorErr::ServerError(error.to_string())),
        })
        .unwrap_or(AppError::Internal("unknown".into()));
    view! { <ErrorPanel error /> }
}

/// The router's fallback.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! { <ErrorPanel error=AppError::NotFound("The page you asked for".into()) /> }
}
