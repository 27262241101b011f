//! Diagnostics: what the compiler says about a policy file, and the three ways lint prints it.
//!
//! Every diagnostic names a stable code (documented in `docs/language.md`), points at the exact
//! token, and says how to fix it in `help` where that helps. Messages are lowercase, with no final
//! period, and put user text in backticks. This module never decides *what* is wrong; the
//! compiler does.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use super::source::{SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Every diagnostic the language reports. The discriminant order is the order of the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    Syntax,
    UnboundVariable,
    InvalidRegex,
    MinAboveMax,
    DuplicateClause,
    ZeroAmount,
    NumberOutOfRange,
    BadDuration,
    InvalidName,
    BadEscape,
    MissingStream,
    MissingAction,
    RelativeWithoutMax,
    ConflictingPolicies,
    DuplicatePolicy,
    TargetOutsideBounds,
    UnusedVariable,
    RedundantAnchor,
}

impl Code {
    pub const ALL: [Code; 18] = [
        Code::Syntax,
        Code::UnboundVariable,
        Code::InvalidRegex,
        Code::MinAboveMax,
        Code::DuplicateClause,
        Code::ZeroAmount,
        Code::NumberOutOfRange,
        Code::BadDuration,
        Code::InvalidName,
        Code::BadEscape,
        Code::MissingStream,
        Code::MissingAction,
        Code::RelativeWithoutMax,
        Code::ConflictingPolicies,
        Code::DuplicatePolicy,
        Code::TargetOutsideBounds,
        Code::UnusedVariable,
        Code::RedundantAnchor,
    ];

    /// The code printed in brackets, e.g. `E004`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "E001",
            Code::UnboundVariable => "E002",
            Code::InvalidRegex => "E003",
            Code::MinAboveMax => "E004",
            Code::DuplicateClause => "E005",
            Code::ZeroAmount => "E006",
            Code::NumberOutOfRange => "E007",
            Code::BadDuration => "E008",
            Code::InvalidName => "E009",
            Code::BadEscape => "E010",
            Code::MissingStream => "E011",
            Code::MissingAction => "E012",
            Code::RelativeWithoutMax => "W001",
            Code::ConflictingPolicies => "W002",
            Code::DuplicatePolicy => "W003",
            Code::TargetOutsideBounds => "W004",
            Code::UnusedVariable => "W005",
            Code::RedundantAnchor => "W006",
        }
    }

    /// A short kebab-case name, shown in JSON output and the docs.
    pub fn name(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::UnboundVariable => "unbound-variable",
            Code::InvalidRegex => "invalid-regex",
            Code::MinAboveMax => "min-above-max",
            Code::DuplicateClause => "duplicate-clause",
            Code::ZeroAmount => "zero-amount",
            Code::NumberOutOfRange => "number-out-of-range",
            Code::BadDuration => "bad-duration",
            Code::InvalidName => "invalid-name",
            Code::BadEscape => "bad-escape",
            Code::MissingStream => "missing-stream",
            Code::MissingAction => "missing-action",
            Code::RelativeWithoutMax => "relative-without-max",
            Code::ConflictingPolicies => "conflicting-policies",
            Code::DuplicatePolicy => "duplicate-policy",
            Code::TargetOutsideBounds => "target-outside-bounds",
            Code::UnusedVariable => "unused-variable",
            Code::RedundantAnchor => "redundant-anchor",
        }
    }

    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('E') {
            Severity::Error
        } else {
            Severity::Warning
        }
    }
}

/// One finding, located and ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub file: Arc<str>,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub severity: Severity,
    #[serde(serialize_with = "serialize_code")]
    pub code: Code,
    #[serde(rename = "name")]
    pub code_name: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The source line the diagnostic points into, for the human format.
    #[serde(skip)]
    pub source_line: String,
}

fn serialize_code<S: serde::Serializer>(code: &Code, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.as_str())
}

impl Diagnostic {
    pub fn new(file: &SourceFile, span: Span, code: Code, message: impl Into<String>) -> Self {
        let start = file.line_col(span.start);
        let end = file.line_col(span.end.max(span.start));
        Diagnostic {
            file: file.name.clone(),
            line: start.line,
            column: start.col,
            end_line: end.line,
            end_column: end.col,
            severity: code.severity(),
            code,
            code_name: code.name(),
            message: message.into(),
            help: None,
            source_line: file.line_text(start.line).to_string(),
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `FILE:LINE:COL: error[CODE]: message`, the source line, a caret line, and `help:`.
    pub fn render_human(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let (label, label_color) = match self.severity {
            Severity::Error => ("error", "1;31"),
            Severity::Warning => ("warning", "1;33"),
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {}: {}",
            paint("1", &format!("{}:{}:{}", self.file, self.line, self.column)),
            paint(label_color, &format!("{label}[{}]", self.code.as_str())),
            paint("1", &self.message),
        );
        let gutter = self.line.to_string();
        let pad = " ".repeat(gutter.len());
        let _ = writeln!(
            out,
            " {} {} {}",
            paint("1;34", &gutter),
            paint("1;34", "|"),
            self.source_line
        );
        // Keep tabs in the caret line so the caret lines up under tabbed source.
        let lead: String = self
            .source_line
            .chars()
            .take(self.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = if self.end_line == self.line && self.end_column > self.column {
            self.end_column - self.column
        } else {
            1
        };
        let _ = writeln!(
            out,
            " {pad} {} {lead}{}",
            paint("1;34", "|"),
            paint(label_color, &"^".repeat(width))
        );
        if let Some(help) = &self.help {
            let _ = writeln!(out, " {pad} {} {help}", paint("1;36", "= help:"));
        }
        out
    }

    /// A GitHub Actions workflow command: `::error file=F,line=L,col=C::message`.
    pub fn render_github(&self) -> String {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = self.message.clone();
        if let Some(help) = &self.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        format!(
            "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&self.file),
            self.line,
            self.column,
            self.end_line,
            self.end_column,
            escape_property(&format!("{} {}", self.code.as_str(), self.code.name())),
            escape_data(&message),
        )
    }
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A summary line: `2 errors, 1 warning in 3 files`.
pub fn summary(diagnostics: &[Diagnostic], files: usize) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {} in {}",
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(files, "file")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_annotations_escape_separators() {
        let file = SourceFile::new("a,b:c.policy", "when x\n");
        let diag = Diagnostic::new(&file, Span::new(5, 6), Code::Syntax, "50% bad\nline");
        assert_eq!(
            diag.render_github(),
            "::error file=a%2Cb%3Ac.policy,line=1,col=6,endLine=1,endColumn=7,title=E001 syntax::50%25 bad%0Aline"
        );
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code:?}");
        }
    }
}
