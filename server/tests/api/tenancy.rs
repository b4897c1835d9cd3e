//! Partner tenancy: three partners, every `/api/v1` operation of the
//! OpenAPI document. A partner's own records work; another partner's answer
//! 404 (or are absent from lists and searches), and the attempt is audited;
//! staff and internal clients see everything. A route added to the document
//! without a rule here fails the matrix.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::Role;

use crate::{
    attachments::{file, png, upload},
    claims::{active_policy, claim, ingest},
    helpers::{TestApp, read_json, send, spawn_app_with},
};

/// How an operation treats a partner's caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Names no record (token, identity, creation: stamped with the caller).
    Unscoped,
    /// A list or search: filtered to the caller's organisation in SQL.
    List(&'static str),
    /// Names a record by id: the owner's works, anyone else's is a 404.
    Owned,
    /// Needs a permission a partner's client never holds (they are always
    /// `api_client`): 403 whatever the record.
    OperatorOnly,
}

/// The rule of every operation. Keep in step with the OpenAPI document: an
/// operation missing here fails
/// `every_api_operation_has_a_tenancy_rule_and_partners_only_reach_their_own_records`.
const RULES: &[(&str, &str, Rule)] = &[
    ("post", "/api/v1/auth/token", Rule::Unscoped),
    ("get", "/api/v1/me", Rule::Unscoped),
    ("get", "/api/v1/audit/{seq}/proof", Rule::OperatorOnly),
    ("post", "/api/v1/customers", Rule::Unscoped),
    ("get", "/api/v1/customers", Rule::List("/api/v1/customers")),
    ("get", "/api/v1/customers/{id}", Rule::Owned),
    ("patch", "/api/v1/customers/{id}", Rule::Owned),
    ("post", "/api/v1/customers/{id}/reveal", Rule::OperatorOnly),
    ("post", "/api/v1/customers/{id}/erasure", Rule::OperatorOnly),
    ("post", "/api/v1/policies", Rule::Unscoped),
    ("get", "/api/v1/policies", Rule::List("/api/v1/policies")),
    ("get", "/api/v1/policies/{id}", Rule::Owned),
    ("patch", "/api/v1/policies/{id}", Rule::Owned),
    ("post", "/api/v1/policies/{id}/actions", Rule::Owned),
    ("post", "/api/v1/policies/{id}/renewal", Rule::Owned),
    ("post", "/api/v1/claims", Rule::Unscoped),
    ("get", "/api/v1/claims", Rule::List("/api/v1/claims")),
    ("get", "/api/v1/claims/{id}", Rule::Owned),
    ("get", "/api/v1/claims/{id}/status", Rule::Owned),
    ("post", "/api/v1/claims/{id}/actions", Rule::OperatorOnly),
    ("post", "/api/v1/claims/{id}/assignment", Rule::OperatorOnly),
    ("post", "/api/v1/claims/{id}/decision", Rule::OperatorOnly),
    ("post", "/api/v1/claims/{id}/notes", Rule::OperatorOnly),
    ("post", "/api/v1/claims/{id}/reveal", Rule::OperatorOnly),
    ("get", "/api/v1/claims/{id}/financials", Rule::Owned),
    ("post", "/api/v1/claims/{id}/reserves", Rule::OperatorOnly),
    ("post", "/api/v1/claims/{id}/payments", Rule::OperatorOnly),
    ("post", "/api/v1/claims/{id}/recoveries", Rule::OperatorOnly),
    ("get", "/api/v1/claims/{id}/parties", Rule::Owned),
    ("post", "/api/v1/claims/{id}/parties", Rule::OperatorOnly),
    (
        "post",
        "/api/v1/claims/{id}/parties/{party_id}/reveal",
        Rule::OperatorOnly,
    ),
    ("get", "/api/v1/claims/{id}/activities", Rule::Owned),
    ("post", "/api/v1/claims/{id}/activities", Rule::OperatorOnly),
    (
        "post",
        "/api/v1/claims/{id}/activities/{activity_id}/complete",
        Rule::OperatorOnly,
    ),
    ("get", "/api/v1/me/activities", Rule::OperatorOnly),
    ("get", "/api/v1/approvals", Rule::OperatorOnly),
    ("post", "/api/v1/approvals/{id}/approve", Rule::OperatorOnly),
    ("post", "/api/v1/approvals/{id}/reject", Rule::OperatorOnly),
    ("get", "/api/v1/executions/{id}", Rule::Owned),
    ("post", "/api/v1/jobs/{id}/retry", Rule::OperatorOnly),
    ("post", "/orchestrate", Rule::Unscoped),
    ("get", "/api/v1/claims/{id}/attachments", Rule::Owned),
    ("post", "/api/v1/claims/{id}/attachments", Rule::Owned),
    (
        "get",
        "/api/v1/claims/{id}/attachments/{attachment_id}",
        Rule::Owned,
    ),
    ("get", "/api/v1/webhooks", Rule::OperatorOnly),
    ("post", "/api/v1/webhooks", Rule::OperatorOnly),
    ("delete", "/api/v1/webhooks/{id}", Rule::OperatorOnly),
    ("get", "/api/v1/webhook-deliveries", Rule::OperatorOnly),
    (
        "post",
        "/api/v1/webhook-deliveries/{id}/replay",
        Rule::OperatorOnly,
    ),
];

/// One partner's records, created through the API by its own client.
struct Book {
    customer: String,
    policy: String,
    policy_number: String,
    claim: String,
    execution: String,
    attachment: String,
}

async fn book(app: &TestApp, token: &str, marker: &str) -> Book {
    let policy_number = active_policy(app, token, marker).await;
    let receipt: Value = ingest(app, token, &claim(&policy_number, 20_000), None)
        .await
        .json()
        .await
        .unwrap();
    let claim_id = receipt["id"].as_str().unwrap().to_owned();
    let uploaded = upload(app, token, &claim_id, file(png(marker), "photo.png")).await;
    assert_eq!(uploaded.status(), 201, "{marker} attaches a file");
    let uploaded: Value = uploaded.json().await.unwrap();
    let policy: Value = read_json(app, token, Method::GET, "/api/v1/policies?per_page=100").await;
    let policy = policy["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy_number"] == policy_number.as_str())
        .expect("the partner lists its own policy")
        .clone();
    Book {
        customer: policy["customer_id"].as_str().unwrap().to_owned(),
        policy: policy["id"].as_str().unwrap().to_owned(),
        policy_number,
        claim: claim_id,
        execution: receipt["execution_id"].as_str().unwrap().to_owned(),
        attachment: uploaded["id"].as_str().unwrap().to_owned(),
    }
}

/// The operation's path with `book`'s records in it.
fn concrete(path: &str, book: &Book) -> String {
    let id = if path.starts_with("/api/v1/customers") {
        &book.customer
    } else if path.starts_with("/api/v1/policies") {
        &book.policy
    } else if path.starts_with("/api/v1/executions") {
        &book.execution
    } else {
        &book.claim
    };
    path.replace("{id}", id)
        .replace("{attachment_id}", &book.attachment)
}

/// A harmless body for a write: enough to get past routing to the check.
fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("patch", "/api/v1/customers/{id}") | ("patch", "/api/v1/policies/{id}") => Some(json!({})),
        ("post", "/api/v1/policies/{id}/actions") => Some(json!({ "action": "no-such-action" })),
        ("post", _) | ("patch", _) => Some(json!({})),
        _ => None,
    }
}

async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> u16 {
    let method: Method = method.to_uppercase().parse().unwrap();
    send(app, token, method, path, body, None)
        .await
        .status()
        .as_u16()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn spawn() -> TestApp {
    // The matrix makes a few hundred calls per client.
    spawn_app_with(|config| config.security.api_rate_per_minute = 100_000).await
}

#[tokio::test]
async fn every_api_operation_has_a_tenancy_rule_and_partners_only_reach_their_own_records() {
    let app = spawn().await;
    let mut partners = Vec::new();
    for slug in ["acme", "bravo", "cobalt"] {
        app.create_partner(slug).await;
        let token = app.partner_token(slug).await;
        let records = book(&app, &token, slug).await;
        partners.push((slug, token, records));
    }
    let internal = app.api_token(Role::ApiClient).await;
    let staff = app.api_token_for_staff(Role::Admin).await;

    let document = server::api::openapi::document();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let rule = RULES
                .iter()
                .find(|(m, p, _)| m == method && p == path)
                .map(|(_, _, rule)| *rule)
                .unwrap_or_else(|| {
                    panic!("{method} {path} has no tenancy rule in tests/api/tenancy.rs")
                });
            operations.push((method.clone(), path.clone(), rule));
        }
    }
    assert_eq!(
        operations.len(),
        RULES.len(),
        "every rule names a documented operation"
    );
    // Lists first: the writes below (a renewal) add records.
    operations.sort_by_key(|(_, _, rule)| !matches!(rule, Rule::List(_)));

    let denied_before = tenancy_denials(&app).await;
    let mut expected_denials = 0;
    for (method, path, rule) in &operations {
        for (me, token, _) in &partners {
            for (owner, _, records) in &partners {
                let url = concrete(path, records);
                match rule {
                    Rule::Unscoped => {}
                    Rule::List(_) => {}
                    Rule::OperatorOnly => {
                        let status = call(&app, token, method, &url, body_for(method, path)).await;
                        assert_eq!(
                            status, 403,
                            "{me}: {method} {url} ({owner}'s) needs an operator"
                        );
                    }
                    Rule::Owned => {
                        let status = call(&app, token, method, &url, body_for(method, path)).await;
                        if me == owner {
                            assert_ne!(status, 404, "{me}: {method} {path} reaches its own record");
                            assert!(status < 500, "{me}: {method} {path} answered {status}");
                        } else {
                            assert_eq!(
                                status, 404,
                                "{me}: {method} {path} of {owner}'s record is hidden"
                            );
                            expected_denials += 1;
                        }
                    }
                }
            }
        }
        // Staff and internal clients see every organisation's records.
        if *rule == Rule::Owned && method == "get" {
            for (owner, _, records) in &partners {
                let url = concrete(path, records);
                for (who, token) in [("internal", &internal), ("staff", &staff)] {
                    let status = call(&app, token, method, &url, None).await;
                    assert_eq!(status, 200, "{who}: GET {url} ({owner}'s)");
                }
            }
        }
        if let Rule::List(list) = rule {
            for (me, token, mine) in &partners {
                let page =
                    read_json(&app, token, Method::GET, &format!("{list}?per_page=100")).await;
                let listed = ids(&page);
                let own = match *list {
                    "/api/v1/customers" => &mine.customer,
                    "/api/v1/policies" => &mine.policy,
                    _ => &mine.claim,
                };
                assert_eq!(
                    listed,
                    vec![own.clone()],
                    "{me} lists only its own in {list}"
                );
                assert_eq!(page["total"], 1, "{me}: the count is filtered too");
            }
            let all = read_json(
                &app,
                &internal,
                Method::GET,
                &format!("{list}?per_page=100"),
            )
            .await;
            assert_eq!(
                ids(&all).len(),
                3,
                "internal clients list every organisation in {list}"
            );
        }
    }

    // Searches and filters naming another partner's records find nothing.
    let (_, acme, _) = &partners[0];
    let (_, _, bravo) = &partners[1];
    for path in [
        "/api/v1/customers?email=alex.bravo@example.com".to_owned(),
        format!("/api/v1/policies?customer_id={}", bravo.customer),
        format!("/api/v1/claims?policy_id={}", bravo.policy),
        format!("/api/v1/claims?customer_id={}", bravo.customer),
    ] {
        let page = read_json(&app, acme, Method::GET, &path).await;
        assert_eq!(ids(&page), Vec::<String>::new(), "acme: {path}");
    }
    let found = read_json(
        &app,
        &internal,
        Method::GET,
        "/api/v1/customers?email=alex.bravo@example.com",
    )
    .await;
    assert_eq!(ids(&found), vec![bravo.customer.clone()]);

    // Every hidden record was an audited attempt, naming the route.
    assert_eq!(
        tenancy_denials(&app).await - denied_before,
        expected_denials
    );
    let route: String = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'tenancy.denied' AND entity_id = $1 ORDER BY seq LIMIT 1",
    )
    .bind(&bravo.customer)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert!(route.contains("/api/v1/customers/{id}"), "{route}");
}

async fn tenancy_denials(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'tenancy.denied'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_partner_cannot_insure_or_claim_on_another_partners_records_and_sees_them_as_unknown() {
    let app = spawn().await;
    app.create_partner("acme").await;
    app.create_partner("bravo").await;
    let acme = app.partner_token("acme").await;
    let bravo_token = app.partner_token("bravo").await;
    let bravo = book(&app, &bravo_token, "bravo").await;

    let filed = ingest(&app, &acme, &claim(&bravo.policy_number, 10_000), None).await;
    assert_eq!(filed.status(), 422);
    let unknown = ingest(&app, &acme, &claim("POL-1999-999999", 10_000), None).await;
    assert_eq!(unknown.status(), 422);
    let (filed, unknown): (Value, Value) =
        (filed.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(
        filed["errors"], unknown["errors"],
        "another partner's policy reads as unknown"
    );

    let today = app::clock::today();
    let insured = send(
        &app,
        &acme,
        Method::POST,
        "/api/v1/policies",
        Some(crate::helpers::policy(
            &bravo.customer,
            "home",
            &today.to_string(),
            &today.add_days(364).unwrap().to_string(),
        )),
        None,
    )
    .await;
    assert_eq!(
        insured.status(),
        422,
        "another partner's customer reads as unknown"
    );

    // The legacy payload stamps the partner too.
    let acme_policy = active_policy(&app, &acme, "acme").await;
    let legacy = send(
        &app,
        &acme,
        Method::POST,
        "/orchestrate",
        Some(json!({
            "claim_details": { "policy_number": acme_policy },
            "estimated_loss": { "amount": 120.5, "currency": "USD" },
        })),
        None,
    )
    .await;
    assert_eq!(legacy.status(), 202);
    let legacy: Value = legacy.json().await.unwrap();
    let legacy_claim = format!("/api/v1/claims/{}", legacy["claim_id"].as_str().unwrap());
    assert_eq!(call(&app, &acme, "get", &legacy_claim, None).await, 200);
    assert_eq!(
        call(&app, &bravo_token, "get", &legacy_claim, None).await,
        404
    );

    // A claim staff file on bravo's policy is bravo's, not the insurer's.
    let staff = app.api_token_for_staff(Role::Admin).await;
    let receipt: Value = ingest(&app, &staff, &claim(&bravo.policy_number, 5_000), None)
        .await
        .json()
        .await
        .unwrap();
    let status = call(
        &app,
        &bravo_token,
        "get",
        &format!("/api/v1/claims/{}", receipt["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 200, "bravo sees a claim filed on its policy");
}

#[tokio::test]
async fn a_file_shared_across_partners_is_flagged_for_staff_but_never_named_to_either_partner() {
    let app = spawn().await;
    app.create_partner("acme").await;
    app.create_partner("bravo").await;
    let acme = app.partner_token("acme").await;
    let bravo = app.partner_token("bravo").await;
    let a = book(&app, &acme, "acme").await;
    let b = book(&app, &bravo, "bravo").await;

    let shared = png("the-same-invoice");
    let first = upload(&app, &acme, &a.claim, file(shared.clone(), "invoice.png")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = upload(&app, &bravo, &b.claim, file(shared, "invoice.png")).await;
    assert_eq!(
        second.status(),
        StatusCode::CREATED,
        "not `deduplicated`: bravo never had it"
    );
    let second: Value = second.json().await.unwrap();
    assert_eq!(
        second["same_file_on"],
        json!([]),
        "acme's claim is not named to bravo"
    );
    assert_eq!(second["deduplicated"], false);

    for (token, claim_id) in [(&acme, &a.claim), (&bravo, &b.claim)] {
        let view = read_json(
            &app,
            token,
            Method::GET,
            &format!("/api/v1/claims/{claim_id}"),
        )
        .await;
        let flags = view["fraud_flags"].to_string();
        assert!(!flags.contains("duplicate_attachment"), "{flags}");
        assert_eq!(view["related"], json!([]));
        let status = read_json(
            &app,
            token,
            Method::GET,
            &format!("/api/v1/claims/{claim_id}/status"),
        )
        .await;
        assert!(
            !status["fraud_flags"]
                .to_string()
                .contains("duplicate_attachment")
        );
        let list = read_json(&app, token, Method::GET, "/api/v1/claims").await;
        assert!(!list.to_string().contains("duplicate_attachment"));
    }

    let staff = app.api_token_for_staff(Role::Adjuster).await;
    let view = read_json(
        &app,
        &staff,
        Method::GET,
        &format!("/api/v1/claims/{}", b.claim),
    )
    .await;
    assert!(
        view["fraud_flags"]
            .to_string()
            .contains("duplicate_attachment")
    );
    assert_eq!(
        view["related"][0]["id"],
        a.claim.as_str(),
        "staff see the link"
    );
}

#[tokio::test]
async fn a_client_needs_a_partner_or_an_explicit_internal_grant_which_is_audited() {
    let app = spawn().await;
    let context = app::audit::ssr::AuditContext::system("test");
    let db = &app.state.db;
    let refuse = |partner: Option<&'static str>, internal: bool, role: Role| {
        app::auth::ssr::create_api_client(
            db,
            &context,
            "gateway",
            role.as_str(),
            partner,
            internal,
            None,
        )
    };
    let field = |error: app::error::AppError| match error {
        app::error::AppError::Validation(errors) => errors.0[0].field.clone(),
        other => panic!("not a field error: {other:?}"),
    };
    assert_eq!(
        field(refuse(None, false, Role::ApiClient).await.unwrap_err()),
        "partner"
    );
    assert_eq!(
        field(
            refuse(Some("nobody"), false, Role::ApiClient)
                .await
                .unwrap_err()
        ),
        "partner"
    );
    app.create_partner("acme").await;
    assert_eq!(
        field(
            refuse(Some("acme"), true, Role::ApiClient)
                .await
                .unwrap_err()
        ),
        "internal"
    );
    assert_eq!(
        field(refuse(Some("acme"), false, Role::Admin).await.unwrap_err()),
        "role"
    );

    let token = app.partner_token("acme").await;
    let me = read_json(&app, &token, Method::GET, "/api/v1/me").await;
    assert_eq!(me["scope"]["kind"], "partner");
    app.api_token(Role::ApiClient).await;
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"partner.created".to_owned()));
    assert!(actions.contains(&"api_client.internal_granted".to_owned()));
}

#[tokio::test]
async fn an_administrator_adds_a_partner_and_issues_it_a_client_on_the_admin_page_and_others_cannot()
 {
    use leptos::server_fn::ServerFn as _;
    let app = spawn().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let (_, adjuster) = app.signed_in(Role::Adjuster).await;
    let partner_form = [
        ("slug", "fleetco"),
        ("partner_name", "FleetCo"),
        ("kind", "fleet_operator"),
    ];

    let refused = app
        .post_server_fn(&adjuster, app::admin::CreatePartner::PATH, &partner_form)
        .await;
    assert_eq!(refused.status(), 403);
    let created = app
        .post_server_fn(&admin, app::admin::CreatePartner::PATH, &partner_form)
        .await;
    assert_eq!(created.status(), 200);
    let duplicate = app
        .post_server_fn(&admin, app::admin::CreatePartner::PATH, &partner_form)
        .await;
    assert_eq!(duplicate.status(), 409, "the slug is taken");

    let neither = app
        .post_server_fn(
            &admin,
            app::admin::CreateApiClient::PATH,
            &[("name", "fleet-gateway"), ("role", "api_client")],
        )
        .await;
    assert_eq!(neither.status(), 422);
    assert!(neither.text().await.unwrap().contains("partner"));
    let issued = app
        .post_server_fn(
            &admin,
            app::admin::CreateApiClient::PATH,
            &[
                ("name", "fleet-gateway"),
                ("role", "api_client"),
                ("partner", "fleetco"),
            ],
        )
        .await;
    assert_eq!(issued.status(), 200);
    let clients = app
        .post_server_fn(
            &admin,
            app::admin::ListApiClients::PATH,
            &[("partner", "fleetco")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(clients.contains("fleet-gateway"), "{clients}");
    let partners = app
        .post_server_fn(&admin, app::admin::ListPartners::PATH, &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        partners.contains("FleetCo") && partners.contains("\"active_clients\":1"),
        "{partners}"
    );
}
