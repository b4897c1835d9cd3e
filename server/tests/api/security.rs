//! The HTTP security layer: headers, CSP nonce, correlation ids, CSRF.

use reqwest::{Method, header};

use crate::helpers::{TestApp, spawn_app};

/// A server function anyone may call (it answers `null` to a stranger);
/// CSRF applies to it like to any state-changing endpoint.
fn server_fn_path() -> &'static str {
    <app::auth::GetCurrentUser as leptos::server_fn::ServerFn>::PATH
}

async fn post_server_fn(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app
        .client
        .request(Method::POST, app.url(server_fn_path()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;

    for (method, path) in [
        (Method::GET, "/"),
        (Method::GET, "/no/such/page"),
        (Method::GET, "/health"),
        (Method::GET, "/login"),
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/favicon.svg"),
        (Method::POST, server_fn_path()),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .header(header::ORIGIN, &app.address)
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();

        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'nonce-"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(
            csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"),
            "{path}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
            "{path}"
        );
        assert_eq!(
            headers["strict-transport-security"], "max-age=31536000; includeSubDomains",
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert!(headers.contains_key("x-correlation-id"), "{path}");
        let cache = headers["cache-control"].to_str().unwrap();
        if path == "/favicon.svg" {
            assert_eq!(cache, "no-cache", "static assets are revalidated");
        } else {
            assert_eq!(cache, "no-store", "{path}: pages and data are never stored");
        }
    }
}

#[tokio::test]
async fn each_page_gets_a_fresh_nonce_that_its_scripts_carry() {
    let app = spawn_app().await;

    let first = app.get("/login").await;
    let nonce = nonce_of(&first);
    let html = first.text().await.unwrap();
    let second_nonce = nonce_of(&app.get("/login").await);

    assert_ne!(nonce, second_nonce);
    assert!(
        html.contains(&format!(r#"nonce="{nonce}""#)),
        "hydration scripts carry the nonce"
    );
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap();
        assert!(
            tag.contains(&format!(r#"nonce="{nonce}""#)),
            "every script has the nonce: <script{tag}>"
        );
    }
}

fn nonce_of(response: &reqwest::Response) -> String {
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    csp.split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_well_formed_inbound_correlation_id_is_echoed() {
    let app = spawn_app().await;

    for header_name in ["x-correlation-id", "x-request-id"] {
        let response = app
            .client
            .get(app.url("/health/live"))
            .header(header_name, "partner-req-42")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["x-correlation-id"],
            "partner-req-42",
            "{header_name}"
        );
    }
}

#[tokio::test]
async fn a_malformed_inbound_correlation_id_is_replaced() {
    let app = spawn_app().await;

    for bad in ["has space", "quote\"d", &"x".repeat(200)] {
        let response = app
            .client
            .get(app.url("/health/live"))
            .header("x-correlation-id", bad)
            .send()
            .await
            .unwrap();
        let echoed = response.headers()["x-correlation-id"].to_str().unwrap();
        assert_ne!(echoed, bad);
        assert_eq!(echoed.len(), 32, "a minted UUIDv7: {echoed}");
    }
}

#[tokio::test]
async fn a_cross_origin_post_with_a_cookie_is_refused_before_the_handler() {
    let app = spawn_app().await;
    let cookie = ("cookie", "__Host-vanguard=some-session");

    let evil_origin = post_server_fn(&app, &[cookie, ("origin", "https://evil.example")]).await;
    let cross_site = post_server_fn(&app, &[cookie, ("sec-fetch-site", "cross-site")]).await;
    let no_origin = post_server_fn(&app, &[cookie]).await;

    for response in [evil_origin, cross_site, no_origin] {
        assert_eq!(response.status(), 403);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert!(response.headers().contains_key("content-security-policy"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], 403);
    }
}

#[tokio::test]
async fn a_same_origin_post_is_allowed() {
    let app = spawn_app().await;
    let cookie = ("cookie", "__Host-vanguard=some-session");

    let same_origin = post_server_fn(&app, &[cookie, ("origin", &app.address)]).await;
    let fetch_same_origin =
        post_server_fn(&app, &[cookie, ("sec-fetch-site", "same-origin")]).await;
    let no_cookie_no_origin = post_server_fn(&app, &[]).await;

    assert_eq!(same_origin.status(), 200);
    assert_eq!(fetch_same_origin.status(), 200);
    assert_eq!(
        no_cookie_no_origin.status(),
        200,
        "nothing to forge without a cookie"
    );
}
