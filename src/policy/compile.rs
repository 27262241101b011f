//! Stage 2: syntax tree -> checked, indexed `PolicySet`.
//!
//! Every check of the language lives here: bindings, numbers, bounds, durations, regexes, names,
//! clauses given twice or missing, and the warnings that need the whole set (conflicting and
//! duplicate policies). Errors are collected, never thrown: one run reports them all. A policy
//! with an error is left out of the set; callers refuse a set whose diagnostics hold an error.

use rustc_hash::FxHashMap;
use std::time::Duration;

use regex::Regex;
use sha2::{Digest as _, Sha256};

use super::ast::*;
use super::diagnostic::{Code, Diagnostic};
use super::duration;
use super::source::{SourceFile, Span};
use super::{Action, Amount, LabelMatcher, NameSource, Policy, PolicyId, PolicySet};
use crate::scdf::names;

/// The largest instance count or amount a policy may name.
pub const MAX_COUNT: u32 = 1000;

/// The server-wide cap on instances when a policy names no `max` (`--scale.max-instances`).
pub const DEFAULT_MAX_INSTANCES: u32 = 10;

/// The smallest count a policy scales to when it names no `min`.
pub const DEFAULT_MIN: u32 = 1;

/// What the compiler needs to know about the server it compiles for.
#[derive(Debug, Clone, Copy)]
pub struct CompileOptions {
    /// The server-wide cap, used to explain where a `max`-less policy stops.
    pub max_instances: u32,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            max_instances: DEFAULT_MAX_INSTANCES,
        }
    }
}

/// Compiles the policies of several files into one set, appending diagnostics.
pub fn compile(
    files: &[(&SourceFile, Vec<PolicyAst>)],
    options: CompileOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> PolicySet {
    let mut compiler = Compiler {
        options,
        diagnostics,
        regexes: FxHashMap::default(),
        file: None,
    };
    let mut policies = Vec::new();
    for (file, asts) in files {
        compiler.file = Some(file);
        for ast in asts {
            if let Some(policy) = compiler.policy(ast) {
                policies.push((policy, ast));
            }
        }
    }
    compiler.cross_checks(files, &policies);
    PolicySet::new(policies.into_iter().map(|(p, _)| p).collect())
}

struct Compiler<'a, 'd> {
    options: CompileOptions,
    diagnostics: &'d mut Vec<Diagnostic>,
    /// Compiled regexes by pattern: sets often repeat the same matcher.
    regexes: FxHashMap<String, Regex>,
    file: Option<&'a SourceFile>,
}

/// The clauses of one policy, each at most once, after the duplicate check.
#[derive(Default)]
struct Clauses<'p> {
    on: Option<&'p Clause>,
    where_: Option<&'p Clause>,
    unless: Option<&'p Clause>,
    paused: bool,
    scales: Vec<&'p ScaleAst>,
}

impl<'a> Compiler<'a, '_> {
    fn file(&self) -> &'a SourceFile {
        self.file.expect("compile sets the file before each policy")
    }

    fn report(&mut self, span: Span, code: Code, message: String, help: Option<&str>) {
        let mut diagnostic = Diagnostic::new(self.file(), span, code, message);
        if let Some(help) = help {
            diagnostic = diagnostic.with_help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    fn policy(&mut self, ast: &PolicyAst) -> Option<Policy> {
        let errors_before = self.error_count();
        let file = self.file();
        let id = PolicyId {
            file: file.name.clone(),
            line: file.line_col(ast.when_span.start).line,
        };
        if ast.alert.value.is_empty() {
            self.report(
                ast.alert.span,
                Code::InvalidName,
                "the alert name is empty".into(),
                None,
            );
        }
        let clauses = self.clauses(ast);

        let (stream, stream_var, app_var) = match clauses.on {
            Some(Clause::On {
                stream, app_var, ..
            }) => {
                let (source, var) = match &stream.value {
                    NameRef::Variable(var) => (NameSource::Label, Some(var.as_str())),
                    NameRef::Literal(name) => {
                        self.check_name(name, stream.span, "stream");
                        (NameSource::Fixed(name.clone()), None)
                    }
                };
                if let (Some(app), Some(stream_var)) = (app_var, var) {
                    if app.value == stream_var {
                        self.report(
                            app.span,
                            Code::DuplicateClause,
                            format!("variable `{}` is bound twice", app.value),
                            Some("give the app variable its own name, e.g. `on stream $s app $a`"),
                        );
                    }
                }
                (source, var, app_var.as_ref())
            }
            _ => {
                self.report(
                    ast.alert.span,
                    Code::MissingStream,
                    format!("policy on `{}` names no stream", ast.alert.value),
                    Some("add `on stream $s` to take the stream from the alert's `stream_name` label, or `on stream \"name\"` for a fixed stream"),
                );
                (NameSource::Label, None, None)
            }
        };

        let matchers = match clauses.where_ {
            Some(Clause::Where { matchers, .. }) => {
                matchers.iter().filter_map(|m| self.matcher(m)).collect()
            }
            _ => Vec::new(),
        };
        let unless = match clauses.unless {
            Some(Clause::Unless { alert, .. }) => Some(alert.value.clone()),
            _ => None,
        };

        if clauses.scales.is_empty() {
            self.report(
                ast.alert.span,
                Code::MissingAction,
                format!("policy on `{}` has no `scale` action", ast.alert.value),
                Some("add an action such as `scale transform +1 max 4`"),
            );
        }
        let mut app_var_used = false;
        let actions: Vec<Action> = clauses
            .scales
            .iter()
            .filter_map(|scale| self.action(scale, stream_var, app_var, &mut app_var_used))
            .collect();
        if let Some(app) = app_var {
            if !app_var_used && stream_var != Some(app.value.as_str()) {
                self.report(
                    app.span,
                    Code::UnusedVariable,
                    format!("variable `{}` is bound but never used", app.value),
                    Some(&format!(
                        "scale the app it names with `scale {} +1`, or remove `app {}`",
                        app.value, app.value
                    )),
                );
            }
        }

        if self.error_count() > errors_before {
            return None;
        }
        let status = ast.status.as_ref().map_or(AlertStatus::Firing, |s| s.value);
        let mut policy = Policy {
            id,
            digest: String::new(),
            source: file.slice(ast.span).to_string(),
            status,
            alert: ast.alert.value.clone(),
            stream,
            matchers,
            unless,
            paused: clauses.paused,
            actions,
        };
        policy.digest = digest(&policy);
        Some(policy)
    }

    fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Sorts clauses by kind, reporting each one given twice.
    fn clauses<'p>(&mut self, ast: &'p PolicyAst) -> Clauses<'p> {
        let mut out = Clauses::default();
        for clause in &ast.clauses {
            let slot = match clause {
                Clause::On { .. } => &mut out.on,
                Clause::Where { .. } => &mut out.where_,
                Clause::Unless { .. } => &mut out.unless,
                Clause::Paused { .. } => {
                    if out.paused {
                        self.duplicate_clause(clause);
                    }
                    out.paused = true;
                    continue;
                }
                Clause::Scale(scale) => {
                    out.scales.push(scale);
                    continue;
                }
            };
            if slot.is_some() {
                self.duplicate_clause(clause);
            } else {
                *slot = Some(clause);
            }
        }
        out
    }

    fn duplicate_clause(&mut self, clause: &Clause) {
        let help = match clause {
            Clause::Where { .. } => Some("join label matchers with `and` in one `where`"),
            _ => None,
        };
        self.report(
            clause.span(),
            Code::DuplicateClause,
            format!("`{}` is given twice in one policy", clause.keyword()),
            help,
        );
    }

    fn check_name(&mut self, name: &str, span: Span, what: &str) {
        if let Some(problem) = names::problem(name) {
            self.report(
                span,
                Code::InvalidName,
                format!("`{name}` is not a valid SCDF {what} name: {problem}"),
                None,
            );
        }
    }

    fn matcher(&mut self, matcher: &MatcherAst) -> Option<LabelMatcher> {
        let pattern = &matcher.value.value;
        let regex = if matcher.op.is_regex() {
            let anchored = format!("^(?:{pattern})$");
            let regex = match self.regexes.get(&anchored) {
                Some(regex) => regex.clone(),
                None => match Regex::new(&anchored) {
                    Ok(regex) => {
                        self.regexes.insert(anchored, regex.clone());
                        regex
                    }
                    Err(error) => {
                        self.report(
                            matcher.value.span,
                            Code::InvalidRegex,
                            format!("invalid regex `{pattern}`: {}", regex_error_summary(&error)),
                            Some("regexes use RE2 syntax, as in Prometheus; backslashes are doubled in strings, e.g. `\"\\\\d+\"`"),
                        );
                        return None;
                    }
                },
            };
            if pattern.starts_with('^') || (pattern.ends_with('$') && !pattern.ends_with("\\$")) {
                self.report(
                    matcher.value.span,
                    Code::RedundantAnchor,
                    format!(
                        "`{pattern}` has an anchor, but label regexes are always fully anchored"
                    ),
                    Some("remove the `^` and `$`"),
                );
            }
            Some(regex)
        } else {
            None
        };
        Some(LabelMatcher {
            label: matcher.label.value.clone(),
            op: matcher.op,
            value: pattern.clone(),
            regex,
        })
    }

    fn number(&mut self, text: &str, span: Span, what: &str) -> Option<u32> {
        if let Ok(n) = text.parse::<u32>() {
            if n <= MAX_COUNT {
                return Some(n);
            }
        }
        // All digits but too large (even for u32), or not a number at all.
        let (message, help) = if text.bytes().all(|b| b.is_ascii_digit()) {
            (
                format!("{what} `{text}` is out of range"),
                format!("instance counts and amounts go up to {MAX_COUNT}"),
            )
        } else {
            (
                format!("{what} `{text}` is not a whole number"),
                "write a count with digits only, e.g. `4`".to_string(),
            )
        };
        self.report(span, Code::NumberOutOfRange, message, Some(&help));
        None
    }

    fn action(
        &mut self,
        scale: &ScaleAst,
        stream_var: Option<&str>,
        app_var: Option<&Spanned<String>>,
        app_var_used: &mut bool,
    ) -> Option<Action> {
        let errors_before = self.error_count();
        let app = match &scale.app.value {
            NameRef::Literal(name) => {
                self.check_name(name, scale.app.span, "app");
                NameSource::Fixed(name.clone())
            }
            NameRef::Variable(var) if app_var.is_some_and(|a| &a.value == var) => {
                *app_var_used = true;
                NameSource::Label
            }
            NameRef::Variable(var) if stream_var == Some(var.as_str()) => {
                self.report(
                    scale.app.span,
                    Code::UnboundVariable,
                    format!("`{var}` holds the stream name, not an app name"),
                    Some("bind the app from the alert's `application_name` label with `on stream $s app $a`, then `scale $a ...`"),
                );
                NameSource::Label
            }
            NameRef::Variable(var) => {
                self.report(
                    scale.app.span,
                    Code::UnboundVariable,
                    format!("variable `{var}` is not bound"),
                    Some(&format!("bind it to the alert's `application_name` label with `on stream $s app {var}`")),
                );
                NameSource::Label
            }
        };

        let amount = match &scale.amount.value {
            AmountAst::Relative { negative, digits } => {
                let n = self.number(digits, scale.amount.span, "amount");
                if n == Some(0) {
                    let sign = if *negative { '-' } else { '+' };
                    self.report(
                        scale.amount.span,
                        Code::ZeroAmount,
                        format!("`{sign}0` changes nothing"),
                        Some("use a non-zero amount, or remove the action"),
                    );
                }
                n.map(|n| Amount::Change(if *negative { -(n as i32) } else { n as i32 }))
            }
            AmountAst::Absolute { digits } => self
                .number(&digits.value, digits.span, "count")
                .map(Amount::To),
        };

        // The span of each option kind seen, indexed by `OptionKind as usize`.
        let mut seen: [Option<Span>; 3] = [None; 3];
        let (mut min, mut max, mut cooldown) = (None, None, None);
        let mut min_span = None;
        for option in &scale.options {
            if seen[option.kind as usize].replace(option.span).is_some() {
                self.report(
                    option.span,
                    Code::DuplicateClause,
                    format!("`{}` is given twice in one action", option.kind.keyword()),
                    None,
                );
                continue;
            }
            match option.kind {
                OptionKind::Min => {
                    min = self.number(&option.value.value, option.value.span, "min");
                    min_span = Some(option.span);
                }
                OptionKind::Max => max = self.number(&option.value.value, option.value.span, "max"),
                OptionKind::Cooldown => cooldown = self.cooldown(&option.value),
            }
        }

        let effective_min = min.unwrap_or(DEFAULT_MIN);
        if let Some(max_value) = max {
            if effective_min > max_value {
                let (span, message) = match min_span {
                    Some(span) => (
                        span,
                        format!("`min {effective_min}` is greater than `max {max_value}`"),
                    ),
                    None => (
                        seen[OptionKind::Max as usize].unwrap_or(scale.span),
                        format!("`max {max_value}` is below the default `min {DEFAULT_MIN}`"),
                    ),
                };
                self.report(
                    span,
                    Code::MinAboveMax,
                    message,
                    Some("the count is kept between `min` and `max`: make `min` at most `max`"),
                );
            }
        }

        if self.error_count() > errors_before {
            return None;
        }
        let amount = amount?;
        let upper = max.unwrap_or(self.options.max_instances);
        match amount {
            Amount::Change(n) if n > 0 && max.is_none() => self.report(
                scale.amount.span,
                Code::RelativeWithoutMax,
                format!(
                    "`+{n}` has no `max`: repeated alerts can grow the app to the server cap ({})",
                    self.options.max_instances
                ),
                Some(&format!(
                    "add a bound, e.g. `scale {} +{n} max 8`",
                    scale_app_text(&scale.app.value)
                )),
            ),
            Amount::To(n) if n < effective_min || n > upper => {
                let bound = if n < effective_min {
                    format!("below `min {effective_min}`")
                } else if max.is_some() {
                    format!("above `max {upper}`")
                } else {
                    format!("above the server cap ({upper})")
                };
                self.report(
                    scale.amount.span,
                    Code::TargetOutsideBounds,
                    format!(
                        "`to {n}` is {bound}; the count will be clamped to {}",
                        n.clamp(effective_min, upper)
                    ),
                    Some("change the count or the bound so they agree"),
                );
            }
            _ => {}
        }
        Some(Action {
            app,
            amount,
            min: effective_min,
            max,
            cooldown,
            line: self.file().line_col(scale.span.start).line,
        })
    }

    fn cooldown(&mut self, value: &Spanned<String>) -> Option<Duration> {
        match duration::parse(&value.value) {
            Ok(d) => Some(d),
            Err(error) => {
                self.report(
                    value.span,
                    Code::BadDuration,
                    format!("bad duration `{}`: {error}", value.value),
                    Some("durations use Prometheus units `ms`, `s`, `m`, `h`, `d`, `w`, `y`, largest first, e.g. `2m` or `1h30m`"),
                );
                None
            }
        }
    }

    /// Warnings that compare policies: two policies on the same alert, matchers and target
    /// that do different things (W002) or the same thing (W003).
    fn cross_checks(
        &mut self,
        files: &[(&'a SourceFile, Vec<PolicyAst>)],
        policies: &[(Policy, &PolicyAst)],
    ) {
        let mut seen: FxHashMap<super::ConflictKey, (usize, usize)> = FxHashMap::default();
        for (index, (policy, ast)) in policies.iter().enumerate() {
            if policy.paused {
                continue;
            }
            for (action_index, action) in policy.actions.iter().enumerate() {
                let key = policy.conflict_key(action);
                let Some(&(first_index, first_action)) = seen.get(&key) else {
                    seen.insert(key, (index, action_index));
                    continue;
                };
                let (first, _) = &policies[first_index];
                let first_action = &first.actions[first_action];
                let file = files
                    .iter()
                    .find(|(f, _)| f.name == policy.id.file)
                    .map(|(f, _)| *f)
                    .expect("every policy comes from one of the files");
                self.file = Some(file);
                let scale = ast
                    .clauses
                    .iter()
                    .filter_map(|c| match c {
                        Clause::Scale(s) => Some(s),
                        _ => None,
                    })
                    .nth(action_index)
                    .expect("one scale clause per action");
                let target = format!("{} on `{}`", policy.status.as_str(), policy.alert);
                if first_action.same_effect(action) {
                    self.report(
                        scale.span,
                        Code::DuplicatePolicy,
                        format!("this action repeats the one at {} for {target}", first.id),
                        Some("remove one of them: both would act on every alert"),
                    );
                } else {
                    self.report(
                        scale.amount.span,
                        Code::ConflictingPolicies,
                        format!(
                            "`{}` contradicts `{}` at {} for {target} on the same app",
                            action.amount, first_action.amount, first.id
                        ),
                        Some("both act on the same alert; tell them apart with `where`, or remove one"),
                    );
                }
            }
        }
    }
}

fn scale_app_text(app: &NameRef) -> String {
    match app {
        NameRef::Variable(v) => v.clone(),
        NameRef::Literal(name) => name.clone(),
    }
}

/// The last line of a regex error, which says what is wrong without the pattern echo.
fn regex_error_summary(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find(|line| line.starts_with("error:"))
        .map(|line| line.trim_start_matches("error:").trim().to_string())
        .unwrap_or(text)
}

/// A stable hash of what a policy does (not where it is or whether it is paused): the key under
/// which its dedupe and cooldown records survive reloads and restarts.
fn digest(policy: &Policy) -> String {
    use std::fmt::Write as _;
    let hash = Sha256::digest(policy.semantic_text().as_bytes());
    let mut hex = String::with_capacity(16);
    for byte in &hash[..8] {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}
