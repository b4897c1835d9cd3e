//! Policies: the list with filters, the policy page with its lifecycle
//! actions and renewal, creation from a customer's page. The services and
//! SQL are in [`ssr`].
#![expect(
    clippy::too_many_arguments,
    reason = "server functions take one argument per form field, as ActionForm posts them"
)]

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::{
    money::Money,
    pagination::Page,
    policy::{LineOfBusiness, PolicyAction, PolicyStatus},
    workflow::Blocked,
};

use crate::error::AppError;

/// A policy as pages and API responses show it, with what can be done next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub id: String,
    pub policy_number: String,
    pub customer_id: String,
    pub customer_number: String,
    pub line: LineOfBusiness,
    pub status: PolicyStatus,
    pub starts_on: String,
    pub ends_on: String,
    pub premium: Money,
    pub coverage_limit: Money,
    pub deductible: Money,
    pub renewed_from: Option<String>,
    /// Where the policy is written (`US-FL`); its claims' SLA rule.
    pub jurisdiction: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub available_actions: Vec<PolicyAction>,
    pub blocked_actions: Vec<Blocked<PolicyAction>>,
    pub can_renew: bool,
}

/// What the dashboard shows about the book of policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySummary {
    pub by_status: Vec<(PolicyStatus, i64)>,
    pub premium_in_force: Vec<Money>,
    /// Active policies ending soonest within [`EXPIRY_HORIZON_DAYS`].
    pub expiring: Vec<PolicyView>,
}

/// "Expiring soon" on the dashboard.
pub const EXPIRY_HORIZON_DAYS: i64 = 30;

#[server]
pub async fn list_policies(
    line: Option<String>,
    status: Option<String>,
    expiring_within_days: Option<String>,
    customer_id: Option<String>,
    page: Option<u32>,
) -> Result<Page<PolicyView>, AppError> {
    use crate::server_call::serve;
    use shared::{auth::Permission, pagination::PageRequest};
    serve(Permission::PoliciesRead, |call| async move {
        let (state, principal) = (&call.state, &call.principal);
        let page = PageRequest::new(page.unwrap_or(1), 25)?;
        let filters = ssr::Filters {
            line,
            status,
            expiring_within_days,
            customer_id,
        };
        ssr::list(&state.db, &principal.scope, &filters, page).await
    })
    .await
}

#[server]
pub async fn get_policy(id: String) -> Result<PolicyView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PoliciesRead, |call| async move {
        let state = &call.state;
        ssr::find(&state.db, &id)
            .await?
            .ok_or_else(|| AppError::NotFound("The policy".into()))
    })
    .await
}

/// The form on a customer's page: amounts in major units ("1,200.00") in
/// one currency.
#[server]
pub async fn create_policy(
    customer_id: String,
    line: String,
    starts_on: String,
    ends_on: String,
    currency: String,
    premium: String,
    coverage_limit: String,
    deductible: String,
    jurisdiction: Option<String>,
) -> Result<PolicyView, AppError> {
    use crate::server_call::serve;
    use shared::{auth::Permission, policy::NewPolicyInput};
    serve(Permission::PoliciesWrite, |call| async move {
        let (state, principal) = (&call.state, &call.principal);
        let [premium, coverage_limit, deductible] =
            quote_amounts(&currency, &premium, &coverage_limit, &deductible)?;
        let input = NewPolicyInput {
            customer_id,
            line,
            starts_on,
            ends_on,
            premium,
            coverage_limit,
            deductible,
            jurisdiction: jurisdiction.unwrap_or_default(),
        };
        let policy = ssr::create(&state.db, &call.context, &principal.scope, &input).await?;
        leptos_axum::redirect(&format!("/policies/{}", policy.id));
        Ok(policy)
    })
    .await
}

/// A quote form's premium, coverage limit and deductible ([`major_amounts`]).
#[cfg(feature = "ssr")]
fn quote_amounts(
    currency: &str,
    premium: &str,
    coverage_limit: &str,
    deductible: &str,
) -> Result<[shared::money::MoneyInput; 3], shared::FieldErrors> {
    major_amounts(
        currency,
        [
            ("premium", premium),
            ("coverage_limit", coverage_limit),
            ("deductible", deductible),
        ],
    )
}

/// The form's amounts, typed in major units ("1,200.00") of one currency,
/// as API money; every error names its field.
#[cfg(feature = "ssr")]
fn major_amounts<const N: usize>(
    currency: &str,
    fields: [(&str, &str); N],
) -> Result<[shared::money::MoneyInput; N], shared::FieldErrors> {
    use shared::{FieldErrors, money::Currency, money::MoneyInput};
    let mut errors = FieldErrors::new();
    let currency = errors.check(Currency::parse("currency", currency));
    let amounts = fields.map(|(field, raw)| {
        let parsed = currency.and_then(|currency| {
            errors.check(Money::parse_major(
                &format!("{field}.amount"),
                raw,
                currency,
                false,
            ))
        });
        MoneyInput {
            amount: parsed.map_or(0, |money| money.amount),
            currency: currency
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
        }
    });
    errors.into_result()?;
    Ok(amounts)
}

/// The edit form of a quote (amounts in major units); `version` is the
/// version the page showed.
#[server]
pub async fn update_policy(
    id: String,
    version: i64,
    line: String,
    starts_on: String,
    ends_on: String,
    currency: String,
    premium: String,
    coverage_limit: String,
    deductible: String,
    jurisdiction: Option<String>,
) -> Result<PolicyView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PoliciesWrite, |call| async move {
        let (state, context) = (&call.state, &call.context);
        let [premium, coverage_limit, deductible] =
            quote_amounts(&currency, &premium, &coverage_limit, &deductible)?;
        let changes = ssr::QuoteChanges {
            line: Some(line),
            starts_on: Some(starts_on),
            ends_on: Some(ends_on),
            premium: Some(premium),
            coverage_limit: Some(coverage_limit),
            deductible: Some(deductible),
            jurisdiction,
        };
        ssr::update_quote(&state.db, context, &id, &changes, Some(version)).await
    })
    .await
}

/// `version` is the version the page showed: a stale page gets 412.
/// `confirm` comes from the confirmation step of an irreversible action.
#[server]
pub async fn change_policy_status(
    id: String,
    action: String,
    version: i64,
    confirm: Option<String>,
) -> Result<PolicyView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PoliciesWrite, |call| async move {
        let (state, context) = (&call.state, &call.context);
        ssr::apply_action(
            &state.db,
            context,
            &id,
            &action,
            confirm.as_deref(),
            Some(version),
        )
        .await
    })
    .await
}

#[server]
pub async fn renew_policy(id: String) -> Result<PolicyView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PoliciesWrite, |call| async move {
        let state = &call.state;
        let renewal = ssr::renew(&state.db, &call.context, &id).await?;
        leptos_axum::redirect(&format!("/policies/{}", renewal.id));
        Ok(renewal)
    })
    .await
}
