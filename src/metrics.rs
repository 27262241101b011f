//! The Prometheus metrics every part of the engine reports into, registered once at start and
//! served at `GET /metrics`. Written by the server, the executor and the reloader; read only by
//! the scrape.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

pub type Labels = Vec<(&'static str, &'static str)>;

fn latency_histogram() -> Histogram {
    // 5 ms .. ~10 s
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

pub struct Metrics {
    registry: Registry,
    /// Policies in effect.
    pub policies_loaded: Gauge,
    /// Valid notifications by `status` (firing, resolved).
    pub notifications: Family<Labels, Counter>,
    /// Refused notifications by `reason` (unauthorized, too_large, malformed).
    pub notifications_rejected: Family<Labels, Counter>,
    /// Alerts in valid notifications by `status`.
    pub alerts: Family<Labels, Counter>,
    /// Decisions by `outcome`.
    pub decisions: Family<Labels, Counter>,
    /// Decisions by `policy` (`file:line`) and `outcome`: which policy does what.
    pub policy_decisions: Family<Vec<(&'static str, String)>, Counter>,
    /// Suppressed decisions by `reason` (dedupe, cooldown, bounds, paused, guard).
    pub suppressions: Family<Labels, Counter>,
    /// SCDF requests by `operation` (read, scale) and `result` (success, transient, permanent).
    pub scdf_requests: Family<Labels, Counter>,
    /// SCDF request latency by `operation`.
    pub scdf_request_duration: Family<Labels, Histogram, fn() -> Histogram>,
    /// 1 if the last reload succeeded.
    pub config_last_reload_successful: Gauge,
    /// When the last successful reload happened (seconds since the epoch).
    pub config_last_reload_success_timestamp: Gauge<f64, AtomicU64>,
    /// Reloads by `result` (success, failure).
    pub config_reloads: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let build_info = Family::<Labels, Gauge>::default();
        build_info
            .get_or_create(&vec![("version", env!("CARGO_PKG_VERSION"))])
            .set(1);
        registry.register(
            "alertscale_build_info",
            "The running alertscale version",
            build_info,
        );
        let metrics = Metrics {
            policies_loaded: Gauge::default(),
            notifications: Family::default(),
            notifications_rejected: Family::default(),
            alerts: Family::default(),
            decisions: Family::default(),
            policy_decisions: Family::default(),
            suppressions: Family::default(),
            scdf_requests: Family::default(),
            scdf_request_duration: Family::new_with_constructor(latency_histogram),
            config_last_reload_successful: Gauge::default(),
            config_last_reload_success_timestamp: Gauge::default(),
            config_reloads: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "alertscale_policies_loaded",
            "Policies in effect",
            metrics.policies_loaded.clone(),
        );
        registry.register(
            "alertscale_notifications_received",
            "Valid Alertmanager notifications, by status",
            metrics.notifications.clone(),
        );
        registry.register(
            "alertscale_notifications_rejected",
            "Refused webhook requests, by reason",
            metrics.notifications_rejected.clone(),
        );
        registry.register(
            "alertscale_alerts_received",
            "Alerts in valid notifications, by status",
            metrics.alerts.clone(),
        );
        registry.register(
            "alertscale_decisions",
            "Decisions, by outcome",
            metrics.decisions.clone(),
        );
        registry.register(
            "alertscale_policy_decisions",
            "Decisions, by policy (file:line) and outcome",
            metrics.policy_decisions.clone(),
        );
        registry.register(
            "alertscale_suppressions",
            "Decisions that changed nothing, by reason",
            metrics.suppressions.clone(),
        );
        registry.register(
            "alertscale_scdf_requests",
            "SCDF API requests, by operation and result",
            metrics.scdf_requests.clone(),
        );
        registry.register(
            "alertscale_scdf_request_duration_seconds",
            "SCDF API request latency, by operation",
            metrics.scdf_request_duration.clone(),
        );
        registry.register(
            "alertscale_config_last_reload_successful",
            "Whether the last policy reload succeeded",
            metrics.config_last_reload_successful.clone(),
        );
        registry.register(
            "alertscale_config_last_reload_success_timestamp_seconds",
            "When the policies were last reloaded successfully",
            metrics.config_last_reload_success_timestamp.clone(),
        );
        registry.register(
            "alertscale_config_reloads",
            "Policy reloads, by result",
            metrics.config_reloads.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The exposition text (OpenMetrics, which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
