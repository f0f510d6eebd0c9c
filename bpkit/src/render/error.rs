//! [`RenderError`]: why a template did not parse or did not render.

use std::fmt;
use std::sync::Arc;

use crate::diag::{Source, Span};

/// What kind of problem a [`RenderError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RenderErrorKind {
    /// The template text is not valid template syntax (an unclosed `{{`, a stray `)`, a bad
    /// string or number literal, …).
    Syntax,
    /// Valid Go-template syntax that Blueprint templates do not support: `if`/`range`/`with`
    /// blocks, `define`/`template`, variables, unknown functions, arithmetic.
    Unsupported,
    /// The template nests too deeply or is too large to be evaluated safely.
    TooComplex,
    /// A path (`.config.x`, `index .outputs.db "host"`) names something the context does not
    /// have, or starts at a root the context does not have (`.Values`).
    Undefined,
    /// A function got a value it cannot work with (`lower 3`, `lt 1 "a"`, `printf "%d" "x"`).
    Evaluation,
    /// Evaluation took more steps than the renderer allows.
    FuelExhausted,
    /// A rendered string is longer than the renderer allows.
    OutputTooLarge,
    /// A `when` condition rendered to text that is neither `true` nor `false`.
    NotABoolean,
    /// Two keys of one map in `values` rendered to the same text.
    DuplicateKey,
    /// The values tree or the context nests deeper than the renderer walks.
    TooDeep,
}

impl RenderErrorKind {
    fn code(self) -> &'static str {
        match self {
            RenderErrorKind::Syntax => "bpkit::render::syntax",
            RenderErrorKind::Unsupported => "bpkit::render::unsupported",
            RenderErrorKind::TooComplex => "bpkit::render::too_complex",
            RenderErrorKind::Undefined => "bpkit::render::undefined",
            RenderErrorKind::Evaluation => "bpkit::render::evaluation",
            RenderErrorKind::FuelExhausted => "bpkit::render::fuel_exhausted",
            RenderErrorKind::OutputTooLarge => "bpkit::render::output_too_large",
            RenderErrorKind::NotABoolean => "bpkit::render::not_a_boolean",
            RenderErrorKind::DuplicateKey => "bpkit::render::duplicate_key",
            RenderErrorKind::TooDeep => "bpkit::render::too_deep",
        }
    }
}

/// A template that did not parse, or did not render.
///
/// The message names the place inside the template (`at column 12`, or `at line 2, column 3`
/// for templates spanning lines); [`span_in_template`](Self::span_in_template) gives the same
/// place as a byte range of the template text, so a caller that knows where the template sits
/// in its file can point at the file's line and column. Errors from
/// [`Renderer::render_value`](super::Renderer::render_value) also carry the JSON Pointer of the
/// failing string inside the values tree ([`pointer`](Self::pointer)).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", self.display())]
pub struct RenderError {
    kind: RenderErrorKind,
    message: String,
    help: Option<String>,
    span: Option<Span>,
    template: Option<Arc<str>>,
    pointer: Option<String>,
}

impl RenderError {
    pub(crate) fn new(kind: RenderErrorKind, message: impl Into<String>) -> Self {
        RenderError {
            kind,
            message: message.into(),
            help: None,
            span: None,
            template: None,
            pointer: None,
        }
    }

    /// An error about `span` of `template`: the message gets ` at column N` appended.
    pub(crate) fn at(
        kind: RenderErrorKind,
        template: &Arc<str>,
        span: Span,
        message: impl fmt::Display,
    ) -> Self {
        let mut err = RenderError::new(
            kind,
            format!("{message} at {}", location(template, span.start)),
        );
        err.span = Some(span);
        err.template = Some(template.clone());
        err
    }

    /// Like [`at`](Self::at), with `detail` after the place: `subject at column N: detail`.
    pub(crate) fn at_detail(
        kind: RenderErrorKind,
        template: &Arc<str>,
        span: Span,
        subject: impl fmt::Display,
        detail: impl fmt::Display,
    ) -> Self {
        let mut err = RenderError::at(kind, template, span, subject);
        err.message = format!("{}: {detail}", err.message);
        err
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn with_template(mut self, template: &Arc<str>) -> Self {
        if self.template.is_none() {
            self.template = Some(template.clone());
        }
        self
    }

    /// Records the JSON Pointer of the string that failed, unless one is already set (the
    /// innermost pointer wins).
    pub(crate) fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        if self.pointer.is_none() {
            self.pointer = Some(pointer.into());
        }
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> RenderErrorKind {
        self.kind
    }

    /// The message, without the values pointer prefix that `Display` adds.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A hint for the fix, when there is one.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The place of the problem as a byte range of the template text (0-based, from the
    /// template's first byte), when the problem has a place.
    pub fn span_in_template(&self) -> Option<Span> {
        self.span
    }

    /// The template text the span points into.
    pub fn template_text(&self) -> Option<&str> {
        self.template.as_deref()
    }

    /// The JSON Pointer, inside the values tree given to
    /// [`Renderer::render_value`](super::Renderer::render_value), of the string that failed.
    pub fn pointer(&self) -> Option<&str> {
        self.pointer.as_deref()
    }

    fn display(&self) -> String {
        match &self.pointer {
            Some(p) => format!("in values at `{}`: {}", display_pointer(p), self.message),
            None => self.message.clone(),
        }
    }
}

fn display_pointer(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

impl miette::Diagnostic for RenderError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.template.as_ref().map(|t| t as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.span?;
        self.template.as_ref()?;
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(Some("here".to_string()), span),
        )))
    }
}

/// `column N` for one-line templates, `line L, column C` otherwise (1-based, in characters).
pub(crate) fn location(text: &str, offset: usize) -> String {
    if text.contains('\n') {
        let pos = Source::new("", text).position(offset);
        format!("line {}, column {}", pos.line, pos.column)
    } else {
        let offset = offset.min(text.len());
        let col = text.get(..offset).map_or(offset, |s| s.chars().count()) + 1;
        format!("column {col}")
    }
}

/// Shortens `s` for quoting in a message.
pub(crate) fn snippet(s: &str) -> String {
    snippet_of(s, 40)
}

/// `s` cut to at most `max` characters, with `…` when something was cut.
pub(crate) fn snippet_of(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_characters_and_lines() {
        assert_eq!(location("{{ x }}", 3), "column 4");
        assert_eq!(location("é{{ x }}", 5), "column 5");
        assert_eq!(location("a\n{{ x }}", 5), "line 2, column 4");
    }

    #[test]
    fn display_prefixes_the_pointer() {
        let t: Arc<str> = Arc::from("{{ .x }}");
        let err = RenderError::at(
            RenderErrorKind::Undefined,
            &t,
            Span::new(3, 5),
            "`.x` is bad",
        )
        .with_pointer("/a/0")
        .with_pointer("/ignored");
        assert_eq!(
            err.to_string(),
            "in values at `/a/0`: `.x` is bad at column 4"
        );
        assert_eq!(err.pointer(), Some("/a/0"));
        assert_eq!(err.span_in_template(), Some(Span::new(3, 5)));
        assert_eq!(err.message(), "`.x` is bad at column 4");
    }

    #[test]
    fn snippet_shortens() {
        assert_eq!(snippet("abc"), "abc");
        assert_eq!(snippet(&"x".repeat(50)).chars().count(), 41);
    }
}
