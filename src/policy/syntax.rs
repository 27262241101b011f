//! Stage 1: text -> syntax tree. The pest grammar lives in `grammar/policy.pest`.
//!
//! A file is cut into chunks at every line that starts with `when`, and each chunk is parsed on
//! its own, so one syntax error does not hide the errors of the policies after it. This module
//! reports syntax errors and bad string escapes only; every other check is the compiler's.

use pest::iterators::Pair;
use pest::Parser as _;

use super::ast::*;
use super::diagnostic::{Code, Diagnostic};
use super::source::{SourceFile, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/policy.pest"]
pub struct PolicyParser;

/// Byte ranges of the chunks of `text`: the first starts at 0, each next one at a line whose
/// first word is `when`.
pub fn chunks(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut starts = vec![0];
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let is_when = line
            .trim_start()
            .strip_prefix("when")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
        if is_when && line_start > 0 {
            starts.push(line_start);
        }
        line_start += line.len();
    }
    let mut ranges: Vec<_> = starts.windows(2).map(|pair| pair[0]..pair[1]).collect();
    ranges.push(*starts.last().unwrap_or(&0)..text.len());
    ranges
}

/// Parses one chunk. Spans in the returned pairs are relative to the chunk.
pub fn parse_chunk(chunk: &str) -> Result<Pair<'_, Rule>, Box<pest::error::Error<Rule>>> {
    let mut pairs = PolicyParser::parse(Rule::file, chunk).map_err(Box::new)?;
    Ok(pairs
        .next()
        .expect("the `file` rule always yields one pair"))
}

/// The parse of a piece of a file, starting at a byte offset.
pub type Piece<'i> = (usize, Result<Pair<'i, Rule>, Box<pest::error::Error<Rule>>>);

/// Parses a file once, whole, when it parses; otherwise chunk by chunk, so that each broken
/// policy is reported and the good ones around it still parse.
pub fn parse_pieces(text: &str) -> Vec<Piece<'_>> {
    match parse_chunk(text) {
        Ok(pair) => vec![(0, Ok(pair))],
        Err(_) => chunks(text)
            .into_iter()
            .map(|range| (range.start, parse_chunk(&text[range])))
            .collect(),
    }
}

/// Parses a whole file into policies, appending syntax errors to `diagnostics`.
pub fn parse_file(file: &SourceFile, diagnostics: &mut Vec<Diagnostic>) -> Vec<PolicyAst> {
    let mut policies = Vec::new();
    for (offset, parsed) in parse_pieces(&file.text) {
        match parsed {
            Ok(pair) => {
                let mut lower = Lower {
                    file,
                    offset,
                    diagnostics: &mut *diagnostics,
                };
                policies.extend(
                    pair.into_inner()
                        .filter(|p| p.as_rule() == Rule::policy)
                        .map(|p| lower.policy(p)),
                );
            }
            Err(error) => diagnostics.push(syntax_error(file, offset, &error)),
        }
    }
    policies
}

fn syntax_error(file: &SourceFile, offset: usize, error: &pest::error::Error<Rule>) -> Diagnostic {
    let pos = offset
        + match error.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
    let found = found_token(&file.text[pos..]);
    let span = Span::new(pos, pos + found.len());
    let expected = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => expected_list(positives),
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    let found_text = if found.is_empty() {
        "end of file".to_string()
    } else {
        format!("`{found}`")
    };
    let diagnostic = Diagnostic::new(
        file,
        span,
        Code::Syntax,
        format!("expected {expected}, found {found_text}"),
    );
    let after_equals = file.text[..pos].ends_with('=');
    match syntax_help(found, after_equals) {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

/// The token at the start of `rest`: a string up to its closing quote, or a run of non-space.
fn found_token(rest: &str) -> &str {
    let line = rest.lines().next().unwrap_or("");
    if line.starts_with('"') {
        return line;
    }
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    &line[..end.max(line.chars().next().map_or(0, char::len_utf8))]
}

fn syntax_help(found: &str, after_equals: bool) -> Option<&'static str> {
    if after_equals && found.starts_with('=') {
        Some("label matchers use `=`, `!=`, `=~` or `!~`")
    } else if found.starts_with('"') && !found[1..].contains('"') {
        Some("strings end on the line they start: close it with `\"`")
    } else if found.starts_with('\'') {
        Some("strings are written in double quotes: `\"...\"`")
    } else if found == "==" {
        Some("label matchers use `=`, `!=`, `=~` or `!~`")
    } else if found.starts_with('*') || found.starts_with('x') {
        Some("amounts are `+N`, `-N` or `to N`")
    } else {
        None
    }
}

/// "`when`, `on` or end of file": what the parser wanted, in words, without repeats.
fn expected_list(rules: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for rule in rules {
        if matches!(rule, Rule::COMMENT | Rule::WHITESPACE | Rule::EOI) {
            continue;
        }
        let word = describe(*rule);
        if !words.contains(&word) {
            words.push(word);
        }
    }
    // `to` is already in "an amount (... `to N`)".
    if rules.contains(&Rule::relative) {
        words.retain(|w| *w != describe(Rule::to_kw));
    }
    // "end of file" reads best last.
    if rules.contains(&Rule::EOI) {
        words.push(describe(Rule::EOI));
    }
    match words.as_slice() {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::policy | Rule::when_kw => "`when`",
        Rule::status | Rule::firing_kw | Rule::resolved_kw => "`firing` or `resolved`",
        Rule::alert_kw => "`alert`",
        Rule::alert_name | Rule::metric_name => "an alert name",
        Rule::on_clause | Rule::on_kw => "`on`",
        Rule::stream_kw => "`stream`",
        Rule::app_kw => "`app`",
        Rule::where_clause | Rule::where_kw => "`where`",
        Rule::and_kw => "`and`",
        Rule::unless_clause | Rule::unless_kw => "`unless`",
        Rule::scale_clause | Rule::scale_kw => "`scale`",
        Rule::paused_kw => "`paused`",
        Rule::to_kw => "`to`",
        Rule::scale_option => "`min`, `max`, `cooldown`",
        Rule::min_option | Rule::min_kw => "`min`",
        Rule::max_option | Rule::max_kw => "`max`",
        Rule::cooldown_option | Rule::cooldown_kw => "`cooldown`",
        Rule::name_ref => "a `$variable`, a double-quoted string or a name",
        Rule::app_name => "a name",
        Rule::variable => "a `$variable`",
        Rule::matcher | Rule::label_name => "a label name",
        Rule::match_op => "`=`, `!=`, `=~` or `!~`",
        Rule::string | Rule::string_body => "a double-quoted string",
        Rule::amount | Rule::relative | Rule::absolute => "an amount (`+N`, `-N` or `to N`)",
        Rule::number => "a number",
        Rule::duration => "a duration (like `5m`)",
        Rule::file | Rule::clause | Rule::WHITESPACE | Rule::COMMENT | Rule::word_char => {
            "something else"
        }
    }
}

/// Turns pest pairs into AST nodes, shifting spans by the chunk's offset.
struct Lower<'a> {
    file: &'a SourceFile,
    offset: usize,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Lower<'_> {
    /// The span of a pair. Not for rules that end in `x*` or `x?` (policy, clauses): pest
    /// lets those swallow the whitespace and comments after their last token, so their spans
    /// are built from their parts.
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.offset + s.start(), self.offset + s.end())
    }

    fn policy(&mut self, pair: Pair<Rule>) -> PolicyAst {
        let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT);
        let when = inner.next().expect("grammar: policy starts with `when`");
        let when_span = self.span(&when);
        let mut next = inner.next().expect("grammar: `alert` follows `when`");
        let mut status = None;
        if next.as_rule() == Rule::status {
            let kw = next
                .clone()
                .into_inner()
                .next()
                .expect("grammar: status keyword");
            let value = if kw.as_rule() == Rule::firing_kw {
                AlertStatus::Firing
            } else {
                AlertStatus::Resolved
            };
            status = Some(Spanned::new(value, self.span(&next)));
            next = inner.next().expect("grammar: `alert` follows the status");
        }
        debug_assert_eq!(next.as_rule(), Rule::alert_kw);
        let alert = self.alert_name(inner.next().expect("grammar: alert name"));
        let clauses: Vec<Clause> = inner.map(|clause| self.clause(clause)).collect();
        let last = clauses.last().map_or(alert.span, Clause::span);
        PolicyAst {
            span: when_span.to(last),
            when_span,
            status,
            alert,
            clauses,
        }
    }

    fn alert_name(&mut self, pair: Pair<Rule>) -> Spanned<String> {
        let span = self.span(&pair);
        Spanned::new(self.text(pair), span)
    }

    /// The value of a bare token, or the unescaped contents of a string.
    fn text(&mut self, pair: Pair<Rule>) -> String {
        if pair.as_rule() == Rule::string {
            let span = self.span(&pair);
            self.unescape(pair.as_str(), span)
        } else {
            pair.as_str().to_string()
        }
    }

    fn tokens<'i>(&self, pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
        pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT)
    }

    fn clause(&mut self, pair: Pair<Rule>) -> Clause {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::on_clause => {
                let mut inner = self.tokens(pair).skip(2); // `on`, `stream`
                let stream = self.name_ref(inner.next().expect("grammar: stream"));
                let app_var = inner.nth(1).map(|var| {
                    let span = self.span(&var);
                    Spanned::new(var.as_str().to_string(), span)
                });
                let end = app_var.as_ref().map_or(stream.span, |v| v.span);
                Clause::On {
                    span: Span::new(span.start, end.end),
                    stream,
                    app_var,
                }
            }
            Rule::where_clause => {
                let matchers: Vec<MatcherAst> = self
                    .tokens(pair)
                    .filter(|p| p.as_rule() == Rule::matcher)
                    .map(|m| self.matcher(m))
                    .collect();
                let end = matchers.last().map_or(span, |m: &MatcherAst| m.value.span);
                Clause::Where {
                    span: Span::new(span.start, end.end),
                    matchers,
                }
            }
            Rule::unless_clause => {
                let name = self.tokens(pair).nth(2).expect("grammar: alert name");
                let alert = self.alert_name(name);
                Clause::Unless { span, alert }
            }
            Rule::scale_clause => Clause::Scale(self.scale(pair)),
            Rule::paused_kw => Clause::Paused { span },
            rule => unreachable!("grammar: {rule:?} is not a clause"),
        }
    }

    fn name_ref(&mut self, pair: Pair<Rule>) -> Spanned<NameRef> {
        let span = self.span(&pair);
        let value = match pair.as_rule() {
            Rule::variable => NameRef::Variable(pair.as_str().to_string()),
            _ => NameRef::Literal(self.text(pair)),
        };
        Spanned::new(value, span)
    }

    fn matcher(&mut self, pair: Pair<Rule>) -> MatcherAst {
        let mut inner = self.tokens(pair);
        let label = inner.next().expect("grammar: label");
        let label = Spanned::new(label.as_str().to_string(), self.span(&label));
        let op = match inner.next().expect("grammar: operator").as_str() {
            "=" => MatchOp::Equal,
            "!=" => MatchOp::NotEqual,
            "=~" => MatchOp::Matches,
            _ => MatchOp::NotMatches,
        };
        let value = inner.next().expect("grammar: value");
        let span = self.span(&value);
        let value = Spanned::new(self.text(value), span);
        MatcherAst { label, op, value }
    }

    fn scale(&mut self, pair: Pair<Rule>) -> ScaleAst {
        let span = self.span(&pair);
        let mut inner = self.tokens(pair).skip(1); // `scale`
        let app = self.name_ref(inner.next().expect("grammar: app"));
        let amount_token = inner.next().expect("grammar: amount");
        let amount_span = self.span(&amount_token);
        let amount = match amount_token.as_rule() {
            Rule::relative => {
                let text = amount_token.as_str();
                AmountAst::Relative {
                    negative: text.starts_with('-'),
                    digits: text[1..].to_string(),
                }
            }
            _ => {
                let number = self.tokens(amount_token).nth(1).expect("grammar: `to N`");
                AmountAst::Absolute {
                    digits: Spanned::new(number.as_str().to_string(), self.span(&number)),
                }
            }
        };
        let options: Vec<OptionAst> = inner
            .map(|option| {
                let span = self.span(&option);
                let kind = match option.as_rule() {
                    Rule::min_option => OptionKind::Min,
                    Rule::max_option => OptionKind::Max,
                    _ => OptionKind::Cooldown,
                };
                let value = self.tokens(option).nth(1).expect("grammar: option value");
                let value = Spanned::new(value.as_str().to_string(), self.span(&value));
                OptionAst { kind, span, value }
            })
            .collect();
        let end = options.last().map_or(amount_span, |o: &OptionAst| o.span);
        ScaleAst {
            span: Span::new(span.start, end.end),
            app,
            amount: Spanned::new(amount, amount_span),
            options,
        }
    }

    /// `"..."` -> its value. Escapes: `\"`, `\\`, `\n`, `\t`, `\r`, `\u{HEX}`.
    fn unescape(&mut self, quoted: &str, span: Span) -> String {
        let body = &quoted[1..quoted.len() - 1];
        let mut out = String::with_capacity(body.len());
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escape_start = span.start + 1 + i;
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((j, 'u')) => match unicode_escape(&body[j + 1..]) {
                    Some((c, len)) => {
                        out.push(c);
                        for _ in 0..len {
                            chars.next();
                        }
                    }
                    None => {
                        out.push_str("\\u");
                        self.bad_escape(escape_start, escape_start + 2, "\\u")
                    }
                },
                // Keep the text as written so that later checks (regexes) do not cascade.
                Some((j, other)) => {
                    let end = span.start + 1 + j + other.len_utf8();
                    out.push_str(&body[i..j + other.len_utf8()]);
                    self.bad_escape(escape_start, end, &body[i..j + other.len_utf8()]);
                }
                None => unreachable!("grammar: a backslash is always followed by a character"),
            }
        }
        out
    }

    fn bad_escape(&mut self, start: usize, end: usize, escape: &str) {
        let help = if escape == "\\u" {
            "write a Unicode escape as `\\u{HEX}`, e.g. `\\u{e9}`"
        } else {
            "known escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r` and `\\u{HEX}`; a regex's backslash is written `\\\\`, e.g. `\"\\\\d+\"`"
        };
        self.diagnostics.push(
            Diagnostic::new(
                self.file,
                Span::new(start, end),
                Code::BadEscape,
                format!("unknown escape `{escape}` in string"),
            )
            .with_help(help),
        );
    }
}

/// `{HEX}` at the start of `rest` -> the character and the number of characters consumed.
fn unicode_escape(rest: &str) -> Option<(char, usize)> {
    let inner = rest.strip_prefix('{')?;
    let close = inner.find('}')?;
    let hex = &inner[..close];
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((c, close + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_start_at_lines_beginning_with_when() {
        let text = "# c\nwhen a\n  on x\nwhen b\nwhenever\n";
        let ranges = chunks(text);
        let parts: Vec<_> = ranges.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(parts, ["# c\n", "when a\n  on x\n", "when b\nwhenever\n"]);
    }

    #[test]
    fn chunks_of_a_file_starting_with_when() {
        assert_eq!(chunks("when a\nwhen b"), vec![0..7, 7..13]);
        assert_eq!(chunks(""), vec![0..0]);
    }
}
