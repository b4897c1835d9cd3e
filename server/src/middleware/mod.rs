//! The layers every response passes through, outermost first:
//!
//! 1. [`correlation`]: correlation id in, span around the request, id out,
//!    and one log line per request;
//! 2. compression: gzip when the client accepts it (see [`compression`]);
//! 3. [`headers`]: CSP with a per-request nonce, HSTS, nosniff, framing,
//!    referrer, cache policy;
//! 4. [`client_ip`]: the client's address (trusted proxies only);
//! 5. [`crate::api::problem`]: error answers of the JSON API as problems;
//! 6. [`csrf`]: refuses cross-origin non-GET requests before any handler
//!    (the JSON API excepted);
//! 7. [`reactive_owner`]: each request's Leptos work under its own root.
//!
//! Authentication is not here: the browser surface and the JSON API
//! authenticate differently (see [`auth`] and `crate::api`).
//!
//! Outermost layers see every response, including the 403s of inner layers,
//! panics turned into 500s, static files and the 404 page.

pub mod auth;
pub mod client_ip;
pub mod correlation;
pub mod csrf;
pub mod headers;
pub mod reactive_owner;
pub mod server_fns;

use std::sync::Arc;

use axum::{Router, middleware::from_fn, middleware::from_fn_with_state};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{
        CompressionLayer, CompressionLevel,
        predicate::{DefaultPredicate, NotForContentType, Predicate as _},
    },
};

/// What the layers need to know about the deployment.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// `scheme://host[:port]` browsers use to reach us.
    pub public_origin: String,
    /// Let the dev server's live-reload websocket through the CSP.
    pub live_reload_port: Option<u16>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Wraps `router` in the layers above (axum applies the last `.layer` first,
/// so they are listed innermost first).
pub fn apply(router: Router, policy: HttpPolicy) -> Router {
    let policy = Arc::new(policy);
    router
        .layer(from_fn(reactive_owner::isolate))
        .layer(from_fn_with_state(
            policy.clone(),
            csrf::refuse_cross_origin,
        ))
        .layer(from_fn_with_state(
            policy.clone(),
            client_ip::resolve_client_ip,
        ))
        // A panic becomes a 500 for that request only, still with headers.
        .layer(CatchPanicLayer::new())
        // Outside the panic guard, so its 500 becomes a problem too.
        .layer(from_fn(crate::api::problem::errors_as_problems))
        .layer(from_fn_with_state(policy, headers::security_headers))
        .layer(compression())
        .layer(from_fn(correlation::correlate_and_log))
}

/// Pages, server-function answers, JSON and CSV, gzipped on the fly.
///
/// * gzip only: brotli on the fly would bring a second brotli into the build
///   (Leptos has one) for a few per cent on pages; the bundle, where brotli
///   matters, is precompressed by cargo-leptos and served as its `.br` file.
/// * Level 4: nearly all of the gain for a fraction of the default's time.
/// * Not PDFs and videos (already compressed, and compressing would take
///   away their `Range` support), nor images, tiny bodies or event streams
///   (tower-http's default predicate); files already encoded pass as they are.
/// * BREACH (a secret guessed from compressed sizes) needs the victim's
///   browser to send attacker-chosen requests with its cookie: the session
///   cookie is `SameSite=Strict`, and no page carries a CSRF token.
fn compression() -> CompressionLayer<impl tower_http::compression::Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(4))
        .compress_when(
            DefaultPredicate::new()
                .and(NotForContentType::new("application/pdf"))
                .and(NotForContentType::new("video/")),
        )
}
