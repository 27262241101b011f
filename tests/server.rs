//! `alertscale serve` as Alertmanager and SCDF see it: the real binary on a free port, a
//! stand-in SCDF that answers like the real one, and every rule of the engine issue.

use std::fs;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::engine::{firing, notification, signal, Engine, StateDir};
use crate::support::scdf::{Auth, StandInScdf};

fn with_scdf(scdf: &StandInScdf, state: &StateDir, extra: &[&str]) -> Engine {
    let url = scdf.url();
    let mut args = vec!["--scdf.url", url.as_str()];
    if !extra.contains(&"--scdf.timeout") {
        args.extend(["--scdf.timeout", "500ms"]);
    }
    args.extend_from_slice(extra);
    Engine::start(state, &args)
}

fn policies_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("test.policy"), text).unwrap();
    dir
}

fn high() -> Value {
    notification(vec![firing(
        "HighThroughputDifference",
        "scaletest",
        "8e5e3b8c76abfc3f",
    )])
}

fn decision(answer: &Value, index: usize) -> &Value {
    &answer["decisions"][index]
}

#[test]
fn dry_run_by_default_decides_once_per_alert() {
    let state = StateDir::new();
    let engine = Engine::start(&state, &[]);
    let (status, answer) = engine.post(&high());
    assert_eq!(status, 200, "{answer}");
    let d = decision(&answer, 0);
    assert_eq!(
        (d["outcome"].as_str(), d["from"].as_u64(), d["to"].as_u64()),
        (Some("dry_run"), Some(1), Some(4))
    );
    assert_eq!(d["policy"], "policies/scaletest.policy:5");
    // Alertmanager re-sends the group: nothing again.
    let (_, answer) = engine.post(&high());
    assert_eq!(decision(&answer, 0)["suppressed_by"], "dedupe");
    // The simulated count is coherent: scale-in starts from 4.
    let (_, answer) = engine.post(&notification(vec![firing(
        "ZeroThroughputDifference",
        "scaletest",
        "77aa01c3d4e5f601",
    )]));
    let d = decision(&answer, 0);
    assert_eq!((d["from"].as_u64(), d["to"].as_u64()), (Some(4), Some(1)));
    assert!(engine.log_text().contains("backend=dry-run"));
}

#[test]
fn scales_once_although_alertmanager_resends() {
    let scdf = StandInScdf::start();
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &[]);
    for _ in 0..3 {
        let (status, _) = engine.post(&high());
        assert_eq!(status, 200);
    }
    assert_eq!(scdf.state.count("scaletest", "transform"), Some(4));
    assert_eq!(
        scdf.state.scale_requests(),
        ["POST /streams/deployments/scale/scaletest/transform/instances/4"]
    );
    let recent = engine.get_json("/api/v1/decisions");
    let outcomes: Vec<_> = recent["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["suppressed", "suppressed", "scaled"],
        "newest first"
    );
    assert!(recent["decisions"][0]["time"]
        .as_str()
        .unwrap()
        .starts_with("20"));
}

#[test]
fn counts_stay_within_bounds_and_no_call_is_made_at_the_bound() {
    let scdf = StandInScdf::start();
    scdf.state.set("scaletest", "transform", 7);
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &[]);
    let (_, answer) = engine.post(&high());
    let d = decision(&answer, 0);
    assert_eq!(
        (d["from"].as_u64(), d["to"].as_u64()),
        (Some(7), Some(8)),
        "clamped to max 8"
    );
    let (_, answer) = engine.post(&notification(vec![firing(
        "HighThroughputDifference",
        "scaletest",
        "new-occurrence",
    )]));
    // The cooldown (2m) holds first; a policy without one reaches the bound.
    assert_eq!(decision(&answer, 0)["suppressed_by"], "cooldown");

    let dir = policies_dir("when alert Busy on stream $s scale transform +3 max 8\n");
    let engine = with_scdf(
        &scdf,
        &StateDir::new(),
        &["--policies", dir.path().to_str().unwrap()],
    );
    let (_, answer) = engine.post(&notification(vec![firing("Busy", "scaletest", "b1")]));
    let d = decision(&answer, 0);
    assert_eq!(d["suppressed_by"], "bounds");
    assert_eq!(d["reason"], "already at max 8");
    assert_eq!(scdf.state.scale_requests().len(), 1, "no call at the bound");
    // And the server cap bounds every policy.
    let engine = with_scdf(
        &scdf,
        &StateDir::new(),
        &[
            "--policies",
            dir.path().to_str().unwrap(),
            "--scale.max-instances",
            "5",
        ],
    );
    scdf.state.set("scaletest", "transform", 4);
    let (_, answer) = engine.post(&notification(vec![firing("Busy", "scaletest", "b2")]));
    assert_eq!(decision(&answer, 0)["to"], 5);
}

#[test]
fn cooldown_holds_the_same_policy_on_the_same_target() {
    let scdf = StandInScdf::start();
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &[]);
    engine.post(&high());
    let (_, answer) = engine.post(&notification(vec![firing(
        "HighThroughputDifference",
        "scaletest",
        "second",
    )]));
    let d = decision(&answer, 0);
    assert_eq!(d["suppressed_by"], "cooldown");
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .starts_with("in cooldown: last scaled"),
        "{d}"
    );
    assert_eq!(scdf.state.count("scaletest", "transform"), Some(4));
}

#[test]
fn concurrent_alerts_on_one_target_lose_no_update() {
    let scdf = StandInScdf::start();
    *scdf.state.delay.lock().unwrap() = Duration::from_millis(150);
    let dir = policies_dir("when alert A on stream $s scale transform +3 max 10\nwhen alert B on stream $s scale transform +3 max 10\n");
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &["--policies", dir.path().to_str().unwrap()]);
    std::thread::scope(|s| {
        let a = s.spawn(|| engine.post(&notification(vec![firing("A", "scaletest", "a")])));
        let b = s.spawn(|| engine.post(&notification(vec![firing("B", "scaletest", "b")])));
        assert_eq!(a.join().unwrap().0, 200);
        assert_eq!(b.join().unwrap().0, 200);
    });
    assert_eq!(scdf.state.count("scaletest", "transform"), Some(7));
}

#[test]
fn different_targets_proceed_in_parallel() {
    let scdf = StandInScdf::start();
    scdf.state.set("orders", "transform", 1);
    *scdf.state.delay.lock().unwrap() = Duration::from_millis(400);
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &["--scdf.timeout", "2s"]);
    let started = Instant::now();
    let (status, answer) = engine.post(&notification(vec![
        firing("HighThroughputDifference", "scaletest", "a"),
        firing("HighThroughputDifference", "orders", "b"),
    ]));
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{answer}");
    // Each target needs a read and a scale (2 x 400 ms): 1.6 s one after the other.
    assert!(elapsed < Duration::from_millis(1400), "took {elapsed:?}");
    assert_eq!(scdf.state.count("orders", "transform"), Some(4));
}

#[test]
fn an_outage_is_answered_503_and_the_resend_applies_the_same_count() {
    let mut scdf = StandInScdf::start();
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &[]);
    scdf.down();
    let started = Instant::now();
    let (status, answer) = engine.post(&high());
    assert_eq!(status, 503, "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "retries end within Alertmanager's deadline"
    );
    assert_eq!(decision(&answer, 0)["outcome"], "retry");
    scdf.up();
    let (status, answer) = engine.post(&high());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(decision(&answer, 0)["outcome"], "scaled");
    assert_eq!(scdf.state.count("scaletest", "transform"), Some(4));

    // 5xx and 429 are transient too.
    for code in [502, 429] {
        *scdf.state.fail_with.lock().unwrap() = Some(code);
        let alert = notification(vec![firing(
            "ZeroThroughputDifference",
            "scaletest",
            &format!("z{code}"),
        )]);
        assert_eq!(engine.post(&alert).0, 503);
        *scdf.state.fail_with.lock().unwrap() = None;
        assert_eq!(engine.post(&alert).0, 200);
        scdf.state.set("scaletest", "transform", 4);
    }
}

#[test]
fn a_lost_answer_is_retried_with_the_same_absolute_count() {
    let scdf = StandInScdf::start();
    // The first scale call applies but its answer never comes (the engine's timeout is 500 ms).
    *scdf.state.lose_answers.lock().unwrap() = (1, Duration::from_secs(3));
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &[]);
    let (status, answer) = engine.post(&high());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(scdf.state.count("scaletest", "transform"), Some(4), "not 7");
    assert_eq!(
        scdf.state.scale_requests(),
        ["POST /streams/deployments/scale/scaletest/transform/instances/4"; 2]
    );
}

#[test]
fn a_resend_after_lost_answers_applies_the_pending_count_not_a_new_one() {
    let scdf = StandInScdf::start();
    *scdf.state.lose_answers.lock().unwrap() = (100, Duration::from_secs(3));
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &["--scdf.attempts", "2"]);
    let (status, _) = engine.post(&high());
    assert_eq!(status, 503);
    assert_eq!(
        scdf.state.count("scaletest", "transform"),
        Some(4),
        "the call applied"
    );
    *scdf.state.lose_answers.lock().unwrap() = (0, Duration::ZERO);
    let (status, answer) = engine.post(&high());
    assert_eq!(status, 200);
    let d = decision(&answer, 0);
    assert_eq!(
        (d["from"].as_u64(), d["to"].as_u64(), d["outcome"].as_str()),
        (Some(1), Some(4), Some("scaled"))
    );
    assert_eq!(
        scdf.state.count("scaletest", "transform"),
        Some(4),
        "a relative action did not double"
    );
}

#[test]
fn permanent_failures_are_recorded_and_answered_200() {
    let scdf = StandInScdf::start();
    scdf.state.set("undeployed", "transform", 1);
    scdf.state
        .missing_release
        .lock()
        .unwrap()
        .insert("undeployed".into());
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &[]);
    let (status, answer) = engine.post(&notification(vec![
        firing("HighThroughputDifference", "ghost", "g"),
        firing("HighThroughputDifference", "undeployed", "u"),
    ]));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(decision(&answer, 0)["outcome"], "failed");
    assert_eq!(
        decision(&answer, 0)["error"],
        "stream `ghost` is not deployed"
    );
    assert_eq!(decision(&answer, 1)["outcome"], "failed");
    assert!(decision(&answer, 1)["error"]
        .as_str()
        .unwrap()
        .contains("ReleaseNotFoundException"));
    // SCDF refusing our credentials is permanent too.
    *scdf.state.auth.lock().unwrap() = Auth::Bearer("right".into());
    let (status, answer) = engine.post(&high());
    assert_eq!(status, 200);
    assert!(
        decision(&answer, 0)["error"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{answer}"
    );
}

#[test]
fn a_restart_keeps_dedupe_records() {
    let scdf = StandInScdf::start();
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &[]);
    assert_eq!(engine.post(&high()).0, 200);
    assert!(engine.terminate().success());
    let engine = with_scdf(&scdf, &state, &[]);
    let (_, answer) = engine.post(&high());
    assert_eq!(decision(&answer, 0)["suppressed_by"], "dedupe");
    assert_eq!(scdf.state.scale_requests().len(), 1);
}

#[test]
fn a_pending_count_survives_a_restart() {
    let mut scdf = StandInScdf::start();
    let state = StateDir::new();
    *scdf.state.lose_answers.lock().unwrap() = (100, Duration::from_secs(3));
    let engine = with_scdf(&scdf, &state, &["--scdf.attempts", "1"]);
    assert_eq!(engine.post(&high()).0, 503);
    drop(engine); // killed, not stopped
    scdf.down();
    scdf.state.set("scaletest", "transform", 4);
    *scdf.state.lose_answers.lock().unwrap() = (0, Duration::ZERO);
    scdf.up();
    let engine = with_scdf(&scdf, &state, &[]);
    let (_, answer) = engine.post(&high());
    let d = decision(&answer, 0);
    assert_eq!(
        (d["from"].as_u64(), d["to"].as_u64(), d["outcome"].as_str()),
        (Some(1), Some(4), Some("scaled"))
    );
    assert_eq!(scdf.state.count("scaletest", "transform"), Some(4));
}

#[test]
fn hostile_label_values_never_reach_scdf() {
    let scdf = StandInScdf::start();
    let dir = policies_dir("when alert A on stream $s app $a scale $a +1 max 3\n");
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &["--policies", dir.path().to_str().unwrap()]);
    let hostile = [
        "../../admin",
        "a/b",
        "x?y=1",
        "%2e%2e",
        "",
        "a b",
        "..",
        "transform#x",
        "é",
    ];
    let mut alerts = Vec::new();
    for (i, value) in hostile.iter().enumerate() {
        let mut alert = firing("A", "scaletest", &format!("app{i}"));
        alert["labels"]["application_name"] = json!(value);
        alerts.push(alert);
        let mut alert = firing("A", value, &format!("stream{i}"));
        alert["labels"]["application_name"] = json!("transform");
        alerts.push(alert);
    }
    let (status, answer) = engine.post(&notification(alerts));
    assert_eq!(status, 200);
    let decisions = answer["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), hostile.len() * 2);
    assert!(
        decisions.iter().all(|d| d["outcome"] == "rejected"),
        "{answer}"
    );
    assert_eq!(scdf.state.requests(), Vec::<String>::new());
}

#[test]
fn bad_input_gets_a_4xx_with_a_message_and_the_engine_keeps_running() {
    let state = StateDir::new();
    let engine = Engine::start(&state, &["--web.max-body-bytes", "2000"]);
    let post_raw = |body: String| {
        let response = engine
            .http
            .post(engine.url("/alert"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap())
    };
    let (status, body) = post_raw(format!(
        "{{\"alerts\": [], \"pad\": \"{}\"}}",
        "x".repeat(5000)
    ));
    assert_eq!(status, 413);
    assert!(body["error"].as_str().unwrap().contains("2000 bytes"));
    let (status, body) = post_raw("{\"alerts\": [".into());
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().starts_with("invalid JSON"),
        "{body}"
    );
    let (status, body) = post_raw("{\"alerts\": \"none\"}".into());
    assert_eq!(status, 400);
    assert_eq!(body["error"], "not an Alertmanager notification: alerts: invalid type: string \"none\", expected a sequence");
    let (status, body) = post_raw("{\"receiver\": \"x\"}".into());
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("missing field `alerts`"));
    let (status, body) = post_raw(format!(
        "{{\"alerts\": [], \"deep\": {}{}}}",
        "[".repeat(300),
        "]".repeat(300)
    ));
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("nesting too deep"),
        "{body}"
    );
    let (status, body) = post_raw("{\"alerts\": [], \"version\": \"3\"}".into());
    assert_eq!(status, 400, "{body}");
    // Unknown fields are ignored, and the engine still works.
    let (status, _) = post_raw("{\"alerts\": [], \"somethingNew\": {\"a\": 1}}".into());
    assert_eq!(status, 200);
    assert_eq!(engine.post(&high()).0, 200);
    assert_eq!(
        engine.metric("alertscale_notifications_rejected_total{reason=\"malformed\"}"),
        Some(5.0)
    );
    assert_eq!(
        engine.metric("alertscale_notifications_rejected_total{reason=\"too_large\"}"),
        Some(1.0)
    );
}

#[test]
fn webhook_auth_bearer_and_basic() {
    let secrets = tempfile::tempdir().unwrap();
    let token = secrets.path().join("token");
    fs::write(&token, "s3cret-token\n").unwrap();
    let basic = secrets.path().join("basic");
    fs::write(&basic, "alertmanager:pa:ss\n").unwrap();
    let state = StateDir::new();
    let engine = Engine::start(
        &state,
        &[
            "--web.bearer-token-file",
            token.to_str().unwrap(),
            "--web.basic-auth-file",
            basic.to_str().unwrap(),
        ],
    );
    let (status, body) = engine.post(&high());
    assert_eq!(status, 401);
    assert_eq!(body["error"], "missing or wrong credentials");
    assert_eq!(engine.post_with(&high(), Some("wrong")).0, 401);
    assert_eq!(engine.post_with(&high(), Some("s3cret-token")).0, 200);
    let response = engine
        .http
        .post(engine.url("/alert"))
        .basic_auth("alertmanager", Some("pa:ss"))
        .json(&high())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(engine.get("/api/v1/decisions").0, 401);
    // Probes and metrics stay open.
    assert_eq!(engine.get("/-/healthy").0, 200);
    assert_eq!(engine.get("/-/ready").0, 200);
    assert_eq!(engine.get("/metrics").0, 200);
}

#[test]
fn scdf_credentials_bearer_basic_and_oauth2() {
    let secrets = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = secrets.path().join(name);
        fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let scdf = StandInScdf::start();
    *scdf.state.auth.lock().unwrap() = Auth::Bearer("scdf-token".into());
    let token = write("token", "scdf-token\n");
    let engine = with_scdf(
        &scdf,
        &StateDir::new(),
        &["--scdf.bearer-token-file", &token],
    );
    assert_eq!(decision(&engine.post(&high()).1, 0)["outcome"], "scaled");

    *scdf.state.auth.lock().unwrap() = Auth::Basic("admin".into(), "pw".into());
    let basic = write("basic", "admin:pw");
    let engine = with_scdf(&scdf, &StateDir::new(), &["--scdf.basic-auth-file", &basic]);
    let (_, answer) = engine.post(&notification(vec![firing(
        "ZeroThroughputDifference",
        "scaletest",
        "z",
    )]));
    assert_eq!(decision(&answer, 0)["outcome"], "scaled");

    *scdf.state.auth.lock().unwrap() = Auth::Bearer("nobody-has-this".into());
    *scdf.state.oauth_client.lock().unwrap() = Some(("alertscale".into(), "client-secret".into()));
    let secret = write("secret", "client-secret\n");
    let token_url = format!("{}/oauth/token", scdf.url());
    let engine = with_scdf(
        &scdf,
        &StateDir::new(),
        &[
            "--scdf.oauth2.token-url",
            &token_url,
            "--scdf.oauth2.client-id",
            "alertscale",
            "--scdf.oauth2.client-secret-file",
            &secret,
            "--scdf.oauth2.scope",
            "dataflow.modify",
        ],
    );
    assert_eq!(decision(&engine.post(&high()).1, 0)["outcome"], "scaled");
    let (_, answer) = engine.post(&notification(vec![firing(
        "ZeroThroughputDifference",
        "scaletest",
        "z2",
    )]));
    assert_eq!(decision(&answer, 0)["outcome"], "scaled");
    assert_eq!(
        scdf.state
            .tokens_issued
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the token is cached"
    );
}

#[test]
fn serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = cert.cert.pem();
    fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let state = StateDir::new();
    let engine = Engine::start_with(
        &state,
        &[
            "--web.tls-cert-file",
            dir.path().join("cert.pem").to_str().unwrap(),
            "--web.tls-key-file",
            dir.path().join("key.pem").to_str().unwrap(),
        ],
        client,
        "https",
    );
    assert_eq!(engine.post(&high()).0, 200);
    assert!(engine.log_text().contains("tls=true"));
}

#[test]
fn sigterm_lets_the_notification_in_flight_finish() {
    let scdf = StandInScdf::start();
    *scdf.state.delay.lock().unwrap() = Duration::from_millis(700);
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &["--scdf.timeout", "3s"]);
    let pid = engine.pid();
    let status = std::thread::scope(|s| {
        let request = s.spawn(|| engine.post(&high()));
        std::thread::sleep(Duration::from_millis(300));
        signal(pid, "TERM");
        request.join().unwrap().0
    });
    assert_eq!(status, 200);
    assert_eq!(scdf.state.count("scaletest", "transform"), Some(4));
    assert!(engine.wait().success());
}

#[test]
fn metrics_and_api_describe_what_happened() {
    let scdf = StandInScdf::start();
    let state = StateDir::new();
    let engine = with_scdf(&scdf, &state, &[]);
    engine.post(&high());
    engine.post(&high());
    assert_eq!(
        engine.metric("alertscale_build_info{version=\"0.1.0\"}"),
        Some(1.0)
    );
    assert_eq!(engine.metric("alertscale_policies_loaded"), Some(2.0));
    assert_eq!(
        engine.metric("alertscale_notifications_received_total{status=\"firing\"}"),
        Some(2.0)
    );
    assert_eq!(
        engine.metric("alertscale_alerts_received_total{status=\"firing\"}"),
        Some(2.0)
    );
    assert_eq!(
        engine.metric("alertscale_decisions_total{outcome=\"scaled\"}"),
        Some(1.0)
    );
    assert_eq!(
        engine.metric("alertscale_suppressions_total{reason=\"dedupe\"}"),
        Some(1.0)
    );
    assert_eq!(
        engine.metric("alertscale_policy_decisions_total{policy=\"policies/scaletest.policy:5\",outcome=\"scaled\"}"),
        Some(1.0)
    );
    assert_eq!(
        engine.metric("alertscale_scdf_requests_total{operation=\"scale\",result=\"success\"}"),
        Some(1.0)
    );
    assert_eq!(
        engine.metric("alertscale_scdf_requests_total{operation=\"read\",result=\"success\"}"),
        Some(1.0)
    );
    assert_eq!(
        engine.metric("alertscale_scdf_request_duration_seconds_count{operation=\"scale\"}"),
        Some(1.0)
    );
    let policies = engine.get_json("/api/v1/policies");
    assert_eq!(policies["policies"][0]["id"], "policies/scaletest.policy:5");
    assert!(policies["policies"][0]["source"]
        .as_str()
        .unwrap()
        .starts_with("when alert HighThroughputDifference"));
    let status = engine.get_json("/api/v1/status");
    assert_eq!(status["backend"], "scdf");
    // One log line per decision, saying what and why.
    let log = engine.log_text();
    let lines: Vec<_> = log
        .lines()
        .filter(|l| l.contains("message=decision"))
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("outcome=scaled")
            && lines[0].contains("from=1")
            && lines[0].contains("to=4"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("reason=\"already acted on this alert\""),
        "{}",
        lines[1]
    );
}

#[test]
fn json_logs() {
    let state = StateDir::new();
    let engine = Engine::start(&state, &["--log.format", "json"]);
    engine.post(&high());
    let log = engine.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("\"decision\""))
        .expect("a decision line");
    let parsed: Value = serde_json::from_str(line).unwrap();
    assert_eq!(parsed["fields"]["outcome"], "dry_run");
}

#[test]
fn invalid_policies_stop_the_engine_at_start() {
    let dir = policies_dir("when alert X on stream $s scale t +0\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alertscale"))
        .args([
            "serve",
            "--web.listen-address",
            "127.0.0.1:0",
            "--policies",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[E006]"));
}
