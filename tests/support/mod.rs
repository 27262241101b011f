//! Helpers shared by the test modules: the built binary, fixtures, policy sets from text.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use alertscale::policy::{self, Checked, CompileOptions, SourceFile};

/// The `alertscale` binary cargo built for these tests, run from the package root.
pub fn alertscale(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_alertscale"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR");
    command
}

/// Runs `alertscale` with `stdin` as standard input.
pub fn run(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = alertscale(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin accepts the input");
    child.wait_with_output().expect("the binary finishes")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A path relative to the package root, as the tests name fixtures.
pub fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(root()).unwrap_or(path).to_path_buf()
}

/// Checks policy text as one file named `name`.
pub fn check(name: &str, text: &str) -> Checked {
    policy::check(&[SourceFile::new(name, text)], CompileOptions::default())
}

/// Checks policy text that must compile without errors.
pub fn compile_ok(text: &str) -> policy::PolicySet {
    let checked = check("test.policy", text);
    let errors: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render_human(false))
        .collect();
    assert!(
        errors.is_empty(),
        "unexpected errors:\n{}",
        errors.join("\n")
    );
    checked.set
}

pub mod engine;
pub mod scdf;
