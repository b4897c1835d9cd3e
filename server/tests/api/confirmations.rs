//! Irreversible actions (erasing personal data; cancelling, lapsing or
//! expiring a policy; denying a claim) need an explicit `confirm` carrying
//! the action's name, from the pages' server functions and the JSON API
//! alike: without it the server refuses, naming the field, and nothing
//! changes.

use leptos::server_fn::ServerFn;
use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    claims::{claim, ingest, pipeline_done, wait_for},
    helpers::{TestApp, customer, policy, read_json, send, spawn_app},
};

/// The answer is a 422 that names `confirm`, whatever the transport.
async fn assert_refused_for_confirm(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), 422, "{what}");
    let body = response.text().await.unwrap();
    assert!(
        body.contains(r#""field":"confirm""#) || body.contains(r#""field": "confirm""#),
        "{what} names confirm: {body}"
    );
}

/// An active policy's id and version.
async fn active_policy_id(app: &TestApp, token: &str, marker: &str) -> (String, i64) {
    let customer = customer(app, token, marker).await;
    let created: Value = send(
        app,
        token,
        Method::POST,
        "/api/v1/policies",
        Some(policy(&customer, "home", "2026-01-01", "2026-12-31")),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let activated: Value = send(
        app,
        token,
        Method::POST,
        &format!("/api/v1/policies/{id}/actions"),
        Some(json!({ "action": "activate" })),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        activated["status"], "active",
        "activating needs no confirmation"
    );
    (id, activated["version"].as_i64().unwrap())
}

#[tokio::test]
async fn erasing_personal_data_is_refused_without_confirm_erase_from_the_page_and_the_api() {
    let app = spawn_app().await;
    let token = app.api_token(Role::Admin).await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let id = customer(&app, &token, "confirm-erase").await;
    let erase = <app::customers::EraseCustomer as ServerFn>::PATH;

    let one_click = app.post_server_fn(&admin, erase, &[("id", &id)]).await;
    assert_refused_for_confirm(one_click, "the server function without confirm").await;
    let wrong = app
        .post_server_fn(&admin, erase, &[("id", &id), ("confirm", "yes")])
        .await;
    assert_refused_for_confirm(wrong, "confirm=yes").await;
    let path = format!("/api/v1/customers/{id}/erasure");
    let no_body = send(&app, &token, Method::POST, &path, None, None).await;
    assert_refused_for_confirm(no_body, "the API without a body").await;
    let empty = send(&app, &token, Method::POST, &path, Some(json!({})), None).await;
    assert_refused_for_confirm(empty, "the API without confirm").await;
    let still: Value = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/customers/{id}"),
    )
    .await;
    assert_eq!(still["erased"], false, "nothing was erased");

    let confirmed = app
        .post_server_fn(&admin, erase, &[("id", &id), ("confirm", "erase")])
        .await;
    assert_eq!(confirmed.status(), 200);
    let after: Value = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/customers/{id}"),
    )
    .await;
    assert_eq!(after["erased"], true);
}

#[tokio::test]
async fn cancelling_a_policy_is_refused_without_confirm_cancel_from_the_page_and_the_api() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (_, underwriter) = app.signed_in(Role::Underwriter).await;
    let (id, version) = active_policy_id(&app, &token, "confirm-cancel").await;
    let change = <app::policies::ChangePolicyStatus as ServerFn>::PATH;
    let version = version.to_string();
    let form = |confirm: Option<&'static str>| {
        let mut form = vec![
            ("id", id.clone()),
            ("action", "cancel".to_owned()),
            ("version", version.clone()),
        ];
        form.extend(confirm.map(|c| ("confirm", c.to_owned())));
        form
    };
    let post = |form: Vec<(&'static str, String)>| {
        let (app, underwriter) = (&app, &underwriter);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_server_fn(underwriter, change, &form).await
        }
    };

    assert_refused_for_confirm(post(form(None)).await, "the server function").await;
    assert_refused_for_confirm(post(form(Some("lapse"))).await, "another action's word").await;
    let path = format!("/api/v1/policies/{id}/actions");
    for action in ["cancel", "lapse", "expire"] {
        let api = send(
            &app,
            &token,
            Method::POST,
            &path,
            Some(json!({ "action": action })),
            None,
        )
        .await;
        assert_refused_for_confirm(api, action).await;
    }
    let still: Value =
        read_json(&app, &token, Method::GET, &format!("/api/v1/policies/{id}")).await;
    assert_eq!(still["status"], "active");

    let confirmed = post(form(Some("cancel"))).await;
    assert_eq!(confirmed.status(), 200);
    let after: Value =
        read_json(&app, &token, Method::GET, &format!("/api/v1/policies/{id}")).await;
    assert_eq!(after["status"], "cancelled");
}

#[tokio::test]
async fn denying_a_claim_is_refused_without_confirm_deny_from_the_page_and_the_api() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let adjuster = app.api_token_for_staff(Role::Adjuster).await;
    let (_, staff) = app.signed_in(Role::Adjuster).await;
    let (policy_id, _) = active_policy_id(&app, &token, "confirm-deny").await;
    let shown: Value = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/policies/{policy_id}"),
    )
    .await;
    let receipt: Value = ingest(
        &app,
        &token,
        &claim(shown["policy_number"].as_str().unwrap(), 40_000),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = receipt["id"].as_str().unwrap().to_owned();
    let triaged = wait_for(&app, &token, &id, pipeline_done).await;
    let started: Value = send(
        &app,
        &adjuster,
        Method::POST,
        &format!("/api/v1/claims/{id}/actions"),
        Some(json!({ "action": "start_review" })),
        Some(&format!("\"v{}\"", triaged["version"])),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(started["status"], "in_review");
    let version = started["version"].to_string();
    let decide = <app::claims::DecideClaim as ServerFn>::PATH;
    let reason = "The policy excludes gradual leaks.";

    let one_click = app
        .post_server_fn(
            &staff,
            decide,
            &[
                ("id", &id),
                ("version", &version),
                ("kind", "deny"),
                ("reason", reason),
            ],
        )
        .await;
    assert_refused_for_confirm(one_click, "the server function").await;
    let api = send(
        &app,
        &adjuster,
        Method::POST,
        &format!("/api/v1/claims/{id}/decision"),
        Some(json!({ "kind": "deny", "reason": reason })),
        None,
    )
    .await;
    assert_refused_for_confirm(api, "the API").await;
    let still: Value = read_json(&app, &token, Method::GET, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(still["status"], "in_review");

    let confirmed = app
        .post_server_fn(
            &staff,
            decide,
            &[
                ("id", &id),
                ("version", &version),
                ("kind", "deny"),
                ("reason", reason),
                ("confirm", "deny"),
            ],
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    let after: Value = read_json(&app, &token, Method::GET, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(after["status"], "denied");
}

#[tokio::test]
async fn the_confirmation_step_is_a_link_to_a_page_that_restates_the_consequence_without_javascript()
 {
    let app = spawn_app().await;
    let token = app.api_token(Role::Admin).await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let (policy_id, _) = active_policy_id(&app, &token, "confirm-page").await;
    let shown: Value = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/policies/{policy_id}"),
    )
    .await;
    let customer_id = shown["customer_id"].as_str().unwrap();
    let page = |path: String| {
        let (app, admin) = (&app, &admin);
        async move {
            let response = app.get_with(admin, &path).await;
            assert_eq!(response.status(), 200, "{path}");
            response.text().await.unwrap()
        }
    };

    for (path, word, button, consequence) in [
        (
            format!("/policies/{policy_id}"),
            "cancel",
            "Yes, cancel the policy",
            "can never be reinstated",
        ),
        (
            format!("/policies/{policy_id}"),
            "lapse",
            "Yes, lapse the policy",
            "Cover stops for unpaid premium",
        ),
        (
            format!("/customers/{customer_id}"),
            "erase",
            "Yes, erase the personal data",
            "backups included",
        ),
    ] {
        let first = page(path.clone()).await;
        assert!(
            first.contains(&format!(r#"href="?confirm={word}""#)),
            "{path}: a link first"
        );
        assert!(!first.contains(button), "{path}: no one-click {word}");
        let second = page(format!("{path}?confirm={word}")).await;
        assert!(
            second.contains(consequence),
            "{path}: restates what {word} does"
        );
        assert!(
            second.contains(&format!(r#"name="confirm" value="{word}""#)),
            "{path}: the second submit carries confirm={word}"
        );
        assert!(second.contains(button), "{path}: {button}");
        assert!(
            second.contains(&format!(r#"href="{path}""#)),
            "{path}: a way back"
        );
    }
}
