//! Every registered server function, called the ways a stranger or a broken
//! client calls it: 401 without a session (before its arguments are read),
//! 413 over the body cap, 400/422 for arguments it cannot decode; never 5xx.

use leptos::server_fn::ServerFn;
use reqwest::{StatusCode, header};
use shared::auth::Role;

use crate::helpers::{TestApp, spawn_app};

const TEN_MEGABYTES: usize = 10 * 1024 * 1024;

fn registered() -> Vec<&'static str> {
    let mut paths: Vec<_> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    paths.sort_unstable();
    paths
}

fn callable_signed_out() -> [&'static str; 3] {
    server::middleware::server_fns::ServerFnPaths::signed_out()
}

/// The bodies a broken or hostile client sends.
fn bodies() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let form = "application/x-www-form-urlencoded";
    vec![
        ("empty", form, Vec::new()),
        ("garbage", form, b"%%zz=&&=\xff\xfe[[]]=%00".to_vec()),
        ("garbage JSON", "application/json", b"{\"unclosed".to_vec()),
        ("10 MB", form, vec![b'a'; TEN_MEGABYTES]),
    ]
}

async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let response = client
        .post(app.url(path))
        .header(header::ORIGIN, &app.address)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_server_function_is_found_by_the_sweep() {
    let paths = registered();
    assert!(
        paths.len() >= 39,
        "{} server functions: {paths:?}",
        paths.len()
    );
    for path in callable_signed_out() {
        assert!(paths.contains(&path), "{path}");
    }
}

#[tokio::test]
async fn a_stranger_gets_401_from_every_server_function_whatever_the_body() {
    let app = spawn_app().await;
    let stranger = app.new_client();

    for path in registered() {
        if callable_signed_out().contains(&path) {
            continue;
        }
        for (label, content_type, body) in bodies() {
            let (status, text) = call(&app, &stranger, path, content_type, body).await;
            assert_eq!(status, 401, "{path} with a {label} body: {text}");
            assert_eq!(text, "\"Unauthenticated\"", "{path}: the client decodes it");
        }
    }
}

#[tokio::test]
async fn the_signed_out_functions_answer_bad_arguments_with_4xx_naming_the_field() {
    let app = spawn_app().await;

    for path in callable_signed_out() {
        for (label, content_type, body) in bodies() {
            let (status, text) = call(&app, &app.new_client(), path, content_type, body).await;
            assert!(
                status.is_success() || status.is_client_error(),
                "{path} with a {label} body: {status} {text}"
            );
            if label == "10 MB" {
                assert_eq!(status, 413, "{path}: {text}");
            }
        }
    }
    let login = <app::auth::Login as ServerFn>::PATH;
    let (status, text) = call(
        &app,
        &app.new_client(),
        login,
        "application/x-www-form-urlencoded",
        b"password=x".to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{text}");
    let error: app::error::AppError = serde_json::from_str(&text).unwrap();
    let fields = error.field_errors().expect("field errors");
    assert_eq!(fields.0[0].field, "email", "{text}");
}

#[tokio::test]
async fn a_signed_in_caller_gets_4xx_never_5xx_for_arguments_that_cannot_be_decoded() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let logout = <app::auth::Logout as ServerFn>::PATH;

    for path in registered() {
        if path == logout {
            continue;
        }
        for (label, content_type, body) in bodies() {
            let (status, text) = call(&app, &admin, path, content_type, body).await;
            assert!(
                !status.is_server_error(),
                "{path} with a {label} body: {status} {text}"
            );
            if label == "10 MB" {
                assert_eq!(status, 413, "{path}");
            }
        }
    }
    // Still signed in: nothing above ended the session.
    let me = <app::auth::GetCurrentUser as ServerFn>::PATH;
    let (status, text) = call(
        &app,
        &admin,
        me,
        "application/x-www-form-urlencoded",
        vec![],
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(text, "null");
}

#[tokio::test]
async fn a_missing_argument_is_422_naming_it() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let path = <app::customers::GetCustomer as ServerFn>::PATH;

    let (status, text) = call(
        &app,
        &admin,
        path,
        "application/x-www-form-urlencoded",
        Vec::new(),
    )
    .await;

    assert_eq!(status, 422, "{text}");
    let error: app::error::AppError = serde_json::from_str(&text).unwrap();
    assert_eq!(error.field_errors().expect("field errors").0[0].field, "id");
}

#[tokio::test]
async fn a_plain_form_post_from_an_expired_session_goes_back_to_sign_in() {
    let app = spawn_app().await;
    let path = <app::customers::CreateCustomer as ServerFn>::PATH;

    let response = app
        .new_client()
        .post(app.url(path))
        .header(header::ORIGIN, &app.address)
        .header(header::ACCEPT, "text/html")
        .form(&[("first_name", "Ada")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
}
