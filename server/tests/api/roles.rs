//! The role matrix, generated from `Role::permits`: every server function a
//! signed-in member of staff can reach, called by each staff role and by
//! nobody. A role the permission table refuses gets 403 (audited) before
//! anything is read or written; a role it allows gets past the check
//! (whatever the call then answers: 200, or 404/409/422 for the made-up
//! records below); nobody gets 401. A server function added without an
//! entry here fails the matrix.

use leptos::server_fn::ServerFn;
use shared::auth::{Permission, Role};

use crate::helpers::spawn_app;

fn path<F: ServerFn>() -> &'static str {
    F::PATH
}

/// What a server function asks of its caller: a permission, or only to be
/// signed in (their own account, the system panel).
#[derive(Debug, Clone, Copy)]
enum Needs {
    Permission(Permission),
    SignedIn,
}

/// The fields of a quote, as the policy forms post them.
const QUOTE: &[(&str, &str)] = &[
    ("line", "motor"),
    ("starts_on", "2026-01-01"),
    ("ends_on", "2026-12-31"),
    ("currency", "EUR"),
    ("premium", "100.00"),
    ("coverage_limit", "10000.00"),
    ("deductible", "100.00"),
];

/// The fields of a customer, as the customer forms post them.
const CUSTOMER: &[(&str, &str)] = &[
    ("first_name", "Matrix"),
    ("last_name", "Customer"),
    ("email", "matrix.customer@example.com"),
];

/// A server function's path, what it needs, and arguments that decode.
type Entry = (&'static str, Needs, Vec<(&'static str, &'static str)>);

/// Every guarded server function, what it needs, and arguments that decode
/// (so a refusal is the permission check's, not the decoder's).
fn guarded() -> Vec<Entry> {
    use Needs::{Permission as P, SignedIn};
    use Permission::*;
    let id = ("id", "no-such-record");
    vec![
        (path::<app::admin::ListUsers>(), P(UsersManage), vec![]),
        (
            path::<app::admin::CreateUser>(),
            P(UsersManage),
            vec![
                ("email", "matrix.user@example.com"),
                ("display_name", "Matrix User"),
                ("role", "auditor"),
                ("password", "a long enough passphrase"),
            ],
        ),
        (
            path::<app::admin::UpdateUser>(),
            P(UsersManage),
            vec![("user_id", "no-such-user"), ("role", "auditor")],
        ),
        (
            path::<app::admin::ResetUserMfa>(),
            P(UsersManage),
            vec![("user_id", "no-such-user")],
        ),
        (
            path::<app::admin::ListPartners>(),
            P(ApiClientsManage),
            vec![],
        ),
        (
            path::<app::admin::CreatePartner>(),
            P(ApiClientsManage),
            vec![
                ("slug", "matrix"),
                ("partner_name", "Matrix"),
                ("kind", "broker"),
            ],
        ),
        (
            path::<app::admin::ListApiClients>(),
            P(ApiClientsManage),
            vec![],
        ),
        (
            path::<app::admin::CreateApiClient>(),
            P(ApiClientsManage),
            vec![("name", "matrix-client"), ("role", "api_client")],
        ),
        (
            path::<app::admin::RevokeApiClient>(),
            P(ApiClientsManage),
            vec![("client_id", "no-such-client")],
        ),
        (path::<app::audit::ListAuditRecords>(), P(AuditRead), vec![]),
        (path::<app::audit::VerifyAuditChain>(), P(AuditRead), vec![]),
        (
            path::<app::auth::mfa::RegenerateRecoveryCodes>(),
            SignedIn,
            vec![],
        ),
        (
            path::<app::auth::mfa::DisableMfa>(),
            SignedIn,
            vec![("code", "000000")],
        ),
        (
            path::<app::auth::ChangePassword>(),
            SignedIn,
            vec![
                ("current_password", "not the password"),
                ("new_password", "another long passphrase"),
                ("confirm_password", "another long passphrase"),
            ],
        ),
        (path::<app::claims::ListClaims>(), P(ClaimsRead), vec![]),
        (path::<app::claims::GetClaim>(), P(ClaimsRead), vec![id]),
        (
            path::<app::claims::CreateClaim>(),
            P(ClaimsWrite),
            vec![
                ("policy_number", "POL-2026-999999"),
                ("incident_date", "2026-01-15"),
                ("description", "A matrix claim"),
                ("currency", "EUR"),
                ("line_code[0]", "REPAIR"),
                ("line_description[0]", "Bumper"),
                ("line_amount[0]", "100.00"),
            ],
        ),
        (
            path::<app::claims::ChangeClaimStatus>(),
            P(ClaimsWrite),
            vec![id, ("action", "close"), ("version", "1")],
        ),
        (
            path::<app::claims::DecideClaim>(),
            P(ClaimsDecide),
            vec![id, ("version", "1"), ("kind", "request_info")],
        ),
        (
            path::<app::claims::AssignClaimToMe>(),
            P(ClaimsDecide),
            vec![id, ("version", "1")],
        ),
        (
            path::<app::claims::financials::SetClaimReserve>(),
            P(ClaimsDecide),
            vec![
                id,
                ("version", "1"),
                ("cost_type", "claim_cost"),
                ("category", "body"),
                ("amount", "100.00"),
                ("reason", "Initial estimate"),
            ],
        ),
        (
            path::<app::claims::financials::RecordClaimPayment>(),
            P(ClaimsDecide),
            vec![
                id,
                ("version", "1"),
                ("cost_type", "claim_cost"),
                ("category", "body"),
                ("payee_id", "no-such-party"),
                ("method", "bank_transfer"),
                ("payment_type", "partial"),
                ("amount", "10.00"),
                ("reference", ""),
            ],
        ),
        (
            path::<app::claims::financials::RecordClaimRecovery>(),
            P(ClaimsDecide),
            vec![
                id,
                ("version", "1"),
                ("cost_type", "claim_cost"),
                ("category", "body"),
                ("recovery_type", "salvage"),
                ("amount", "10.00"),
                ("reference", ""),
            ],
        ),
        (
            path::<app::claims::approvals::ListPendingApprovals>(),
            P(ClaimsDecide),
            vec![],
        ),
        (
            path::<app::claims::approvals::ApproveLedgerRequest>(),
            P(ClaimsDecide),
            vec![("id", "no-such-request")],
        ),
        (
            path::<app::claims::approvals::RejectLedgerRequest>(),
            P(ClaimsDecide),
            vec![("id", "no-such-request"), ("reason", "Not needed")],
        ),
        (
            path::<app::claims::approvals::GetMyAuthority>(),
            P(ClaimsDecide),
            vec![("currency", "USD")],
        ),
        (
            path::<app::claims::sla::ListSlaRules>(),
            P(ClaimsRead),
            vec![],
        ),
        (
            path::<app::claims::assignment::ListAssignees>(),
            P(ClaimsDecide),
            vec![],
        ),
        (
            path::<app::claims::assignment::ReassignClaim>(),
            P(ClaimsDecide),
            vec![
                id,
                ("version", "1"),
                ("assignee_id", "no-such-user"),
                ("reason", "Covering the Florida queue"),
            ],
        ),
        (
            path::<app::claims::sla::SaveSlaRule>(),
            P(OperationsManage),
            vec![
                ("jurisdiction", "US-NY"),
                ("line", "*"),
                ("acknowledge_hours", "360"),
                ("decide_hours", "720"),
            ],
        ),
        (
            path::<app::claims::sla::DeleteSlaRule>(),
            P(OperationsManage),
            vec![("jurisdiction", "ZZ"), ("line", "*")],
        ),
        (
            path::<app::claims::approvals::ListAuthorityLimits>(),
            P(UsersManage),
            vec![],
        ),
        (
            path::<app::claims::approvals::SetAuthorityLimit>(),
            P(UsersManage),
            vec![
                ("subject_kind", "role"),
                ("subject", "adjuster"),
                ("currency", "NZD"),
                ("reserve", "10,000"),
                ("payment", "5,000"),
            ],
        ),
        (
            path::<app::claims::parties::RevealPartyField>(),
            P(PiiReveal),
            vec![
                id,
                ("party_id", "no-such-party"),
                ("field", "name"),
                ("reason", "Calling the witness back"),
            ],
        ),
        (
            path::<app::claims::activities::AddClaimActivity>(),
            P(ClaimsWrite),
            vec![
                id,
                ("version", "1"),
                ("subject", "Call the claimant"),
                ("due_on", "2999-01-01"),
                ("priority", "standard"),
            ],
        ),
        (
            path::<app::claims::activities::CompleteClaimActivity>(),
            P(ClaimsWrite),
            vec![id, ("activity_id", "no-such-activity")],
        ),
        (
            path::<app::claims::activities::ListMyWork>(),
            P(ClaimsWrite),
            vec![],
        ),
        (
            path::<app::claims::parties::AddClaimParty>(),
            P(ClaimsWrite),
            vec![
                id,
                ("version", "1"),
                ("role", "witness"),
                ("name", "Sam Reed"),
            ],
        ),
        (
            path::<app::claims::AddClaimNote>(),
            P(ClaimsWrite),
            vec![id, ("body", "A note")],
        ),
        (
            path::<app::claims::RevealClaimantField>(),
            P(PiiReveal),
            vec![
                id,
                ("field", "claimant_name"),
                ("reason", "the role matrix"),
            ],
        ),
        (path::<app::claims::GetClaimStats>(), P(ClaimsRead), vec![]),
        (
            path::<app::customers::ListCustomers>(),
            P(CustomersRead),
            vec![],
        ),
        (
            path::<app::customers::GetCustomer>(),
            P(CustomersRead),
            vec![id],
        ),
        (
            path::<app::customers::CreateCustomer>(),
            P(CustomersWrite),
            CUSTOMER.to_vec(),
        ),
        (
            path::<app::customers::UpdateCustomer>(),
            P(CustomersWrite),
            [&[id, ("version", "1")][..], CUSTOMER].concat(),
        ),
        (
            path::<app::customers::RevealCustomerField>(),
            P(PiiReveal),
            vec![id, ("field", "email"), ("reason", "the role matrix")],
        ),
        (
            path::<app::customers::EraseCustomer>(),
            P(PiiErase),
            vec![id, ("confirm", "erase")],
        ),
        (path::<app::dashboard::SystemStatus>(), SignedIn, vec![]),
        (
            path::<app::dashboard::GetBookSummary>(),
            P(PoliciesRead),
            vec![],
        ),
        (
            path::<app::policies::ListPolicies>(),
            P(PoliciesRead),
            vec![],
        ),
        (
            path::<app::policies::GetPolicy>(),
            P(PoliciesRead),
            vec![id],
        ),
        (
            path::<app::policies::CreatePolicy>(),
            P(PoliciesWrite),
            [&[("customer_id", "no-such-customer")][..], QUOTE].concat(),
        ),
        (
            path::<app::policies::UpdatePolicy>(),
            P(PoliciesWrite),
            [&[id, ("version", "1")][..], QUOTE].concat(),
        ),
        (
            path::<app::policies::ChangePolicyStatus>(),
            P(PoliciesWrite),
            vec![id, ("action", "activate"), ("version", "1")],
        ),
        (
            path::<app::policies::RenewPolicy>(),
            P(PoliciesWrite),
            vec![id],
        ),
        (
            path::<app::webhooks::GetWebhooks>(),
            P(OperationsManage),
            vec![],
        ),
        (
            path::<app::webhooks::CreateWebhook>(),
            P(OperationsManage),
            vec![
                ("url", "https://127.0.0.1/matrix"),
                ("description", "The role matrix"),
            ],
        ),
        (
            path::<app::webhooks::DisableWebhook>(),
            P(OperationsManage),
            vec![id],
        ),
        (
            path::<app::webhooks::ReplayDelivery>(),
            P(OperationsManage),
            vec![id],
        ),
        (
            path::<app::workflow::RetryJob>(),
            P(OperationsManage),
            vec![("job_id", "no-such-job")],
        ),
    ]
}

/// Reachable without a full sign-in: signing in and out, who is signed in,
/// and the second sign-in step (each checks the session's stage itself).
fn ungated() -> Vec<&'static str> {
    vec![
        path::<app::auth::Login>(),
        path::<app::auth::Logout>(),
        path::<app::auth::GetCurrentUser>(),
        path::<app::auth::mfa::VerifySignInCode>(),
        path::<app::auth::mfa::GetMfaSetup>(),
        path::<app::auth::mfa::ConfirmMfa>(),
    ]
}

#[tokio::test]
async fn every_server_function_answers_each_role_as_the_permission_table_says() {
    let app = spawn_app().await;
    let guarded = guarded();

    let mut listed: Vec<&str> = guarded.iter().map(|(path, ..)| *path).collect();
    listed.extend(ungated());
    let mut registered: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    listed.sort_unstable();
    registered.sort_unstable();
    registered.dedup();
    assert_eq!(
        listed, registered,
        "every server function has an entry in tests/api/roles.rs"
    );

    let mut staff = Vec::new();
    for role in Role::STAFF {
        staff.push((role, app.signed_in(role).await.1));
    }
    let mut refusals = 0;
    for (path, needs, form) in &guarded {
        for (role, client) in &staff {
            let status = app.post_server_fn(client, path, form).await.status();
            let allowed = match needs {
                Needs::Permission(permission) => role.permits(*permission),
                Needs::SignedIn => true,
            };
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{path}: {role:?} may call it, got {status}"
                );
            } else {
                refusals += 1;
                assert_eq!(status, 403, "{path}: {role:?} may not call it");
            }
        }
        let anonymous = app
            .post_server_fn(&app.new_client(), path, form)
            .await
            .status();
        assert_eq!(anonymous, 401, "{path} without a session");
    }
    let actions = app.audit_actions().await;
    let denied = actions.iter().filter(|a| *a == "access.denied").count();
    assert_eq!(denied, refusals, "every refusal is in the audit trail");
}
