//! Security headers on every response, and the per-request CSP nonce.
//!
//! Scripts run only with this response's nonce (`'strict-dynamic'` lets the
//! hydration script load the WASM bundle it imports); WASM compilation needs
//! `'wasm-unsafe-eval'`. There is no `'unsafe-inline'` or `'unsafe-eval'`.
//! Everything not named is denied (`default-src 'none'`).

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};

use app::request::CspNonce;

use super::HttpPolicy;

pub async fn security_headers(
    State(policy): State<Arc<HttpPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = CspNonce::mint();
    request.extensions_mut().insert(nonce.clone());
    let is_static_asset = is_static_asset(request.uri().path());

    let mut response = next.run(request).await;

    let headers = response.headers_mut();
    insert(
        headers,
        header::CONTENT_SECURITY_POLICY,
        &content_security_policy(&nonce, &policy),
    );
    insert(
        headers,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    );
    insert(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    insert(headers, header::X_FRAME_OPTIONS, "DENY");
    insert(headers, header::REFERRER_POLICY, "same-origin");
    insert(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    insert(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    insert(
        headers,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    );
    // Pages, server functions and API answers may carry personal data: never
    // store them. Static assets may be cached but must be revalidated,
    // except the versioned bundle, which `crate::assets` marks immutable.
    if is_static_asset {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
    } else {
        insert(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

fn content_security_policy(nonce: &CspNonce, policy: &HttpPolicy) -> String {
    let nonce = &nonce.0;
    let live_reload = policy
        .live_reload_port
        .map(|port| format!(" ws://127.0.0.1:{port} ws://localhost:{port}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; \
         script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; \
         font-src 'self'; \
         connect-src 'self'{live_reload}; \
         manifest-src 'self'; \
         form-action 'self'; \
         base-uri 'none'; \
         object-src 'none'; \
         frame-ancestors 'none'"
    )
}

fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/favicon.svg" | "/favicon.ico" | "/robots.txt")
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    // Every value here is ASCII we wrote ourselves.
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_scripts_by_nonce_only() {
        let policy = HttpPolicy {
            public_origin: "http://x".into(),
            live_reload_port: None,
            trusted_proxies: Vec::new(),
        };
        let csp = content_security_policy(&CspNonce("abc".into()), &policy);
        assert!(csp.contains("script-src 'nonce-abc' 'strict-dynamic' 'wasm-unsafe-eval';"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(!csp.contains("'unsafe-eval'"));
        for directive in [
            "default-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{directive}");
        }
    }
}
