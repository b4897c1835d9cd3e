//! `server seed-demo`: a small book of business so a first run has
//! something to look at. Everything goes through the same services as the
//! UI and the API (validation, vault, audit, pipeline), so demo data is
//! real data. Refused when `VANGUARD_ENV=production`; never run
//! automatically.

use app::{
    audit::ssr::AuditContext,
    claims::ssr::{self as claims, Source},
    clock::today,
    customers::ssr as customers,
    error::AppError,
    policies::ssr as policies,
    state::AppState,
};
use shared::{
    claim::{ClaimLineInput, ClaimantInput, NewClaimInput},
    customer::NewCustomerInput,
    money::MoneyInput,
    policy::NewPolicyInput,
    tenancy::Scope,
};

/// A demo claim: line code, amount in cents, days since the loss.
type DemoClaim = (&'static str, i64, i64);

/// One demo policyholder with their policy and claims.
struct DemoCustomer {
    first: &'static str,
    last: &'static str,
    email: &'static str,
    line: &'static str,
    /// Coverage limit in cents.
    limit: i64,
    claims: &'static [DemoClaim],
}

const BOOK: &[DemoCustomer] = &[
    DemoCustomer {
        first: "Ada",
        last: "Lovelace",
        email: "ada.lovelace@demo.vanguard.local",
        line: "home",
        limit: 25_000_000,
        claims: &[("ROOF", 420_000, 12), ("WATER", 95_000, 3)],
    },
    DemoCustomer {
        first: "Grace",
        last: "Hopper",
        email: "grace.hopper@demo.vanguard.local",
        line: "auto",
        limit: 4_000_000,
        claims: &[("COLLISION", 1_850_000, 20)],
    },
    DemoCustomer {
        first: "Alan",
        last: "Turing",
        email: "alan.turing@demo.vanguard.local",
        line: "health",
        limit: 10_000_000,
        claims: &[("HOSPITAL", 240_000, 5)],
    },
    DemoCustomer {
        first: "Katherine",
        last: "Johnson",
        email: "katherine.johnson@demo.vanguard.local",
        line: "marine",
        limit: 50_000_000,
        claims: &[],
    },
    DemoCustomer {
        first: "Edsger",
        last: "Dijkstra",
        email: "edsger.dijkstra@demo.vanguard.local",
        line: "liability",
        limit: 2_000_000,
        claims: &[("INJURY", 1_950_000, 8), ("LEGAL", 30_000, 2)],
    },
];

fn usd(amount: i64) -> MoneyInput {
    MoneyInput {
        amount,
        currency: "USD".into(),
    }
}

/// Seeds the book; returns how many claims were filed. Customers that
/// already exist (a second run) are skipped.
pub async fn seed(state: &AppState) -> Result<usize, AppError> {
    let context = AuditContext::system("server seed-demo");
    let today = today();
    let mut filed = 0;
    for DemoCustomer {
        first,
        last,
        email,
        line,
        limit,
        claims: claim_lines,
    } in BOOK
    {
        let customer = match customers::create(
            &state.db,
            &state.vault,
            &context,
            &Scope::All,
            &NewCustomerInput {
                first_name: (*first).into(),
                last_name: (*last).into(),
                email: (*email).into(),
                phone: Some("+1 415 555 0100".into()),
                ..NewCustomerInput::default()
            },
        )
        .await
        {
            Ok(customer) => customer,
            Err(AppError::Duplicate(_)) => continue,
            Err(other) => return Err(other),
        };
        let starts = today.add_days(-120).unwrap_or(today);
        let ends = starts.add_days(364).unwrap_or(today);
        let policy = policies::create(
            &state.db,
            &context,
            &Scope::All,
            &NewPolicyInput {
                customer_id: customer.id.clone(),
                line: (*line).into(),
                starts_on: starts.to_string(),
                ends_on: ends.to_string(),
                premium: usd(limit / 100),
                coverage_limit: usd(*limit),
                deductible: usd(50_000),
                // Demo policies are Floridian: their claims show its
                // service levels (acknowledge in 14 days).
                jurisdiction: "US-FL".into(),
            },
        )
        .await?;
        let policy =
            policies::apply_action(&state.db, &context, &policy.id, "activate", None, None).await?;
        for (code, amount, days_ago) in *claim_lines {
            let incident = today.add_days(-days_ago).unwrap_or(today);
            claims::submit(
                state.intake(),
                &context,
                &Scope::All,
                &NewClaimInput {
                    policy_number: policy.policy_number.clone(),
                    incident_date: incident.to_string(),
                    description: format!(
                        "Demo claim: {} loss reported by the policyholder.",
                        code.to_lowercase()
                    ),
                    claimant: Some(ClaimantInput {
                        name: format!("{first} {last}"),
                        email: Some((*email).into()),
                        phone: None,
                    }),
                    lines: vec![ClaimLineInput {
                        code: (*code).into(),
                        description: None,
                        amount: usd(*amount),
                    }],
                },
                Source::Staff,
            )
            .await?;
            filed += 1;
        }
    }
    Ok(filed)
}
