//! The SCDF backend: `GET /runtime/streams/{stream}` for the current count and
//! `POST /streams/deployments/scale/{stream}/{app}/instances/{n}` to scale, with the status
//! codes and JSON shapes of SCDF 2.x (see `shared/reference/recipe-and-apis.md`).
//!
//! Only these two paths are ever called, with names that `scdf::names` accepted.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::credentials::Credentials;
use super::names;
use crate::engine::backend::{BackendError, ScaleBackend};
use crate::engine::ScaleTarget;

pub struct ScdfClient {
    base: Url,
    http: reqwest::Client,
    credentials: Credentials,
    /// The timeout of each request.
    timeout: Duration,
}

impl ScdfClient {
    pub fn new(base: Url, credentials: Credentials, timeout: Duration) -> Result<Self, String> {
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(format!("`{base}` is not an http(s) URL"));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("alertscale/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ScdfClient {
            base,
            http,
            credentials,
            timeout,
        })
    }

    /// `base` + path segments; every segment is a checked name or a number.
    fn url(&self, segments: &[&str]) -> Result<Url, BackendError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| BackendError::permanent("the SCDF URL cannot take a path"))?;
            path.pop_if_empty();
            for segment in segments {
                path.push(segment);
            }
        }
        Ok(url)
    }

    async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, BackendError> {
        Ok(match &self.credentials {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
            Credentials::OAuth2(oauth) => {
                let token = oauth
                    .token(&self.http, self.timeout)
                    .await
                    .map_err(BackendError::transient)?;
                request.bearer_auth(token)
            }
        })
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<reqwest::Response, BackendError> {
        let request = self.authorize(request).await?;
        let response = request.send().await.map_err(|e| {
            let cause = if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "cannot connect".to_string()
            } else {
                e.to_string()
            };
            BackendError::transient(format!("{what}: {cause}"))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::UNAUTHORIZED {
            if let Credentials::OAuth2(oauth) = &self.credentials {
                oauth.invalidate().await;
            }
        }
        let body = response.text().await.unwrap_or_default();
        Err(classify(status, &body, what))
    }
}

/// Sorts an SCDF error answer into transient and permanent.
fn classify(status: StatusCode, body: &str, what: &str) -> BackendError {
    let logref = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        v.pointer("/_embedded/errors/0").map(|e| {
            let logref = e.get("logref").and_then(Value::as_str).unwrap_or("");
            let message = e.get("message").and_then(Value::as_str).unwrap_or("");
            (logref.to_string(), message.to_string())
        })
    });
    match (status, logref) {
        (StatusCode::INTERNAL_SERVER_ERROR, Some((logref, message)))
            if logref == "ReleaseNotFoundException" =>
        {
            BackendError::permanent(format!(
                "{what}: SCDF knows no such stream ({logref}: {message})"
            ))
        }
        (s, _) if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
            BackendError::transient(format!("{what}: SCDF answered {s}"))
        }
        (s, Some((logref, message))) => {
            BackendError::permanent(format!("{what}: SCDF answered {s} ({logref}: {message})"))
        }
        (s, None) => BackendError::permanent(format!("{what}: SCDF answered {s}")),
    }
}

fn check_names(target: &ScaleTarget) -> Result<(), BackendError> {
    for name in [&target.stream, &target.app] {
        if let Some(problem) = names::problem(name) {
            return Err(BackendError::permanent(format!(
                "invalid name {name:?}: {problem}"
            )));
        }
    }
    Ok(())
}

/// The entry called `name` in a list of SCDF status resources at `pointer` under `parent`.
fn named<'v>(parent: &'v Value, pointer: &str, name: &str) -> Option<&'v Value> {
    parent
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|entry| entry.get("name").and_then(Value::as_str) == Some(name))
}

/// The instance count of `app` in a `/runtime/streams` answer, or why there is none.
pub fn count_instances(body: &Value, stream: &str, app: &str) -> Result<u32, BackendError> {
    let stream_status = named(body, "/_embedded/streamStatusResourceList", stream)
        .ok_or_else(|| BackendError::permanent(format!("stream `{stream}` is not deployed")))?;
    let app_status = named(
        stream_status,
        "/applications/_embedded/appStatusResourceList",
        app,
    )
    .ok_or_else(|| BackendError::permanent(format!("stream `{stream}` has no app `{app}`")))?;
    let instances = app_status
        .pointer("/instances/_embedded/appInstanceStatusResourceList")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    Ok(instances as u32)
}

#[async_trait]
impl ScaleBackend for ScdfClient {
    fn name(&self) -> &'static str {
        "scdf"
    }

    async fn instances(&self, target: &ScaleTarget) -> Result<u32, BackendError> {
        check_names(target)?;
        let what = format!("reading `{}`", target.stream);
        let url = self.url(&["runtime", "streams", &target.stream])?;
        let response = self.send(self.http.get(url), &what).await?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| BackendError::transient(format!("{what}: unreadable answer: {e}")))?;
        count_instances(&body, &target.stream, &target.app)
    }

    async fn scale(&self, target: &ScaleTarget, count: u32) -> Result<(), BackendError> {
        check_names(target)?;
        let what = format!("scaling `{target}` to {count}");
        let count = count.to_string();
        let url = self.url(&[
            "streams",
            "deployments",
            "scale",
            &target.stream,
            &target.app,
            "instances",
            &count,
        ])?;
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("{}");
        self.send(request, &what).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::backend::FailureKind;

    #[test]
    fn counts_instances_in_the_runtime_shape() {
        let body: Value = serde_json::from_str(r#"{"_embedded":{"streamStatusResourceList":[{"name":"scaletest","version":"1",
          "applications":{"_embedded":{"appStatusResourceList":[
            {"name":"transform","deploymentId":"scaletest-transform-v1","state":"deployed",
             "instances":{"_embedded":{"appInstanceStatusResourceList":[
                {"instanceId":"scaletest-transform-v1-0","state":"deployed","guid":"1","attributes":{}},
                {"instanceId":"scaletest-transform-v1-1","state":"deployed","guid":"2","attributes":{}}]}}},
            {"name":"log","deploymentId":"scaletest-log-v1","state":"deploying","instances":{}}]}}}]},
         "page":{"size":20,"totalElements":1,"totalPages":1,"number":0}}"#).unwrap();
        assert_eq!(count_instances(&body, "scaletest", "transform").unwrap(), 2);
        assert_eq!(count_instances(&body, "scaletest", "log").unwrap(), 0);
        assert_eq!(
            count_instances(&body, "scaletest", "time")
                .unwrap_err()
                .kind,
            FailureKind::Permanent
        );
        let empty: Value = serde_json::from_str(
            r#"{"page":{"size":20,"totalElements":0,"totalPages":0,"number":0}}"#,
        )
        .unwrap();
        assert_eq!(
            count_instances(&empty, "scaletest", "transform")
                .unwrap_err()
                .message,
            "stream `scaletest` is not deployed"
        );
    }

    #[test]
    fn classifies_scdf_errors() {
        let not_found = r#"{"_embedded":{"errors":[{"logref":"ReleaseNotFoundException","message":"Release with the name [x] doesn't exist"}]}}"#;
        assert_eq!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, not_found, "w").kind,
            FailureKind::Permanent
        );
        assert_eq!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, "oops", "w").kind,
            FailureKind::Transient
        );
        assert_eq!(
            classify(StatusCode::BAD_GATEWAY, "", "w").kind,
            FailureKind::Transient
        );
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, "", "w").kind,
            FailureKind::Transient
        );
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, "", "w").kind,
            FailureKind::Permanent
        );
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, "", "w").kind,
            FailureKind::Permanent
        );
    }

    #[test]
    fn urls_keep_the_base_path() {
        let client = ScdfClient::new(
            "http://scdf:9393/api/".parse().unwrap(),
            Credentials::None,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            client
                .url(&["runtime", "streams", "scaletest"])
                .unwrap()
                .as_str(),
            "http://scdf:9393/api/runtime/streams/scaletest"
        );
    }
}
