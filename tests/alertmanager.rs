//! The real Alertmanager (Debian's `prometheus-alertmanager`, which `.ci/run` installs) delivers
//! notifications to the real engine, re-sending the firing alert every `repeat_interval`:
//! transform is scaled once.

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::support::engine::{Engine, StateDir};
use crate::support::scdf::StandInScdf;

fn alertmanager_binary() -> PathBuf {
    for name in ["prometheus-alertmanager", "alertmanager"] {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let path = PathBuf::from(dir).join(name);
            if path.exists() {
                return path;
            }
        }
    }
    panic!(
        "Alertmanager is not installed: `apt-get install prometheus-alertmanager` (.ci/run does)"
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Alertmanager {
    child: Child,
    pub url: String,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager with one webhook receiver, grouped by stream, with short timings.
    pub fn start(webhook_url: &str, token: &str, repeat_interval: &str) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"route:
  receiver: alertscale
  group_by: [stream_name]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: {repeat_interval}
receivers:
  - name: alertscale
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"#
        );
        fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
        let port = free_port();
        let log = dir.path().join("alertmanager.log");
        let child = Command::new(alertmanager_binary())
            .arg(format!(
                "--config.file={}",
                dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("Alertmanager starts");
        let am = Alertmanager {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::blocking::get(format!("{}/-/ready", am.url))
            .map_or(true, |r| !r.status().is_success())
        {
            assert!(
                Instant::now() < deadline,
                "Alertmanager is not ready:\n{}",
                am.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        am
    }

    /// Posts alerts to `/api/v2/alerts`, as Prometheus does.
    pub fn push(&self, alerts: serde_json::Value) {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/api/v2/alerts", self.url))
            .json(&alerts)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().unwrap()
        );
    }

    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(
    what: &str,
    timeout: Duration,
    am: &Alertmanager,
    engine: &Engine,
    mut done: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- Alertmanager ---\n{}\n--- alertscale ---\n{}",
            am.log_tail(),
            engine.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn alertmanager_resends_but_transform_scales_once() {
    let scdf = StandInScdf::start();
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    fs::write(&token_file, "am-token\n").unwrap();
    let state = StateDir::new();
    let scdf_url = scdf.url();
    let engine = Engine::start(
        &state,
        &[
            "--scdf.url",
            &scdf_url,
            "--web.bearer-token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let am = Alertmanager::start(&engine.url("/alert"), "am-token", "2s");

    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let alert = json!([{
        "labels": {"alertname": "HighThroughputDifference", "stream_name": "scaletest"},
        "annotations": {"summary": "transform falls behind"},
        "startsAt": now,
        "generatorURL": "http://prometheus:9090/graph"
    }]);
    am.push(alert.clone());

    let firing = "alertscale_notifications_received_total{status=\"firing\"}";
    wait_for(
        "three deliveries (one and two re-sends)",
        Duration::from_secs(40),
        &am,
        &engine,
        || engine.metric(firing).unwrap_or(0.0) >= 3.0,
    );
    assert_eq!(scdf.state.count("scaletest", "transform"), Some(4));
    assert_eq!(
        scdf.state.scale_requests(),
        ["POST /streams/deployments/scale/scaletest/transform/instances/4"]
    );
    assert_eq!(
        engine.metric("alertscale_decisions_total{outcome=\"scaled\"}"),
        Some(1.0)
    );
    assert!(
        engine
            .metric("alertscale_suppressions_total{reason=\"dedupe\"}")
            .unwrap_or(0.0)
            >= 2.0
    );
    assert_eq!(
        engine.metric("alertscale_notifications_rejected_total{reason=\"unauthorized\"}"),
        None,
        "Alertmanager sent the token"
    );

    // Prometheus resolves the alert: Alertmanager sends it resolved; nothing scales.
    let mut resolved = alert.clone();
    resolved[0]["endsAt"] = json!(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    am.push(resolved);
    wait_for(
        "the resolved notification",
        Duration::from_secs(30),
        &am,
        &engine,
        || {
            engine
                .metric("alertscale_alerts_received_total{status=\"resolved\"}")
                .unwrap_or(0.0)
                >= 1.0
        },
    );
    assert_eq!(scdf.state.scale_requests().len(), 1);
}
