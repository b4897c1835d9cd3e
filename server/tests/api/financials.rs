//! A claim's financials through the JSON API: reserves by bucket, payments
//! to the claim's parties within the reserve, the approval and the policy's
//! limit, recoveries, the figures computed from the append-only ledger, and
//! the parties' personal data sealed at rest.

use reqwest::Method;
use serde_json::{Value, json};
use shared::auth::Role;

use leptos::server_fn::ServerFn;

use crate::{
    claims::{active_policy, claim, ingest, pipeline_done, wait_for},
    helpers::{TestApp, read_json, send, spawn_app},
};

/// A claim in review and the adjuster working it.
pub(crate) struct Desk {
    pub(crate) app: TestApp,
    pub(crate) adjuster: String,
    pub(crate) partner: String,
    pub(crate) id: String,
}

/// A claim in review worked by an adjuster (limits: reserves 50,000.00,
/// payments 25,000.00 USD).
pub(crate) async fn desk(marker: &str) -> Desk {
    desk_as(marker, Role::Adjuster).await
}

async fn desk_as(marker: &str, role: Role) -> Desk {
    let app = spawn_app().await;
    let partner = app.api_token(Role::ApiClient).await;
    let adjuster = app.api_token_for_staff(role).await;
    let policy_number = active_policy(&app, &partner, marker).await;
    let receipt: Value = ingest(&app, &partner, &claim(&policy_number, 400_000), None)
        .await
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap().to_owned();
    wait_for(&app, &partner, &id, pipeline_done).await;
    let desk = Desk {
        app,
        adjuster,
        partner,
        id,
    };
    let started = desk
        .post("actions", json!({ "action": "start_review" }))
        .await;
    assert_eq!(started.status(), 200);
    desk
}

fn usd(amount: i64) -> Value {
    json!({ "amount": amount, "currency": "USD" })
}

impl Desk {
    pub(crate) async fn post(&self, tail: &str, body: Value) -> reqwest::Response {
        let path = format!("/api/v1/claims/{}/{tail}", self.id);
        send(
            &self.app,
            &self.adjuster,
            Method::POST,
            &path,
            Some(body),
            None,
        )
        .await
    }

    pub(crate) async fn get(&self, tail: &str) -> Value {
        let path = format!("/api/v1/claims/{}{tail}", self.id);
        let response = send(&self.app, &self.adjuster, Method::GET, &path, None, None).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    async fn party(&self, role: &str, name: &str) -> String {
        let added = self
            .post("parties", json!({ "role": role, "name": name }))
            .await;
        assert_eq!(added.status(), 201, "adds the {role}");
        let added: Value = added.json().await.unwrap();
        added["id"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn reserve(
        &self,
        cost_type: &str,
        category: &str,
        amount: i64,
    ) -> reqwest::Response {
        self.post(
            "reserves",
            json!({ "cost_type": cost_type, "category": category, "amount": usd(amount), "reason": "Adjuster's estimate" }),
        )
        .await
    }

    async fn pay(
        &self,
        (cost_type, category): (&str, &str),
        payee: &str,
        payment_type: &str,
        amount: i64,
    ) -> reqwest::Response {
        self.post(
            "payments",
            json!({ "cost_type": cost_type, "category": category, "payee_id": payee, "method": "bank_transfer", "payment_type": payment_type, "amount": usd(amount), "reference": "INV-1" }),
        )
        .await
    }

    async fn recover(&self, cost_type: &str, category: &str, amount: i64) -> reqwest::Response {
        self.post(
            "recoveries",
            json!({ "cost_type": cost_type, "category": category, "recovery_type": "salvage", "amount": usd(amount), "reference": "Salvage yard" }),
        )
        .await
    }
}

/// The figure `name` of `figures` in minor units.
fn minor(figures: &Value, name: &str) -> i64 {
    figures[name]["amount"].as_i64().unwrap()
}

fn bucket<'a>(financials: &'a Value, cost_type: &str, category: &str) -> &'a Value {
    financials["totals"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["cost_type"] == cost_type && b["category"] == category)
        .unwrap_or_else(|| panic!("{cost_type}/{category} in {financials}"))
}

/// The first error's field of a 422.
async fn refused_field(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    let error = &problem["errors"][0];
    (
        error["field"].as_str().unwrap().to_owned(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn reserves_payments_and_recoveries_add_up_to_outstanding_paid_recovered_and_incurred() {
    let desk = desk("ledger").await;
    let shop = desk.party("repair_shop", "AutoFix 24 Ltd & Sons").await;
    let lawyer = desk.party("attorney", "Dana Holt").await;
    assert_eq!(
        desk.reserve("claim_cost", "property", 300_000)
            .await
            .status(),
        201
    );
    let expense = desk.reserve("expense", "legal", 50_000).await;
    assert_eq!(expense.status(), 201);
    let created: Value = expense.json().await.unwrap();
    assert_eq!(created["line"]["kind"], "reserve");
    assert_eq!(created["line"]["amount"]["amount"], 50_000);
    assert_eq!(
        minor(&created["financials"]["totals"]["total"], "outstanding"),
        350_000
    );

    // Expenses can be paid during the review; claim costs wait for the approval.
    assert_eq!(
        desk.pay(("expense", "legal"), &lawyer, "partial", 20_000)
            .await
            .status(),
        201
    );
    let approved = desk
        .post(
            "decision",
            json!({ "kind": "approve", "amount": usd(250_000) }),
        )
        .await;
    assert_eq!(approved.status(), 200);
    assert_eq!(
        desk.pay(("claim_cost", "property"), &shop, "partial", 100_000)
            .await
            .status(),
        201
    );
    assert_eq!(
        desk.recover("claim_cost", "property", 30_000)
            .await
            .status(),
        201
    );

    let financials = desk.get("/financials").await;
    assert_eq!(financials["currency"], "USD");
    let property = bucket(&financials, "claim_cost", "property");
    assert_eq!(minor(property, "outstanding"), 200_000);
    assert_eq!(minor(property, "paid"), 100_000);
    assert_eq!(minor(property, "recovered"), 30_000);
    assert_eq!(
        minor(property, "incurred"),
        270_000,
        "paid + outstanding − recovered"
    );
    let legal = bucket(&financials, "expense", "legal");
    assert_eq!(minor(legal, "outstanding"), 30_000);
    assert_eq!(minor(legal, "incurred"), 50_000);
    let total = &financials["totals"]["total"];
    assert_eq!(minor(total, "incurred"), 320_000);
    assert_eq!(minor(&financials["totals"]["expense"], "paid"), 20_000);
    assert_eq!(financials["lines"].as_array().unwrap().len(), 5);
    let stats = app::claims::ssr::stats(&desk.app.state.db).await.unwrap();
    assert_eq!(
        stats.reserved[0].amount, 230_000,
        "the dashboard's outstanding"
    );
    assert_eq!(stats.paid[0].amount, 120_000, "the dashboard's paid");

    // The final claim-cost payment releases the rest of its reserve and
    // settles the claim; closing waits for the expense reserve.
    assert_eq!(
        desk.pay(("claim_cost", "property"), &shop, "final", 150_000)
            .await
            .status(),
        201
    );
    let claim = desk.get("").await;
    assert_eq!(claim["status"], "paid");
    assert_eq!(
        claim["paid_amount"]["amount"], 250_000,
        "claim costs paid, not expenses"
    );
    let financials = desk.get("/financials").await;
    let property = bucket(&financials, "claim_cost", "property");
    assert_eq!(
        minor(property, "outstanding"),
        0,
        "released by the final payment"
    );
    let closing = desk.post("actions", json!({ "action": "close" })).await;
    assert_eq!(closing.status(), 409);
    let problem: Value = closing.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Expense · Legal"),
        "{problem}"
    );
    assert_eq!(desk.reserve("expense", "legal", 0).await.status(), 201);
    let closed = desk.post("actions", json!({ "action": "close" })).await;
    assert_eq!(closed.status(), 200);
    let after_close = desk.reserve("expense", "legal", 10_000).await;
    assert_eq!(
        after_close.status(),
        409,
        "a closed claim's ledger is frozen"
    );

    let actions = desk.app.audit_actions().await;
    for action in [
        "claim.party_added",
        "claim.reserve_set",
        "claim.payment_recorded",
        "claim.recovery_recorded",
        "claim.pay",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_payment_beyond_its_reserve_the_approval_or_the_policy_limit_is_refused_naming_the_field()
{
    // An administrator: no authority limit gets in the way of the rules.
    let desk = desk_as("limits", Role::Admin).await;
    let shop = desk.party("repair_shop", "AutoFix").await;
    let witness_elsewhere = "no-such-party";
    assert_eq!(
        desk.reserve("claim_cost", "body", 100_000).await.status(),
        201
    );

    let (field, message) = refused_field(
        desk.pay(("claim_cost", "body"), &shop, "partial", 10_000)
            .await,
    )
    .await;
    assert_eq!(
        field, "cost_type",
        "claim costs need an approval: {message}"
    );
    desk.post(
        "decision",
        json!({ "kind": "approve", "amount": usd(80_000) }),
    )
    .await;

    let (field, message) = refused_field(
        desk.pay(("claim_cost", "body"), &shop, "partial", 100_001)
            .await,
    )
    .await;
    assert_eq!(field, "amount.amount");
    assert!(message.contains("outstanding reserve"), "{message}");
    let (field, message) = refused_field(
        desk.pay(("claim_cost", "body"), &shop, "partial", 90_000)
            .await,
    )
    .await;
    assert_eq!(field, "amount.amount");
    assert!(message.contains("approved"), "{message}");
    let (field, _) = refused_field(
        desk.pay(("claim_cost", "body"), witness_elsewhere, "partial", 1_000)
            .await,
    )
    .await;
    assert_eq!(field, "payee_id", "the payee must be a party of the claim");

    // Expenses need no approval but count against limit less deductible
    // (50,000.00 − 500.00).
    assert_eq!(
        desk.reserve("expense", "legal", 6_000_000).await.status(),
        201
    );
    let (field, message) = refused_field(
        desk.pay(("expense", "legal"), &shop, "partial", 4_950_001)
            .await,
    )
    .await;
    assert_eq!(field, "amount.amount");
    assert!(message.contains("limit less deductible"), "{message}");
    assert_eq!(
        desk.pay(("expense", "legal"), &shop, "partial", 4_950_000)
            .await
            .status(),
        201
    );

    let (field, message) = refused_field(desk.recover("expense", "legal", 4_950_001).await).await;
    assert_eq!(field, "amount.amount");
    assert!(message.contains("paid"), "{message}");
    let (field, _) = refused_field(desk.reserve("expense", "legal", 1_050_000).await).await;
    assert_eq!(
        field, "amount.amount",
        "setting a reserve to what it is changes nothing"
    );
    let wrong_currency = desk
        .post(
            "reserves",
            json!({ "cost_type": "expense", "category": "legal", "amount": { "amount": 10, "currency": "EUR" }, "reason": "Estimate" }),
        )
        .await;
    assert_eq!(refused_field(wrong_currency).await.0, "amount.currency");
    let bad_bucket = desk
        .post(
            "reserves",
            json!({ "cost_type": "fees", "category": "legal", "amount": usd(10), "reason": "x" }),
        )
        .await;
    assert_eq!(bad_bucket.status(), 422);
    let problem: Value = bad_bucket.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["cost_type", "reason"], "every broken rule at once");
    let not_json = send(
        &desk.app,
        &desk.adjuster,
        Method::POST,
        &format!("/api/v1/claims/{}/payments", desk.id),
        Some(json!({ "amount": "lots" })),
        None,
    )
    .await;
    assert_eq!(not_json.status(), 422);
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_each_line_moves_the_claims_etag() {
    let desk = desk("etag").await;
    let before = desk.get("").await["version"].as_i64().unwrap();
    let path = format!("/api/v1/claims/{}/reserves", desk.id);
    let body = json!({ "cost_type": "expense", "category": "towing", "amount": usd(9_000), "reason": "Tow to the yard" });
    let tag = |v: i64| format!("\"v{v}\"");
    let set = send(
        &desk.app,
        &desk.adjuster,
        Method::POST,
        &path,
        Some(body.clone()),
        Some(&tag(before)),
    )
    .await;
    assert_eq!(set.status(), 201);
    assert_eq!(set.headers()["etag"], tag(before + 1).as_str());
    let stale = send(
        &desk.app,
        &desk.adjuster,
        Method::POST,
        &path,
        Some(body),
        Some(&tag(before)),
    )
    .await;
    assert_eq!(stale.status(), 412);
    let lines = desk.get("/financials").await["lines"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(lines, 1, "the stale change wrote nothing");
}

#[tokio::test]
async fn the_ledger_is_append_only_in_the_database_itself() {
    let desk = desk("append-only").await;
    assert_eq!(
        desk.reserve("expense", "rental", 12_000).await.status(),
        201
    );
    let pool = desk.app.state.db.pool();
    let update = sqlx::query("UPDATE claim_ledger SET amount = 1")
        .execute(pool)
        .await;
    assert!(update.is_err(), "an UPDATE is refused");
    let delete = sqlx::query("DELETE FROM claim_ledger").execute(pool).await;
    assert!(delete.is_err(), "a DELETE is refused");
    let amount: i64 = sqlx::query_scalar("SELECT amount FROM claim_ledger")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(amount, 12_000);
}

#[tokio::test]
async fn parties_are_sealed_at_rest_masked_in_the_api_and_checked_field_by_field() {
    let desk = desk("parties").await;
    let added = desk
        .post(
            "parties",
            json!({ "role": "witness", "name": "Morgan Quill", "email": "morgan.quill@example.com", "phone": "+44 20 7946 0999" }),
        )
        .await;
    assert_eq!(added.status(), 201);
    let party: Value = added.json().await.unwrap();
    assert_eq!(party["role"], "witness");
    let shown = party.to_string();
    for secret in ["Morgan", "Quill", "morgan.quill", "7946 0999"] {
        assert!(!shown.contains(secret), "{secret} is masked: {shown}");
    }
    let listed = desk.get("/parties").await;
    assert_eq!(listed["items"][0]["id"], party["id"]);
    let partner_view = send(
        &desk.app,
        &desk.partner,
        Method::GET,
        &format!("/api/v1/claims/{}/parties", desk.id),
        None,
        None,
    )
    .await;
    assert_eq!(
        partner_view.status(),
        200,
        "the claim's partner reads its parties"
    );

    let stored: Vec<u8> = sqlx::query_scalar("SELECT name FROM claim_parties")
        .fetch_one(desk.app.state.db.pool())
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains("Morgan"),
        "the name is sealed at rest"
    );

    // Revealing a field takes the permission and a reason, and is audited.
    let path = format!(
        "/api/v1/claims/{}/parties/{}/reveal",
        desk.id,
        party["id"].as_str().unwrap()
    );
    let reveal = |field: &str, reason: &str| {
        let body = json!({ "field": field, "reason": reason });
        send(
            &desk.app,
            &desk.adjuster,
            Method::POST,
            &path,
            Some(body),
            None,
        )
    };
    let shown: Value = reveal("email", "Calling the witness back about the estimate")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["value"], "morgan.quill@example.com");
    let refused = reveal("address", "").await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "field");
    assert_eq!(problem["errors"][1]["field"], "reason");
    let audited: String = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'claim.party_pii_revealed'",
    )
    .fetch_one(desk.app.state.db.pool())
    .await
    .unwrap();
    assert!(audited.contains("\"field\":\"email\""), "{audited}");
    assert!(
        !audited.contains("morgan.quill"),
        "the value is not in the trail"
    );

    let bad = desk
        .post(
            "parties",
            json!({ "role": "neighbour", "name": "", "email": "not-an-email" }),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let problem: Value = bad.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["role", "name", "email"]);
    let partner_adds = send(
        &desk.app,
        &desk.partner,
        Method::POST,
        &format!("/api/v1/claims/{}/parties", desk.id),
        Some(json!({ "role": "witness", "name": "Sam Reed" })),
        None,
    )
    .await;
    assert_eq!(partner_adds.status(), 403, "parties are added by staff");
}

#[tokio::test]
async fn two_payments_racing_on_one_claim_never_both_spend_the_same_reserve() {
    let desk = desk("race").await;
    let tow = desk.party("repair_shop", "Roadside Recovery").await;
    assert_eq!(
        desk.reserve("expense", "towing", 10_000).await.status(),
        201
    );
    let (first, second) = tokio::join!(
        desk.pay(("expense", "towing"), &tow, "partial", 7_000),
        desk.pay(("expense", "towing"), &tow, "partial", 7_000),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 422], "the second sees the first's payment");
    let financials = desk.get("/financials").await;
    assert_eq!(minor(&financials["totals"]["total"], "paid"), 7_000);
    assert_eq!(minor(&financials["totals"]["total"], "outstanding"), 3_000);
}

#[tokio::test]
async fn a_change_over_the_adjusters_authority_waits_for_someone_else_whose_authority_covers_it() {
    let desk = desk("authority").await;
    let admin = desk.app.api_token_for_staff(Role::Admin).await;
    let colleague = desk.app.api_token_for_staff(Role::Adjuster).await;
    let shop = desk.party("repair_shop", "AutoFix").await;
    let approvals = |token: &str, tail: &str, body: Option<Value>| {
        let (token, path) = (token.to_owned(), format!("/api/v1/approvals{tail}"));
        let app = &desk.app;
        async move { send(app, &token, Method::POST, &path, body, None).await }
    };

    // Over the 50,000.00 reserve authority: filed, not recorded.
    let over = desk.reserve("claim_cost", "property", 6_000_000).await;
    assert_eq!(over.status(), 202);
    let over: Value = over.json().await.unwrap();
    assert_eq!(over["approval"]["status"], "pending");
    assert_eq!(over["approval"]["kind"], "reserve");
    assert_eq!(
        minor(&over["financials"]["totals"]["total"], "outstanding"),
        0
    );
    let request = over["approval"]["id"].as_str().unwrap().to_owned();
    let queue = read_json(&desk.app, &admin, Method::GET, "/api/v1/approvals").await;
    assert_eq!(queue["items"][0]["id"], request.as_str());
    let own = approvals(&desk.adjuster, &format!("/{request}/approve"), None).await;
    assert_eq!(own.status(), 409, "the requester cannot approve");
    let peer = approvals(&colleague, &format!("/{request}/approve"), None).await;
    assert_eq!(
        peer.status(),
        409,
        "nor can someone whose own limit is as low"
    );
    let granted = approvals(&admin, &format!("/{request}/approve"), None).await;
    assert_eq!(granted.status(), 201);
    let granted: Value = granted.json().await.unwrap();
    assert_eq!(granted["line"]["amount"]["amount"], 6_000_000);
    assert!(granted["line"]["approved_by"].is_string(), "{granted}");
    let again = approvals(&admin, &format!("/{request}/approve"), None).await;
    assert_eq!(again.status(), 409, "a request is decided once");
    let claim = desk.get("").await;
    assert_eq!(claim["approvals"][0]["status"], "approved");

    // A payment over the 25,000.00 payment authority, on an amount an
    // administrator approved: rejected once, then filed again and approved.
    let decided = send(
        &desk.app,
        &admin,
        Method::POST,
        &format!("/api/v1/claims/{}/decision", desk.id),
        Some(json!({ "kind": "approve", "amount": usd(3_000_000) })),
        None,
    )
    .await;
    assert_eq!(decided.status(), 200);
    let pay = || desk.pay(("claim_cost", "property"), &shop, "final", 3_000_000);
    let filed: Value = pay().await.json().await.unwrap();
    let first = filed["approval"]["id"].as_str().unwrap().to_owned();
    let no_reason = approvals(&admin, &format!("/{first}/reject"), Some(json!({}))).await;
    assert_eq!(refused_field(no_reason).await.0, "reason");
    let rejected = approvals(
        &admin,
        &format!("/{first}/reject"),
        Some(json!({ "reason": "Get a second estimate first." })),
    )
    .await;
    assert_eq!(rejected.status(), 200);
    let rejected: Value = rejected.json().await.unwrap();
    assert_eq!(rejected["status"], "rejected");
    let refiled = pay().await;
    assert_eq!(refiled.status(), 202);
    let second: Value = refiled.json().await.unwrap();
    let second = second["approval"]["id"].as_str().unwrap().to_owned();

    // Closing waits for every request: file one more and try.
    let pending = desk.reserve("expense", "legal", 5_000_001).await;
    assert_eq!(pending.status(), 202);
    let paid = approvals(&admin, &format!("/{second}/approve"), None).await;
    assert_eq!(paid.status(), 201);
    assert_eq!(
        desk.get("").await["status"],
        "paid",
        "the approved final payment pays the claim"
    );
    let closing = desk.post("actions", json!({ "action": "close" })).await;
    assert_eq!(closing.status(), 409);
    let problem: Value = closing.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("awaiting approval"),
        "{problem}"
    );

    let actions = desk.app.audit_actions().await;
    for action in [
        "claim.approval_requested",
        "claim.approval_granted",
        "claim.approval_rejected",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    let partner = send(
        &desk.app,
        &desk.partner,
        Method::GET,
        "/api/v1/approvals",
        None,
        None,
    )
    .await;
    assert_eq!(partner.status(), 403, "the queue is staff's");
}

#[tokio::test]
async fn a_users_own_limit_overrides_their_roles_and_admins_change_limits_with_an_audit_record() {
    let desk = desk("override").await;
    let (_, admin) = desk.app.signed_in(Role::Admin).await;
    let me = read_json(&desk.app, &desk.adjuster, Method::GET, "/api/v1/me").await;
    let set = |subject: String, currency: &'static str, reserve: &'static str| {
        let (app, admin) = (&desk.app, &admin);
        async move {
            app.post_server_fn(
                admin,
                <app::claims::approvals::SetAuthorityLimit as ServerFn>::PATH,
                &[
                    ("subject_kind", "user"),
                    ("subject", &subject),
                    ("currency", currency),
                    ("reserve", reserve),
                    ("payment", ""),
                ],
            )
            .await
            .status()
        }
    };
    let user = me["id"].as_str().unwrap().to_owned();
    assert_eq!(set(user.clone(), "USD", "100.00").await, 200);
    assert_eq!(
        desk.reserve("expense", "towing", 20_000).await.status(),
        202,
        "200.00 is over this adjuster's own 100.00"
    );
    assert_eq!(
        desk.reserve("expense", "towing", 10_000).await.status(),
        201
    );
    assert_eq!(
        set(user.clone(), "XYZ", "1").await,
        422,
        "a currency that is not ISO 4217"
    );
    assert_eq!(set("no-such-user".into(), "USD", "1").await, 422);
    let actions = desk.app.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "authority.limit_set")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_retried_payment_with_its_idempotency_key_is_answered_again_and_never_paid_twice() {
    let desk = desk("idempotent").await;
    let shop = desk.party("repair_shop", "AutoFix").await;
    assert_eq!(
        desk.reserve("expense", "towing", 50_000).await.status(),
        201
    );
    let version = desk.get("").await["version"].as_i64().unwrap();
    let path = format!("/api/v1/claims/{}/payments", desk.id);
    let body = json!({ "cost_type": "expense", "category": "towing", "payee_id": shop, "method": "cheque", "payment_type": "partial", "amount": usd(12_000) });
    let post = |body: Value, key: &'static str| {
        let (app, token, path) = (&desk.app, desk.adjuster.clone(), path.clone());
        async move {
            app.new_client()
                .post(app.url(&path))
                .bearer_auth(token)
                .header("idempotency-key", key)
                .header("if-match", format!("\"v{version}\""))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = post(body.clone(), "pay-0001").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // The same request again, If-Match now stale: the first answer, not 412.
    let retry = post(body.clone(), "pay-0001").await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["line"]["id"], first["line"]["id"]);
    let financials = desk.get("/financials").await;
    assert_eq!(
        minor(&financials["totals"]["total"], "paid"),
        12_000,
        "paid once"
    );
    let mut other = body;
    other["amount"] = usd(13_000);
    let (field, _) = refused_field(post(other, "pay-0001").await).await;
    assert_eq!(field, "Idempotency-Key", "one key, one request");
}
