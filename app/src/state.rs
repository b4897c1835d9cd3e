//! Server-wide state, shared by the axum router (`FromRef`) and the server
//! functions (Leptos context).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use axum::extract::FromRef;
use leptos::prelude::*;

use crate::{
    auth::ssr::AuthSettings, db::Db, error::AppError, storage::Storage, vault::Vault,
    webhooks::ssr::WebhookClient, workflow::ssr::JobSignal,
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
    pub webhooks: WebhookClient,
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
}

/// Process lifecycle: when it started and whether it is shutting down.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    started_at: Instant,
    draining: Arc<AtomicBool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            started_at: Instant::now(),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Lifecycle {
    pub fn uptime(&self) -> std::time::Duration {
        self.started_at.elapsed()
    }

    /// Marks the process as shutting down: readiness answers 503 from now on
    /// so the load balancer stops sending new requests.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
