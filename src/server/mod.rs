//! The HTTP server: Alertmanager's webhook receiver at `POST /alert`, plus the endpoints a
//! Prometheus user expects (`/-/healthy`, `/-/ready`, `/metrics`) and a small JSON API.
//!
//! `serve` takes a bound listener and a shutdown future, so tests start the real server on
//! port 0. Handlers never scale anything themselves: they hand notifications to the executor.

pub mod auth;
mod routes;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use crate::engine::executor::Executor;
use crate::metrics::Metrics;
use crate::reload::{LivePolicies, Reloader};
pub use auth::WebAuth;

/// Everything the handlers share.
pub struct AppState {
    /// The policies in effect (swapped whole by reloads) and the last reload's outcome.
    pub policies: Arc<LivePolicies>,
    /// Carries decisions out; holds the backend, the state store and the per-target locks.
    pub executor: Executor,
    /// Written by everything, read by `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// Who may post notifications and use the API.
    pub auth: WebAuth,
    /// The largest webhook body accepted (`--web.max-body-bytes`).
    pub max_body_bytes: usize,
    /// Reloads on `POST /-/reload`; absent when the server was built without one.
    pub reloader: Option<Arc<Reloader>>,
    pub started: Instant,
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
