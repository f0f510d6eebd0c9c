//! Diagnostics shared by every stage: source texts, byte spans, line:column positions and
//! [`Finding`]s (one problem found in the input, with its place, rule, message and hint).
//!
//! Stages keep their own error types (`thiserror` + `miette::Diagnostic`); anything read from a
//! file keeps its text as a [`Source`] and points into it with a [`Span`], so every message can
//! name the file, the line and the column, and show the offending snippet.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A named text that diagnostics point into (a file, or an argument given on the command line).
///
/// Cloning is cheap: the text is shared.
#[derive(Clone)]
pub struct Source {
    inner: Arc<SourceInner>,
}

struct SourceInner {
    name: String,
    text: Arc<str>,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
}

impl Source {
    /// Wraps `text`, read from the file (or other origin) called `name`.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            inner: Arc::new(SourceInner {
                name: name.into(),
                text,
                line_starts,
            }),
        }
    }

    /// The file name (or other origin) of this text.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// The 1-based line and column (in characters) of a byte offset. Offsets past the end map
    /// to the end of the text.
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.inner.text.len());
        let line_idx = match self.inner.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.inner.line_starts[line_idx];
        let col = self
            .inner
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Position {
            line: line_idx + 1,
            column: col + 1,
        }
    }

    /// The byte offset of a 1-based line and a 0-based column counted in characters, as YAML
    /// parsers report them. Positions past the end of a line or of the text are clamped.
    pub fn offset_of(&self, line: usize, char_col: usize) -> usize {
        let starts = &self.inner.line_starts;
        let Some(&start) = starts.get(line.saturating_sub(1)) else {
            return self.inner.text.len();
        };
        let end = starts.get(line).copied().unwrap_or(self.inner.text.len());
        let line_text = self.inner.text.get(start..end).unwrap_or("");
        let within = line_text
            .char_indices()
            .nth(char_col)
            .map_or(line_text.len(), |(i, _)| i);
        start + within
    }

    /// The text of the 1-based line `line`, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let starts = &self.inner.line_starts;
        let Some(&start) = starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = starts.get(line).copied().unwrap_or(self.inner.text.len());
        self.inner
            .text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// The text as a miette source, for diagnostics that hold a [`Source`].
    pub fn text_code(&self) -> &dyn miette::SourceCode {
        &self.inner.text
    }

    /// This source as miette wants it for `#[source_code]`.
    pub fn named(&self) -> miette::NamedSource<Arc<str>> {
        miette::NamedSource::new(self.inner.name.clone(), self.inner.text.clone())
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.inner.name)
            .field("len", &self.inner.text.len())
            .finish()
    }
}

/// A range of bytes in a [`Source`]: `start` inclusive, `end` exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    /// The first byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`; a reversed pair is put in order.
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: start.min(end),
            end: start.max(end),
        }
    }

    /// An empty span at `offset`.
    pub fn at(offset: usize) -> Self {
        Span {
            start: offset,
            end: offset,
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no byte.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        miette::SourceSpan::new(s.start.into(), s.len())
    }
}

/// A 1-based line and column (columns count characters, as editors do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// How serious a [`Finding`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a run.
    Info,
    /// A deviation that works today but should be fixed; fails a run under `--deny warnings`.
    Warning,
    /// The input is broken.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem found in the input: where it is, which rule found it, what was expected, and a
/// hint for the fix.
#[derive(Clone, Debug)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// A stable rule identifier such as `BP0001` or `yaml-syntax`.
    pub rule: &'static str,
    /// What is wrong, as one sentence without a final period.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
    /// The text the finding points into, if any.
    pub source: Option<Source>,
    /// Where in `source`.
    pub span: Option<Span>,
    /// A JSON Pointer into the document, when the finding is about a value.
    pub pointer: Option<String>,
    /// A file name to report when there is no source text (e.g. a missing file).
    pub file: Option<String>,
    /// A second place in the same source that explains the first, with its label.
    pub related: Option<(Span, String)>,
}

impl Finding {
    /// A finding with no position yet.
    pub fn new(severity: Severity, rule: &'static str, message: impl Into<String>) -> Self {
        Finding {
            severity,
            rule,
            message: message.into(),
            help: None,
            source: None,
            span: None,
            pointer: None,
            file: None,
            related: None,
        }
    }

    /// An error finding.
    pub fn error(rule: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, rule, message)
    }

    /// A warning finding.
    pub fn warning(rule: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, rule, message)
    }

    /// Points the finding at `span` in `source`.
    pub fn at(mut self, source: &Source, span: Span) -> Self {
        self.source = Some(source.clone());
        self.span = Some(span);
        self
    }

    /// Names the file without a position (for example when it could not be read).
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a second labelled place in the same source.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related = Some((span, label.into()));
        self
    }

    /// Adds the JSON Pointer of the value concerned.
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    /// The file name this finding is about.
    pub fn file_name(&self) -> Option<&str> {
        self.source
            .as_ref()
            .map(Source::name)
            .or(self.file.as_deref())
    }

    /// The line and column of the start of the span.
    pub fn position(&self) -> Option<Position> {
        match (&self.source, self.span) {
            (Some(src), Some(span)) => Some(src.position(span.start)),
            _ => None,
        }
    }

    /// The finding as a plain serialisable record (for `--output json`).
    pub fn record(&self) -> FindingRecord {
        let pos = self.position();
        FindingRecord {
            severity: self.severity,
            rule: self.rule.to_string(),
            message: self.message.clone(),
            help: self.help.clone(),
            file: self.file_name().map(str::to_string),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            pointer: self.pointer.clone(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = self.file_name() {
            write!(f, "{file}")?;
            if let Some(pos) = self.position() {
                write!(f, ":{pos}")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{} [{}]: {}", self.severity, self.rule, self.message)
    }
}

impl std::error::Error for Finding {}

impl miette::Diagnostic for Finding {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.rule))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Info => miette::Severity::Advice,
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(Source::text_code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.span?;
        let label = self.pointer.as_ref().map(|p| format!("at {p}"));
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(label, span),
        )))
    }
}

/// A serialisable view of a [`Finding`], the shape of `--output json`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FindingRecord {
    /// `error`, `warning` or `info`.
    pub severity: Severity,
    /// The stable rule identifier.
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// A JSON Pointer to the value concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// Escapes one reference token for a JSON Pointer (RFC 6901).
pub fn pointer_escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Splits a JSON Pointer into its unescaped reference tokens.
pub fn pointer_tokens(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let src = Source::new("a.yaml", "a: 1\nbé: x\n");
        assert_eq!(src.position(0), Position { line: 1, column: 1 });
        // 'x' is after "bé: " — 4 characters, 5 bytes.
        let x = src.text().find('x').unwrap_or(0);
        assert_eq!(src.position(x), Position { line: 2, column: 5 });
        assert_eq!(src.offset_of(2, 4), x);
        assert_eq!(src.line_text(2), "bé: x");
    }

    #[test]
    fn pointer_round_trip() {
        let t = "a/b~c";
        let p = format!("/{}", pointer_escape(t));
        assert_eq!(p, "/a~1b~0c");
        assert_eq!(pointer_tokens(&p), vec![t.to_string()]);
        assert!(pointer_tokens("").is_empty());
    }
}
