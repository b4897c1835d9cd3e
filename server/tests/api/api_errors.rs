//! The JSON API's edges: every answer is JSON (problem+json for errors),
//! the bearer scheme is case-insensitive, and cookies there mean nothing
//! (no CSRF refusal for a partner behind a sticky load balancer).

use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use shared::auth::Role;

use crate::helpers::{TestApp, spawn_app};

async fn problem(response: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    assert_eq!(content_type, "application/problem+json", "{status}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], status.as_u16(), "{text}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{text}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{text}"
    );
    (status, headers, body)
}

fn request(app: &TestApp, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.new_client()
        .request(method, app.url(path))
        .bearer_auth(token)
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_under_the_api_are_problems() {
    let app = spawn_app().await;
    let token = app.api_token(Role::Admin).await;

    for path in [
        "/api/v1",
        "/api/v1/",
        "/api/v1/no-such-thing",
        "/api/v1/customers/x/y/z",
    ] {
        let response = request(&app, &token, Method::GET, path)
            .send()
            .await
            .unwrap();
        let (status, _, _) = problem(response).await;
        assert_eq!(status, 404, "{path}");
    }
    let response = request(&app, &token, Method::DELETE, "/api/v1/me")
        .send()
        .await
        .unwrap();
    let (status, headers, _) = problem(response).await;
    assert_eq!(status, 405);
    assert!(
        headers.contains_key(header::ALLOW),
        "405 still says what is allowed"
    );
}

#[tokio::test]
async fn bodies_the_extractors_refuse_are_problems_naming_the_rule() {
    let app = spawn_app().await;
    let token = app.api_token(Role::Admin).await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        request(&app, &token, Method::POST, "/api/v1/customers")
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
    };

    let oversized = post("application/json", vec![b' '; 10 * 1024 * 1024]);
    let (status, _, _) = problem(oversized.send().await.unwrap()).await;
    assert_eq!(status, 413);

    let (status, _, _) = problem(
        post("application/json", b"{".to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status == 400 || status == 422, "{status}");

    // The handlers read JSON whatever the declared type; the answer to a
    // body that is not JSON is still a problem.
    let wrong_type = post("text/plain", b"name=x".to_vec());
    let (status, _, _) = problem(wrong_type.send().await.unwrap()).await;
    assert!(status.is_client_error(), "{status}");

    let query = request(
        &app,
        &token,
        Method::GET,
        "/api/v1/claims?page=%FF&per_page=-1",
    );
    let (status, _, _) = problem(query.send().await.unwrap()).await;
    assert!(status.is_client_error(), "{status}");

    let (status, _, body) = problem(
        post("application/json", b"[]".to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(status == 400 || status == 422, "{status} {body}");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let token = app.api_token(Role::Admin).await;

    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app
            .new_client()
            .get(app.url("/api/v1/me"))
            .header(header::AUTHORIZATION, format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
    for value in [
        format!("Basic {token}"),
        format!("Bearer{token}"),
        "Bearer ".to_owned(),
        "Bearer".to_owned(),
        token.clone(),
    ] {
        let response = app
            .new_client()
            .get(app.url("/api/v1/me"))
            .header(header::AUTHORIZATION, value.clone())
            .send()
            .await
            .unwrap();
        let (status, _, _) = problem(response).await;
        assert_eq!(status, 401, "{value}");
    }
}

#[tokio::test]
async fn a_partner_behind_a_sticky_load_balancer_is_not_taken_for_a_forged_request() {
    let app = spawn_app().await;
    let token = app.api_token(Role::Admin).await;

    for origin in [None, Some("https://partner.example")] {
        let mut post = request(&app, &token, Method::POST, "/api/v1/customers")
            .header(header::COOKIE, "AWSALB=sticky; vanguard_session=whatever")
            .json(&serde_json::json!({}));
        if let Some(origin) = origin {
            post = post.header(header::ORIGIN, origin);
        }
        let response = post.send().await.unwrap();
        assert_ne!(response.status(), 403, "origin {origin:?}");
        assert_eq!(
            response.status(),
            422,
            "validation ran: the request got through"
        );
    }
}

#[tokio::test]
async fn a_browser_route_still_refuses_a_cookie_without_an_origin() {
    let app = spawn_app().await;
    let path = <app::auth::GetCurrentUser as leptos::server_fn::ServerFn>::PATH;

    let response = app
        .new_client()
        .post(app.url(path))
        .header(header::COOKIE, "vanguard_session=x")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
}
