//! Activities on a claim (see [`shared::activity`]): the diary of work to
//! do, with an owner, a due date and a priority; completed by anyone who
//! works the claim; a user's open ones are their "My work". A claim with
//! open activities cannot close. The SQL is in [`ssr`].

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::claim::Priority;

use crate::{claims::ClaimView, error::AppError};

/// An activity as the claim page, "My work" and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityView {
    pub id: String,
    pub claim_id: String,
    pub claim_number: String,
    pub subject: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    /// "due in 3 days", "2 days overdue" (as of the server's today).
    pub due: String,
    pub overdue: bool,
    pub priority: Priority,
    pub owner_id: String,
    pub owner_name: String,
    /// `open` or `done`.
    pub status: String,
    pub completed_by: Option<String>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
}

/// Adds an activity to the claim; `owner_id` empty is the caller.
#[server]
pub async fn add_claim_activity(
    id: String,
    version: i64,
    subject: String,
    due_on: String,
    priority: String,
    owner_id: Option<String>,
) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::{activity::ActivityInput, auth::Permission};
    serve(Permission::ClaimsWrite, |call| async move {
        let (state, context, me) = (&call.state, &call.context, &call.principal);
        let input = ActivityInput {
            subject,
            due_on,
            priority,
            owner_id,
        };
        ssr::add(&state.db, context, me, &id, &input, Some(version)).await?;
        crate::claims::ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}

/// Marks an activity of the claim done.
#[server]
pub async fn complete_claim_activity(id: String, activity_id: String) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsWrite, |call| async move {
        ssr::complete(
            &call.state.db,
            &call.context,
            &call.principal,
            (&id, &activity_id),
        )
        .await
        .map(|_| ())
    })
    .await
}

/// The caller's open activities, soonest due (most overdue) first.
#[server]
pub async fn list_my_work() -> Result<Vec<ActivityView>, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsWrite, |call| async move {
        ssr::my_work(&call.state.db, &call.principal.id).await
    })
    .await
}
