//! The language: every fixture under `tests/fixtures/diagnostics` reports the code its name
//! starts with (snapshots hold the full text); valid fixtures and the shipped policies are clean.

use alertscale::policy::{self, Code, CompileOptions, Severity};

use crate::support::{check, compile_ok, relative, root};

#[test]
fn every_diagnostic_fixture_reports_its_code() {
    insta::glob!("fixtures/diagnostics/*.policy", |path| {
        let name = relative(path);
        let (_, checked) =
            policy::load(std::slice::from_ref(&name), CompileOptions::default()).unwrap();
        let file_name = path.file_name().unwrap().to_string_lossy();
        let expected = &file_name[..4];
        assert!(
            checked
                .diagnostics
                .iter()
                .any(|d| d.code.as_str() == expected),
            "{} does not report {expected}",
            name.display()
        );
        if expected.starts_with('W') {
            assert!(!checked.has_errors(), "{} has errors", name.display());
        }
        let rendered: String = checked
            .diagnostics
            .iter()
            .map(|d| d.render_human(false) + "\n")
            .collect();
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn every_code_has_a_fixture() {
    let dir = root().join("tests/fixtures/diagnostics");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for code in Code::ALL {
        let prefix = format!("{}_{}", code.as_str(), code.name().replace('-', "_"));
        assert!(
            names.iter().any(|n| n.starts_with(&prefix)),
            "no fixture named {prefix}*.policy"
        );
    }
}

#[test]
fn valid_fixtures_and_shipped_policies_have_no_errors() {
    for dir in ["tests/fixtures/valid", "policies"] {
        let (files, checked) = policy::load(&[dir.into()], CompileOptions::default()).unwrap();
        assert!(!files.is_empty());
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .collect();
        assert!(errors.is_empty(), "{dir}: {errors:#?}");
    }
    // The shipped examples are also free of warnings: they are what users copy.
    let (_, checked) = policy::load(&["policies".into()], CompileOptions::default()).unwrap();
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
}

#[test]
fn core_syntax_means_what_the_spec_says() {
    let set = compile_ok(
        r#"
when alert HighThroughputDifference on stream $s scale transform +3 max 8 cooldown 2m
when resolved alert HighThroughputDifference on stream "scaletest" scale transform -1 min 1
when firing alert Busy on stream $s where team != "data" and zone !~ "eu-.*" scale log +1 max 4 min 2 cooldown 1h30m
"#,
    );
    let p = set.policies();
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].id.to_string(), "test.policy:2");
    assert_eq!(p[0].status, policy::AlertStatus::Firing);
    assert_eq!(p[0].stream, policy::NameSource::Label);
    let a = &p[0].actions[0];
    assert_eq!(a.app, policy::NameSource::Fixed("transform".into()));
    assert_eq!(a.amount, policy::Amount::Change(3));
    assert_eq!((a.min, a.max), (1, Some(8)));
    assert_eq!(a.cooldown, Some(std::time::Duration::from_secs(120)));
    assert_eq!(p[1].status, policy::AlertStatus::Resolved);
    assert_eq!(p[1].stream, policy::NameSource::Fixed("scaletest".into()));
    assert_eq!(p[1].actions[0].amount, policy::Amount::Change(-1));
    let busy = &p[2].actions[0];
    assert_eq!((busy.min, busy.max), (2, Some(4)));
    assert_eq!(busy.cooldown, Some(std::time::Duration::from_secs(5400)));
    assert_eq!(p[2].matchers.len(), 2);
}

#[test]
fn crlf_and_unicode_are_accepted() {
    let set = compile_ok(
        "when alert \"Débit élevé\"\r\n  on stream $s\r\n  where team = \"données ✓\" and x = \"a\\\"b\\u{e9}\"\r\n  scale transform to 2\r\n",
    );
    let p = &set.policies()[0];
    assert_eq!(p.alert, "Débit élevé");
    assert_eq!(p.matchers[0].value, "données ✓");
    assert_eq!(p.matchers[1].value, "a\"bé");
}

#[test]
fn diagnostics_point_at_the_exact_token() {
    let checked = check(
        "t.policy",
        "# lead\nwhen alert X on stream $s\n  scale t +1 min 5 max 3\n",
    );
    let d = &checked.diagnostics[0];
    assert_eq!((d.line, d.column, d.end_column), (3, 14, 19));
    assert_eq!(d.severity, Severity::Error);
    assert!(d
        .render_human(false)
        .contains("\n 3 |   scale t +1 min 5 max 3\n   |              ^^^^^\n"));
}

#[test]
fn one_syntax_error_does_not_hide_the_next_policies() {
    let checked = check(
        "t.policy",
        "when alert A on stream $s scale t * 3\nwhen alert B on stream $s scale $x +1 max 2\nwhen alert C on stream $s scale t to 1\n",
    );
    let codes: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.line, d.code.as_str()))
        .collect();
    assert_eq!(codes, [(1, "E001"), (2, "E002")]);
    // The good policy is still compiled.
    assert_eq!(checked.set.len(), 1);
    assert_eq!(checked.set.policies()[0].alert, "C");
}

#[test]
fn extensions_several_actions_guard_and_pause() {
    let set = compile_ok(
        r#"
when alert HighThroughputDifference on stream $s app $a
  unless alert Maintenance
  scale transform +2 max 8
  scale $a +1 max 4 cooldown 5m
when alert ZeroThroughputDifference on stream $s scale transform to 1 paused
"#,
    );
    let p = &set.policies()[0];
    assert_eq!(p.actions.len(), 2);
    assert_eq!(p.actions[1].app, policy::NameSource::Label);
    assert_eq!(p.actions[1].line, 5);
    assert_eq!(p.unless.as_deref(), Some("Maintenance"));
    assert!(set.policies()[1].paused);
}

#[test]
fn digest_ignores_layout_variable_names_order_and_pause() {
    let a = compile_ok(r#"when alert X on stream $s where a = "1" and b =~ "2" scale t +1 max 3"#);
    let b = compile_ok("when firing alert \"X\"\n on stream $other\n where b =~ \"2\" and a = \"1\"\n scale t +1 max 3 paused\n");
    let c = compile_ok(r#"when alert X on stream $s where a = "1" and b =~ "2" scale t +2 max 3"#);
    assert_eq!(a.policies()[0].digest, b.policies()[0].digest);
    assert_ne!(a.policies()[0].digest, c.policies()[0].digest);
}

#[test]
fn label_matchers_follow_prometheus_semantics() {
    let set = compile_ok(
        r#"when alert X on stream $s where env =~ "prod|staging" and team != "data" and zone !~ "eu-.*" and missing = "" scale t to 2"#,
    );
    let matchers = &set.policies()[0].matchers;
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let all = |l: &std::collections::HashMap<String, String>| matchers.iter().all(|m| m.matches(l));
    assert!(all(&labels(&[("env", "prod"), ("zone", "us-1")])));
    // Fully anchored: `production` does not match `prod|staging`.
    assert!(!all(&labels(&[("env", "production")])));
    assert!(!all(&labels(&[("env", "prod"), ("team", "data")])));
    assert!(!all(&labels(&[("env", "prod"), ("zone", "eu-west")])));
    assert!(!all(&labels(&[("env", "prod"), ("missing", "x")])));
}
