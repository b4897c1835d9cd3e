//! The OpenAPI 3.1 description of `/api/v1` (`GET /api/v1/openapi.json`) and
//! a readable rendering of it (`GET /api/docs`), served from the binary: no
//! CDN, no scripts, works offline. A test checks that every API route is
//! documented.

use axum::{
    Json, Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use app::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(|| async { Json(document()) }))
        .route("/api/docs", get(docs))
}

fn money() -> Value {
    json!({ "$ref": "#/components/schemas/Money" })
}

fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn query(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } })
}

/// `Idempotency-Key` on a ledger or party write: a retry gets the first
/// answer (`Idempotent-Replayed: true`), never a second line.
fn idempotency_param() -> Value {
    json!({ "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "minLength": 1, "maxLength": 255 },
        "description": "1 to 255 visible ASCII characters, scoped to the caller: a repeat of the same request gets the first answer again; the same key with another request is a 422" })
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } })
}

/// The standard failures of an authenticated call.
fn with_errors(mut responses: Value) -> Value {
    responses["401"] = problem("No valid bearer token");
    responses["403"] = problem("The token's role lacks the permission (audited)");
    responses["422"] = problem("Invalid input: `errors` names each field and rule");
    responses["429"] = problem("Rate limited; see Retry-After");
    responses
}

pub fn document() -> Value {
    let mut document = core_document();
    add_claims(&mut document);
    add_financials(&mut document);
    add_jurisdiction(&mut document);
    add_attachments_and_webhooks(&mut document);
    document
}

/// A policy's jurisdiction, which sets its claims' SLA deadlines: on the
/// new policy, the quote edit and the policy itself.
fn add_jurisdiction(document: &mut Value) {
    let field = json!({ "type": "string", "description": "where the policy is written, ISO 3166 (US-FL, GB); sets its claims' SLA deadlines (empty: the default rules)" });
    let schemas = &mut document["components"]["schemas"];
    schemas["NewPolicy"]["properties"]["jurisdiction"] = field.clone();
    schemas["Policy"]["properties"]["jurisdiction"] = json!({ "type": ["string", "null"] });
    document["paths"]["/api/v1/policies/{id}"]["patch"]["requestBody"]["content"]["application/json"]
        ["schema"]["properties"]["jurisdiction"] = field;
}

fn page(item: &str) -> Value {
    json!({ "type": "object", "properties": {
        "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } },
        "page": { "type": "integer" }, "per_page": { "type": "integer" }, "total": { "type": "integer" } } })
}

fn if_match_param() -> Value {
    json!({ "name": "If-Match", "in": "header", "required": false, "schema": { "type": "string" }, "description": "The ETag read, e.g. \"v3\"" })
}

/// Claims, the pipeline and the legacy ingestion route.
fn add_attachments_and_webhooks(document: &mut Value) {
    let attachment = json!({ "type": "object", "properties": {
        "id": { "type": "string" }, "claim_id": { "type": "string" }, "filename": { "type": "string" },
        "kind": { "enum": ["pdf", "png", "jpeg", "webp", "heic"] }, "content_type": { "type": "string" },
        "size_bytes": { "type": "integer" }, "sha256": { "type": "string" }, "uploaded_by": { "type": "string" },
        "created_at": { "type": "integer" } } });
    let delivery = json!({ "type": "object", "properties": {
        "id": { "type": "string" }, "endpoint_id": { "type": "string" }, "url": { "type": "string" },
        "event": { "type": "string" }, "event_id": { "type": "string" }, "claim_id": { "type": ["string", "null"] },
        "cause": { "enum": ["pipeline", "replay"] }, "outcome": { "enum": ["delivered", "failed"] },
        "response_status": { "type": ["integer", "null"] }, "error": { "type": ["string", "null"] },
        "duration_ms": { "type": "integer" }, "created_at": { "type": "integer" } } });
    let endpoint = json!({ "type": "object", "properties": {
        "id": { "type": "string" }, "url": { "type": "string" }, "description": { "type": "string" },
        "events": { "type": "array", "items": { "type": "string" } }, "active": { "type": "boolean" },
        "partner_id": { "type": ["string", "null"], "description": "the partner whose claims' events it receives; null: the insurer's own, every event" } } });
    let paths = &mut document["paths"];
    paths["/api/v1/claims/{id}/attachments"] = json!({
        "get": { "summary": "A claim's attachments", "parameters": [id_param()],
            "responses": with_errors(json!({ "200": ok("The attachments", json!({ "type": "array", "items": attachment.clone() })), "404": problem("No such claim") })) },
        "post": { "summary": "Attach a file (multipart/form-data, part `file`): PDF, PNG, JPEG, WebP or HEIC by content; identical files are stored once and flag other claims holding them",
            "parameters": [id_param()],
            "requestBody": { "required": true, "content": { "multipart/form-data": { "schema": { "type": "object", "required": ["file"],
                "properties": { "file": { "type": "string", "format": "binary" } } } } } },
            "responses": with_errors(json!({ "201": ok("Stored", attachment.clone()), "200": ok("This claim already had this file", attachment.clone()),
                "404": problem("No such claim"), "409": problem("The claim is closed"), "413": problem("Larger than VANGUARD_ATTACHMENT_MAX_BYTES") })) } });
    paths["/api/v1/claims/{id}/attachments/{attachment_id}"] = json!({ "get": { "summary": "Download an attachment (audited)",
        "parameters": [id_param(), { "name": "attachment_id", "in": "path", "required": true, "schema": { "type": "string" } }],
        "responses": with_errors(json!({ "200": { "description": "The file, as a download" }, "404": problem("No such attachment on this claim") })) } });
    paths["/api/v1/webhooks"] = json!({
        "get": { "summary": "Webhook endpoints (operations permission)", "responses": with_errors(json!({ "200": ok("The endpoints", json!({ "type": "array", "items": endpoint.clone() })) })) },
        "post": { "summary": "Register an endpoint for claim.triaged; the signing secret is in this answer only",
            "requestBody": body(json!({ "type": "object", "required": ["url", "description"], "properties": {
                "url": { "type": "string", "description": "https:// to a public address: private, loopback, link-local, unique-local, CGNAT, multicast, unspecified and metadata addresses and local names are refused (422), here and again at delivery after DNS; http:// only to hosts on the development allow-list" },
                "description": { "type": "string", "maxLength": 200 },
                "partner": { "type": "string", "description": "id or slug of the partner whose claims' events it receives (omitted: every event)" } } })),
            "responses": with_errors(json!({ "201": ok("Registered", json!({ "allOf": [endpoint, { "type": "object", "properties": { "secret": { "type": "string" } } }] })) })) } });
    paths["/api/v1/webhooks/{id}"] = json!({ "delete": { "summary": "Disable an endpoint (its log stays)", "parameters": [id_param()],
        "responses": with_errors(json!({ "204": { "description": "Disabled" }, "404": problem("No such endpoint") })) } });
    paths["/api/v1/webhook-deliveries"] = json!({ "get": { "summary": "The latest 50 delivery attempts, newest first",
        "parameters": [query("endpoint_id", "one endpoint's deliveries")],
        "responses": with_errors(json!({ "200": ok("The log", json!({ "type": "array", "items": delivery.clone() })) })) } });
    paths["/api/v1/webhook-deliveries/{id}/replay"] = json!({ "post": { "summary": "Send a delivery's event again now (same event id and body, new signature)",
        "parameters": [id_param()],
        "responses": with_errors(json!({ "200": ok("The new attempt (see outcome)", delivery), "404": problem("No such delivery"), "409": problem("The endpoint is disabled") })) } });
    let hex = json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" });
    let proof = json!({ "type": "object", "properties": {
        "seq": { "type": "integer" }, "leaf_index": { "type": "integer" }, "leaf_hash": hex.clone(),
        "tree_size": { "type": "integer" }, "root_hash": hex.clone(),
        "audit_path": { "type": "array", "items": hex, "description": "RFC 9162 inclusion proof, bottom up" },
        "checkpoint": { "type": "string", "description": "the signed checkpoint note, byte for byte (see the README, Audit trail)" },
        "signature": { "type": "string", "description": "base64 Ed25519 signature over `checkpoint` (`server audit-public-key` prints the key)" },
        "key_id": { "type": "string" } } });
    paths["/api/v1/audit/{seq}/proof"] = json!({ "get": { "summary": "Inclusion proof of one audit record in the latest signed checkpoint (audit-read permission)",
        "parameters": [{ "name": "seq", "in": "path", "required": true, "schema": { "type": "integer" } }],
        "responses": with_errors(json!({ "200": ok("The proof", proof), "404": problem("No such record"), "409": problem("The record is not sealed yet (within about a second)") })) } });
}

fn add_claims(document: &mut Value) {
    let claim = json!({ "$ref": "#/components/schemas/Claim" });
    let paths = &mut document["paths"];
    paths["/api/v1/claims"] = json!({
        "post": { "summary": "Submit a claim: stored with its pipeline job in one transaction; answered before triage",
            "parameters": [{ "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 255 },
                "description": "Replays the first answer for the same body; 422 for a different body" }],
            "requestBody": body(json!({ "$ref": "#/components/schemas/NewClaim" })),
            "responses": with_errors(json!({ "202": ok("Accepted", json!({ "$ref": "#/components/schemas/ClaimReceipt" })),
                "503": problem("The pipeline is too far behind (or the database is unavailable): nothing was stored; send it again after Retry-After") })) },
        "get": { "summary": "List claims",
            "parameters": [query("q", "a claim number (CLM-…), a policy number (POL-…) or the insured's last name (exact, case aside; matched through its blind index)"),
                query("status", "submitted|triaged|in_review|approved|denied|info_requested|paid|closed"), query("priority", "urgent|standard|low"),
                query("assignee", "a user id, `me` or `none`"), query("from", "incident date from (YYYY-MM-DD)"), query("to", "incident date to"),
                query("customer_id", "one customer's claims"), query("policy_id", "one policy's claims"), query("sort", "newest|oldest|priority|amount|deadline (soonest SLA breach first; the queue's default)"),
                query("queue", "true: the review queue (triaged and in review, soonest SLA breach first)"),
                query("page", "1-based"), query("per_page", "1 to 100, default 25")],
            "responses": with_errors(json!({ "200": ok("A page", page("ClaimSummary")) })) } });
    paths["/api/v1/claims/{id}"] = json!({ "get": { "summary": "A claim with lines, masked claimant, notes, pipeline runs, timeline and the actions allowed now (ETag)",
        "parameters": [id_param()], "responses": with_errors(json!({ "200": ok("The claim", claim.clone()), "404": problem("No such claim") })) } });
    paths["/api/v1/claims/{id}/status"] = json!({ "get": { "summary": "Status, priority, flags and the pipeline's state",
        "parameters": [id_param()], "responses": with_errors(json!({ "200": ok("The status", json!({ "type": "object" })), "404": problem("No such claim") })) } });
    paths["/api/v1/claims/{id}/actions"] = json!({ "post": { "summary": "A workflow step: start_review, provide_info, close, reopen (with a reason); a claim is paid by its final claim-cost payment (POST …/payments)",
        "parameters": [id_param(), if_match_param()],
        "requestBody": body(json!({ "type": "object", "required": ["action"], "properties": {
            "action": { "enum": ["start_review", "provide_info", "close", "reopen"] }, "reason": { "type": "string" } } })),
        "responses": with_errors(json!({ "200": ok("The claim after the change", claim.clone()),
            "409": problem("Not allowed from the current status, or closing with outstanding reserves (named)"), "412": problem("The claim changed since the ETag was read") })) } });
    paths["/api/v1/claims/{id}/assignment"] = json!({ "post": { "summary": "Give the claim to another user who works claims (an adjuster or an administrator), with a reason the audit trail keeps; a triaged claim moves into review",
        "parameters": [id_param(), if_match_param()],
        "requestBody": body(json!({ "type": "object", "required": ["assignee_id", "reason"], "properties": {
            "assignee_id": { "type": "string" }, "reason": { "type": "string", "minLength": 10, "maxLength": 500 } } })),
        "responses": with_errors(json!({ "200": ok("The claim after the change", claim.clone()),
            "409": problem("Already assigned to that user, or the claim is closed"), "412": problem("The claim changed since the ETag was read") })) } });
    paths["/api/v1/claims/{id}/decision"] = json!({ "post": { "summary": "An adjuster's decision on a claim in review (audited; authority limits apply)",
        "parameters": [id_param(), if_match_param()],
        "requestBody": body(json!({ "type": "object", "required": ["kind"], "properties": {
            "kind": { "enum": ["approve", "deny", "request_info"] }, "amount": money(), "reason": { "type": "string", "minLength": 10 },
            "priority": { "enum": ["urgent", "standard", "low"] }, "flag": { "type": "string", "description": "flag for fraud review, with this reason" },
            "confirm": { "enum": ["deny"], "description": "required with kind deny: a denial cannot be undone (422 naming confirm without it)" } } })),
        "responses": with_errors(json!({ "200": ok("The claim after the decision", claim.clone()),
            "409": problem("The claim is not in review"), "412": problem("The claim changed since the ETag was read") })) } });
    paths["/api/v1/claims/{id}/notes"] = json!({ "post": { "summary": "Add a note", "parameters": [id_param()],
        "requestBody": body(json!({ "type": "object", "required": ["body"], "properties": { "body": { "type": "string", "maxLength": 4000 } } })),
        "responses": with_errors(json!({ "201": ok("The claim with the note", claim) })) } });
    paths["/api/v1/claims/{id}/reveal"] = json!({ "post": { "summary": "Show one claimant field in clear, with a reason (audited)",
        "parameters": [id_param()],
        "requestBody": body(json!({ "type": "object", "required": ["field", "reason"], "properties": {
            "field": { "enum": ["claimant_name", "claimant_email", "claimant_phone"] }, "reason": { "type": "string", "minLength": 10 } } })),
        "responses": with_errors(json!({ "200": ok("The value", json!({ "type": "object" })), "409": problem("The policyholder's data was erased, or this field's stored value is unreadable (named in detail)") })) } });
    paths["/api/v1/executions/{id}"] = json!({ "get": { "summary": "A pipeline run: each step's state, attempts, last error and timings",
        "parameters": [id_param()], "responses": with_errors(json!({ "200": ok("The execution", json!({ "type": "object" })), "404": problem("No such execution") })) } });
    paths["/api/v1/jobs/{id}/retry"] = json!({ "post": { "summary": "Put a dead-lettered step back in the queue (operations permission)",
        "parameters": [id_param()], "responses": with_errors(json!({ "202": { "description": "Queued" }, "409": problem("The job is not dead") })) } });
    paths["/orchestrate"] = json!({ "post": { "summary": "Legacy ingestion: metadata.correlation_id, claim_details.policy_number, claimant.name, estimated_loss.amount (major units), attachments[]",
        "requestBody": body(json!({ "type": "object" })),
        "responses": with_errors(json!({ "202": ok("Accepted", json!({ "type": "object", "properties": {
            "execution_id": { "type": "string" }, "status": { "type": "string" }, "claim_id": { "type": "string" }, "claim_number": { "type": "string" } } })) })) } });
    let schemas = &mut document["components"]["schemas"];
    schemas["NewClaim"] = json!({ "type": "object", "required": ["policy_number", "incident_date", "description", "lines"], "properties": {
        "policy_number": { "type": "string" }, "incident_date": { "type": "string", "format": "date" }, "description": { "type": "string" },
        "claimant": { "type": "object", "required": ["name"], "properties": { "name": { "type": "string" }, "email": { "type": "string" }, "phone": { "type": "string" } } },
        "lines": { "type": "array", "minItems": 1, "maxItems": 100, "items": { "type": "object", "required": ["code", "amount"], "properties": {
            "code": { "type": "string" }, "description": { "type": "string" }, "amount": money() } } } } });
    schemas["ClaimReceipt"] = json!({ "type": "object", "properties": { "id": { "type": "string" }, "claim_number": { "type": "string" },
        "status": { "type": "string" }, "execution_id": { "type": "string" } } });
    schemas["ClaimSummary"] = json!({ "type": "object", "properties": { "id": { "type": "string" }, "claim_number": { "type": "string" },
        "policy_number": { "type": "string" }, "status": { "type": "string" }, "priority": { "type": ["string", "null"] },
        "incident_date": { "type": "string" }, "total_claimed": money(), "fraud_flags": { "type": "array" }, "version": { "type": "integer" },
        "deadline": { "type": ["object", "null"], "description": "the SLA deadline running now (null once decided); remaining is negative once breached",
            "properties": { "clock": { "enum": ["acknowledge", "decide"] }, "due_at": { "type": "integer", "description": "microseconds since the Unix epoch" },
                "remaining": { "type": "integer", "description": "microseconds from when the claim was read" } } },
        "acknowledge_due_at": { "type": ["integer", "null"] }, "decide_due_at": { "type": ["integer", "null"] },
        "acknowledged_at": { "type": ["integer", "null"] } } });
    schemas["Claim"] = json!({ "allOf": [{ "$ref": "#/components/schemas/ClaimSummary" }, { "type": "object", "properties": {
        "lines": { "type": "array" }, "claimant": { "type": ["object", "null"], "description": "masked; a field reads `unreadable` when its ciphertext does not decrypt (see unreadable_fields)" },
        "unreadable_fields": { "type": "array", "items": { "type": "string" }, "description": "fields whose stored ciphertext does not decrypt under this record (moved from another record or damaged): each shows the text `unreadable`; revealing one is a 409 naming it; claim PII has no PATCH" },
        "notes": { "type": "array" }, "timeline": { "type": "array" },
        "executions": { "type": "array" }, "available_actions": { "type": "array" }, "blocked_actions": { "type": "array" } } }] });
}

/// The ledger and the parties of a claim.
fn add_financials(document: &mut Value) {
    let bucket = json!({
        "cost_type": { "enum": ["claim_cost", "expense"] },
        "category": { "enum": ["body", "property", "medical", "legal", "rental", "towing", "other"] } });
    let with = |mut properties: Value, required: &[&str]| {
        for (key, value) in bucket.as_object().into_iter().flatten() {
            properties[key] = value.clone();
        }
        let mut all = vec!["cost_type", "category"];
        all.extend_from_slice(required);
        json!({ "type": "object", "required": all, "properties": properties })
    };
    let change = |summary: &str, schema: Value| {
        json!({ "post": { "summary": summary, "parameters": [id_param(), if_match_param(), idempotency_param()],
            "requestBody": body(schema),
            "responses": with_errors(json!({ "201": ok("The new line, the figures after it, and the claim's new ETag", json!({ "type": "object", "properties": {
                    "line": { "$ref": "#/components/schemas/LedgerLine" }, "financials": { "$ref": "#/components/schemas/Financials" } } })),
                "202": ok("Over the caller's authority: the approval request filed instead (see /api/v1/approvals)", json!({ "type": "object", "properties": {
                    "approval": { "$ref": "#/components/schemas/Approval" }, "financials": { "$ref": "#/components/schemas/Financials" } } })),
                "404": problem("No such claim"), "409": problem("The claim is closed, or not yet in review (payments)"),
                "412": problem("The claim changed since the ETag was read") })) } })
    };
    let paths = &mut document["paths"];
    paths["/api/v1/claims/{id}/financials"] = json!({ "get": { "summary": "The claim's ledger and its figures (outstanding, paid, recovered, incurred) by bucket, cost type and in total, in the policy's currency (ETag)",
        "parameters": [id_param()], "responses": with_errors(json!({ "200": ok("The financials", json!({ "$ref": "#/components/schemas/Financials" })), "404": problem("No such claim") })) } });
    paths["/api/v1/claims/{id}/reserves"] = change(
        "Set a bucket's outstanding reserve (recorded as the change, with a reason; audited)",
        with(
            json!({ "amount": money(), "reason": { "type": "string", "minLength": 3, "maxLength": 500 } }),
            &["amount", "reason"],
        ),
    );
    paths["/api/v1/claims/{id}/payments"] = change(
        "Pay a party of the claim from a bucket's reserve: within the outstanding reserve, the approved amount (claim costs) and the limit less deductible; a final payment releases the rest of the reserve and pays an approved claim",
        with(
            json!({ "payee_id": { "type": "string", "description": "a party of this claim" }, "method": { "enum": ["bank_transfer", "cheque", "card"] },
            "payment_type": { "enum": ["partial", "final"] }, "amount": money(), "reference": { "type": "string", "maxLength": 100 } }),
            &["payee_id", "method", "payment_type", "amount"],
        ),
    );
    paths["/api/v1/claims/{id}/recoveries"] = change(
        "Record a subrogation or salvage receipt (at most what was paid from the bucket)",
        with(
            json!({ "recovery_type": { "enum": ["subrogation", "salvage"] }, "amount": money(), "reference": { "type": "string", "maxLength": 100 } }),
            &["recovery_type", "amount"],
        ),
    );
    let party = json!({ "$ref": "#/components/schemas/Party" });
    paths["/api/v1/claims/{id}/parties"] = json!({
        "get": { "summary": "The people and organisations on the claim, masked", "parameters": [id_param()],
            "responses": with_errors(json!({ "200": ok("The parties", json!({ "type": "object", "properties": { "items": { "type": "array", "items": party.clone() } } })), "404": problem("No such claim") })) },
        "post": { "summary": "Add a party (name and contact details sealed in the vault; audited without them)", "parameters": [id_param(), if_match_param(), idempotency_param()],
            "requestBody": body(json!({ "type": "object", "required": ["role", "name"], "properties": {
                "role": { "enum": ["claimant", "insured", "driver", "witness", "other_party", "other_insurer", "repair_shop", "medical_provider", "attorney"] },
                "name": { "type": "string", "maxLength": 120 }, "email": { "type": "string" }, "phone": { "type": "string" } } })),
            "responses": with_errors(json!({ "201": ok("The party, masked", party.clone()), "404": problem("No such claim"),
                "409": problem("The claim is closed, or the policyholder's data was erased"), "412": problem("The claim changed since the ETag was read") })) } });
    paths["/api/v1/claims/{id}/parties/{party_id}/reveal"] = json!({ "post": { "summary": "Show one of a party's fields in clear, for a reason (audited as claim.party_pii_revealed, without the value)",
        "parameters": [id_param(), { "name": "party_id", "in": "path", "required": true, "schema": { "type": "string" } }],
        "requestBody": body(json!({ "type": "object", "required": ["field", "reason"], "properties": {
            "field": { "enum": ["name", "email", "phone"] }, "reason": { "type": "string" } } })),
        "responses": with_errors(json!({ "200": ok("The value (null when not given)", json!({ "type": "object", "properties": {
            "field": { "type": "string" }, "value": { "type": ["string", "null"] } } })),
            "404": problem("No such claim or party"), "409": problem("The policyholder's data was erased, or the value is unreadable") })) } });
    let activity = json!({ "$ref": "#/components/schemas/Activity" });
    let list_of = |what: &str, item: &Value| {
        ok(
            what,
            json!({ "type": "object", "properties": { "items": { "type": "array", "items": item.clone() } } }),
        )
    };
    paths["/api/v1/claims/{id}/activities"] = json!({
        "get": { "summary": "The claim's activities, oldest first, open and done", "parameters": [id_param()],
            "responses": with_errors(json!({ "200": list_of("The activities", &activity), "404": problem("No such claim") })) },
        "post": { "summary": "Plan an activity on the claim: an owner (the caller when empty), a due date today or later, a priority (audited)",
            "parameters": [id_param(), if_match_param()],
            "requestBody": body(json!({ "type": "object", "required": ["subject", "due_on"], "properties": {
                "subject": { "type": "string", "minLength": 3, "maxLength": 200 }, "due_on": { "type": "string", "format": "date" },
                "priority": { "enum": ["urgent", "standard", "low"] }, "owner_id": { "type": "string" } } })),
            "responses": with_errors(json!({ "201": ok("The activity", activity.clone()), "404": problem("No such claim"),
                "409": problem("The claim is closed"), "412": problem("The claim changed since the ETag was read") })) } });
    paths["/api/v1/claims/{id}/activities/{activity_id}/complete"] = json!({ "post": { "summary": "Mark an activity done (audited)",
        "parameters": [id_param(), { "name": "activity_id", "in": "path", "required": true, "schema": { "type": "string" } }],
        "responses": with_errors(json!({ "200": ok("The activity, done", activity.clone()), "404": problem("No such claim or activity"), "409": problem("Already done") })) } });
    paths["/api/v1/me/activities"] = json!({ "get": { "summary": "The caller's open activities on every claim, soonest due (most overdue) first",
        "responses": with_errors(json!({ "200": list_of("My work", &activity) })) } });
    let approval = json!({ "$ref": "#/components/schemas/Approval" });
    paths["/api/v1/approvals"] = json!({ "get": { "summary": "Reserve changes and payments over their requester's authority, waiting for approval, oldest first",
        "responses": with_errors(json!({ "200": ok("The queue", json!({ "type": "object", "properties": { "items": { "type": "array", "items": approval.clone() } } })) })) } });
    paths["/api/v1/approvals/{id}/approve"] = json!({ "post": { "summary": "Approve a request: someone other than the requester, whose own authority covers it; the line is recorded as the requester's, checked against the figures of now (audited)",
        "parameters": [id_param()],
        "responses": with_errors(json!({ "201": ok("The recorded line", json!({ "type": "object", "properties": { "line": { "$ref": "#/components/schemas/LedgerLine" } } })),
            "404": problem("No such request"), "409": problem("Already decided, your own request, or above your authority too"),
            "422": problem("The figures no longer allow it (the request stays pending)") })) } });
    paths["/api/v1/approvals/{id}/reject"] = json!({ "post": { "summary": "Reject a request with a reason (its requester withdraws it the same way; audited)",
        "parameters": [id_param()],
        "requestBody": body(json!({ "type": "object", "required": ["reason"], "properties": { "reason": { "type": "string", "minLength": 3, "maxLength": 500 } } })),
        "responses": with_errors(json!({ "200": ok("The request, rejected", approval.clone()), "404": problem("No such request"), "409": problem("Already decided") })) } });
    let schemas = &mut document["components"]["schemas"];
    let figures = json!({ "type": "object", "properties": { "outstanding": money(), "paid": money(), "recovered": money(),
        "incurred": { "$ref": "#/components/schemas/Money", "description": "paid + outstanding - recovered" } } });
    schemas["Figures"] = figures;
    schemas["LedgerLine"] = json!({ "type": "object", "properties": { "id": { "type": "string" },
        "kind": { "enum": ["reserve", "payment", "recovery"] }, "cost_type": { "type": "string" }, "category": { "type": "string" },
        "amount": { "$ref": "#/components/schemas/Money", "description": "signed for a reserve change" },
        "payee_id": { "type": ["string", "null"] }, "method": { "type": ["string", "null"] }, "payment_type": { "type": ["string", "null"] },
        "recovery_type": { "type": ["string", "null"] }, "reference": { "type": ["string", "null"] }, "reason": { "type": ["string", "null"] },
        "recorded_by": { "type": "string" }, "approved_by": { "type": ["string", "null"] }, "created_at": { "type": "integer", "description": "microseconds since the epoch" } } });
    schemas["Financials"] = json!({ "type": "object", "properties": { "currency": { "type": "string" },
        "totals": { "type": "object", "properties": {
            "buckets": { "type": "array", "description": "every bucket with a line", "items": { "allOf": [
                { "$ref": "#/components/schemas/Figures" }, { "type": "object", "required": ["cost_type", "category"], "properties": bucket } ] } },
            "claim_cost": { "$ref": "#/components/schemas/Figures" }, "expense": { "$ref": "#/components/schemas/Figures" },
            "total": { "$ref": "#/components/schemas/Figures" } } },
        "lines": { "type": "array", "items": { "$ref": "#/components/schemas/LedgerLine" } } } });
    schemas["Approval"] = json!({ "type": "object", "properties": { "id": { "type": "string" }, "claim_id": { "type": "string" },
        "claim_number": { "type": "string" }, "kind": { "enum": ["reserve", "payment"] },
        "amount": { "$ref": "#/components/schemas/Money", "description": "the new outstanding reserve, or the payment" },
        "summary": { "type": "string" }, "status": { "enum": ["pending", "approved", "rejected"] },
        "requested_by_id": { "type": "string" }, "requested_by": { "type": "string" }, "requested_at": { "type": "integer" },
        "decided_by": { "type": ["string", "null"] }, "decided_at": { "type": ["integer", "null"] }, "decision_reason": { "type": ["string", "null"] } } });
    schemas["Activity"] = json!({ "type": "object", "properties": { "id": { "type": "string" }, "claim_id": { "type": "string" },
        "claim_number": { "type": "string" }, "subject": { "type": "string" }, "due_on": { "type": "string", "format": "date" },
        "due": { "type": "string", "description": "in words: due in 3 days, 2 days overdue" }, "overdue": { "type": "boolean" },
        "priority": { "enum": ["urgent", "standard", "low"] }, "owner_id": { "type": "string" }, "owner_name": { "type": "string" },
        "status": { "enum": ["open", "done"] }, "completed_by": { "type": ["string", "null"] }, "completed_at": { "type": ["integer", "null"] },
        "created_at": { "type": "integer" } } });
    schemas["Party"] = json!({ "type": "object", "properties": { "id": { "type": "string" }, "role": { "type": "string" },
        "name": { "type": "string", "description": "masked" }, "email": { "type": ["string", "null"] }, "phone": { "type": ["string", "null"] },
        "created_at": { "type": "integer" } } });
}

fn core_document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Vanguard API",
            "version": shared::VERSION,
            "description": "Customers, policies and claims for partner systems. Bearer tokens from /api/v1/auth/token; JSON, snake_case, money in minor units with an ISO-4217 currency; errors are application/problem+json."
        },
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/auth/token": { "post": {
                "summary": "Exchange credentials or a refresh token for tokens",
                "security": [],
                "requestBody": { "required": true, "content": {
                    "application/json": { "schema": { "$ref": "#/components/schemas/TokenRequest" } },
                    "application/x-www-form-urlencoded": { "schema": { "$ref": "#/components/schemas/TokenRequest" } } } },
                "responses": {
                    "200": ok("Tokens", json!({ "$ref": "#/components/schemas/TokenResponse" })),
                    "401": problem("Wrong credentials, or a spent/revoked refresh token"),
                    "422": problem("Unknown grant_type or a missing field"),
                    "429": problem("Too many attempts; see Retry-After") } } },
            "/api/v1/me": { "get": {
                "summary": "Who the token belongs to, with its permissions",
                "responses": with_errors(json!({ "200": ok("The caller", json!({ "type": "object" })) })) } },
            "/api/v1/customers": {
                "post": { "summary": "Create a customer (personal data is encrypted; the response is masked)",
                    "requestBody": body(json!({ "$ref": "#/components/schemas/NewCustomer" })),
                    "responses": with_errors(json!({ "201": ok("Created", json!({ "$ref": "#/components/schemas/Customer" })),
                        "409": problem("Another customer has this email") })) },
                "get": { "summary": "List customers; exact-match search through blind indexes",
                    "parameters": [query("email", "exact email"), query("last_name", "exact last name"), query("national_id", "exact national id"),
                        query("customer_number", "CUS-NNNNNN"), query("page", "1-based"), query("per_page", "1 to 100, default 25")],
                    "responses": with_errors(json!({ "200": ok("A page", page("Customer")) })) } },
            "/api/v1/customers/{id}": { "get": { "summary": "A customer, masked (ETag)", "parameters": [id_param()],
                "responses": with_errors(json!({ "200": ok("The customer", json!({ "$ref": "#/components/schemas/Customer" })), "404": problem("No such customer") })) },
                "patch": { "summary": "Change personal data: given fields replace the stored ones, absent or blank ones stay",
                    "parameters": [id_param(), if_match_param()],
                    "requestBody": body(json!({ "$ref": "#/components/schemas/NewCustomer" })),
                    "responses": with_errors(json!({ "200": ok("The customer, masked (new ETag)", json!({ "$ref": "#/components/schemas/Customer" })),
                        "409": problem("Another customer has this email, or the data was erased"), "412": problem("The customer changed since the ETag was read") })) } },
            "/api/v1/customers/{id}/reveal": { "post": { "summary": "Show one field in clear, with a reason (audited)", "parameters": [id_param()],
                "requestBody": body(json!({ "type": "object", "required": ["field", "reason"], "properties": {
                    "field": { "enum": ["first_name", "last_name", "email", "phone", "date_of_birth", "address", "national_id"] },
                    "reason": { "type": "string", "minLength": 10 } } })),
                "responses": with_errors(json!({ "200": ok("The value", json!({ "type": "object", "properties": { "field": { "type": "string" }, "value": { "type": ["string", "null"] } } })),
                    "409": problem("The customer's data was erased, or this field's stored value is unreadable (named in detail)") })) } },
            "/api/v1/customers/{id}/erasure": { "post": { "summary": "Erase the customer's personal data (crypto-shredding); final, so it needs confirm: erase", "parameters": [id_param()],
                "requestBody": body(json!({ "type": "object", "required": ["confirm"], "properties": { "confirm": { "enum": ["erase"] } } })),
                "responses": with_errors(json!({ "204": { "description": "Erased" }, "404": problem("No customer with data to erase") })) } },
            "/api/v1/policies": {
                "post": { "summary": "Issue a policy as a quote", "requestBody": body(json!({ "$ref": "#/components/schemas/NewPolicy" })),
                    "responses": with_errors(json!({ "201": ok("Created (ETag: \"v1\")", json!({ "$ref": "#/components/schemas/Policy" })) })) },
                "get": { "summary": "List policies",
                    "parameters": [query("line", "auto|home|health|life|liability|marine|fleet"), query("status", "quote|active|lapsed|cancelled|expired"),
                        query("expiring_within_days", "active policies ending within N days"), query("customer_id", "one customer's policies"),
                        query("page", "1-based"), query("per_page", "1 to 100, default 25")],
                    "responses": with_errors(json!({ "200": ok("A page", page("Policy")) })) } },
            "/api/v1/policies/{id}": { "get": { "summary": "A policy, with its ETag and the actions allowed now", "parameters": [id_param()],
                "responses": with_errors(json!({ "200": ok("The policy", json!({ "$ref": "#/components/schemas/Policy" })), "404": problem("No such policy") })) },
                "patch": { "summary": "Edit a quote's terms (fields left out keep theirs); issued policies are fixed",
                    "parameters": [id_param(), if_match_param()],
                    "requestBody": body(json!({ "type": "object", "properties": { "line": { "type": "string" }, "starts_on": { "type": "string", "format": "date" },
                        "ends_on": { "type": "string", "format": "date" }, "premium": money(), "coverage_limit": money(), "deductible": money() } })),
                    "responses": with_errors(json!({ "200": ok("The policy (new ETag)", json!({ "$ref": "#/components/schemas/Policy" })),
                        "409": problem("Not a quote"), "412": problem("The policy changed since the ETag was read") })) } },
            "/api/v1/policies/{id}/actions": { "post": { "summary": "Change the policy's status",
                "parameters": [id_param(), if_match_param()],
                "requestBody": body(json!({ "type": "object", "required": ["action"], "properties": { "action": { "enum": ["activate", "lapse", "cancel", "expire", "reinstate"] },
                    "confirm": { "type": "string", "description": "the action's name again, required for lapse, cancel and expire (422 naming confirm without it)" } } })),
                "responses": with_errors(json!({ "200": ok("The policy after the change", json!({ "$ref": "#/components/schemas/Policy" })),
                    "409": problem("Not allowed from the current status (the reason says why)"),
                    "412": problem("The policy changed since the ETag was read") })) } },
            "/api/v1/policies/{id}/renewal": { "post": { "summary": "Issue the next term as a new quote", "parameters": [id_param()],
                "responses": with_errors(json!({ "201": ok("The renewal", json!({ "$ref": "#/components/schemas/Policy" })),
                    "409": problem("Not renewable now, or already renewed") })) } }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": {
                "Money": { "type": "object", "required": ["amount", "currency"], "properties": {
                    "amount": { "type": "integer", "description": "minor units (cents)" }, "currency": { "type": "string", "pattern": "^[A-Z]{3}$" } } },
                "Problem": { "type": "object", "properties": { "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                    "detail": { "type": "string" }, "errors": { "type": "array", "items": { "type": "object", "properties": {
                        "field": { "type": "string" }, "message": { "type": "string" } } } } } },
                "TokenRequest": { "type": "object", "required": ["grant_type"], "properties": {
                    "grant_type": { "enum": ["password", "client_credentials", "refresh_token"] }, "username": { "type": "string" },
                    "password": { "type": "string" }, "client_id": { "type": "string" }, "client_secret": { "type": "string" }, "refresh_token": { "type": "string" } } },
                "TokenResponse": { "type": "object", "properties": { "access_token": { "type": "string" }, "token_type": { "const": "bearer" },
                    "expires_in": { "type": "integer" }, "refresh_token": { "type": "string" } } },
                "NewCustomer": { "type": "object", "required": ["first_name", "last_name", "email"], "properties": {
                    "first_name": { "type": "string" }, "last_name": { "type": "string" }, "email": { "type": "string", "format": "email" },
                    "phone": { "type": "string" }, "date_of_birth": { "type": "string", "format": "date" }, "national_id": { "type": "string" },
                    "address": { "type": "object", "properties": { "line1": { "type": "string" }, "line2": { "type": "string" }, "city": { "type": "string" },
                        "region": { "type": "string" }, "postal_code": { "type": "string" }, "country": { "type": "string", "description": "ISO 3166-1 alpha-2" } } } } },
                "Customer": { "type": "object", "description": "Personal data masked (or `erased`, or `unreadable`: see unreadable_fields)", "properties": {
                    "id": { "type": "string" }, "customer_number": { "type": "string" }, "first_name": { "type": "string" }, "last_name": { "type": "string" },
                    "email": { "type": "string" }, "phone": { "type": ["string", "null"] }, "date_of_birth": { "type": ["string", "null"] },
                    "address": { "type": ["string", "null"] }, "national_id": { "type": ["string", "null"] }, "erased": { "type": "boolean" },
                    "created_at": { "type": "integer", "description": "microseconds since the Unix epoch" }, "version": { "type": "integer" },
                    "unreadable_fields": { "type": "array", "items": { "type": "string" }, "description": "fields whose stored ciphertext does not decrypt under this record (moved from another record or damaged): each shows the text `unreadable`; revealing one is a 409 naming it; a PATCH that does not set it keeps it as stored, one that sets it replaces it" } } },
                "NewPolicy": { "type": "object", "required": ["customer_id", "line", "starts_on", "ends_on", "premium", "coverage_limit", "deductible"], "properties": {
                    "customer_id": { "type": "string" }, "line": { "enum": ["auto", "home", "health", "life", "liability", "marine", "fleet"] },
                    "starts_on": { "type": "string", "format": "date" }, "ends_on": { "type": "string", "format": "date" },
                    "premium": money(), "coverage_limit": money(), "deductible": money() } },
                "Policy": { "type": "object", "properties": {
                    "id": { "type": "string" }, "policy_number": { "type": "string" }, "customer_id": { "type": "string" }, "customer_number": { "type": "string" },
                    "line": { "type": "string" }, "status": { "enum": ["quote", "active", "lapsed", "cancelled", "expired"] },
                    "starts_on": { "type": "string", "format": "date" }, "ends_on": { "type": "string", "format": "date" },
                    "premium": money(), "coverage_limit": money(), "deductible": money(), "renewed_from": { "type": ["string", "null"] },
                    "version": { "type": "integer" }, "available_actions": { "type": "array", "items": { "type": "string" } },
                    "blocked_actions": { "type": "array", "items": { "type": "object", "properties": { "action": { "type": "string" }, "reason": { "type": "string" } } } },
                    "can_renew": { "type": "boolean" } } }
            }
        }
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The document as a page: every operation with its summary, parameters
/// and responses, linked to the JSON.
async fn docs() -> Response {
    let document = document();
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Vanguard API</title>\
         <link rel=\"stylesheet\" href=\"/pkg/vanguard.css\"></head><body><main class=\"content api-docs\">\
         <h1>Vanguard API</h1>",
    );
    html.push_str(&format!(
        "<p class=\"page-lede\">{}</p><p><a href=\"/api/v1/openapi.json\">OpenAPI 3.1 document</a> · \
         get a token: <code>POST /api/v1/auth/token</code></p>",
        escape(document["info"]["description"].as_str().unwrap_or_default())
    ));
    if let Some(paths) = document["paths"].as_object() {
        for (path, operations) in paths {
            for (method, operation) in operations.as_object().into_iter().flatten() {
                html.push_str(&format!(
                    "<section class=\"card\"><h2><code>{} {}</code></h2><p>{}</p>",
                    method.to_uppercase(),
                    escape(path),
                    escape(operation["summary"].as_str().unwrap_or_default())
                ));
                if let Some(parameters) = operation["parameters"].as_array() {
                    html.push_str("<h3>Parameters</h3><ul>");
                    for parameter in parameters {
                        html.push_str(&format!(
                            "<li><code>{}</code> ({}) {}</li>",
                            escape(parameter["name"].as_str().unwrap_or_default()),
                            escape(parameter["in"].as_str().unwrap_or_default()),
                            escape(parameter["description"].as_str().unwrap_or_default())
                        ));
                    }
                    html.push_str("</ul>");
                }
                html.push_str("<h3>Responses</h3><ul>");
                for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                    html.push_str(&format!(
                        "<li><code>{}</code> {}</li>",
                        escape(status),
                        escape(response["description"].as_str().unwrap_or_default())
                    ));
                }
                html.push_str("</ul></section>");
            }
        }
    }
    html.push_str("</main></body></html>");
    let mut response = html.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}
