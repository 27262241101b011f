//! Alertmanager's webhook payload (version 4), read strictly where the engine depends on a
//! field and leniently elsewhere: unknown fields are ignored, a missing `fingerprint` is
//! computed the way Alertmanager computes it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::policy::AlertStatus;

/// One webhook message: every alert of one Alertmanager group.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Notification {
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub status: Option<AlertStatus>,
    pub alerts: Vec<Alert>,
    #[serde(default, rename = "groupLabels")]
    pub group_labels: HashMap<String, String>,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default, rename = "groupKey")]
    pub group_key: String,
    /// Alerts Alertmanager left out because of `max_alerts`.
    #[serde(default, rename = "truncatedAlerts")]
    pub truncated_alerts: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Alert {
    pub status: AlertStatus,
    pub labels: HashMap<String, String>,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    #[serde(default, rename = "startsAt")]
    pub starts_at: String,
    #[serde(default, rename = "endsAt")]
    pub ends_at: String,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

impl Alert {
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }

    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

#[derive(Debug, Error)]
pub enum PayloadError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("not an Alertmanager notification: {0}")]
    Shape(String),
    #[error("unsupported payload version `{0}`: alertscale reads Alertmanager's version \"4\"")]
    Version(String),
    #[error("nesting too deep: more than {MAX_DEPTH} levels of arrays and objects")]
    TooDeep,
}

/// Alertmanager's payload nests 4 levels; anything far deeper is refused before parsing.
pub const MAX_DEPTH: usize = 32;

/// Whether JSON text nests arrays and objects deeper than `max`, without parsing it.
fn nests_deeper_than(body: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

impl Notification {
    /// Reads a webhook body, saying exactly what is wrong with a bad one.
    pub fn from_json(body: &[u8]) -> Result<Notification, PayloadError> {
        if nests_deeper_than(body, MAX_DEPTH) {
            return Err(PayloadError::TooDeep);
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(body);
        let mut notification: Notification = serde_path_to_error::deserialize(deserializer)
            .map_err(|error| {
                let path = error.path().to_string();
                let inner = error.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    PayloadError::Json(inner.to_string())
                } else if path == "." {
                    PayloadError::Shape(strip_position(&inner.to_string()))
                } else {
                    PayloadError::Shape(format!("{path}: {}", strip_position(&inner.to_string())))
                }
            })?;
        if let Some(version) = &notification.version {
            if version != "4" {
                return Err(PayloadError::Version(version.clone()));
            }
        }
        for alert in &mut notification.alerts {
            if alert.fingerprint.is_empty() {
                alert.fingerprint = fingerprint(&alert.labels);
            }
        }
        Ok(notification)
    }
}

/// serde_json appends " at line 1 column 42"; the path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// Alertmanager's fingerprint of a label set: FNV-1a 64 over the sorted names and values, each
/// followed by the byte 0xff, printed as 16 hex digits.
pub fn fingerprint(labels: &HashMap<String, String>) -> String {
    const OFFSET: u64 = 14695981039346656037;
    const PRIME: u64 = 1099511628211;
    let mut names: Vec<&String> = labels.keys().collect();
    names.sort();
    let mut hash = OFFSET;
    let mut add = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for name in names {
        add(name.as_bytes());
        add(&[0xff]);
        add(labels[name].as_bytes());
        add(&[0xff]);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_payload() {
        let body = br#"{"receiver":"scdf","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighThroughputDifference","stream_name":"scaletest"},
  "annotations":{},"startsAt":"2026-12-04T19:27:33Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"8e5e3b8c76abfc3f"}],
 "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","version":"4","groupKey":"{}:{}","truncatedAlerts":0}"#;
        let n = Notification::from_json(body).unwrap();
        assert_eq!(n.alerts.len(), 1);
        assert_eq!(n.alerts[0].name(), "HighThroughputDifference");
        assert_eq!(n.alerts[0].fingerprint, "8e5e3b8c76abfc3f");
    }

    #[test]
    fn errors_name_the_field() {
        let error = Notification::from_json(br#"{"alerts":[{"status":"burning","labels":{}}]}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("alerts[0].status"), "{error}");
        let error = Notification::from_json(br#"{"receiver":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing field `alerts`"), "{error}");
        let error = Notification::from_json(b"{").unwrap_err();
        assert!(matches!(error, PayloadError::Json(_)));
        let error = Notification::from_json(br#"{"alerts":[],"version":"3"}"#).unwrap_err();
        assert!(matches!(error, PayloadError::Version(_)));
    }

    #[test]
    fn refuses_deep_nesting_but_not_brackets_in_strings() {
        let deep = format!(
            "{{\"alerts\": [], \"x\": {}{}}}",
            "[".repeat(40),
            "]".repeat(40)
        );
        assert!(matches!(
            Notification::from_json(deep.as_bytes()),
            Err(PayloadError::TooDeep)
        ));
        let in_string = format!("{{\"alerts\": [], \"x\": \"{}\\\"\"}}", "[".repeat(40));
        assert!(Notification::from_json(in_string.as_bytes()).is_ok());
    }

    #[test]
    fn fingerprint_matches_alertmanager() {
        // Prometheus' model.LabelSet{}.Fingerprint() is the FNV-1a 64 offset basis.
        assert_eq!(fingerprint(&HashMap::new()), "cbf29ce484222325");
        let a = HashMap::from([
            ("a".to_string(), "b".to_string()),
            ("c".to_string(), "d".to_string()),
        ]);
        let b = HashMap::from([
            ("c".to_string(), "d".to_string()),
            ("a".to_string(), "b".to_string()),
        ]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = HashMap::from([
            ("a".to_string(), "bc".to_string()),
            ("c".to_string(), "d".to_string()),
        ]);
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
