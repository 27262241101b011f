//! Hot reload: the policies in effect, swapped whole, and what triggers a swap (a file watcher,
//! `SIGHUP`, `POST /-/reload`).
//!
//! A reload compiles the whole set; only a set without errors replaces the one in effect, in one
//! atomic store, so a notification in flight sees the old set or the new one, never a mix. A
//! broken edit keeps the last good set and says why in the metrics, the log and
//! `GET /api/v1/status`. Nothing here decides or scales.

mod watcher;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use serde::Serialize;
use thiserror::Error;

use crate::metrics::Metrics;
use crate::policy::{self, CompileOptions, Diagnostic, PolicySet, SourceFile};
pub use watcher::{spawn_watcher, WatchOptions};

/// A policy set with what it was compiled from.
#[derive(Debug)]
pub struct LoadedPolicies {
    pub set: PolicySet,
    pub files: Vec<SourceFile>,
    /// Warnings of the set.
    pub warnings: Vec<Diagnostic>,
    pub loaded_at: SystemTime,
}

/// The outcome of the last reload, for `GET /api/v1/status`.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadStatus {
    pub successful: bool,
    /// What asked for it: `watch`, `SIGHUP`, `api`.
    pub trigger: String,
    /// RFC 3339.
    pub time: String,
    /// Why a failed reload failed (rendered diagnostics); empty after a good one.
    pub errors: Vec<String>,
}

/// The policies in effect and the last reload's outcome.
pub struct LivePolicies {
    /// Swapped whole by reloads; request handlers load it once per notification.
    pub current: ArcSwap<LoadedPolicies>,
    /// Written by each reload, read by `GET /api/v1/status`.
    pub last_reload: ArcSwap<Option<ReloadStatus>>,
}

impl LivePolicies {
    pub fn new(loaded: LoadedPolicies) -> Self {
        LivePolicies {
            current: ArcSwap::from_pointee(loaded),
            last_reload: ArcSwap::from_pointee(None),
        }
    }
}

#[derive(Debug, Error)]
pub enum ReloadError {
    /// The policies have errors: the diagnostics, rendered.
    #[error("the policies have errors")]
    Invalid(Vec<String>),
    /// The policies could not be read.
    #[error("{0}")]
    Io(String),
}

impl ReloadError {
    pub fn messages(&self) -> Vec<String> {
        match self {
            ReloadError::Invalid(errors) => errors.clone(),
            ReloadError::Io(message) => vec![message.clone()],
        }
    }
}

/// Reads and compiles the policies under `paths` as one set.
pub fn load(paths: &[PathBuf], options: CompileOptions) -> Result<LoadedPolicies, ReloadError> {
    let (files, checked) =
        policy::load(paths, options).map_err(|e| ReloadError::Io(e.to_string()))?;
    if checked.has_errors() {
        return Err(ReloadError::Invalid(
            checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.render_human(false))
                .collect(),
        ));
    }
    Ok(LoadedPolicies {
        set: checked.set,
        files,
        warnings: checked.diagnostics,
        loaded_at: SystemTime::now(),
    })
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Reloads the policies into `live`, one reload at a time.
pub struct Reloader {
    paths: Vec<PathBuf>,
    options: CompileOptions,
    live: Arc<LivePolicies>,
    metrics: Arc<Metrics>,
    /// Held for the length of a reload, so that two triggers at once reload one after the other.
    running: Mutex<()>,
}

impl Reloader {
    pub fn new(
        paths: Vec<PathBuf>,
        options: CompileOptions,
        live: Arc<LivePolicies>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Reloader {
            paths,
            options,
            live,
            metrics,
            running: Mutex::new(()),
        }
    }

    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Records a successful (initial or later) load in the metrics.
    pub fn mark_loaded(&self, loaded: &LoadedPolicies) {
        self.metrics.policies_loaded.set(loaded.set.len() as i64);
        self.metrics.config_last_reload_successful.set(1);
        self.metrics
            .config_last_reload_success_timestamp
            .set(unix_seconds(loaded.loaded_at));
    }

    /// Compiles the whole set and, if it has no error, puts it in effect. Blocking: call it from
    /// a blocking thread in async code.
    pub fn reload(&self, trigger: &str) -> Result<usize, ReloadError> {
        let _running = self.running.lock().expect("no panics while reloading");
        let now = SystemTime::now();
        let time = humantime::format_rfc3339_seconds(now).to_string();
        match load(&self.paths, self.options) {
            Ok(loaded) => {
                let count = loaded.set.len();
                for warning in &loaded.warnings {
                    tracing::warn!(diagnostic = %warning.render_human(false).trim_end(), "policy warning");
                }
                self.mark_loaded(&loaded);
                self.live.current.store(Arc::new(loaded));
                self.metrics
                    .config_reloads
                    .get_or_create(&vec![("result", "success")])
                    .inc();
                self.live.last_reload.store(Arc::new(Some(ReloadStatus {
                    successful: true,
                    trigger: trigger.to_string(),
                    time,
                    errors: Vec::new(),
                })));
                tracing::info!(trigger, policies = count, "policies reloaded");
                Ok(count)
            }
            Err(error) => {
                let errors = error.messages();
                self.metrics.config_last_reload_successful.set(0);
                self.metrics
                    .config_reloads
                    .get_or_create(&vec![("result", "failure")])
                    .inc();
                self.live.last_reload.store(Arc::new(Some(ReloadStatus {
                    successful: false,
                    trigger: trigger.to_string(),
                    time,
                    errors: errors.clone(),
                })));
                tracing::error!(
                    trigger,
                    diagnostics = %errors.join("\n").trim_end(),
                    "reload failed; keeping the policies in effect"
                );
                Err(error)
            }
        }
    }

    /// `reload` on a blocking thread.
    pub async fn reload_async(
        self: &Arc<Self>,
        trigger: &'static str,
    ) -> Result<usize, ReloadError> {
        let reloader = self.clone();
        tokio::task::spawn_blocking(move || reloader.reload(trigger))
            .await
            .unwrap_or_else(|e| Err(ReloadError::Io(format!("the reload panicked: {e}"))))
    }
}
