//! Cross-site request forgery defence for cookie-authenticated requests.
//!
//! Leptos server functions are plain POST endpoints with no origin check of
//! their own (leptos#3786), so every state-changing request is checked here,
//! before any handler:
//!
//! * `Sec-Fetch-Site: cross-site` is refused;
//! * an `Origin` other than `VANGUARD_PUBLIC_ORIGIN` is refused;
//! * a request with no `Origin` is refused when it carries a cookie, unless
//!   the browser marked it same-origin: a cookie is what a forged request
//!   would ride on. Without a cookie (API clients with bearer tokens, curl)
//!   there is nothing to forge.
//!
//! Safe methods (GET, HEAD, OPTIONS) pass; no mutating server function uses
//! a GET encoding.
//!
//! The JSON API (`/api/v1`) is not checked at all: it authenticates by
//! bearer token only and has no session layer, so a cookie there (a load
//! balancer's stickiness cookie, say) carries no authority a forged request
//! could borrow, and a partner's server sends no `Origin`.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::HttpPolicy;

pub async fn refuse_cross_origin(
    State(policy): State<Arc<HttpPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || crate::api::is_api_path(request.uri().path())
    {
        return next.run(request).await;
    }
    match verdict(&request, &policy.public_origin) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(
                method = %request.method(),
                reason,
                "refused a cross-origin state-changing request"
            );
            forbidden(reason)
        }
    }
}

fn verdict(request: &Request, public_origin: &str) -> Result<(), &'static str> {
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site == Some("cross-site") {
        return Err("Sec-Fetch-Site is cross-site");
    }
    match headers.get(header::ORIGIN) {
        Some(origin) if origin.as_bytes() == public_origin.as_bytes() => Ok(()),
        Some(_) => Err("Origin does not match this site"),
        None if headers.contains_key(header::COOKIE) && fetch_site != Some("same-origin") => {
            Err("a cookie was sent without an Origin")
        }
        None => Ok(()),
    }
}

fn forbidden(reason: &'static str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(serde_json::json!({
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
            "detail": format!("Cross-origin request refused: {reason}."),
        })),
    )
        .into_response()
}
