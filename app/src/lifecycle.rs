//! Process lifecycle: when the process started and whether it is shutting
//! down. A neutral home: the health checks, the workers and the sealer all
//! read it, and none of them should need the whole server state to do so.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

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
