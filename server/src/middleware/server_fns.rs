//! The door in front of every server function (`/api/<name><hash>`).
//!
//! Leptos decodes a server function's arguments before its body runs, so a
//! missing or malformed argument used to fail before any permission check,
//! and as a 500 (server_fn answers every error it raises itself with 500).
//! Here, in order:
//!
//! 1. without a signed-in session, only the functions a signed-out browser
//!    needs ([`ServerFnPaths::signed_out`]) are reachable, and a
//!    half-signed-in one (password accepted, second factor to come) reaches
//!    those of its step too ([`ServerFnPaths::half_signed_in`]): everything
//!    else is 401 before a byte of the body is read;
//! 2. the body is capped at [`MAX_BODY_BYTES`] (413);
//! 3. an argument server_fn could not decode becomes 422 naming the field
//!    (400 when no field can be named), never a 5xx.
//!
//! Every answer is an [`AppError`] in the JSON the browser's server-function
//! client decodes, so a form shows these errors like any other.

use std::{collections::HashSet, sync::Arc};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse as _, Redirect, Response},
};
use leptos::server_fn::{ServerFn, error::ServerFnErrorErr};

use app::{
    auth::ssr::{PendingSignIn, Principal},
    error::AppError,
};

/// Server-function arguments are form fields and short JSON: a megabyte is
/// far beyond any real call (attachments upload through their own route).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// An error body server_fn wrote is one short JSON value.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// The registered server functions, and those a signed-out browser may call.
#[derive(Debug, Clone)]
pub struct ServerFnPaths {
    all: Arc<HashSet<&'static str>>,
    signed_out: Arc<HashSet<&'static str>>,
    half_signed_in: Arc<HashSet<&'static str>>,
}

impl ServerFnPaths {
    /// Every server function linked into this binary.
    pub fn registered() -> Self {
        Self {
            all: Arc::new(
                leptos::server_fn::axum::server_fn_paths()
                    .map(|(path, _)| path)
                    .collect(),
            ),
            signed_out: Arc::new(Self::signed_out().into_iter().collect()),
            half_signed_in: Arc::new(Self::half_signed_in().into_iter().collect()),
        }
    }

    /// The second sign-in step and enrolment (each function checks that
    /// the session is at its stage).
    pub fn half_signed_in() -> [&'static str; 3] {
        [
            <app::auth::mfa::VerifySignInCode as ServerFn>::PATH,
            <app::auth::mfa::GetMfaSetup as ServerFn>::PATH,
            <app::auth::mfa::ConfirmMfa as ServerFn>::PATH,
        ]
    }

    /// Signing in, signing out (an expired session must still reach the
    /// sign-in page) and asking who is signed in (answers `null`).
    pub fn signed_out() -> [&'static str; 3] {
        [
            <app::auth::Login as ServerFn>::PATH,
            <app::auth::Logout as ServerFn>::PATH,
            <app::auth::GetCurrentUser as ServerFn>::PATH,
        ]
    }
}

pub async fn guard(State(paths): State<ServerFnPaths>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !paths.all.contains(path) {
        return next.run(request).await;
    }
    let extensions = request.extensions();
    let allowed = extensions.get::<Principal>().is_some()
        || paths.signed_out.contains(path)
        || (extensions.get::<PendingSignIn>().is_some() && paths.half_signed_in.contains(path));
    if !allowed {
        // A plain form post (no WASM yet) from an expired session: back to
        // the sign-in page rather than a JSON body the browser would show.
        if accepts_html(request.headers()) {
            return Redirect::to("/login").into_response();
        }
        return error_response(&AppError::Unauthenticated);
    }
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return error_response(&too_large());
    }
    // Read here, within the cap, so server_fn never meets an oversized or
    // broken body (it would report either as a 5xx). A body that breaks off
    // has nobody left to read the answer, so one answer serves both.
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return error_response(&too_large());
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    undecodable_arguments_as_client_errors(response).await
}

fn too_large() -> AppError {
    AppError::TooLarge(format!(
        "The request is over the {} KiB limit for a form.",
        MAX_BODY_BYTES / 1024
    ))
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// server_fn answers its own decoding failures with 500 and the error in
/// the body; those are the caller's mistakes, so they become 422 (a field
/// named) or 400. Any other answer passes untouched.
async fn undecodable_arguments_as_client_errors(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response
            .headers()
            .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY_BYTES).await else {
        return error_response(&AppError::internal_message(
            "a server function's error body was unreadable",
        ));
    };
    match serde_json::from_slice::<AppError>(&bytes) {
        Ok(AppError::ServerFn(
            ServerFnErrorErr::Args(message)
            | ServerFnErrorErr::MissingArg(message)
            | ServerFnErrorErr::Deserialization(message),
        )) => error_response(&argument_error(&message)),
        _ => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// 422 naming the argument when the decoder's message names it (serde's
/// "missing field `email`", "unknown variant `x`" for field ...), else 400.
fn argument_error(message: &str) -> AppError {
    match crate::api::problem::field_named(message) {
        Some(field) => {
            let rule = if message.contains("missing field") {
                "is required"
            } else {
                "has a value that cannot be read"
            };
            AppError::Validation(shared::FieldError::new(field, rule).into())
        }
        None => AppError::ServerFn(ServerFnErrorErr::Args(message.to_owned())),
    }
}

/// The error as server_fn's client expects it: the status the error
/// documents, the error itself as JSON.
fn error_response(error: &AppError) -> Response {
    let status =
        StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Serializing an `AppError` cannot fail (strings and unit variants).
    let body = serde_json::to_string(error).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
