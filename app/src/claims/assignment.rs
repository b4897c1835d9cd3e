//! Handing a claim to someone else, with a reason ([`shared::assignment`]):
//! the people a claim can go to and the reassignment itself. The SQL is in
//! `claims::ssr::assignment`, beside assign-to-me.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{claims::ClaimView, error::AppError};

/// Someone a claim can be given to: an active user whose role decides
/// claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    pub id: String,
    pub name: String,
}

/// Everyone a claim can be given to, by name.
#[server]
pub async fn list_assignees() -> Result<Vec<Assignee>, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsDecide, |call| async move {
        crate::claims::ssr::assignees(&call.state.db).await
    })
    .await
}

/// Gives claim `id` (at `version`, as the page showed it) to `assignee_id`
/// with a reason, audited as `claim.reassigned`.
#[server]
pub async fn reassign_claim(
    id: String,
    version: i64,
    assignee_id: String,
    reason: String,
) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::{assignment::ReassignmentInput, auth::Permission};
    serve(Permission::ClaimsDecide, |call| async move {
        let (state, context) = (&call.state, &call.context);
        let input = ReassignmentInput {
            assignee_id,
            reason,
        };
        crate::claims::ssr::reassign(
            &state.db,
            context,
            &call.principal,
            &id,
            &input,
            Some(version),
        )
        .await?;
        crate::claims::ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}
