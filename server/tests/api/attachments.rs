//! Claim attachments: accepted by content, limited in size, stored once per
//! SHA-256, compared across claims, downloaded with an audit record; for
//! partners through the API and for staff through the claim page's form.

use reqwest::{
    Method,
    multipart::{Form, Part},
};
use serde_json::Value;
use shared::auth::Role;

use crate::{
    claims::{active_policy, claim, ingest},
    helpers::{TestApp, read_json, send, spawn_app, spawn_app_with},
};

/// A tiny but genuine PNG header, made unique by `marker`.
pub(crate) fn png(marker: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(marker.as_bytes());
    bytes
}

pub(crate) fn file(bytes: Vec<u8>, name: &str) -> Form {
    Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()))
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    claim_id: &str,
    form: Form,
) -> reqwest::Response {
    app.new_client()
        .post(app.url(&format!("/api/v1/claims/{claim_id}/attachments")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// A new claim on a new active policy; its id and number.
pub(crate) async fn new_claim(app: &TestApp, token: &str, marker: &str) -> (String, String) {
    let policy_number = active_policy(app, token, marker).await;
    let receipt: Value = ingest(app, token, &claim(&policy_number, 20_000), None)
        .await
        .json()
        .await
        .unwrap();
    (
        receipt["id"].as_str().unwrap().to_owned(),
        receipt["claim_number"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_file_is_accepted_by_its_content_stored_once_and_every_download_is_audited() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (id, _) = new_claim(&app, &token, "attach").await;
    let bytes = png("one");

    let created = upload(
        &app,
        &token,
        &id,
        file(bytes.clone(), "../kitchen photo.png"),
    )
    .await;

    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["kind"], "png");
    assert_eq!(created["filename"], "kitchen photo.png", "path stripped");
    assert_eq!(created["size_bytes"], bytes.len());
    assert_eq!(created["deduplicated"], false);
    let sha256 = created["sha256"].as_str().unwrap();
    assert_eq!(sha256.len(), 64);
    let object = app
        .config
        .data_dir
        .join(format!("objects/attachments/{sha256}"));
    assert_eq!(std::fs::read(&object).unwrap(), bytes);

    let again = upload(&app, &token, &id, file(bytes.clone(), "copy.png")).await;
    assert_eq!(again.status(), 200, "the same file twice is one attachment");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["deduplicated"], true);
    assert_eq!(again["id"], created["id"]);

    let disguised = upload(
        &app,
        &token,
        &id,
        file(b"MZ\x90\0 not a pdf".to_vec(), "invoice.pdf"),
    )
    .await;
    assert_eq!(disguised.status(), 422);
    let problem: Value = disguised.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "file");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("checked by content")
    );

    let not_multipart = send(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/claims/{id}/attachments"),
        Some(serde_json::json!({})),
        None,
    )
    .await;
    assert_eq!(not_multipart.status(), 422);

    let listed: Value = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{id}/attachments"),
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let auditor = app.api_token_for_staff(Role::Auditor).await;
    let refused = upload(&app, &auditor, &id, file(png("auditor"), "a.png")).await;
    assert_eq!(refused.status(), 403, "reading claims is not writing them");
    let download = send(
        &app,
        &auditor,
        Method::GET,
        &format!(
            "/api/v1/claims/{id}/attachments/{}",
            created["id"].as_str().unwrap()
        ),
        None,
        None,
    )
    .await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"kitchen photo.png\"")
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), bytes);
    let elsewhere = send(
        &app,
        &auditor,
        Method::GET,
        &format!(
            "/api/v1/claims/{id}x/attachments/{}",
            created["id"].as_str().unwrap()
        ),
        None,
        None,
    )
    .await;
    assert_eq!(
        elsewhere.status(),
        404,
        "an attachment is reached through its own claim"
    );
    let actions = app.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "claim.attachment_added")
            .count(),
        1
    );
    assert!(actions.contains(&"claim.attachment_downloaded".to_owned()));
}

#[tokio::test]
async fn a_file_over_the_configured_limit_is_refused_with_413_naming_the_limit() {
    let app = spawn_app_with(|config| config.attachment_max_bytes = 1024).await;
    let token = app.api_token(Role::ApiClient).await;
    let (id, _) = new_claim(&app, &token, "limit").await;
    let mut large = b"%PDF-1.7\n".to_vec();
    large.resize(4096, b'x');

    let refused = upload(&app, &token, &id, file(large, "scan.pdf")).await;

    assert_eq!(refused.status(), 413);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "file: must be at most 1 KB (this file is larger)"
    );
    let mut small = b"%PDF-1.7\n".to_vec();
    small.resize(1024, b'x');
    assert_eq!(
        upload(&app, &token, &id, file(small, "scan.pdf"))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn the_same_file_on_two_claims_links_them_as_possible_duplicates_and_flags_both() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (first, first_number) = new_claim(&app, &token, "reuse-a").await;
    let (second, second_number) = new_claim(&app, &token, "reuse-b").await;
    let photo = png("the same photo");
    assert_eq!(
        upload(&app, &token, &first, file(photo.clone(), "damage.png"))
            .await
            .status(),
        201
    );

    let reused: Value = upload(&app, &token, &second, file(photo, "other-name.png"))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(reused["same_file_on"], serde_json::json!([first_number]));
    for (id, other) in [(&second, &first_number), (&first, &second_number)] {
        let view: Value =
            read_json(&app, &token, Method::GET, &format!("/api/v1/claims/{id}")).await;
        assert_eq!(view["related"][0]["claim_number"], other.as_str(), "{view}");
        let flags: Vec<&str> = view["fraud_flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert!(flags.contains(&"duplicate_attachment"), "{flags:?}");
    }
}

#[tokio::test]
async fn staff_attach_files_from_the_claim_page_and_a_refusal_comes_back_to_it() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (id, _) = new_claim(&app, &token, "page").await;
    let (_, adjuster) = app.signed_in(Role::Adjuster).await;
    let post = |form: Form| {
        adjuster
            .post(app.url(&format!("/claims/{id}/attachments")))
            .header("origin", &app.address)
            .multipart(form)
            .send()
    };

    let stored = post(file(b"%PDF-1.4 estimate".to_vec(), "estimate.pdf"))
        .await
        .unwrap();
    let refused = post(file(b"GIF89a".to_vec(), "anim.gif")).await.unwrap();

    assert_eq!(stored.status(), 303);
    assert_eq!(
        stored.headers()["location"],
        format!("/claims/{id}#attachments")
    );
    assert_eq!(refused.status(), 303);
    let location = refused.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("/claims/{id}?attachment_error=")),
        "{location}"
    );
    let page = app
        .get_with(&adjuster, &location)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("estimate.pdf"),
        "the list shows the stored file"
    );
    assert!(page.contains("checked by content"), "the refusal is shown");

    let forged = app
        .new_client()
        .post(app.url(&format!("/claims/{id}/attachments")))
        .multipart(file(b"%PDF-1.4".to_vec(), "x.pdf"))
        .send()
        .await
        .unwrap();
    assert!(
        forged.status() == 303 || forged.status() == 401,
        "no session: sent to sign in, nothing stored ({})",
        forged.status()
    );
    let listed: Value = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{id}/attachments"),
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn attachment_names_lose_bidi_controls_and_invisible_characters_before_anyone_sees_them() {
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let (id, _) = new_claim(&app, &token, "bidi-name").await;
    // Every bidi control and a few invisible characters, each of which makes
    // a name read differently from what it is ("invoiceexe.pdf").
    let spoofed = "in\u{202A}v\u{202B}o\u{202C}i\u{202D}c\u{2066}e\u{2067}\u{2068}\u{2069}\
                   \u{200E}\u{200F}\u{061C}\u{200B}\u{200D}\u{FEFF}\u{202E}fdp.exe.png";

    let created = upload(&app, &token, &id, file(png("bidi"), spoofed)).await;

    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["filename"], "invoicefdp.exe.png");
    let listed: Value = read_json(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/claims/{id}/attachments"),
    )
    .await;
    assert_eq!(listed[0]["filename"], "invoicefdp.exe.png", "stored clean");
}
