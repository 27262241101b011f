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
