//! Hot reload, as Kubernetes, editors and operators change policies under a running engine.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::engine::{firing, notification, signal, Engine, StateDir};

const TWO: &str = "when alert HighThroughputDifference on stream $s scale transform +3 max 8 cooldown 2m\nwhen alert ZeroThroughputDifference on stream $s scale transform to 1\n";
const ONE: &str = "when alert Busy on stream $s scale log +1 max 4\n";
const BROKEN: &str = "when alert Busy on stream $s scale log * 4\n";

/// A ConfigMap volume as the kubelet's atomic writer keeps it: visible symlinks through `..data`,
/// a symlink to a hidden timestamped directory, swapped by renaming `..data_tmp` over it.
struct ConfigMapVolume {
    dir: PathBuf,
    version: u32,
}

impl ConfigMapVolume {
    fn create(dir: &Path, files: &[(&str, &str)]) -> ConfigMapVolume {
        fs::create_dir_all(dir).unwrap();
        let mut volume = ConfigMapVolume {
            dir: dir.to_path_buf(),
            version: 0,
        };
        volume.update(files);
        volume
    }

    /// The atomic writer's steps, one by one.
    fn update(&mut self, files: &[(&str, &str)]) {
        self.version += 1;
        let old = fs::read_link(self.dir.join("..data")).ok();
        // 1. a new hidden timestamped directory with the new contents
        let name = format!("..2026_12_04_21_00_00.{:09}", self.version);
        fs::create_dir(self.dir.join(&name)).unwrap();
        for (file, text) in files {
            fs::write(self.dir.join(&name).join(file), text).unwrap();
        }
        // 2. `..data_tmp` -> the new directory
        symlink(&name, self.dir.join("..data_tmp")).unwrap();
        // 3. renamed over `..data`, atomically
        fs::rename(self.dir.join("..data_tmp"), self.dir.join("..data")).unwrap();
        // 4. visible links for new keys; stale ones removed
        for (file, _) in files {
            let link = self.dir.join(file);
            if fs::symlink_metadata(&link).is_err() {
                symlink(format!("..data/{file}"), &link).unwrap();
            }
        }
        for entry in fs::read_dir(&self.dir).unwrap() {
            let entry = entry.unwrap();
            let file = entry.file_name().to_string_lossy().into_owned();
            if !file.starts_with("..") && !files.iter().any(|(f, _)| *f == file) {
                fs::remove_file(entry.path()).unwrap();
            }
        }
        // 5. the old directory deleted
        if let Some(old) = old {
            fs::remove_dir_all(self.dir.join(old)).unwrap();
        }
    }
}

fn policy_ids(engine: &Engine) -> Vec<String> {
    engine.get_json("/api/v1/policies")["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

fn wait_until(engine: &Engine, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            engine.log_text()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn metric(engine: &Engine, series: &str) -> f64 {
    engine.metric(series).unwrap_or(0.0)
}

const RELOADS_OK: &str = "alertscale_config_reloads_total{result=\"success\"}";
const RELOADS_FAILED: &str = "alertscale_config_reloads_total{result=\"failure\"}";
const LAST_OK: &str = "alertscale_config_last_reload_successful";
const LAST_OK_TIME: &str = "alertscale_config_last_reload_success_timestamp_seconds";

#[test]
fn configmap_updates_by_the_kubelet_atomic_writer_are_picked_up() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("policies");
    let mut volume = ConfigMapVolume::create(&dir, &[("scaling.policy", TWO)]);
    let state = StateDir::new();
    let engine = Engine::start(&state, &["--policies", dir.to_str().unwrap()]);
    let prefix = format!("{}/", dir.display());
    assert_eq!(
        policy_ids(&engine),
        [
            format!("{prefix}scaling.policy:1"),
            format!("{prefix}scaling.policy:2")
        ]
    );

    volume.update(&[("scaling.policy", TWO), ("busy.policy", ONE)]);
    wait_until(&engine, "three policies", || policy_ids(&engine).len() == 3);
    let ids = policy_ids(&engine);
    assert!(
        ids.iter().all(|id| !id.contains("..")),
        "hidden copies are never loaded: {ids:?}"
    );
    assert_eq!(metric(&engine, "alertscale_policies_loaded"), 3.0);

    volume.update(&[("busy.policy", ONE)]);
    wait_until(&engine, "one policy", || policy_ids(&engine).len() == 1);
    assert_eq!(policy_ids(&engine), [format!("{prefix}busy.policy:1")]);
    assert_eq!(metric(&engine, "alertscale_policies_loaded"), 1.0);
    assert_eq!(metric(&engine, RELOADS_FAILED), 0.0);
}

#[test]
fn a_broken_edit_keeps_the_last_good_set() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("scaling.policy");
    fs::write(&file, TWO).unwrap();
    let state = StateDir::new();
    let engine = Engine::start(&state, &["--policies", root.path().to_str().unwrap()]);
    let started_ok = metric(&engine, LAST_OK_TIME);
    assert_eq!(metric(&engine, LAST_OK), 1.0);

    fs::write(&file, BROKEN).unwrap();
    wait_until(&engine, "a failed reload", || {
        metric(&engine, RELOADS_FAILED) >= 1.0
    });
    assert_eq!(metric(&engine, LAST_OK), 0.0);
    assert_eq!(
        metric(&engine, LAST_OK_TIME),
        started_ok,
        "the success timestamp stays"
    );
    assert_eq!(metric(&engine, "alertscale_policies_loaded"), 2.0);
    let status = engine.get_json("/api/v1/status");
    assert_eq!(status["last_reload"]["successful"], false);
    let errors = status["last_reload"]["errors"].as_array().unwrap();
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .contains("scaling.policy:1:40: error[E001]"),
        "{status}"
    );
    // The engine keeps deciding with the last good set.
    let (code, answer) = engine.post(&notification(vec![firing(
        "HighThroughputDifference",
        "scaletest",
        "f1",
    )]));
    assert_eq!(
        (code, answer["decisions"][0]["outcome"].as_str()),
        (200, Some("dry_run"))
    );

    fs::write(&file, format!("{TWO}{ONE}")).unwrap();
    wait_until(&engine, "a good reload", || metric(&engine, LAST_OK) == 1.0);
    assert!(metric(&engine, LAST_OK_TIME) > started_ok);
    assert_eq!(metric(&engine, "alertscale_policies_loaded"), 3.0);
    assert_eq!(
        engine.get_json("/api/v1/status")["last_reload"]["errors"],
        Value::Array(vec![])
    );
}

#[test]
fn editor_rename_over_delete_recreate_and_directory_recreate() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("policies");
    fs::create_dir(&dir).unwrap();
    let file = dir.join("scaling.policy");
    fs::write(&file, TWO).unwrap();
    let state = StateDir::new();
    let engine = Engine::start(&state, &["--policies", dir.to_str().unwrap()]);

    // An editor writes a temporary file and renames it over the original.
    fs::write(dir.join(".scaling.policy.swp"), ONE).unwrap();
    fs::rename(dir.join(".scaling.policy.swp"), &file).unwrap();
    wait_until(&engine, "the renamed-over file", || {
        policy_ids(&engine).len() == 1
    });

    // Deleted, then created again.
    fs::remove_file(&file).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    fs::write(&file, TWO).unwrap();
    wait_until(&engine, "the recreated file", || {
        policy_ids(&engine).len() == 2
    });

    // The whole directory removed (the last good set stays) and created again.
    let failed = metric(&engine, RELOADS_FAILED);
    fs::remove_dir_all(&dir).unwrap();
    wait_until(&engine, "a failed reload", || {
        metric(&engine, RELOADS_FAILED) > failed
    });
    assert_eq!(policy_ids(&engine).len(), 2);
    fs::create_dir(&dir).unwrap();
    fs::write(&file, format!("{TWO}{ONE}")).unwrap();
    wait_until(&engine, "the recreated directory", || {
        policy_ids(&engine).len() == 3
    });
    // And it is still watched.
    fs::write(&file, ONE).unwrap();
    wait_until(&engine, "an edit in the recreated directory", || {
        policy_ids(&engine).len() == 1
    });
}

#[test]
fn a_burst_of_edits_makes_one_reload() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("scaling.policy");
    fs::write(&file, TWO).unwrap();
    let state = StateDir::new();
    let engine = Engine::start(
        &state,
        &[
            "--policies",
            root.path().to_str().unwrap(),
            "--policies.watch-debounce",
            "300ms",
        ],
    );
    for n in 1..=100 {
        fs::write(
            &file,
            format!("when alert Busy on stream $s scale log to {}\n", n % 9 + 1),
        )
        .unwrap();
    }
    wait_until(&engine, "the last edit in effect", || {
        engine.get_json("/api/v1/policies")["policies"][0]["source"]
            == "when alert Busy on stream $s scale log to 2"
    });
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(metric(&engine, RELOADS_OK), 1.0);
}

#[test]
fn sighup_and_the_reload_endpoint() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("scaling.policy");
    fs::write(&file, TWO).unwrap();
    let state = StateDir::new();
    let engine = Engine::start(&state, &["--policies", root.path().to_str().unwrap()]);
    let first = metric(&engine, LAST_OK_TIME);
    std::thread::sleep(Duration::from_millis(1100));

    signal(engine.pid(), "HUP");
    wait_until(&engine, "the SIGHUP reload", || {
        metric(&engine, RELOADS_OK) == 1.0
    });
    assert_eq!(
        engine.get_json("/api/v1/status")["last_reload"]["trigger"],
        "SIGHUP"
    );
    assert!(
        metric(&engine, LAST_OK_TIME) > first,
        "a reload that changes nothing still updates the timestamp"
    );

    let response = engine.http.post(engine.url("/-/reload")).send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().unwrap()["policies"], 2);
    assert_eq!(
        engine.get_json("/api/v1/status")["last_reload"]["trigger"],
        "api"
    );

    fs::write(&file, BROKEN).unwrap();
    let response = engine.http.post(engine.url("/-/reload")).send().unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().unwrap();
    assert!(
        body["diagnostics"][0]
            .as_str()
            .unwrap()
            .contains("error[E001]"),
        "{body}"
    );
    assert_eq!(metric(&engine, "alertscale_policies_loaded"), 2.0);
}

#[test]
fn a_notification_racing_reloads_sees_one_whole_set() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("scaling.policy");
    let set = |n: u32| {
        format!("when alert Busy on stream $s scale transform to {n}\nwhen alert Busy on stream $s scale log to {n}\n")
    };
    fs::write(&file, set(2)).unwrap();
    let state = StateDir::new();
    let engine = Engine::start(
        &state,
        &[
            "--policies",
            root.path().to_str().unwrap(),
            "--policies.watch-debounce",
            "1ms",
        ],
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Stops the writer even when an assertion below fails.
    struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        s.spawn(|| {
            let mut n = 2;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n = if n == 2 { 3 } else { 2 };
                // Whole files only (as the kubelet and most editors write): a reload may land
                // at any moment.
                let tmp = root.path().join(".scaling.policy.tmp");
                fs::write(&tmp, set(n)).unwrap();
                fs::rename(&tmp, &file).unwrap();
                let _ = engine.http.post(engine.url("/-/reload")).send();
            }
        });
        let mut seen = std::collections::HashSet::new();
        for i in 0..200 {
            let (code, answer) = engine.post(&notification(vec![firing(
                "Busy",
                "scaletest",
                &format!("f{i}"),
            )]));
            if code != 200 {
                continue;
            }
            let decisions = answer["decisions"].as_array().unwrap();
            assert_eq!(decisions.len(), 2, "{answer}");
            assert_eq!(
                decisions[0]["to"], decisions[1]["to"],
                "a mix of two sets: {answer}"
            );
            seen.insert(decisions[0]["to"].as_u64().unwrap());
        }
        assert_eq!(
            seen.len(),
            2,
            "both sets were in effect during the test: {seen:?}"
        );
    });
}

#[test]
fn a_reload_that_leaves_a_policy_unchanged_does_not_make_it_act_again() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("scaling.policy");
    fs::write(&file, TWO).unwrap();
    let state = StateDir::new();
    let engine = Engine::start(&state, &["--policies", root.path().to_str().unwrap()]);
    let alert = notification(vec![firing(
        "HighThroughputDifference",
        "scaletest",
        "8e5e3b8c76abfc3f",
    )]);
    assert_eq!(engine.post(&alert).1["decisions"][0]["outcome"], "dry_run");
    // Moved two lines down, reformatted, with a comment: the same policy.
    fs::write(&file, format!("# scale out\n\nwhen alert HighThroughputDifference\n  on stream $stream\n  scale transform +3 cooldown 2m max 8\n{ONE}")).unwrap();
    wait_until(&engine, "the reload", || {
        policy_ids(&engine).len() == 2 && policy_ids(&engine)[0].ends_with(":3")
    });
    let (_, answer) = engine.post(&alert);
    assert_eq!(
        answer["decisions"][0]["suppressed_by"], "dedupe",
        "{answer}"
    );
    assert_eq!(
        answer["decisions"][0]["policy"].as_str().unwrap(),
        format!("{}/scaling.policy:3", root.path().display())
    );
}
