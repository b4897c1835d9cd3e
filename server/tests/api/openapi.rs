//! The API description is served and covers every route.

use crate::helpers::spawn_app;

/// Every `/api/v1` operation the router serves (keep in step with
/// `server/src/api/`).
const OPERATIONS: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/customers"),
    ("get", "/api/v1/customers"),
    ("get", "/api/v1/customers/{id}"),
    ("patch", "/api/v1/customers/{id}"),
    ("post", "/api/v1/customers/{id}/reveal"),
    ("post", "/api/v1/customers/{id}/erasure"),
    ("post", "/api/v1/policies"),
    ("get", "/api/v1/policies"),
    ("get", "/api/v1/policies/{id}"),
    ("patch", "/api/v1/policies/{id}"),
    ("post", "/api/v1/policies/{id}/actions"),
    ("post", "/api/v1/policies/{id}/renewal"),
    ("post", "/api/v1/claims"),
    ("get", "/api/v1/claims"),
    ("get", "/api/v1/claims/{id}"),
    ("get", "/api/v1/claims/{id}/status"),
    ("post", "/api/v1/claims/{id}/actions"),
    ("post", "/api/v1/claims/{id}/assignment"),
    ("post", "/api/v1/claims/{id}/decision"),
    ("post", "/api/v1/claims/{id}/notes"),
    ("post", "/api/v1/claims/{id}/reveal"),
    ("get", "/api/v1/claims/{id}/financials"),
    ("post", "/api/v1/claims/{id}/reserves"),
    ("post", "/api/v1/claims/{id}/payments"),
    ("post", "/api/v1/claims/{id}/recoveries"),
    ("get", "/api/v1/claims/{id}/parties"),
    ("post", "/api/v1/claims/{id}/parties"),
    ("post", "/api/v1/claims/{id}/parties/{party_id}/reveal"),
    ("get", "/api/v1/claims/{id}/activities"),
    ("post", "/api/v1/claims/{id}/activities"),
    (
        "post",
        "/api/v1/claims/{id}/activities/{activity_id}/complete",
    ),
    ("get", "/api/v1/me/activities"),
    ("get", "/api/v1/approvals"),
    ("post", "/api/v1/approvals/{id}/approve"),
    ("post", "/api/v1/approvals/{id}/reject"),
    ("get", "/api/v1/executions/{id}"),
    ("post", "/api/v1/jobs/{id}/retry"),
    ("post", "/orchestrate"),
    ("get", "/api/v1/claims/{id}/attachments"),
    ("post", "/api/v1/claims/{id}/attachments"),
    ("get", "/api/v1/claims/{id}/attachments/{attachment_id}"),
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("get", "/api/v1/webhook-deliveries"),
    ("post", "/api/v1/webhook-deliveries/{id}/replay"),
    ("get", "/api/v1/audit/{seq}/proof"),
];

#[tokio::test]
async fn the_openapi_document_describes_every_operation_and_resolves_its_references() {
    let app = spawn_app().await;

    let response = app.get("/api/v1/openapi.json").await;

    assert_eq!(response.status(), 200);
    let document: serde_json::Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    for (method, path) in OPERATIONS {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
        // An undocumented route would answer 404 or 405 here, never 401/422.
        let probe = app
            .new_client()
            .request(
                method.to_uppercase().parse().unwrap(),
                app.url(
                    &path
                        .replace("{id}", "x")
                        .replace("{attachment_id}", "y")
                        .replace("{seq}", "1"),
                ),
            )
            .send()
            .await
            .unwrap();
        assert!(
            ![404, 405].contains(&probe.status().as_u16()),
            "{method} {path} is routed"
        );
    }
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            document["components"]["schemas"][name].is_object(),
            "schema {name} exists"
        );
    }
}

#[tokio::test]
async fn the_api_docs_page_is_served_offline() {
    let app = spawn_app().await;

    let response = app.get("/api/docs").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("POST /api/v1/policies") && html.contains("/api/v1/openapi.json"));
    assert!(!html.contains("https://"), "no CDN or external asset");
}
