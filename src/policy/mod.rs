//! The policy language: text -> syntax tree (`syntax`) -> checked, indexed `PolicySet`
//! (`compile`), plus the formatter (`format`) and the diagnostics every stage reports.
//!
//! `load` composes the stages for callers: read files, parse, compile, return the set and every
//! diagnostic. Nothing in this module touches the network or the engine's state.

pub mod ast;
pub mod compile;
pub mod diagnostic;
pub mod duration;
pub mod format;
pub mod source;
pub mod syntax;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use rustc_hash::FxHashMap;
use serde::Serialize;
use thiserror::Error;

pub use ast::{AlertStatus, MatchOp};
pub use compile::{CompileOptions, DEFAULT_MAX_INSTANCES, DEFAULT_MIN, MAX_COUNT};
pub use diagnostic::{Code, Diagnostic, Severity};
pub use source::SourceFile;

/// The label `on stream $s` binds.
pub const STREAM_LABEL: &str = "stream_name";
/// The label `on stream $s app $a` binds to `$a`.
pub const APP_LABEL: &str = "application_name";
/// The extension of policy files found in directories.
pub const EXTENSION: &str = "policy";

/// Where a policy is written: shown in decisions, logs and metrics as `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId {
    pub file: Arc<str>,
    pub line: usize,
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl Serialize for PolicyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A stream or app name: fixed by the policy, or read from the alert's label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameSource {
    /// `$var`: from `stream_name` (streams) or `application_name` (apps).
    Label,
    Fixed(String),
}

/// A checked label matcher, with Prometheus semantics.
#[derive(Debug, Clone)]
pub struct LabelMatcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
    /// The fully anchored regex, for `=~` and `!~`.
    pub regex: Option<Regex>,
}

impl LabelMatcher {
    /// Whether the labels satisfy the matcher; a missing label matches as the empty string.
    pub fn matches(&self, labels: &HashMap<String, String>) -> bool {
        let value = labels.get(&self.label).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Matches, Some(regex)) => regex.is_match(value),
            (MatchOp::NotMatches, Some(regex)) => !regex.is_match(value),
            (_, None) => unreachable!("the compiler sets a regex on every regex matcher"),
        }
    }
}

/// How an action changes the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Amount {
    /// `+N` or `-N`.
    Change(i32),
    /// `to N`.
    To(u32),
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Change(n) => write!(f, "{n:+}"),
            Amount::To(n) => write!(f, "to {n}"),
        }
    }
}

/// One `scale` clause, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub app: NameSource,
    pub amount: Amount,
    /// `min`, or `DEFAULT_MIN`.
    pub min: u32,
    /// `max`, or `None` for the server-wide cap.
    pub max: Option<u32>,
    pub cooldown: Option<Duration>,
    /// The line of the `scale` keyword.
    pub line: usize,
}

impl Action {
    pub fn same_effect(&self, other: &Action) -> bool {
        (&self.app, self.amount, self.min, self.max, self.cooldown)
            == (
                &other.app,
                other.amount,
                other.min,
                other.max,
                other.cooldown,
            )
    }
}

/// A compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: PolicyId,
    /// A hash of what the policy does: stable across moves, reformatting and restarts.
    pub digest: String,
    /// The policy's text as written.
    pub source: String,
    pub status: AlertStatus,
    /// The `alertname` the policy reacts to.
    pub alert: String,
    pub stream: NameSource,
    pub matchers: Vec<LabelMatcher>,
    /// `unless alert NAME`: no action while such an alert is firing for the same stream.
    pub unless: Option<String>,
    pub paused: bool,
    pub actions: Vec<Action>,
}

/// Writes `text` quoted, escaping only `"` and `\\`: unambiguous, and stable across Rust and
/// Unicode versions (digests are kept across upgrades).
fn write_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

fn write_name(out: &mut String, name: &NameSource) {
    match name {
        NameSource::Label => out.push('$'),
        NameSource::Fixed(name) => write_quoted(out, name),
    }
}

/// What makes two policy actions "the same rule" for the conflict warnings.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConflictKey<'p> {
    status: AlertStatus,
    alert: &'p str,
    stream: &'p NameSource,
    matchers: Vec<(&'p str, MatchOp, &'p str)>,
    unless: Option<&'p str>,
    app: &'p NameSource,
}

impl Policy {
    fn sorted_matchers(&self) -> Vec<(&str, MatchOp, &str)> {
        let mut matchers: Vec<_> = self
            .matchers
            .iter()
            .map(|m| (m.label.as_str(), m.op, m.value.as_str()))
            .collect();
        matchers.sort_by_key(|&(label, op, value)| (label, op.as_str(), value));
        matchers
    }

    /// What the policy does, in a canonical text that ignores layout, variable names, matcher
    /// order and `paused`; the input of `digest`.
    pub fn semantic_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(128);
        out.push_str(self.status.as_str());
        out.push(' ');
        write_quoted(&mut out, &self.alert);
        out.push_str(" stream ");
        write_name(&mut out, &self.stream);
        out.push_str(" where");
        for (label, op, value) in self.sorted_matchers() {
            let _ = write!(out, " {label}{}", op.as_str());
            write_quoted(&mut out, value);
        }
        out.push_str(" unless ");
        match &self.unless {
            Some(alert) => write_quoted(&mut out, alert),
            None => out.push('-'),
        }
        for action in &self.actions {
            out.push_str(" scale ");
            write_name(&mut out, &action.app);
            let _ = write!(out, " {} min {} max ", action.amount, action.min);
            match action.max {
                Some(max) => {
                    let _ = write!(out, "{max}");
                }
                None => out.push_str("cap"),
            }
            let _ = write!(
                out,
                " cooldown {}",
                action.cooldown.map_or(0, |c| c.as_millis())
            );
        }
        out
    }

    /// Policy actions with the same key react to the same alerts and scale the same app.
    pub(crate) fn conflict_key<'p>(&'p self, action: &'p Action) -> ConflictKey<'p> {
        ConflictKey {
            status: self.status,
            alert: &self.alert,
            stream: &self.stream,
            matchers: self.sorted_matchers(),
            unless: self.unless.as_deref(),
            app: &action.app,
        }
    }
}

/// The policies in effect, indexed by alert name so that evaluating an alert costs nothing for
/// policies on other alerts.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
    /// `alertname` -> indexes into `policies`, in file order, for each status. Fx hashing: keys
    /// come from policy files; alert names from payloads are only looked up.
    by_alert: FxHashMap<String, [Vec<usize>; 2]>,
}

impl PolicySet {
    pub fn new(policies: Vec<Policy>) -> Self {
        let mut by_alert: FxHashMap<String, [Vec<usize>; 2]> = FxHashMap::default();
        for (index, policy) in policies.iter().enumerate() {
            by_alert.entry(policy.alert.clone()).or_default()[policy.status as usize].push(index);
        }
        PolicySet { policies, by_alert }
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The policies on alerts named `alert` with `status`, in file order.
    pub fn for_alert(&self, alert: &str, status: AlertStatus) -> impl Iterator<Item = &Policy> {
        self.by_alert
            .get(alert)
            .map_or(&[][..], |by_status| &by_status[status as usize][..])
            .iter()
            .map(|&index| &self.policies[index])
    }
}

/// Why policy files could not be read.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no `.policy` files under `{0}`")]
    NoPolicies(PathBuf),
}

/// The policy files a list of paths names: files as given, directories searched recursively
/// for `*.policy`, skipping hidden entries (a ConfigMap's `..data` and its timestamped copies).
/// Symlinks are followed, so a ConfigMap's `name.policy -> ..data/name.policy` is found.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        if !metadata.is_dir() {
            found.push(path.clone());
            continue;
        }
        let before = found.len();
        let walker = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.file_name()));
        for entry in walker {
            let entry = entry.map_err(|error| {
                let path = error.path().unwrap_or(path).to_path_buf();
                LoadError::Io {
                    path,
                    source: error.into(),
                }
            })?;
            if entry.file_type().is_file() && entry.path().extension() == Some(EXTENSION.as_ref()) {
                found.push(entry.into_path());
            }
        }
        if found.len() == before {
            return Err(LoadError::NoPolicies(path.clone()));
        }
    }
    Ok(found)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

pub fn read_source(path: &Path) -> Result<SourceFile, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(SourceFile::new(path.display().to_string(), text))
}

/// A compiled set and everything the compiler said about it.
#[derive(Debug)]
pub struct Checked {
    pub set: PolicySet,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and compiles source files as one set. Diagnostics come sorted by file and position.
pub fn check(files: &[SourceFile], options: CompileOptions) -> Checked {
    let mut diagnostics = Vec::new();
    let parsed: Vec<_> = files
        .iter()
        .map(|file| (file, syntax::parse_file(file, &mut diagnostics)))
        .collect();
    let set = compile::compile(&parsed, options, &mut diagnostics);
    let order: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (&*f.name, i))
        .collect();
    diagnostics.sort_by_key(|d| (order.get(&*d.file).copied(), d.line, d.column));
    Checked { set, diagnostics }
}

/// Reads every policy file under `paths` and checks them as one set.
pub fn load(
    paths: &[PathBuf],
    options: CompileOptions,
) -> Result<(Vec<SourceFile>, Checked), LoadError> {
    let files = discover(paths)?
        .iter()
        .map(|path| read_source(path))
        .collect::<Result<Vec<_>, _>>()?;
    let checked = check(&files, options);
    Ok((files, checked))
}
