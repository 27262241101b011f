//! The HTTP endpoints.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppState;
use crate::engine::Notification;
use crate::reload::ReloadError;

pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.max_body_bytes;
    Router::new()
        .route("/alert", post(alert).layer(DefaultBodyLimit::max(max_body)))
        .route("/-/healthy", get(|| async { "OK\n" }))
        .route("/-/ready", get(ready))
        .route("/-/reload", post(reload))
        .route("/metrics", get(metrics))
        .route("/api/v1/decisions", get(decisions))
        .route("/api/v1/policies", get(policies))
        .route("/api/v1/status", get(status))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn unauthorized(state: &AppState) -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, "missing or wrong credentials");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        state
            .auth
            .challenge()
            .parse()
            .expect("a static header value"),
    );
    response
}

fn reject(state: &AppState, reason: &'static str) {
    state
        .metrics
        .notifications_rejected
        .get_or_create(&vec![("reason", reason)])
        .inc();
}

/// `POST /alert`: one Alertmanager notification.
async fn alert(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !state.auth.allows(&headers) {
        reject(&state, "unauthorized");
        return unauthorized(&state);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            reject(&state, "too_large");
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than {} bytes (--web.max-body-bytes)",
                    state.max_body_bytes
                ),
            );
        }
        Err(rejection) => {
            reject(&state, "malformed");
            return error(rejection.status(), rejection.body_text());
        }
    };
    let notification = match Notification::from_json(&body) {
        Ok(n) => n,
        Err(e) => {
            reject(&state, "malformed");
            tracing::warn!(error = %e, "refused a notification");
            return error(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    let status = notification.status.map_or("unknown", |s| s.as_str());
    state
        .metrics
        .notifications
        .get_or_create(&vec![("status", status)])
        .inc();
    for alert in &notification.alerts {
        state
            .metrics
            .alerts
            .get_or_create(&vec![("status", alert.status.as_str())])
            .inc();
    }
    if notification.truncated_alerts > 0 {
        tracing::warn!(truncated = notification.truncated_alerts, group = %notification.group_key, "Alertmanager left alerts out of this notification (max_alerts)");
    }
    // One set for the whole notification, even if a reload lands meanwhile.
    let policies = state.policies.current.load_full();
    let handled = state.executor.handle(&policies.set, &notification).await;
    if handled.retry_later {
        let body = json!({
            "error": "some scale calls failed for now; Alertmanager will send again",
            "decisions": handled.decisions,
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    } else {
        Json(json!({ "decisions": handled.decisions })).into_response()
    }
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let policies = state.policies.current.load();
    (
        StatusCode::OK,
        format!("Ready: {} policies\n", policies.set.len()),
    )
        .into_response()
}

async fn reload(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !state.auth.allows(&headers) {
        return unauthorized(&state);
    }
    let Some(reloader) = &state.reloader else {
        return error(StatusCode::NOT_FOUND, "reloading is not enabled");
    };
    match reloader.reload_async("api").await {
        Ok(count) => Json(json!({ "status": "success", "policies": count })).into_response(),
        Err(failure) => {
            let status = match failure {
                ReloadError::Invalid(_) => StatusCode::BAD_REQUEST,
                ReloadError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let body = json!({ "status": "error", "error": failure.to_string(), "diagnostics": failure.messages() });
            (status, Json(body)).into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct DecisionsQuery {
    limit: Option<usize>,
}

async fn decisions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<DecisionsQuery>,
) -> Response {
    if !state.auth.allows(&headers) {
        return unauthorized(&state);
    }
    let limit = query.limit.unwrap_or(100);
    Json(json!({ "decisions": state.executor.recent.newest(limit) })).into_response()
}

#[derive(Serialize)]
struct PolicyView<'a> {
    id: String,
    digest: &'a str,
    alert: &'a str,
    status: &'static str,
    paused: bool,
    actions: usize,
    source: &'a str,
}

async fn policies(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !state.auth.allows(&headers) {
        return unauthorized(&state);
    }
    let loaded = state.policies.current.load();
    let views: Vec<PolicyView> = loaded
        .set
        .policies()
        .iter()
        .map(|p| PolicyView {
            id: p.id.to_string(),
            digest: &p.digest,
            alert: &p.alert,
            status: p.status.as_str(),
            paused: p.paused,
            actions: p.actions.len(),
            source: &p.source,
        })
        .collect();
    let files: Vec<&str> = loaded.files.iter().map(|f| &*f.name).collect();
    Json(json!({ "files": files, "policies": views })).into_response()
}

async fn status(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !state.auth.allows(&headers) {
        return unauthorized(&state);
    }
    let loaded = state.policies.current.load();
    let warnings: Vec<String> = loaded
        .warnings
        .iter()
        .map(|d| d.render_human(false))
        .collect();
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "backend": state.executor.backend.name(),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "policies": loaded.set.len(),
        "policies_loaded_at": humantime::format_rfc3339_seconds(loaded.loaded_at).to_string(),
        "warnings": warnings,
        "last_reload": state.policies.last_reload.load().as_ref().as_ref(),
    }))
    .into_response()
}
