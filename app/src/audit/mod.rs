//! The tamper-evident audit trail.
//!
//! Every change, every authentication event and every refused call appends a
//! record in the same transaction as what it describes. Records form a hash
//! chain, `hash = SHA-256(prev_hash | seq | canonical JSON of the record)`,
//! and writers are serialised on the chain's head row, so concurrent
//! replicas never fork it. [`ssr::verify`] recomputes the chain and names
//! the first record that does not match; the Audit page (auditors and
//! admins) shows the trail and runs the verification.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::pagination::Page;

use crate::error::AppError;

/// One record as the Audit page shows it (details hold no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecordView {
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub details: String,
    pub correlation_id: Option<String>,
    pub client_ip: Option<String>,
}

/// The result of recomputing the chain, for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    pub records: i64,
    /// `(seq, reason)` of the first record that does not chain.
    pub first_broken: Option<(i64, String)>,
}

#[server]
pub async fn list_audit_records(
    entity_id: Option<String>,
    page: Option<u32>,
) -> Result<Page<AuditRecordView>, AppError> {
    use crate::{auth::ssr::authorize, error::respond};
    use shared::{auth::Permission, pagination::PageRequest};
    respond(
        async move {
            let (state, _) = authorize(Permission::AuditRead).await?;
            let page = PageRequest::new(page.unwrap_or(1), 50)?;
            let entity_id = entity_id.filter(|id| !id.trim().is_empty());
            Ok(ssr::list(&state.db, entity_id.as_deref(), page).await?)
        }
        .await,
    )
}

#[server]
pub async fn verify_audit_chain() -> Result<ChainStatus, AppError> {
    use crate::{auth::ssr::authorize, error::respond};
    use shared::auth::Permission;
    respond(
        async move {
            let (state, _) = authorize(Permission::AuditRead).await?;
            let verification = ssr::verify(&state.db).await?;
            Ok(ChainStatus {
                records: verification.records,
                first_broken: verification.first_broken.map(|b| (b.seq, b.reason)),
            })
        }
        .await,
    )
}
