//! `fmt`: snapshots of the canonical layout for the fixtures under `tests/fixtures/fmt`, and a
//! property test that formatting is idempotent, keeps every comment and never changes meaning.

use alertscale::policy::{format::format_source, SourceFile};
use proptest::prelude::*;

use crate::support::{check, relative};

fn fmt(name: &str, text: &str) -> String {
    format_source(&SourceFile::new(name, text)).expect("the text parses")
}

/// What a policy file means: each policy's semantic text and pause switch, and the codes of
/// its diagnostics.
fn meaning(text: &str) -> (Vec<(String, bool)>, Vec<&'static str>) {
    let checked = check("m.policy", text);
    let policies = checked
        .set
        .policies()
        .iter()
        .map(|p| (p.semantic_text(), p.paused))
        .collect();
    let mut codes: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    codes.sort();
    (policies, codes)
}

/// The comments of a policy file, in order: `#` outside a string up to the end of the line.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let (mut in_string, mut escaped) = (false, false);
        for (i, c) in line.char_indices() {
            match c {
                '#' if !in_string => {
                    out.push(line[i..].trim_end().to_string());
                    break;
                }
                '"' if !escaped => in_string = !in_string,
                _ => {}
            }
            escaped = c == '\\' && !escaped;
        }
    }
    out
}

#[test]
fn fixtures_format_to_their_snapshots() {
    insta::glob!("fixtures/fmt/*.policy", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let name = relative(path).display().to_string();
        let once = fmt(&name, &text);
        assert_eq!(fmt(&name, &once), once, "not idempotent");
        assert_eq!(meaning(&once), meaning(&text), "meaning changed");
        assert_eq!(comments(&once), comments(&text), "comments changed");
        insta::assert_snapshot!(once);
    });
}

#[test]
fn shipped_policies_are_formatted() {
    for entry in std::fs::read_dir(crate::support::root().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(fmt("p", &text), text, "{} is not formatted", path.display());
    }
}

#[test]
fn syntax_errors_are_reported_not_formatted() {
    let errors = format_source(&SourceFile::new(
        "bad.policy",
        "when alert X on stream $s scale t * 3\n",
    ))
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code.as_str(), "E001");
    assert_eq!((errors[0].line, errors[0].column), (1, 35));
}

// ---------------------------------------------------------------------------------------------
// Property test: generated policies, laid out at random.
// ---------------------------------------------------------------------------------------------

fn alert_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("HighThroughputDifference".to_string()),
        Just("Busy".to_string()),
        Just("job:lag".to_string()),
        Just("\"Débit élevé\"".to_string()),
        Just("\"quote\\\"d\"".to_string()),
    ]
}

fn matcher() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("env"), Just("team"), Just("zone"), Just("severity")],
        prop_oneof![Just("="), Just("!="), Just("=~"), Just("!~")],
        prop_oneof![
            Just("\"prod\""),
            Just("\"eu-.*\""),
            Just("\"a|b\""),
            Just("\"\""),
            Just("\"x # y\"")
        ],
    )
        .prop_map(|(l, o, v)| format!("{l} {o} {v}"))
}

fn action(app_var: bool) -> impl Strategy<Value = String> {
    let app = if app_var {
        prop_oneof![Just("transform"), Just("$a"), Just("\"log\"")].boxed()
    } else {
        prop_oneof![Just("transform"), Just("log-sink"), Just("\"log\"")].boxed()
    };
    let amount = prop_oneof![
        (1u32..5).prop_map(|n| format!("+{n}")),
        (1u32..3).prop_map(|n| format!("-{n}")),
        (0u32..9).prop_map(|n| format!("to {n}")),
    ];
    let options = proptest::sample::subsequence(
        vec![
            "min 1".to_string(),
            "max 8".to_string(),
            "cooldown 1h30m".to_string(),
        ],
        0..=3,
    )
    .prop_shuffle();
    (app, amount, options).prop_map(|(app, amount, options)| {
        let mut text = format!("scale {app} {amount}");
        for option in options {
            text.push(' ');
            text.push_str(&option);
        }
        text
    })
}

/// One policy as a list of tokens-or-phrases to lay out.
fn policy() -> impl Strategy<Value = Vec<String>> {
    (
        prop_oneof![Just(""), Just("firing"), Just("resolved")],
        alert_name(),
        prop_oneof![
            Just("on stream $s"),
            Just("on stream \"scaletest\""),
            Just("on stream $s app $a")
        ],
        proptest::collection::vec(matcher(), 0..3),
        proptest::option::of(alert_name()),
        any::<bool>(),
    )
        .prop_flat_map(|(status, alert, on, matchers, unless, paused)| {
            let app_var = on.contains("app");
            proptest::collection::vec(action(app_var), 1..3).prop_map(move |actions| {
                let mut parts = vec![format!("when {status} alert {alert}").replace("  ", " ")];
                parts.push(on.to_string());
                if !matchers.is_empty() {
                    parts.push(format!("where {}", matchers.join(" and ")));
                }
                if let Some(guard) = &unless {
                    parts.push(format!("unless alert {guard}"));
                }
                parts.extend(actions);
                if paused {
                    parts.push("paused".to_string());
                }
                parts
            })
        })
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just(" "),
        1 => Just("   "),
        1 => Just("\t"),
        2 => Just("\n  "),
        1 => Just("\r\n    "),
        1 => Just("  # note\n  "),
        1 => Just("\n  # own line\n  "),
    ]
}

fn file() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            policy(),
            proptest::collection::vec(separator(), 40),
            prop_oneof![
                Just("\n"),
                Just("\n\n\n"),
                Just("  # tail\n"),
                Just("\n# between\n")
            ],
        ),
        1..5,
    )
    .prop_map(|policies| {
        let mut text = String::new();
        for (parts, separators, end) in policies {
            // Split phrases into words so separators fall between tokens, not inside strings.
            let words: Vec<String> = parts.iter().flat_map(|p| split_words(p)).collect();
            for (i, word) in words.iter().enumerate() {
                if i > 0 {
                    text.push_str(separators[i % separators.len()]);
                }
                text.push_str(word);
            }
            text.push_str(end);
        }
        text
    })
}

/// Splits on spaces outside double-quoted strings.
fn split_words(phrase: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in phrase.chars() {
        match c {
            '"' if !escaped => in_string = !in_string,
            ' ' if !in_string => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                continue;
            }
            _ => {}
        }
        escaped = c == '\\' && !escaped;
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fmt_is_idempotent_and_preserves_meaning(text in file()) {
        let once = fmt("p.policy", &text);
        prop_assert_eq!(fmt("p.policy", &once), once.clone());
        prop_assert_eq!(meaning(&once), meaning(&text));
        prop_assert_eq!(comments(&once), comments(&text));
        prop_assert!(once.lines().all(|l| !l.ends_with(' ')), "trailing space in {:?}", once);
    }
}
