//! The syntax tree: what a policy file says, with a span on every node, before any checking.
//!
//! The AST is faithful to the source: clauses in the order written, repeated clauses kept,
//! numbers and durations as written. The compiler (`compile.rs`) turns it into checked
//! `Policy` values; nothing here decides whether a policy is valid.

use super::source::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// The alert status a policy reacts to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One `when ...` policy as written.
#[derive(Debug, Clone)]
pub struct PolicyAst {
    /// From `when` to the last token of the policy.
    pub span: Span,
    /// The `when` keyword: a policy's identity is the line it starts on.
    pub when_span: Span,
    pub status: Option<Spanned<AlertStatus>>,
    pub alert: Spanned<String>,
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone)]
pub enum Clause {
    /// `on stream REF [app $var]`
    On {
        span: Span,
        stream: Spanned<NameRef>,
        app_var: Option<Spanned<String>>,
    },
    /// `where M and M ...`
    Where {
        span: Span,
        matchers: Vec<MatcherAst>,
    },
    /// `unless alert NAME`
    Unless { span: Span, alert: Spanned<String> },
    /// `scale APP AMOUNT OPTIONS...`
    Scale(ScaleAst),
    /// `paused`
    Paused { span: Span },
}

impl Clause {
    pub fn span(&self) -> Span {
        match self {
            Clause::On { span, .. }
            | Clause::Where { span, .. }
            | Clause::Unless { span, .. }
            | Clause::Paused { span } => *span,
            Clause::Scale(scale) => scale.span,
        }
    }

    /// The clause's keyword, as the user wrote it.
    pub fn keyword(&self) -> &'static str {
        match self {
            Clause::On { .. } => "on stream",
            Clause::Where { .. } => "where",
            Clause::Unless { .. } => "unless",
            Clause::Scale(_) => "scale",
            Clause::Paused { .. } => "paused",
        }
    }
}

/// A stream or app: a `$variable` or a literal name (bare or quoted, already unescaped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameRef {
    Variable(String),
    Literal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = "=~")]
    Matches,
    #[serde(rename = "!~")]
    NotMatches,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Matches => "=~",
            MatchOp::NotMatches => "!~",
        }
    }

    pub fn is_regex(self) -> bool {
        matches!(self, MatchOp::Matches | MatchOp::NotMatches)
    }
}

#[derive(Debug, Clone)]
pub struct MatcherAst {
    pub label: Spanned<String>,
    pub op: MatchOp,
    /// The unescaped string value.
    pub value: Spanned<String>,
}

#[derive(Debug, Clone)]
pub struct ScaleAst {
    pub span: Span,
    pub app: Spanned<NameRef>,
    pub amount: Spanned<AmountAst>,
    pub options: Vec<OptionAst>,
}

/// An amount as written: the sign and digits of `+N`/`-N`, or the digits of `to N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountAst {
    Relative { negative: bool, digits: String },
    Absolute { digits: Spanned<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionKind {
    Min = 0,
    Max = 1,
    Cooldown = 2,
}

impl OptionKind {
    pub fn keyword(self) -> &'static str {
        match self {
            OptionKind::Min => "min",
            OptionKind::Max => "max",
            OptionKind::Cooldown => "cooldown",
        }
    }
}

/// `min N`, `max N` or `cooldown D`, with the value as written.
#[derive(Debug, Clone)]
pub struct OptionAst {
    pub kind: OptionKind,
    pub span: Span,
    pub value: Spanned<String>,
}
