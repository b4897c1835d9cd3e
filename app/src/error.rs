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
    /// `401 Unauthorized`: a sign-in failed. Deliberately vague: an unknown
    /// email, a wrong password and a locked account read the same.
    #[error("The email or password is incorrect, or the account is locked or disabled.")]
    InvalidCredentials,
    /// `403 Forbidden`: signed in, but the role lacks the permission named.
    #[error("You do not have permission to {0}.")]
    Forbidden(String),
    /// `404 Not Found`: the record (named) does not exist or is not visible.
    #[error("{0} was not found.")]
    NotFound(String),
    /// `409 Conflict`: the change clashes with the current state of a record.
    #[error("{0}")]
    Conflict(String),
    /// `409 Conflict`: a value that must be unique is taken (field named).
    #[error("Please correct the highlighted fields: {0}")]
    Duplicate(FieldErrors),
    /// `412 Precondition Failed`: the record changed since the caller read
    /// it (a stale `If-Match` or form version).
    #[error("{0}")]
    PreconditionFailed(String),
    /// `422 Unprocessable Entity`: input broke the named rules.
    #[error("Please correct the highlighted fields: {0}")]
    Validation(FieldErrors),
    /// `413 Content Too Large`: an upload over the configured limit (the
    /// message names the field and the limit).
    #[error("{0}")]
    TooLarge(String),
    /// `429 Too Many Requests`: retry after this many seconds.
    #[error("Too many attempts; please wait {0} seconds and try again.")]
    RateLimited(u64),
    /// `503 Service Unavailable` with `Retry-After`: a dependency (the
    /// database) is down, busy or restarting; the same request is expected
    /// to work when retried shortly.
    #[error("The service is temporarily unavailable; please try again shortly.")]
    Unavailable,
    /// `503 Service Unavailable` with `Retry-After`: the claims pipeline is
    /// too far behind to take more claims now (the message says how far);
    /// nothing was stored, and the same request is taken once it catches up.
    #[error("{0}")]
    Backlogged(String),
    /// `507 Insufficient Storage` with `Retry-After`: the database or file
    /// storage is full. Nothing was saved; retry once space is freed.
    #[error(
        "The service has run out of storage space, so nothing was saved; please try again later."
    )]
    StorageFull,
    /// `500 Internal Server Error`: details are in the server log under the
    /// reference, never in the response. The cause stays on the server
    /// (it is not serialized): the pipeline records it as a step's reason.
    #[error("Something went wrong on our side (reference {0}).")]
    Internal(String, #[serde(skip)] Cause),
    /// A transport or encoding failure reported by the server-function layer.
    #[error("{0}")]
    ServerFn(ServerFnErrorErr),
}

/// The cause of an [`AppError::Internal`], kept on the server: never
/// serialized, so it cannot reach a client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cause(Option<String>);

impl AppError {
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) | Self::Duplicate(_) => 409,
            Self::PreconditionFailed(_) => 412,
            Self::TooLarge(_) => 413,
            Self::Validation(_) => 422,
            Self::RateLimited(_) => 429,
            Self::Unavailable | Self::Backlogged(_) => 503,
            Self::StorageFull => 507,
            Self::Internal(..) => 500,
            Self::ServerFn(ServerFnErrorErr::Request(_)) => 503,
            Self::ServerFn(_) => 400,
        }
    }

    /// The field errors to show beside the inputs, if any.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Self::Validation(errors) | Self::Duplicate(errors) => Some(errors),
            _ => None,
        }
    }

    pub fn title(&self) -> &'static str {
        match self.status_code() {
            401 => "Sign-in required",
            403 => "Not allowed",
            404 => "Not found",
            409 => "Conflict",
            412 => "Changed meanwhile",
            413 => "Too large",
            422 => "Check your input",
            429 => "Too many requests",
            503 => "Temporarily unavailable",
            507 => "Out of storage",
            400 => "Bad request",
            _ => "Something went wrong",
        }
    }

    /// The `Retry-After` seconds to send with this error: set for every
    /// condition a client should retry, so "retry" reads differently from
    /// "bug" (a 500 carries none).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited(seconds) => Some(*seconds),
            Self::Unavailable => Some(RETRY_UNAVAILABLE_SECONDS),
            Self::Backlogged(_) => Some(RETRY_BACKLOGGED_SECONDS),
            Self::StorageFull => Some(RETRY_STORAGE_FULL_SECONDS),
            _ => None,
        }
    }
}

/// A busy or restarting database is usually back within seconds.
pub const RETRY_UNAVAILABLE_SECONDS: u64 = 2;
/// A backlog over the intake limit drains at thousands of steps a second:
/// a few seconds bring it back under.
pub const RETRY_BACKLOGGED_SECONDS: u64 = 5;
/// Freeing storage takes an operator: ask clients to back off longer.
pub const RETRY_STORAGE_FULL_SECONDS: u64 = 30;

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
    /// Classified by engine error code (see [`crate::db_failure`]). The
    /// message is logged, not returned: it can name tables, constraints or
    /// values.
    fn from(error: sqlx::Error) -> Self {
        use crate::db_failure::{Failure, classify};
        match classify(&error) {
            Failure::Unavailable => {
                tracing::warn!(error = %error, "database unavailable (retryable)");
                Self::Unavailable
            }
            Failure::StorageFull => {
                tracing::error!(error = %error, "database storage is full");
                Self::StorageFull
            }
            Failure::Internal => Self::internal(&error),
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Maps a unique violation to `409` naming `field`; anything else as
    /// [`From<sqlx::Error>`] does.
    pub fn on_unique(error: sqlx::Error, field: &str, message: &str) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Duplicate(shared::FieldError::new(field, message).into())
            }
            _ => error.into(),
        }
    }

    /// Optimistic concurrency: `expected` (an `If-Match`, the version a page
    /// showed) must still be the record's `current` version, or the write
    /// is a 412 that says what to do.
    pub fn check_version(entity: &str, expected: Option<i64>, current: i64) -> Result<(), Self> {
        match expected {
            Some(expected) if expected != current => Err(Self::PreconditionFailed(format!(
                "The {entity} changed since you loaded it (now version {current}); reload to see what changed."
            ))),
            _ => Ok(()),
        }
    }

    /// [`AppError::internal`] for a failure known only by its message.
    pub fn internal_message(message: impl std::fmt::Display) -> Self {
        Self::internal(&std::io::Error::other(message.to_string()))
    }

    /// Logs `error` under a fresh reference and returns an opaque 500.
    pub fn internal(error: &dyn std::error::Error) -> Self {
        let reference = format!("{:08x}", rand_reference());
        tracing::error!(error = %error, reference = %reference, "internal error");
        Self::Internal(reference, Cause(Some(error.to_string())))
    }

    /// What went wrong, in words, for the server's own records: the cause of
    /// an internal error, otherwise the message a client sees.
    pub fn cause(&self) -> String {
        match self {
            Self::Internal(_, Cause(Some(cause))) => cause.clone(),
            other => other.to_string(),
        }
    }
}

/// Finishes a server function: an error sets the HTTP status it documents
/// (and `Retry-After` for 429, 503 and 507). A plain HTML form post (no WASM yet) is left
/// alone: Leptos answers it with a redirect back to the form, carrying the
/// error in the URL, and a status would break that redirect.
#[cfg(feature = "ssr")]
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        let plain_form = crate::request::is_plain_form_post();
        if let (false, Some(response)) = (plain_form, use_context::<leptos_axum::ResponseOptions>())
        {
            response.set_status(
                http::StatusCode::from_u16(error.status_code())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
            if let Some(seconds) = error.retry_after()
                && let Ok(value) = http::HeaderValue::from_str(&seconds.to_string())
            {
                response.insert_header(http::header::RETRY_AFTER, value);
            }
        }
    }
    result
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
        // Every page carries a title, an error page too.
        <leptos_meta::Title text=error.title() />
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
        .unwrap_or(AppError::Internal("unknown".into(), Cause::default()));
    view! { <ErrorPanel error /> }
}

/// The router's fallback.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! { <ErrorPanel error=AppError::NotFound("The page you asked for".into()) /> }
}
