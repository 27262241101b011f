//! `alertscale serve`: the webhook receiver. Flags follow Prometheus' naming
//! (`--web.listen-address`, `--log.level`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::exit;
use crate::engine::backend::{DryRun, ScaleBackend};
use crate::engine::executor::{Executor, RecentDecisions, RetryPolicy, TargetLocks};
use crate::engine::state::{RedbStore, StateStore};
use crate::engine::Limits;
use crate::metrics::Metrics;
use crate::policy::{self, duration, CompileOptions};
use crate::reload::{self, LivePolicies, Reloader, WatchOptions};
use crate::scdf::credentials::{read_basic_auth, read_secret, OAuth2};
use crate::scdf::{Credentials, ScdfClient};
use crate::server::{self, AppState, Listener, WebAuth};

fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text).map_err(|e| format!("`{text}`: {e} (e.g. `2s`, `5m`)"))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Policy files or directories (a ConfigMap mount works as is)
    #[arg(long, value_name = "PATH", default_value = "policies")]
    pub policies: Vec<PathBuf>,
    /// Quiet time after a change to the policy files before reloading
    #[arg(long = "policies.watch-debounce", value_name = "DURATION", default_value = "50ms", value_parser = parse_duration)]
    pub watch_debounce: Duration,
    /// Where to listen for Alertmanager
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = "0.0.0.0:8085"
    )]
    pub listen_address: SocketAddr,
    /// The largest webhook body accepted
    #[arg(long = "web.max-body-bytes", value_name = "N", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// A file holding the bearer token Alertmanager must send
    #[arg(long = "web.bearer-token-file", value_name = "FILE")]
    pub web_bearer_token_file: Option<PathBuf>,
    /// A file holding `user:password` that Alertmanager must send with HTTP Basic
    #[arg(long = "web.basic-auth-file", value_name = "FILE")]
    pub web_basic_auth_file: Option<PathBuf>,
    /// TLS certificate (PEM); with --web.tls-key-file, serve HTTPS
    #[arg(
        long = "web.tls-cert-file",
        value_name = "FILE",
        requires = "web_tls_key_file"
    )]
    pub web_tls_cert_file: Option<PathBuf>,
    /// TLS private key (PEM)
    #[arg(
        long = "web.tls-key-file",
        value_name = "FILE",
        requires = "web_tls_cert_file"
    )]
    pub web_tls_key_file: Option<PathBuf>,

    /// The SCDF server, e.g. http://scdf-server:9393; without it, dry run
    #[arg(long = "scdf.url", value_name = "URL")]
    pub scdf_url: Option<reqwest::Url>,
    /// The timeout of each SCDF request
    #[arg(long = "scdf.timeout", value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub scdf_timeout: Duration,
    /// Attempts per SCDF call for transient failures, the first included
    #[arg(long = "scdf.attempts", value_name = "N", default_value_t = 3)]
    pub scdf_attempts: u32,
    /// A file holding a bearer token for SCDF
    #[arg(long = "scdf.bearer-token-file", value_name = "FILE")]
    pub scdf_bearer_token_file: Option<PathBuf>,
    /// A file holding `user:password` for SCDF
    #[arg(long = "scdf.basic-auth-file", value_name = "FILE")]
    pub scdf_basic_auth_file: Option<PathBuf>,
    /// OAuth2 token URL for the client-credentials grant
    #[arg(long = "scdf.oauth2.token-url", value_name = "URL", requires_all = ["scdf_oauth2_client_id", "scdf_oauth2_client_secret_file"])]
    pub scdf_oauth2_token_url: Option<String>,
    /// OAuth2 client id
    #[arg(long = "scdf.oauth2.client-id", value_name = "ID")]
    pub scdf_oauth2_client_id: Option<String>,
    /// A file holding the OAuth2 client secret
    #[arg(long = "scdf.oauth2.client-secret-file", value_name = "FILE")]
    pub scdf_oauth2_client_secret_file: Option<PathBuf>,
    /// OAuth2 scope
    #[arg(long = "scdf.oauth2.scope", value_name = "SCOPE")]
    pub scdf_oauth2_scope: Option<String>,

    /// The server-wide cap on instances; also bounds every policy's `max`
    #[arg(long = "scale.max-instances", value_name = "N", default_value_t = policy::DEFAULT_MAX_INSTANCES)]
    pub max_instances: u32,
    /// How long one notification may take before answering 503 (Alertmanager's shortest
    /// notification timeout is 10s)
    #[arg(long = "notification.deadline", value_name = "DURATION", default_value = "8s", value_parser = parse_duration)]
    pub deadline: Duration,

    /// The embedded state store (dedupe, cooldowns, pending counts)
    #[arg(
        long = "state.path",
        value_name = "FILE",
        default_value = "data/alertscale.redb"
    )]
    pub state_path: PathBuf,
    /// Forget an alert occurrence this long after Alertmanager last sent it; keep it longer
    /// than Alertmanager's repeat_interval
    #[arg(long = "state.retention", value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub state_retention: Duration,

    /// Log level: error, warn, info, debug, trace (or a tracing filter)
    #[arg(long = "log.level", value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log format
    #[arg(long = "log.format", value_enum, default_value = "logfmt")]
    pub log_format: LogFormat,
}

fn init_logging(args: &ServeArgs) -> Result<(), String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .map_err(|e| format!("--log.level `{}`: {e}", args.log_level))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match args.log_format {
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    result.map_err(|e| e.to_string())
}

fn credentials(args: &ServeArgs) -> Result<Credentials, String> {
    if let Some(url) = &args.scdf_oauth2_token_url {
        let secret = read_secret(
            args.scdf_oauth2_client_secret_file
                .as_deref()
                .expect("clap requires it"),
        )?;
        let id = args
            .scdf_oauth2_client_id
            .clone()
            .expect("clap requires it");
        return Ok(Credentials::OAuth2(OAuth2::new(
            url.clone(),
            id,
            secret,
            args.scdf_oauth2_scope.clone(),
        )));
    }
    if let Some(path) = &args.scdf_bearer_token_file {
        return Ok(Credentials::Bearer(read_secret(path)?));
    }
    if let Some(path) = &args.scdf_basic_auth_file {
        let (user, password) = read_basic_auth(path)?;
        return Ok(Credentials::Basic { user, password });
    }
    Ok(Credentials::None)
}

fn web_auth(args: &ServeArgs) -> Result<WebAuth, String> {
    Ok(WebAuth {
        bearer_token: args
            .web_bearer_token_file
            .as_deref()
            .map(read_secret)
            .transpose()?,
        basic: args
            .web_basic_auth_file
            .as_deref()
            .map(read_basic_auth)
            .transpose()?,
    })
}

pub fn run(args: ServeArgs) -> u8 {
    if let Err(error) = init_logging(&args) {
        eprintln!("error: {error}");
        return exit::USAGE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return exit::USAGE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> u8 {
    let options = CompileOptions {
        max_instances: args.max_instances,
    };
    // Invalid policies stop the engine at start, as a bad config stops Prometheus.
    let loaded = match reload::load(&args.policies, options) {
        Ok(loaded) => loaded,
        Err(error) => {
            for message in error.messages() {
                eprintln!("{}", message.trim_end());
            }
            tracing::error!(error = %error, "cannot load the policies; not starting");
            return exit::FINDINGS;
        }
    };
    for warning in &loaded.warnings {
        tracing::warn!(diagnostic = %warning.render_human(false).trim_end(), "policy warning");
    }
    let (web_auth, credentials) = match (web_auth(&args), credentials(&args)) {
        (Ok(web), Ok(scdf)) => (web, scdf),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot read credentials");
            return exit::USAGE;
        }
    };
    let backend: Arc<dyn ScaleBackend> = match &args.scdf_url {
        None => Arc::new(DryRun::default()),
        Some(url) => match ScdfClient::new(url.clone(), credentials, args.scdf_timeout) {
            Ok(client) => Arc::new(client),
            Err(e) => {
                tracing::error!(error = %e, "bad --scdf.url");
                return exit::USAGE;
            }
        },
    };
    let store: Arc<dyn StateStore> = match RedbStore::open(&args.state_path) {
        Ok(store) => Arc::new(store),
        Err(e) => {
            tracing::error!(error = %e, "cannot open the state store");
            return exit::USAGE;
        }
    };
    let listener = match bind(&args).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(address = %args.listen_address, error = %e, "cannot listen");
            return exit::USAGE;
        }
    };
    let metrics = Arc::new(Metrics::new());
    let executor = Executor {
        backend: backend.clone(),
        store,
        locks: TargetLocks::default(),
        limits: Limits {
            max_instances: args.max_instances,
        },
        retry: RetryPolicy {
            attempts: args.scdf_attempts.max(1),
            call_timeout: args.scdf_timeout,
            deadline: args.deadline,
            ..RetryPolicy::default()
        },
        metrics: metrics.clone(),
        recent: Arc::new(RecentDecisions::new(1000)),
    };
    let policies_count = loaded.set.len();
    let live = Arc::new(LivePolicies::new(loaded));
    let reloader = Arc::new(Reloader::new(
        args.policies.clone(),
        options,
        live.clone(),
        metrics.clone(),
    ));
    reloader.mark_loaded(&live.current.load());
    let state = Arc::new(AppState {
        policies: live,
        executor,
        metrics,
        auth: web_auth,
        max_body_bytes: args.max_body_bytes,
        reloader: Some(reloader.clone()),
        started: Instant::now(),
    });
    let watch = WatchOptions {
        debounce: args.watch_debounce,
        ..WatchOptions::default()
    };
    let watcher = match reload::spawn_watcher(reloader.clone(), watch) {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            tracing::error!(%error, "cannot watch the policies; reload with SIGHUP or POST /-/reload");
            None
        }
    };
    let hangup = tokio::spawn(reload_on_sighup(reloader));

    let expiry = tokio::spawn(expire_periodically(state.clone(), args.state_retention));
    let address = listener
        .local_addr()
        .map_or(args.listen_address.to_string(), |a| a.to_string());
    tracing::info!(
        address = %address,
        tls = matches!(listener, Listener::Tls(..)),
        backend = backend.name(),
        policies = policies_count,
        state = %args.state_path.display(),
        "alertscale is listening"
    );
    let result = server::serve(listener, state.clone(), shutdown_signal()).await;
    expiry.abort();
    hangup.abort();
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    tracing::info!("stopped; state is on disk");
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            tracing::error!(error = %e, "the server failed");
            exit::USAGE
        }
    }
}

/// Reloads the policies on each `SIGHUP`.
async fn reload_on_sighup(reloader: Arc<Reloader>) {
    #[cfg(unix)]
    {
        let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP");
            return;
        };
        while hangup.recv().await.is_some() {
            let _ = reloader.reload_async("SIGHUP").await;
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

async fn bind(args: &ServeArgs) -> std::io::Result<Listener> {
    match (&args.web_tls_cert_file, &args.web_tls_key_file) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
            let listener = std::net::TcpListener::bind(args.listen_address)?;
            Ok(Listener::Tls(listener, config))
        }
        _ => Ok(Listener::Plain(
            tokio::net::TcpListener::bind(args.listen_address).await?,
        )),
    }
}

async fn expire_periodically(state: Arc<AppState>, retention: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match state.executor.expire(retention).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "expired old state records"),
            Err(e) => tracing::warn!(error = %e, "cannot expire state records"),
        }
    }
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT: shutting down"),
        _ = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
