//! The docs' examples run: every `policy` block of `docs/language.md` lints clean, or reports the
//! code its `expect=` names; every diagnostic code has its section.

use alertscale::policy::Code;

use crate::support::{check, root};

struct Example {
    line: usize,
    expect: Option<String>,
    text: String,
}

fn policy_examples(markdown: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut current: Option<Example> = None;
    for (index, line) in markdown.lines().enumerate() {
        if let Some(example) = current.as_mut() {
            if line.starts_with("```") {
                examples.push(current.take().unwrap());
            } else {
                example.text.push_str(line);
                example.text.push('\n');
            }
        } else if let Some(info) = line.strip_prefix("```policy") {
            let expect = info.trim().strip_prefix("expect=").map(str::to_string);
            current = Some(Example {
                line: index + 1,
                expect,
                text: String::new(),
            });
        }
    }
    examples
}

#[test]
fn language_reference_examples_mean_what_the_page_says() {
    let markdown = std::fs::read_to_string(root().join("docs/language.md")).unwrap();
    let examples = policy_examples(&markdown);
    assert!(
        examples.len() >= 28,
        "found only {} examples",
        examples.len()
    );
    for example in examples {
        let checked = check("docs.policy", &example.text);
        let codes: Vec<_> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        match &example.expect {
            None => assert!(
                codes.is_empty(),
                "docs/language.md:{}: {codes:?}",
                example.line
            ),
            Some(code) => assert!(
                codes.contains(&code.as_str()),
                "docs/language.md:{}: expected {code}, got {codes:?}",
                example.line
            ),
        }
    }
}

#[test]
fn every_code_is_documented() {
    let markdown = std::fs::read_to_string(root().join("docs/language.md")).unwrap();
    for code in Code::ALL {
        let heading = format!("### {} {}", code.as_str(), code.name().replace('-', " "));
        assert!(
            markdown.contains(&heading),
            "docs/language.md has no `{heading}`"
        );
        assert!(
            markdown.contains(&format!("```policy expect={}", code.as_str())),
            "docs/language.md has no example of {}",
            code.as_str()
        );
    }
}

/// The fenced blocks of a Markdown file whose info string is `lang`.
fn blocks(markdown: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            Some(block) if line.starts_with("```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None if line.trim_end() == format!("```{lang}") => current = Some(String::new()),
            None => {}
        }
    }
    out
}

#[test]
fn recipe_page_examples_are_valid() {
    let markdown = std::fs::read_to_string(root().join("docs/recipe.md")).unwrap();
    let policies = blocks(&markdown, "policy");
    assert_eq!(policies.len(), 1);
    let checked = check("recipe.policy", &policies[0]);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    // The page shows the shipped policies.
    let shipped = std::fs::read_to_string(root().join("policies/scaletest.policy")).unwrap();
    for line in policies[0].lines().filter(|l| l.starts_with("when")) {
        assert!(
            shipped.contains(line),
            "policies/scaletest.policy lacks `{line}`"
        );
    }
    let yaml = blocks(&markdown, "yaml");
    let rules = yaml
        .iter()
        .find(|b| b.starts_with("groups:"))
        .expect("the rules");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, rules).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .expect("promtool is installed (Debian package `prometheus`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let alertmanager = yaml
        .iter()
        .find(|b| b.starts_with("route:"))
        .expect("the Alertmanager config");
    let config: serde_yaml::Value = serde_yaml::from_str(alertmanager).unwrap();
    assert_eq!(config["route"]["group_by"][0], "stream_name");
    assert_eq!(
        config["receivers"][0]["webhook_configs"][0]["url"],
        "http://alertscale:8085/alert"
    );
}
