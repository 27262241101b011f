//! The recipe end to end, on one machine: a stand-in SCDF playing the stream `time | transform |
//! log`, the real Prometheus scraping it and evaluating the recipe's rules, the real
//! Alertmanager, and alertscale. Step by step:
//!
//! 1. at 1 msg/s nothing scales;
//! 2. at 5000 msg/s `HighThroughputDifference` fires and transform goes 1 -> 4 exactly once,
//!    although Alertmanager keeps re-sending;
//! 3. transform catches up, the alert resolves, and transform stays at 4 while the load lasts
//!    (the scale-in rule fires too, but `unless alert StreamUnderLoad` holds it);
//! 4. back at 1 msg/s, transform returns to 1.
//!
//! And the recipe's flaw: with the sample webhook's behaviour (absolute counts, no guard) the
//! same load makes transform flap between 1 and 4.
//!
//! The guarded run is recorded and drawn (`target/recipe-run.svg`; with
//! `ALERTSCALE_WRITE_DOCS=1`, also `docs/recipe-run.svg`).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::alertmanager::{free_port, Alertmanager};
use crate::support::engine::{Engine, StateDir};
use crate::support::root;
use crate::support::scdf::StandInScdf;

struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str, alertmanager: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        fs::copy(
            root().join("tests/fixtures/recipe/rules.yml"),
            dir.path().join("rules.yml"),
        )
        .unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alertmanager}']\n\
             scrape_configs:\n  - job_name: scaletest\n    static_configs:\n      - targets: ['{target}']\n"
        );
        fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let log = dir.path().join("prometheus.log");
        let child = Command::new("prometheus")
            .current_dir(dir.path())
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--rules.alert.resend-delay=1s")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("Prometheus is installed (Debian package `prometheus`; .ci/run installs it)");
        let prometheus = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::blocking::get(format!("{}/-/ready", prometheus.url))
            .map_or(true, |r| !r.status().is_success())
        {
            assert!(
                Instant::now() < deadline,
                "Prometheus is not ready:\n{}",
                prometheus.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prometheus
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn query_range(&self, query: &str, start: f64, end: f64) -> Vec<(f64, f64)> {
        let response: Value = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/query_range", self.url))
            .query(&[
                ("query", query),
                ("start", &start.to_string()),
                ("end", &end.to_string()),
                ("step", "1"),
            ])
            .send()
            .unwrap()
            .json()
            .unwrap();
        response["data"]["result"][0]["values"]
            .as_array()
            .map(|values| {
                values
                    .iter()
                    .map(|v| {
                        (
                            v[0].as_f64().unwrap(),
                            v[1].as_str().unwrap().parse().unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything of one run, so that a failing step can say which and show the logs.
struct Run {
    scdf: StandInScdf,
    engine: Engine,
    alertmanager: Alertmanager,
    prometheus: Prometheus,
    started: Instant,
    _state: StateDir,
}

impl Run {
    fn start(policies: &str) -> Run {
        let scdf = StandInScdf::start();
        let state = StateDir::new();
        let url = scdf.url();
        let policies = root().join(policies);
        let engine = Engine::start(
            &state,
            &["--scdf.url", &url, "--policies", policies.to_str().unwrap()],
        );
        let alertmanager = Alertmanager::start(&engine.url("/alert"), "unused", "3s");
        let prometheus = Prometheus::start(
            &scdf.addr.to_string(),
            alertmanager.url.trim_start_matches("http://"),
        );
        Run {
            scdf,
            engine,
            alertmanager,
            prometheus,
            started: Instant::now(),
            _state: state,
        }
    }

    fn transform(&self) -> u32 {
        self.scdf.state.count("scaletest", "transform").unwrap()
    }

    fn fail(&self, step: &str, why: &str) -> ! {
        panic!(
            "step `{step}` failed after {:?}: {why}\nscale calls: {:?}\n--- Prometheus ---\n{}\n--- Alertmanager ---\n{}\n--- alertscale ---\n{}",
            self.started.elapsed(),
            self.scdf.state.scale_requests(),
            self.prometheus.log_tail(),
            self.alertmanager.log_tail(),
            tail(&self.engine.log_text(), 30),
        )
    }

    /// Waits up to `timeout` for `done`.
    fn wait(&self, step: &str, timeout: Duration, mut done: impl FnMut(&Run) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            if Instant::now() > deadline {
                self.fail(step, &format!("not done within {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Checks `invariant` continuously for `duration`.
    fn hold(
        &self,
        step: &str,
        duration: Duration,
        mut invariant: impl FnMut(&Run) -> Result<(), String>,
    ) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            if let Err(why) = invariant(self) {
                self.fail(step, &why);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn metric(&self, series: &str) -> f64 {
        self.engine.metric(series).unwrap_or(0.0)
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<_> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

const SCALE_TO_4: &str = "POST /streams/deployments/scale/scaletest/transform/instances/4";
const SCALE_TO_1: &str = "POST /streams/deployments/scale/scaletest/transform/instances/1";

#[test]
fn recipe_scales_out_once_holds_under_load_and_scales_back_in() {
    let run = Run::start("policies");
    let start = unix_now();

    let step = "at 1 msg/s nothing scales";
    run.scdf.state.set_time_rate(1.0);
    // The scale-in rule is true at rest; wait until alertscale has heard of it.
    run.wait(step, Duration::from_secs(40), |r| {
        r.metric("alertscale_alerts_received_total{status=\"firing\"}") >= 1.0
    });
    run.hold(step, Duration::from_secs(3), |r| {
        match r.scdf.state.scale_requests().len() {
            0 => Ok(()),
            n => Err(format!("{n} scale calls")),
        }
    });
    assert_eq!(run.transform(), 1);

    let step = "at 5000 msg/s HighThroughputDifference fires and transform goes 1 -> 4";
    run.scdf.state.set_time_rate(5000.0);
    run.wait(step, Duration::from_secs(40), |r| r.transform() == 4);

    let step = "transform stays at 4 while the load lasts, exactly one scale call";
    let resends_before = run.metric("alertscale_notifications_received_total{status=\"firing\"}");
    run.hold(step, Duration::from_secs(25), |r| {
        let calls = r.scdf.state.scale_requests();
        if r.transform() != 4 || calls != [SCALE_TO_4] {
            return Err(format!("transform at {}, calls {calls:?}", r.transform()));
        }
        Ok(())
    });
    if run.metric("alertscale_notifications_received_total{status=\"firing\"}")
        < resends_before + 3.0
    {
        run.fail(step, "Alertmanager did not keep sending");
    }
    if run.metric("alertscale_suppressions_total{reason=\"guard\"}") < 1.0 {
        run.fail(
            step,
            "the scale-in rule never fired under load, so the guard was not exercised",
        );
    }

    let step = "transform caught up: HighThroughputDifference resolved";
    run.wait(step, Duration::from_secs(20), |r| {
        let alerts: Value = reqwest::blocking::get(format!("{}/api/v1/alerts", r.prometheus.url))
            .unwrap()
            .json()
            .unwrap();
        !alerts["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["labels"]["alertname"] == "HighThroughputDifference")
    });

    let step = "back at 1 msg/s transform returns to 1";
    run.scdf.state.set_time_rate(1.0);
    run.wait(step, Duration::from_secs(40), |r| r.transform() == 1);
    assert_eq!(run.scdf.state.scale_requests(), [SCALE_TO_4, SCALE_TO_1]);
    std::thread::sleep(Duration::from_secs(3));

    draw(&run.prometheus, start, unix_now());
}

#[test]
fn the_recipe_webhook_flaps_under_sustained_load() {
    let run = Run::start("tests/fixtures/recipe/sample-webhook.policy");
    run.scdf.state.set_time_rate(1.0);
    std::thread::sleep(Duration::from_secs(3));
    run.scdf.state.set_time_rate(5000.0);
    let step = "the sample webhook scales out";
    run.wait(step, Duration::from_secs(40), |r| r.transform() == 4);
    let step = "under the same load it scales back in";
    run.wait(step, Duration::from_secs(40), |r| r.transform() == 1);
    let step = "and out again: it flaps";
    run.wait(step, Duration::from_secs(40), |r| r.transform() == 4);
    let calls = run.scdf.state.scale_requests();
    assert_eq!(&calls[..3], [SCALE_TO_4, SCALE_TO_1, SCALE_TO_4]);
}

/// Draws time and transform rates and transform instances over the run.
fn draw(prometheus: &Prometheus, start: f64, end: f64) {
    use plotters::prelude::*;
    let selector = |app: &str| {
        format!("irate(spring_integration_send_seconds_count{{application_name=\"{app}\",stream_name=\"scaletest\"}}[5s])")
    };
    let time = prometheus.query_range(&selector("time"), start, end);
    let transform = prometheus.query_range(&selector("transform"), start, end);
    let instances = prometheus.query_range(
        "scdf_app_instances{application_name=\"transform\"}",
        start,
        end,
    );
    assert!(
        time.len() > 30 && instances.len() > 30,
        "the run was recorded"
    );
    let path = root().join("target/recipe-run.svg");
    {
        let area = SVGBackend::new(&path, (900, 560)).into_drawing_area();
        area.fill(&WHITE).unwrap();
        let (top, bottom) = area.split_vertically(340);
        let seconds = |series: &[(f64, f64)]| {
            series
                .iter()
                .map(|(t, v)| (t - start, *v))
                .collect::<Vec<_>>()
        };
        let span = end - start;
        let mut rates = ChartBuilder::on(&top)
            .caption("scaletest: message rates (msg/s)", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..span, 0f64..6000f64)
            .unwrap();
        rates.configure_mesh().x_desc("seconds").draw().unwrap();
        rates
            .draw_series(LineSeries::new(seconds(&time), &BLUE))
            .unwrap()
            .label("time")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        rates
            .draw_series(LineSeries::new(seconds(&transform), &RED))
            .unwrap()
            .label("transform")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        rates
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()
            .unwrap();
        let mut count = ChartBuilder::on(&bottom)
            .caption("transform instances", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..span, 0f64..5f64)
            .unwrap();
        count.configure_mesh().x_desc("seconds").draw().unwrap();
        count
            .draw_series(LineSeries::new(seconds(&instances), &GREEN.mix(0.9)))
            .unwrap();
        area.present().unwrap();
    }
    if std::env::var_os("ALERTSCALE_WRITE_DOCS").is_some() {
        fs::copy(&path, root().join("docs/recipe-run.svg")).unwrap();
    }
}
