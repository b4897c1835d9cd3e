//! The one way a server function runs: the caller's permission checked
//! (refusals audited, see [`auth::ssr::require`]), the audit context of the
//! request built, the body run with the server state, and the answer's HTTP
//! status set from the error, if any ([`respond`]).
//!
//! A neutral module on purpose: every feature's server functions use it, and
//! the services they call take their own dependencies (database, vault,
//! storage) from [`Call::state`], so no feature depends on the server state.

use std::future::Future;

use shared::auth::Permission;

use crate::{
    audit::ssr::AuditContext,
    auth::ssr::{self as auth, Principal},
    error::{AppError, respond},
    request::RequestMeta,
    state::AppState,
};

/// An authorized server-function call.
pub struct Call {
    pub state: AppState,
    /// The signed-in member of staff, holding the permission asked for.
    pub principal: Principal,
    /// Who did it and from where, for the audit records the call writes.
    pub context: AuditContext,
}

/// The signed-in user must hold `permission`: the state, the caller and
/// the audit context of the request.
pub async fn authorize(permission: Permission) -> Result<Call, AppError> {
    let state = AppState::from_context()?;
    let meta = RequestMeta::current();
    let principal = auth::require(
        &state.db,
        auth::current_principal().as_ref(),
        permission,
        &meta,
    )
    .await?;
    Ok(Call::new(state, principal, &meta))
}

/// Any signed-in member of staff, for what they may do to their own
/// account whatever their role.
pub fn signed_in() -> Result<Call, AppError> {
    let principal = auth::signed_in()?;
    Ok(Call::new(
        AppState::from_context()?,
        principal,
        &RequestMeta::current(),
    ))
}

impl Call {
    fn new(state: AppState, principal: Principal, meta: &RequestMeta) -> Self {
        let context = auth::audit_context(Some(&principal), meta);
        Self {
            state,
            principal,
            context,
        }
    }
}

/// Runs a server function's `body` once the caller holds `permission`,
/// and answers with the status its error documents.
pub async fn serve<T, Body, Fut>(permission: Permission, body: Body) -> Result<T, AppError>
where
    Body: FnOnce(Call) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    respond(
        async move {
            let call = authorize(permission).await?;
            body(call).await
        }
        .await,
    )
}

/// [`serve`] for a call on the caller's own account ([`signed_in`]).
pub async fn serve_own<T, Body, Fut>(body: Body) -> Result<T, AppError>
where
    Body: FnOnce(Call) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    respond(async move { body(signed_in()?).await }.await)
}
