//! Server-wide state, shared by the axum router (`FromRef`) and the server
//! functions (Leptos context).

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;

use crate::{
    auth::ssr::{Accounts, AuthSettings},
    claims::ssr::Intake,
    db::Db,
    error::AppError,
    lifecycle::Lifecycle,
    storage::Storage,
    vault::Vault,
    webhooks::ssr::{WebhookClient, Webhooks},
    workflow::ssr::{JobSignal, Pipeline},
};

#[derive(FromRef, Debug, Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub lifecycle: Lifecycle,
    /// Timeouts, limits and token keys, derived once at start-up.
    pub auth: Arc<AuthSettings>,
    /// The PII vault's master and index keys, derived once at start-up.
    pub vault: Arc<Vault>,
    /// Signs audit checkpoints (parsed or derived once at start-up).
    pub audit: Arc<crate::audit::signing::AuditSigner>,
    /// Claim snapshots and attachments.
    pub storage: Storage,
    /// The largest attachment accepted, in bytes (413 beyond).
    pub attachment_max_bytes: u64,
    /// Sends signed webhooks (one connection pool for the process).
    pub webhook_client: WebhookClient,
    /// Wakes this process's workflow workers when a job is enqueued.
    pub jobs: JobSignal,
    /// Refuses new claims while the pipeline is too far behind.
    pub admission: crate::workflow::ssr::Admission,
    /// Shown at the foot of every page (`VANGUARD_ENVIRONMENT_BANNER`): a
    /// preview or staging deployment says so, so nobody mistakes it for
    /// production.
    pub environment_banner: Option<Arc<str>>,
}

impl AppState {
    /// The state from the Leptos context of a server function or SSR render.
    pub fn from_context() -> Result<Self, AppError> {
        use_context::<Self>()
            .ok_or_else(|| AppError::internal_message("AppState missing from context"))
    }

    /// What claim intake needs from the state.
    pub fn intake(&self) -> Intake<'_> {
        Intake {
            db: &self.db,
            vault: &self.vault,
            admission: &self.admission,
            jobs: &self.jobs,
        }
    }

    /// What the webhook services need from the state.
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks {
            db: &self.db,
            vault: &self.vault,
            client: &self.webhook_client,
        }
    }

    /// What the workflow's workers need, cloned out of the state.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline {
            db: self.db.clone(),
            storage: self.storage.clone(),
            vault: self.vault.clone(),
            webhook_client: self.webhook_client.clone(),
            jobs: self.jobs.clone(),
            lifecycle: self.lifecycle.clone(),
        }
    }

    /// What identity's services need from the state.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts {
            db: &self.db,
            settings: &self.auth,
            vault: &self.vault,
        }
    }
}
