//! Where scale calls go: one small trait (read the current count, scale to N), with SCDF
//! (`crate::scdf::ScdfClient`) and the dry run as implementations. A Kubernetes
//! scale-subresource backend would be a third, without touching the engine.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use thiserror::Error;

use super::evaluate::ScaleTarget;

/// Whether a failed call may succeed if tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Connection errors, timeouts, 5xx, 429: try again, and answer Alertmanager 503.
    Transient,
    /// The stream is not deployed, a 4xx: no re-send can fix it.
    Permanent,
}

#[derive(Debug, Clone, Error)]
#[error("{message}")]
pub struct BackendError {
    pub kind: FailureKind,
    pub message: String,
}

impl BackendError {
    pub fn transient(message: impl Into<String>) -> Self {
        BackendError {
            kind: FailureKind::Transient,
            message: message.into(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        BackendError {
            kind: FailureKind::Permanent,
            message: message.into(),
        }
    }
}

#[async_trait]
pub trait ScaleBackend: Send + Sync + 'static {
    /// `scdf` or `dry-run`: shown in logs and `/api/v1/status`.
    fn name(&self) -> &'static str;
    /// Whether calls change nothing real.
    fn is_dry_run(&self) -> bool {
        false
    }
    /// The current instance count of an app.
    async fn instances(&self, target: &ScaleTarget) -> Result<u32, BackendError>;
    /// Sets the instance count of an app (absolute).
    async fn scale(&self, target: &ScaleTarget, count: u32) -> Result<(), BackendError>;
}

/// The default backend: decides and logs, keeping simulated counts in memory (starting at 1)
/// so that decisions stay coherent.
#[derive(Debug, Default)]
pub struct DryRun {
    /// Simulated counts, written by `scale`, read by `instances`.
    counts: Mutex<HashMap<ScaleTarget, u32>>,
}

#[async_trait]
impl ScaleBackend for DryRun {
    fn name(&self) -> &'static str {
        "dry-run"
    }

    fn is_dry_run(&self) -> bool {
        true
    }

    async fn instances(&self, target: &ScaleTarget) -> Result<u32, BackendError> {
        let counts = self
            .counts
            .lock()
            .expect("the lock is never poisoned: no panics inside");
        Ok(counts.get(target).copied().unwrap_or(1))
    }

    async fn scale(&self, target: &ScaleTarget, count: u32) -> Result<(), BackendError> {
        self.counts
            .lock()
            .expect("the lock is never poisoned: no panics inside")
            .insert(target.clone(), count);
        Ok(())
    }
}
