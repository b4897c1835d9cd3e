//! A claim's financials: reserves by cost type and category, payments to
//! the claim's parties and recoveries, as an append-only ledger whose
//! figures (outstanding, paid, recovered, incurred) are computed from its
//! lines (see [`shared::ledger`]). The SQL and the rules' checks against
//! the stored claim are in [`ssr`]; the claim page's panel is
//! [`crate::claims::pages::financials`].
#![expect(
    clippy::too_many_arguments,
    reason = "server functions take one argument per form field, as ActionForm posts them"
)]

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::{
    ledger::{Bucket, EntryKind, PaymentMethod, PaymentType, RecoveryType, Totals},
    money::{Currency, Money},
};

use crate::{claims::ClaimView, error::AppError};

/// One ledger line as the claim page and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLineView {
    pub id: String,
    pub kind: EntryKind,
    #[serde(flatten)]
    pub bucket: Bucket,
    /// A reserve change is signed; payments and recoveries are positive.
    pub amount: Money,
    /// Payments: the party paid.
    pub payee_id: Option<String>,
    pub payment_type: Option<PaymentType>,
    pub method: Option<PaymentMethod>,
    pub recovery_type: Option<RecoveryType>,
    pub reference: Option<String>,
    pub reason: Option<String>,
    pub recorded_by: String,
    pub created_at: i64,
    /// Who approved it, when it was over its recorder's authority.
    pub approved_by: Option<String>,
}

/// The ledger and its figures, in the policy's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinancialsView {
    pub currency: Currency,
    pub totals: Totals,
    /// Oldest first.
    pub lines: Vec<LedgerLineView>,
}

/// What a reserve change or payment came to: the line, or a request
/// waiting for someone with the authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Recorded {
    Line(LedgerLineView),
    Pending(ApprovalView),
}

/// A reserve change or payment over its requester's authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub id: String,
    pub claim_id: String,
    pub claim_number: String,
    /// `reserve` or `payment`.
    pub kind: String,
    /// The new outstanding reserve, or the payment.
    pub amount: Money,
    pub summary: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub requested_by_id: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_reason: Option<String>,
}

/// One configured authority limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitView {
    pub subject_kind: shared::authority::SubjectKind,
    /// A role's name or a user's id.
    pub subject: String,
    /// The role, or the user's name.
    pub label: String,
    pub authority: shared::authority::Authority,
}

/// Sets a bucket's outstanding reserve (major units of the policy's
/// currency), with a reason. `version` is the version the page showed.
#[server]
pub async fn set_claim_reserve(
    id: String,
    version: i64,
    cost_type: String,
    category: String,
    amount: String,
    reason: String,
) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::{
        auth::Permission,
        ledger::{AmountInput, ReserveInput},
    };
    serve(Permission::ClaimsDecide, |call| async move {
        let (state, context, me) = (&call.state, &call.context, &call.principal);
        let input = ReserveInput {
            cost_type,
            category,
            amount: AmountInput::Major(amount),
            reason,
        };
        let change = ssr::LedgerChange::Reserve(input);
        ssr::record_change(&state.db, context, me, &id, &change, Some(version), None).await?;
        crate::claims::ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}

/// Pays a party of the claim from a bucket's reserve.
#[server]
pub async fn record_claim_payment(
    id: String,
    version: i64,
    cost_type: String,
    category: String,
    payee_id: String,
    method: String,
    payment_type: String,
    amount: String,
    reference: Option<String>,
) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::{
        auth::Permission,
        ledger::{AmountInput, PaymentInput},
    };
    serve(Permission::ClaimsDecide, |call| async move {
        let (state, context, me) = (&call.state, &call.context, &call.principal);
        let input = PaymentInput {
            cost_type,
            category,
            payee_id,
            method,
            payment_type,
            amount: AmountInput::Major(amount),
            reference,
        };
        let change = ssr::LedgerChange::Payment(input);
        ssr::record_change(&state.db, context, me, &id, &change, Some(version), None).await?;
        crate::claims::ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}

/// Records money coming back (subrogation or salvage).
#[server]
pub async fn record_claim_recovery(
    id: String,
    version: i64,
    cost_type: String,
    category: String,
    recovery_type: String,
    amount: String,
    reference: Option<String>,
) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::{
        auth::Permission,
        ledger::{AmountInput, RecoveryInput},
    };
    serve(Permission::ClaimsDecide, |call| async move {
        let (state, context, me) = (&call.state, &call.context, &call.principal);
        let input = RecoveryInput {
            cost_type,
            category,
            recovery_type,
            amount: AmountInput::Major(amount),
            reference,
        };
        let change = ssr::LedgerChange::Recovery(input);
        ssr::record_change(&state.db, context, me, &id, &change, Some(version), None).await?;
        crate::claims::ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}
