//! Source files and byte spans: where every AST node and diagnostic points.
//!
//! Spans are byte ranges into one `SourceFile`; line and column (1-based, columns counted in
//! characters) are computed on demand from a table of line starts, so parsing never pays for
//! locations it does not report.

use std::sync::Arc;

/// A policy file's name (as given by the user) and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user named it; shown in diagnostics and policy identities.
    pub name: Arc<str>,
    /// The whole text of the file.
    pub text: String,
    /// Byte offset of the first character of each line.
    line_starts: Vec<usize>,
}

/// A byte range in a `SourceFile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

impl SourceFile {
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        LineCol {
            line: line + 1,
            col,
        }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn slice(&self, span: Span) -> &str {
        &self.text[span.start..span.end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_handles_crlf() {
        let file = SourceFile::new("f", "ab\r\n\u{e9}x $s\n");
        assert_eq!(file.line_col(0), LineCol { line: 1, col: 1 });
        assert_eq!(file.line_col(4), LineCol { line: 2, col: 1 });
        // `x` follows a two-byte character: byte 6, column 2.
        assert_eq!(file.line_col(6), LineCol { line: 2, col: 2 });
        assert_eq!(file.line_text(1), "ab");
        assert_eq!(file.line_text(2), "\u{e9}x $s");
    }
}
