//! The HTTP server: Alertmanager's webhook receiver at `POST /alert`, plus the endpoints a
//! Prometheus user expects (`/-/healthy`, `/-/ready`, `/metrics`) and a small JSON API.
//!
//! `serve` takes a bound listener and a shutdown future, so tests start the real server on
//! port 0. Handlers never scale anything themselves: they hand notifications to the executor.

pub mod auth;
mod routes;

use std::future::Future;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;

use crate::engine::executor::Executor;
use crate::metrics::Metrics;
use crate::policy::{Diagnostic, PolicySet, SourceFile};
pub use auth::WebAuth;

/// Reloads the policies now; on failure, the rendered diagnostics.
pub type ReloadFn = Arc<dyn Fn() -> Result<(), Vec<String>> + Send + Sync>;

/// A policy set with what it was compiled from.
#[derive(Debug)]
pub struct LoadedPolicies {
    pub set: PolicySet,
    pub files: Vec<SourceFile>,
    /// Warnings of the set in effect.
    pub warnings: Vec<Diagnostic>,
    pub loaded_at: SystemTime,
}

/// The outcome of the last reload attempt, for `GET /api/v1/status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadStatus {
    pub successful: bool,
    /// RFC 3339.
    pub time: String,
    /// The diagnostics of a failed reload (rendered), empty after a good one.
    pub errors: Vec<String>,
}

/// Everything the handlers share.
pub struct AppState {
    /// The policies in effect; swapped whole by reloads and loaded once per request, so a
    /// notification sees one set from start to end.
    pub policies: ArcSwap<LoadedPolicies>,
    /// Carries decisions out; holds the backend, the state store and the per-target locks.
    pub executor: Executor,
    /// Written by everything, read by `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// Who may post notifications and read the API.
    pub auth: WebAuth,
    /// The largest webhook body accepted (`--web.max-body-bytes`).
    pub max_body_bytes: usize,
    /// Written by the reloader, read by `GET /api/v1/status`.
    pub last_reload: ArcSwap<Option<ReloadStatus>>,
    /// Reload on demand (`POST /-/reload`); set by the reloader.
    pub reload: Option<ReloadFn>,
    pub started: Instant,
}

impl AppState {
    pub fn set_policies(&self, loaded: LoadedPolicies) {
        self.metrics.policies_loaded.set(loaded.set.len() as i64);
        self.policies.store(Arc::new(loaded));
    }
}

/// The listener the server accepts on.
pub enum Listener {
    Plain(tokio::net::TcpListener),
    Tls(std::net::TcpListener, axum_server::tls_rustls::RustlsConfig),
}

impl Listener {
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        match self {
            Listener::Plain(l) => l.local_addr(),
            Listener::Tls(l, _) => l.local_addr(),
        }
    }
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: Listener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = routes::router(state);
    match listener {
        Listener::Plain(listener) => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Listener::Tls(listener, config) => {
            let handle = axum_server::Handle::new();
            let on_shutdown = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                on_shutdown.graceful_shutdown(None);
            });
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(app.into_make_service())
                .await
        }
    }
}
