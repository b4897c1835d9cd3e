//! The tamper-evident audit trail.
//!
//! Every change, every authentication event and every refused call appends a
//! record in the same transaction as what it describes, numbered by the
//! engine's own sequence, without any shared row to lock. A sealer
//! ([`seal`]) then folds the committed records, in the order it finds them,
//! into an RFC 6962 Merkle tree ([`merkle`]) and signs a checkpoint over it
//! with an Ed25519 key that is not in the database ([`signing`]), at least
//! every second; checkpoints are exported to object storage.
//! [`verify`] recomputes every leaf and root and checks every signature,
//! naming the first record or checkpoint that does not hold; [`verify::proof`]
//! gives one record's inclusion proof. The Audit page (auditors and admins)
//! shows the trail and runs the verification. The README's "Audit trail"
//! section has the formats and the outside check with openssl.

#[cfg(feature = "ssr")]
pub mod details;
#[cfg(feature = "ssr")]
pub mod merkle;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod seal;
#[cfg(feature = "ssr")]
pub mod signing;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod verify;

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
    /// `details` in words ([`details::readable`]), made on the server.
    pub summary: String,
    pub correlation_id: Option<String>,
    pub client_ip: Option<String>,
}

/// The result of verifying the log, for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// Sealed records verified.
    pub records: i64,
    pub checkpoints: i64,
    /// Records not sealed yet (not a break).
    pub unsealed: i64,
    /// The first record or checkpoint that does not hold, in words.
    pub first_broken: Option<String>,
}

/// What an investigator narrows the trail to; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditFilters {
    /// One record's id (a claim's, a customer's...).
    pub entity: Option<String>,
    /// Who, exactly as the trail names them.
    pub actor: Option<String>,
    /// `claim.reassigned`, or a whole feature: `claim`.
    pub action: Option<String>,
    /// `YYYY-MM-DD`, UTC, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
}

#[server]
pub async fn list_audit_records(
    #[server(flatten)]
    #[server(default)]
    filters: AuditFilters,
    page: Option<u32>,
) -> Result<Page<AuditRecordView>, AppError> {
    use crate::server_call::serve;
    use shared::{auth::Permission, pagination::PageRequest};
    serve(Permission::AuditRead, |call| async move {
        let page = PageRequest::new(page.unwrap_or(1), 50)?;
        ssr::list(&call.state.db, &filters, page).await
    })
    .await
}

#[server]
pub async fn verify_audit_chain() -> Result<ChainStatus, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::AuditRead, |call| async move {
        let state = &call.state;
        let verification = verify::verify(&state.db, &state.audit.verifying_key()).await?;
        Ok(ChainStatus {
            records: verification.records,
            checkpoints: verification.checkpoints,
            unsealed: verification.unsealed,
            first_broken: verification.first_broken.map(|b| b.to_string()),
        })
    })
    .await
}
