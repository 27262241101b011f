//! A stand-in SCDF server for the tests, answering the two endpoints alertscale uses exactly as
//! SCDF 2.x does (see `shared/reference/recipe-and-apis.md`): 201 with an empty body for a
//! scale, the runtime status shape, 500 `ReleaseNotFoundException` for an unknown stream, 401
//! without the right credentials; plus an OAuth2 token endpoint. Faults can be injected: down
//! (nothing listens), 5xx, slow, and "answer lost after applying".
//!
//! It also plays the recipe's stream `scaletest` = `time | transform | log` for Prometheus:
//! `GET /metrics` serves the Micrometer counters `spring_integration_send_seconds_count` of the
//! three apps. `time` emits at the rate the test sets; `transform` processes at most
//! `instances x capacity` messages per second; `log` follows `transform`. Instances change only
//! through the scale API.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Bearer(String),
    Basic(String, String),
}

/// What the stand-in holds and how it misbehaves; tests read and change it directly.
#[derive(Default)]
pub struct ScdfState {
    /// stream -> app -> instance count.
    pub streams: Mutex<BTreeMap<String, BTreeMap<String, u32>>>,
    /// Every request: `METHOD /path`.
    pub requests: Mutex<Vec<String>>,
    pub auth: Mutex<Auth>,
    /// Answer every API request with this status (503, 502, 429...).
    pub fail_with: Mutex<Option<u16>>,
    /// Wait this long before answering any API request.
    pub delay: Mutex<Duration>,
    /// For the next N scale requests: apply the count, then wait this long before answering
    /// (longer than the client's timeout: the answer is lost).
    pub lose_answers: Mutex<(u32, Duration)>,
    /// Streams whose release Skipper no longer knows (scale answers 500).
    pub missing_release: Mutex<HashSet<String>>,
    /// OAuth2: the client credentials the token endpoint accepts.
    pub oauth_client: Mutex<Option<(String, String)>>,
    /// Tokens issued by the token endpoint.
    pub tokens_issued: AtomicU32,
    /// The simulated stream behind `/metrics`.
    pub stream: Mutex<StreamSimulation>,
}

/// Message counters of `time | transform | log`, integrated at the rates in force.
#[derive(Debug)]
pub struct StreamSimulation {
    /// Messages per second `time` emits.
    pub time_rate: f64,
    /// Messages per second one `transform` instance can process.
    pub capacity: f64,
    counts: [f64; 3],
    last: std::time::Instant,
}

impl Default for StreamSimulation {
    fn default() -> Self {
        StreamSimulation {
            time_rate: 1.0,
            capacity: 1240.0,
            counts: [0.0; 3],
            last: std::time::Instant::now(),
        }
    }
}

impl StreamSimulation {
    /// Advances the counters to now with `instances` transform instances.
    fn advance(&mut self, instances: u32) {
        let now = std::time::Instant::now();
        let dt = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        let transform = self.time_rate.min(f64::from(instances) * self.capacity);
        self.counts[0] += self.time_rate * dt;
        self.counts[1] += transform * dt;
        self.counts[2] += transform * dt;
    }
}

impl ScdfState {
    /// Sets the rate `time` emits at (messages per second).
    pub fn set_time_rate(&self, rate: f64) {
        let instances = self.count("scaletest", "transform").unwrap_or(0);
        let mut stream = self.stream.lock().unwrap();
        stream.advance(instances);
        stream.time_rate = rate;
    }

    pub fn count(&self, stream: &str, app: &str) -> Option<u32> {
        self.streams.lock().unwrap().get(stream)?.get(app).copied()
    }

    pub fn set(&self, stream: &str, app: &str, count: u32) {
        self.streams
            .lock()
            .unwrap()
            .entry(stream.to_string())
            .or_default()
            .insert(app.to_string(), count);
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub fn scale_requests(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.starts_with("POST /streams/deployments/scale/"))
            .collect()
    }
}

pub struct StandInScdf {
    pub state: Arc<ScdfState>,
    pub addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl StandInScdf {
    /// Starts with the recipe's stream deployed: `scaletest` = time | transform | log, one
    /// instance each.
    pub fn start() -> StandInScdf {
        let state = Arc::new(ScdfState::default());
        for app in ["time", "transform", "log"] {
            state.set("scaletest", app, 1);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut scdf = StandInScdf {
            state,
            addr: "127.0.0.1:0".parse().unwrap(),
            runtime,
            stop: None,
        };
        scdf.up();
        scdf
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts listening (again, on the same port after `down`).
    pub fn up(&mut self) {
        let state = self.state.clone();
        let addr = self.addr;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let listener = self.runtime.block_on(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            socket.bind(addr).unwrap();
            socket.listen(128).unwrap()
        });
        self.addr = listener.local_addr().unwrap();
        self.runtime.spawn(async move {
            axum::serve(listener, router(state))
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        self.stop = Some(tx);
    }

    /// Stops listening: connections are refused until `up`.
    pub fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Wait until the port refuses connections.
        for _ in 0..100 {
            if std::net::TcpStream::connect(self.addr).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the stand-in SCDF did not stop");
    }
}

fn router(state: Arc<ScdfState>) -> Router {
    Router::new()
        .route("/runtime/streams/{names}", get(runtime_streams))
        .route(
            "/streams/deployments/scale/{stream}/{app}/instances/{count}",
            post(scale),
        )
        .route("/oauth/token", post(token))
        .route("/metrics", get(stream_metrics))
        .fallback(fallback)
        .with_state(state)
}

fn record(state: &ScdfState, method: &Method, uri: &Uri) {
    state
        .requests
        .lock()
        .unwrap()
        .push(format!("{method} {}", uri.path()));
}

/// Checks credentials and injected faults; `Some(response)` answers instead of the endpoint.
async fn gate(state: &ScdfState, headers: &HeaderMap) -> Option<Response> {
    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = *state.fail_with.lock().unwrap() {
        let status = StatusCode::from_u16(status).unwrap();
        return Some(
            (
                status,
                Json(json!({"status": status.as_u16(), "error": "injected"})),
            )
                .into_response(),
        );
    }
    let auth = state.auth.lock().unwrap().clone();
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = match auth {
        Auth::None => true,
        Auth::Bearer(token) => given == format!("Bearer {token}"),
        Auth::Basic(user, password) => {
            given
                == format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                )
        }
    };
    if ok {
        None
    } else {
        // Spring Security's answer without valid credentials.
        Some((StatusCode::UNAUTHORIZED, Json(json!({"timestamp": "2026-12-04T19:27:33.000+00:00", "status": 401, "error": "Unauthorized", "path": "/"}))).into_response())
    }
}

async fn runtime_streams(
    State(state): State<Arc<ScdfState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(names): Path<String>,
) -> Response {
    record(&state, &method, &uri);
    if let Some(response) = gate(&state, &headers).await {
        return response;
    }
    let streams = state.streams.lock().unwrap().clone();
    let list: Vec<Value> = names
        .split(',')
        .filter_map(|name| streams.get(name).map(|apps| (name, apps)))
        .map(|(name, apps)| {
            let apps: Vec<Value> = apps
                .iter()
                .map(|(app, count)| {
                    let instances: Vec<Value> = (0..*count)
                        .map(|i| json!({
                            "instanceId": format!("{name}-{app}-v1-{i}"),
                            "state": "deployed",
                            "guid": format!("{name}-{app}-{i}"),
                            "attributes": {"skipper.application.name": app, "skipper.release.name": name, "skipper.release.version": "1"}
                        }))
                        .collect();
                    json!({
                        "name": app,
                        "deploymentId": format!("{name}-{app}-v1"),
                        "state": "deployed",
                        "instances": {"_embedded": {"appInstanceStatusResourceList": instances}}
                    })
                })
                .collect();
            json!({"name": name, "version": "1", "applications": {"_embedded": {"appStatusResourceList": apps}}})
        })
        .collect();
    let total = list.len();
    let page = json!({"size": 20, "totalElements": total, "totalPages": if total == 0 { 0 } else { 1 }, "number": 0});
    if list.is_empty() {
        Json(json!({ "page": page })).into_response()
    } else {
        Json(json!({ "_embedded": {"streamStatusResourceList": list}, "page": page }))
            .into_response()
    }
}

async fn scale(
    State(state): State<Arc<ScdfState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((stream, app, count)): Path<(String, String, String)>,
) -> Response {
    record(&state, &method, &uri);
    if let Some(response) = gate(&state, &headers).await {
        return response;
    }
    let Ok(count) = count.parse::<u32>() else {
        return (StatusCode::BAD_REQUEST, Json(json!({"_embedded": {"errors": [{"logref": "MethodArgumentTypeMismatchException", "message": "Failed to convert value"}]}}))).into_response();
    };
    let known = state.streams.lock().unwrap().contains_key(&stream)
        && !state.missing_release.lock().unwrap().contains(&stream);
    if !known {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"_embedded": {"errors": [{"logref": "ReleaseNotFoundException", "message": format!("Release with the name [{stream}] doesn't exist")}]}})),
        )
            .into_response();
    }
    // Skipper ignores an unknown app of a known stream.
    if let Some(before) = state.count(&stream, &app) {
        if stream == "scaletest" && app == "transform" {
            state.stream.lock().unwrap().advance(before);
        }
        state.set(&stream, &app, count);
    }
    let lose = {
        let mut lose = state.lose_answers.lock().unwrap();
        if lose.0 > 0 {
            lose.0 -= 1;
            Some(lose.1)
        } else {
            None
        }
    };
    if let Some(wait) = lose {
        tokio::time::sleep(wait).await;
    }
    StatusCode::CREATED.into_response()
}

async fn token(
    State(state): State<Arc<ScdfState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    record(&state, &method, &uri);
    let expected = state.oauth_client.lock().unwrap().clone();
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = expected.is_some_and(|(id, secret)| {
        given
            == format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
            )
    }) && body.contains("grant_type=client_credentials");
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let n = state.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("token-{n}");
    *state.auth.lock().unwrap() = Auth::Bearer(token.clone());
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": "dataflow.view dataflow.modify"})).into_response()
}

async fn fallback(State(state): State<Arc<ScdfState>>, method: Method, uri: Uri) -> Response {
    record(&state, &method, &uri);
    (
        StatusCode::NOT_FOUND,
        Json(json!({"status": 404, "error": "Not Found"})),
    )
        .into_response()
}

/// The stream's Micrometer counters, as Prometheus scrapes them from the apps.
async fn stream_metrics(State(state): State<Arc<ScdfState>>) -> String {
    let instances = state.count("scaletest", "transform").unwrap_or(0);
    let counts = {
        let mut stream = state.stream.lock().unwrap();
        stream.advance(instances);
        stream.counts
    };
    let mut text = String::from("# TYPE spring_integration_send_seconds_count counter\n");
    for (app, count) in ["time", "transform", "log"].iter().zip(counts) {
        text.push_str(&format!(
            "spring_integration_send_seconds_count{{application_name=\"{app}\",stream_name=\"scaletest\",name=\"output\",result=\"success\",type=\"channel\"}} {count:.3}\n"
        ));
    }
    text.push_str("# TYPE scdf_app_instances gauge\n");
    text.push_str(&format!("scdf_app_instances{{stream_name=\"scaletest\",application_name=\"transform\"}} {instances}\n"));
    text
}
