//! `alertscale fmt`: one canonical layout for policy files, keeping every comment.
//!
//! The layout:
//! - one policy per line when it fits in `WIDTH` columns and holds no comment;
//! - otherwise `when ... alert NAME` on the first line and each clause on its own line, indented
//!   two spaces (a clause broken by a comment continues indented four);
//! - comments keep their place: a comment that followed a token on its line still does (two
//!   spaces before `#`), one on a line of its own stays on a line of its own;
//! - blank lines between policies and comments are kept, at most one in a row; none elsewhere;
//! - single spaces between tokens, LF line endings, one final newline.
//!
//! The formatter works on the token stream of the parse tree and never re-spells a token, so it
//! cannot change meaning; `format_source` checks that the output has the same tokens anyway.

use pest::iterators::Pair;

use super::diagnostic::Diagnostic;
use super::source::SourceFile;
use super::syntax::{self, Rule};

/// The widest a one-line policy may be.
pub const WIDTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token<'s> {
    text: &'s str,
    comment: bool,
    /// 1-based line in the file.
    line: usize,
    /// The first token of an `on`, `where`, `unless`, `scale` or `paused` clause.
    clause_start: bool,
}

enum Item<'s> {
    Comment(Token<'s>),
    Policy(Vec<Token<'s>>),
}

/// The formatted text of a file, or its syntax errors.
pub fn format_source(file: &SourceFile) -> Result<String, Vec<Diagnostic>> {
    let items = items(file)?;
    let output = layout(&items);
    let again = SourceFile::new(file.name.clone(), output.clone());
    let same_tokens = match self::items(&again) {
        Ok(reparsed) => token_texts(&reparsed) == token_texts(&items),
        Err(_) => false,
    };
    assert!(
        same_tokens,
        "alertscale fmt would change the tokens of {}; please report this bug",
        file.name
    );
    Ok(output)
}

fn token_texts<'a>(items: &'a [Item<'a>]) -> Vec<&'a str> {
    items
        .iter()
        .flat_map(|item| match item {
            Item::Comment(token) => std::slice::from_ref(token),
            Item::Policy(tokens) => tokens.as_slice(),
        })
        .map(|token| token.text.trim_end())
        .collect()
}

fn items(file: &SourceFile) -> Result<Vec<Item<'_>>, Vec<Diagnostic>> {
    let mut items = Vec::new();
    let mut diagnostics = Vec::new();
    for (offset, parsed) in syntax::parse_pieces(&file.text) {
        let Ok(pair) = parsed else {
            // Let the parser describe every error exactly as lint would.
            syntax::parse_file(file, &mut diagnostics);
            return Err(diagnostics);
        };
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::COMMENT => items.push(Item::Comment(token(file, offset, &child, false))),
                Rule::policy => {
                    let mut tokens = Vec::new();
                    flatten(file, offset, child, false, &mut tokens);
                    // Comments after the last token belong between policies, though pest
                    // hands them to a policy that ends in `x*` or `x?`.
                    let last = tokens.iter().rposition(|t| !t.comment).unwrap_or(0);
                    let after: Vec<_> = tokens.split_off(last + 1);
                    items.push(Item::Policy(tokens));
                    items.extend(after.into_iter().map(Item::Comment));
                }
                _ => {}
            }
        }
    }
    Ok(items)
}

fn token<'s>(
    file: &'s SourceFile,
    offset: usize,
    pair: &Pair<'s, Rule>,
    clause_start: bool,
) -> Token<'s> {
    let start = offset + pair.as_span().start();
    Token {
        text: &file.text[start..offset + pair.as_span().end()],
        comment: pair.as_rule() == Rule::COMMENT,
        line: file.line_col(start).line,
        clause_start,
    }
}

fn is_leaf(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::string
            | Rule::relative
            | Rule::number
            | Rule::duration
            | Rule::variable
            | Rule::app_name
            | Rule::metric_name
            | Rule::label_name
            | Rule::match_op
            | Rule::COMMENT
            | Rule::when_kw
            | Rule::firing_kw
            | Rule::resolved_kw
            | Rule::alert_kw
            | Rule::on_kw
            | Rule::stream_kw
            | Rule::app_kw
            | Rule::where_kw
            | Rule::and_kw
            | Rule::unless_kw
            | Rule::scale_kw
            | Rule::to_kw
            | Rule::min_kw
            | Rule::max_kw
            | Rule::cooldown_kw
            | Rule::paused_kw
    )
}

fn is_clause(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::on_clause
            | Rule::where_clause
            | Rule::unless_clause
            | Rule::scale_clause
            | Rule::paused_kw
    )
}

fn flatten<'s>(
    file: &'s SourceFile,
    offset: usize,
    pair: Pair<'s, Rule>,
    mut clause_start: bool,
    out: &mut Vec<Token<'s>>,
) {
    let rule = pair.as_rule();
    clause_start |= is_clause(rule);
    if is_leaf(rule) {
        out.push(token(file, offset, &pair, clause_start));
        return;
    }
    for child in pair.into_inner() {
        let starts = clause_start && child.as_rule() != Rule::COMMENT;
        flatten(file, offset, child, starts, out);
        if starts {
            clause_start = false;
        }
    }
}

fn layout(items: &[Item]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut previous_end: Option<usize> = None;
    for item in items {
        let first_line = match item {
            Item::Comment(token) => token.line,
            Item::Policy(tokens) => tokens[0].line,
        };
        if let (Item::Comment(token), Some(end), Some(last)) =
            (item, previous_end, lines.last_mut())
        {
            if token.line == end {
                last.push_str("  ");
                last.push_str(token.text.trim_end());
                continue;
            }
        }
        if previous_end.is_some_and(|end| first_line > end + 1) {
            lines.push(String::new());
        }
        match item {
            Item::Comment(token) => {
                lines.push(token.text.trim_end().to_string());
                previous_end = Some(token.line);
            }
            Item::Policy(tokens) => {
                lines.extend(policy_lines(tokens));
                previous_end = tokens.last().map(|t| t.line);
            }
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn policy_lines(tokens: &[Token]) -> Vec<String> {
    let has_comment = tokens.iter().any(|t| t.comment);
    if !has_comment {
        let one_line = tokens.iter().map(|t| t.text).collect::<Vec<_>>().join(" ");
        if one_line.chars().count() <= WIDTH {
            return vec![one_line];
        }
    }
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut previous_line = 0;
    for (index, token) in tokens.iter().enumerate() {
        if token.comment {
            if token.line == previous_line && !current.is_empty() {
                current.push_str("  ");
                current.push_str(token.text.trim_end());
                lines.push(std::mem::take(&mut current));
            } else {
                if !current.is_empty() {
                    lines.push(std::mem::take(&mut current));
                }
                lines.push(format!("  {}", token.text.trim_end()));
            }
        } else if index == 0 {
            current.push_str(token.text);
        } else if token.clause_start || current.is_empty() {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            current.push_str(if token.clause_start { "  " } else { "    " });
            current.push_str(token.text);
        } else {
            current.push(' ');
            current.push_str(token.text);
        }
        previous_line = token.line;
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        format_source(&SourceFile::new("t.policy", text)).expect("valid policy")
    }

    #[test]
    fn short_policies_go_on_one_line() {
        assert_eq!(
            fmt("when   alert X\n  on stream $s\n\n  scale t +1   max 3\n"),
            "when alert X on stream $s scale t +1 max 3\n"
        );
    }

    #[test]
    fn comments_between_clauses_keep_their_place() {
        let text =
            "when alert X\n  on stream $s   # the stream\n  # own line\n  scale t +1 max 3 # end\n";
        assert_eq!(
            fmt(text),
            "when alert X\n  on stream $s  # the stream\n  # own line\n  scale t +1 max 3  # end\n"
        );
    }

    #[test]
    fn blank_lines_collapse_to_one() {
        let text = "# head\n\n\n\nwhen alert X on stream $s scale t to 1\nwhen alert Y on stream $s scale t to 1\r\n";
        assert_eq!(
            fmt(text),
            "# head\n\nwhen alert X on stream $s scale t to 1\nwhen alert Y on stream $s scale t to 1\n"
        );
    }

    #[test]
    fn regression_comment_after_a_policy_ending_in_to_n_stays_outside_it() {
        // pest hands the comment to the policy, because `scale ... to 1` ends in `option*`.
        assert_eq!(
            fmt("when alert Z on stream $s scale t to 1\r\n\r\n# next\r\n"),
            "when alert Z on stream $s scale t to 1\n\n# next\n"
        );
    }

    #[test]
    fn empty_file_stays_empty() {
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n"), "");
    }
}
