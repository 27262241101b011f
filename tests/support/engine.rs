//! The real `alertscale serve` as a child process on a free port, with a temporary state
//! directory, its log captured.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Engine {
    child: Child,
    pub addr: SocketAddr,
    pub scheme: &'static str,
    /// The log lines so far.
    pub log: Arc<Mutex<Vec<String>>>,
    pub http: reqwest::blocking::Client,
}

/// Keeps a temporary directory for state across engine restarts.
pub struct StateDir(pub tempfile::TempDir);

impl StateDir {
    pub fn new() -> StateDir {
        StateDir(tempfile::tempdir().unwrap())
    }

    pub fn path(&self) -> PathBuf {
        self.0.path().join("state.redb")
    }
}

impl Engine {
    /// `alertscale serve --policies policies --web.listen-address 127.0.0.1:0 ARGS...`, with its
    /// state in `state`.
    pub fn start(state: &StateDir, args: &[&str]) -> Engine {
        Self::start_with(state, args, reqwest::blocking::Client::new(), "http")
    }

    pub fn start_with(
        state: &StateDir,
        args: &[&str],
        http: reqwest::blocking::Client,
        scheme: &'static str,
    ) -> Engine {
        let mut command = Command::new(env!("CARGO_BIN_EXE_alertscale"));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "serve",
                "--web.listen-address",
                "127.0.0.1:0",
                "--log.level",
                "info",
            ])
            .arg("--state.path")
            .arg(state.path());
        if !args.contains(&"--policies") {
            command.args(["--policies", "policies"]);
        }
        command
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("alertscale starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("alertscale is listening") {
                    let _ = tx.send(line.clone());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "alertscale did not start:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        // logfmt: `address=127.0.0.1:PORT`; JSON: `"address":"127.0.0.1:PORT"`.
        let addr = line
            .split([' ', ','])
            .find_map(|field| {
                field
                    .strip_prefix("address=")
                    .or_else(|| field.strip_prefix("\"address\":"))
            })
            .expect("the start line names the address")
            .trim_matches('"')
            .parse()
            .unwrap();
        Engine {
            child,
            addr,
            scheme,
            log,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        let host = if self.scheme == "https" {
            format!("localhost:{}", self.addr.port())
        } else {
            self.addr.to_string()
        };
        format!("{}://{host}{path}", self.scheme)
    }

    /// Posts a notification; returns the status and the JSON answer.
    pub fn post(&self, notification: &Value) -> (u16, Value) {
        self.post_with(notification, None)
    }

    pub fn post_with(&self, notification: &Value, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(self.url("/alert")).json(notification);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().expect("the engine answers");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .expect("the engine answers");
        (response.status().as_u16(), response.text().unwrap())
    }

    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The value of one metric series in `/metrics`, e.g. `alertscale_decisions_total{outcome="scaled"}`.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|line| {
                line.strip_prefix(series)
                    .and_then(|rest| rest.strip_prefix(' '))
            })
            .map(|v| v.trim().parse().unwrap())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(self) -> ExitStatus {
        signal(self.pid(), "TERM");
        self.wait()
    }

    /// Waits for the process to exit.
    pub fn wait(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "alertscale did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An Alertmanager notification (payload version 4) with these alerts.
pub fn notification(alerts: Vec<Value>) -> Value {
    serde_json::json!({
        "receiver": "scdf", "status": "firing", "alerts": alerts,
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://am:9093", "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0
    })
}

/// A firing alert as Alertmanager sends it.
pub fn firing(name: &str, stream: &str, fingerprint: &str) -> Value {
    serde_json::json!({
        "status": "firing",
        "labels": {"alertname": name, "stream_name": stream},
        "annotations": {}, "startsAt": "2026-12-04T19:27:33Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "", "fingerprint": fingerprint
    })
}
