//! The people and organisations on a claim (see [`shared::party`]): added
//! with a role, their name and contact details sealed with the
//! policyholder's data key, shown masked. The SQL is in [`ssr`].

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::party::PartyRole;

use crate::{claims::ClaimView, error::AppError};

/// A party as the claim page and the API show it: masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyView {
    pub id: String,
    pub role: PartyRole,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: i64,
}

impl PartyView {
    /// `Repair shop · A*** A***`: how a payee is named in lists.
    pub fn label(&self) -> String {
        format!("{} · {}", self.role.label(), self.name)
    }
}

/// Adds a party to the claim.
#[server]
pub async fn add_claim_party(
    id: String,
    version: i64,
    role: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
) -> Result<ClaimView, AppError> {
    use crate::server_call::serve;
    use shared::{auth::Permission, party::PartyInput};
    serve(Permission::ClaimsWrite, |call| async move {
        let (state, context) = (&call.state, &call.context);
        let input = PartyInput {
            role,
            name,
            email,
            phone,
        };
        ssr::add_party(
            &state.db,
            &state.vault,
            context,
            &id,
            &input,
            Some(version),
            None,
        )
        .await?;
        crate::claims::ssr::claim_page(&state.db, &state.vault, &id).await
    })
    .await
}

/// Shows one of a party's fields (`name`, `email`, `phone`) in clear, for a
/// reason; audited.
#[server]
pub async fn reveal_party_field(
    id: String,
    party_id: String,
    field: String,
    reason: String,
) -> Result<Option<String>, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PiiReveal, |call| async move {
        let (state, context) = (&call.state, &call.context);
        ssr::reveal_party(
            &state.db,
            &state.vault,
            context,
            (&id, &party_id),
            &field,
            &reason,
        )
        .await
    })
    .await
}
