//! The supervisor's side of authority limits: the queue of reserve changes
//! and payments over their requester's authority, approving or rejecting
//! them, each caller's own limits (shown on the forms before submitting),
//! and the limits table admins edit. The rules are in
//! [`shared::authority`]; the SQL in [`crate::claims::financials::ssr`].

use leptos::prelude::*;
use shared::authority::Authority;

use crate::{
    claims::financials::{ApprovalView, LimitView},
    error::AppError,
};

/// Every pending request, oldest first.
#[server]
pub async fn list_pending_approvals() -> Result<Vec<ApprovalView>, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsDecide, |call| async move {
        crate::claims::financials::ssr::pending_requests(&call.state.db).await
    })
    .await
}

/// Approves request `id`: the line is recorded as its requester's.
#[server]
pub async fn approve_ledger_request(id: String) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsDecide, |call| async move {
        crate::claims::financials::ssr::approve(&call.state.db, &call.context, &call.principal, &id)
            .await
            .map(|_| ())
    })
    .await
}

/// Rejects request `id` with a reason (its requester may withdraw it).
#[server]
pub async fn reject_ledger_request(id: String, reason: String) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsDecide, |call| async move {
        crate::claims::financials::ssr::reject(
            &call.state.db,
            &call.context,
            &call.principal,
            &id,
            &reason,
        )
        .await
        .map(|_| ())
    })
    .await
}

/// The caller's own authority in `currency`.
#[server]
pub async fn get_my_authority(currency: String) -> Result<Authority, AppError> {
    use crate::server_call::serve;
    use shared::{FieldErrors, auth::Permission, money::Currency};
    serve(Permission::ClaimsDecide, |call| async move {
        let currency = Currency::parse("currency", &currency).map_err(FieldErrors::from)?;
        crate::claims::financials::ssr::authority_of(&call.state.db, &call.principal, currency)
            .await
    })
    .await
}

/// Every configured limit.
#[server]
pub async fn list_authority_limits() -> Result<Vec<LimitView>, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::UsersManage, |call| async move {
        crate::claims::financials::ssr::limits(&call.state.db).await
    })
    .await
}

/// Sets one limit (major units; empty for no limit).
#[server]
pub async fn set_authority_limit(
    subject_kind: String,
    subject: String,
    currency: String,
    reserve: String,
    payment: String,
) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::{auth::Permission, authority::LimitInput};
    serve(Permission::UsersManage, |call| async move {
        let input = LimitInput {
            subject_kind,
            subject,
            currency,
            reserve,
            payment,
        };
        crate::claims::financials::ssr::set_limit(
            &call.state.db,
            &call.context,
            &call.principal,
            &input,
        )
        .await
    })
    .await
}
