//! The command line as users and CI call it: exit codes, output formats, directories.

use std::fs;

use crate::support::{alertscale, run, stderr, stdout};

const BAD: &str = "tests/fixtures/diagnostics/E004_min_above_max.policy";
const WARN: &str = "tests/fixtures/diagnostics/W001_relative_without_max.policy";

#[test]
fn lint_exit_codes() {
    let status = |args: &[&str]| alertscale(args).output().unwrap().status.code();
    assert_eq!(status(&["lint", "policies"]), Some(0));
    assert_eq!(status(&["lint", BAD]), Some(1));
    assert_eq!(status(&["lint", WARN]), Some(0));
    assert_eq!(status(&["lint", "--deny-warnings", WARN]), Some(1));
    assert_eq!(status(&["lint", "no/such/path"]), Some(2));
    assert_eq!(status(&["lint"]), Some(2));
    assert_eq!(status(&["lint", "--format", "xml", "policies"]), Some(2));
}

#[test]
fn lint_reports_every_file_in_one_run() {
    let out = alertscale(&[
        "lint",
        BAD,
        WARN,
        "tests/fixtures/diagnostics/E006_zero_amount.policy",
    ])
    .output()
    .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(
            "E004_min_above_max.policy:1:43: error[E004]: `min 5` is greater than `max 3`"
        ),
        "{text}"
    );
    assert!(
        text.contains("W001_relative_without_max.policy:1:66: warning[W001]"),
        "{text}"
    );
    assert!(
        text.contains("E006_zero_amount.policy:2:41: error[E006]"),
        "{text}"
    );
    assert!(text.ends_with("4 errors, 1 warning in 3 files\n"), "{text}");
    // Piped output is never coloured.
    assert!(!text.contains('\x1b'));
}

#[test]
fn lint_json_has_the_documented_fields() {
    let out = alertscale(&["lint", "--format", "json", BAD])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let diagnostics: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &diagnostics[0];
    assert_eq!(first["file"], BAD);
    assert_eq!(first["line"], 1);
    assert_eq!(first["column"], 43);
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "E004");
    assert_eq!(first["name"], "min-above-max");
    assert_eq!(first["message"], "`min 5` is greater than `max 3`");
    assert!(first["help"].is_string());
    assert_eq!(diagnostics.as_array().unwrap().len(), 2);
}

#[test]
fn lint_github_annotations() {
    let out = alertscale(&["lint", "--format", "github", BAD, WARN])
        .output()
        .unwrap();
    let text = stdout(&out);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(&format!("::error file={BAD},line=1,col=43,")),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!("::warning file={WARN},line=1,col=66,")),
        "{text}"
    );
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    // `script` gives the binary a terminal; skip nothing: util-linux is part of every Debian.
    let run_tty = |no_color: Option<&str>| {
        let mut cmd = std::process::Command::new("script");
        cmd.args([
            "-qec",
            &format!("{} lint {BAD}", env!("CARGO_BIN_EXE_alertscale")),
            "/dev/null",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        String::from_utf8(cmd.output().expect("script runs").stdout).unwrap()
    };
    assert!(run_tty(None).contains("\x1b[1;31merror[E004]"));
    assert!(!run_tty(Some("1")).contains('\x1b'));
}

/// The kubelet's layout of a ConfigMap volume: visible symlinks into `..data`, itself a link to a
/// hidden timestamped directory.
fn configmap_dir(policy: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("..2026_12_04_20_00_00.000000001");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("scaling.policy"), policy).unwrap();
    fs::write(data.join("README"), "not a policy").unwrap();
    std::os::unix::fs::symlink("..2026_12_04_20_00_00.000000001", dir.path().join("..data"))
        .unwrap();
    std::os::unix::fs::symlink("..data/scaling.policy", dir.path().join("scaling.policy")).unwrap();
    dir
}

#[test]
fn lint_reads_a_configmap_volume_once_and_skips_hidden_entries() {
    let dir = configmap_dir("when alert A on stream $s scale t +0 max 2\n");
    let path = dir.path().to_str().unwrap();
    let out = alertscale(&["lint", "--format", "json", path])
        .output()
        .unwrap();
    let diagnostics: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diagnostics = diagnostics.as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["file"], format!("{path}/scaling.policy"));
}

#[test]
fn lint_of_a_directory_without_policies_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = alertscale(&["lint", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no `.policy` files under"));
}

#[test]
fn fmt_check_lists_files_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let messy = dir.path().join("messy.policy");
    let tidy = dir.path().join("tidy.policy");
    fs::write(&messy, "when   alert X on stream $s   scale t to 1").unwrap();
    fs::write(&tidy, "when alert X on stream $s scale t to 2\n").unwrap();
    let out = alertscale(&["fmt", "--check", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), format!("{}\n", messy.display()));
    assert_eq!(
        fs::read_to_string(&messy).unwrap(),
        "when   alert X on stream $s   scale t to 1"
    );

    let out = alertscale(&["fmt", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        fs::read_to_string(&messy).unwrap(),
        "when alert X on stream $s scale t to 1\n"
    );
    let out = alertscale(&["fmt", "--check", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_alone() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.policy");
    fs::write(&bad, "when alert X on stream $s  scale t * 1\n").unwrap();
    let out = alertscale(&["fmt", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad.policy:1:36: error[E001]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(&bad).unwrap(),
        "when alert X on stream $s  scale t * 1\n"
    );
}

#[test]
fn fmt_stdin_to_stdout() {
    let out = run(
        &["fmt", "-"],
        "when alert X\n on stream $s # c\n scale t to 1",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "when alert X\n  on stream $s  # c\n  scale t to 1\n"
    );
    let out = run(&["fmt", "-"], "when alert");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("<stdin>:1:11: error[E001]: expected an alert name or a double-quoted string, found end of file"), "{}", stderr(&out));
}

#[test]
fn plan_prints_a_table_and_json() {
    let payload = "tests/fixtures/payloads/mixed_group.json";
    let out = alertscale(&[
        "plan",
        "--policies",
        "policies",
        "--payload",
        payload,
        "--instances",
        "scaletest/transform=7",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    insta::assert_snapshot!(table);

    let out = alertscale(&[
        "plan",
        "--policies",
        "policies",
        "--payload",
        payload,
        "--format",
        "json",
    ])
    .output()
    .unwrap();
    let decisions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &decisions[0];
    for field in [
        "policy",
        "alert",
        "fingerprint",
        "stream",
        "app",
        "from",
        "to",
    ] {
        assert!(!first[field].is_null(), "missing {field}");
    }
    assert_eq!(first["policy"], "policies/scaletest.policy:5");
    assert_eq!(first["fingerprint"], "8e5e3b8c76abfc3f");
    assert_eq!(
        (first["from"].as_u64(), first["to"].as_u64()),
        (Some(1), Some(4))
    );
}

#[test]
fn plan_says_why_nothing_changes() {
    let out = alertscale(&[
        "plan",
        "--policies",
        "policies",
        "--payload",
        "tests/fixtures/payloads/high_throughput.json",
        "--instances",
        "scaletest/transform=8",
        "--format",
        "json",
    ])
    .output()
    .unwrap();
    let decisions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decisions[0]["from"], 8);
    assert_eq!(decisions[0]["to"], 8);
    assert_eq!(decisions[0]["reason"], "already at max 8");
}

#[test]
fn plan_reads_stdin_and_rejects_bad_payloads() {
    let policies = ["plan", "--policies", "policies", "--payload", "-"];
    let out = run(&policies, r#"{"alerts": [{"status": "firing"}]}"#);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("alerts[0]: missing field `labels`"),
        "{}",
        stderr(&out)
    );
    let out = run(&policies, r#"{"alerts": []}"#);
    assert_eq!(out.status.code(), Some(0));
    let out = alertscale(&[
        "plan",
        "--policies",
        "policies",
        "--payload",
        "x.json",
        "--instances",
        "nope",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not STREAM/APP=N"));
}

#[test]
fn plan_refuses_policies_with_errors() {
    let out = alertscale(&[
        "plan",
        "--policies",
        BAD,
        "--payload",
        "tests/fixtures/payloads/high_throughput.json",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("error[E004]"));
}
