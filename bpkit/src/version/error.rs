//! The errors of version and constraint parsing: what was found, where (byte span and 1-based
//! column), what was expected, and a hint.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use crate::diag::Span;

/// What is wrong with a version string.
///
/// The variants follow the sentinel errors of Masterminds/semver (named by
/// [`VersionErrorKind::sentinel`]), so a failure can be matched against what Helm reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VersionErrorKind {
    /// The text is empty.
    Empty,
    /// The text is not shaped like a version: missing or extra parts, a stray character.
    Malformed,
    /// A number, or a numeric prerelease identifier, starts with `0`.
    LeadingZero,
    /// A `MAJOR`, `MINOR` or `PATCH` part holds something other than digits (strict parsing).
    InvalidCharacters,
    /// The prerelease is not dot-separated, non-empty identifiers of `[0-9A-Za-z-]`.
    InvalidPrerelease,
    /// The build metadata is not dot-separated, non-empty identifiers of `[0-9A-Za-z-]`.
    InvalidMetadata,
    /// A number does not fit in 64 bits.
    NumberTooLarge,
}

impl VersionErrorKind {
    /// The name of the matching Masterminds/semver error (`ErrInvalidSemVer`, ...). A number too
    /// large for 64 bits has no sentinel there: Masterminds returns the integer parser's error.
    pub fn sentinel(self) -> &'static str {
        match self {
            VersionErrorKind::Empty => "ErrEmptyString",
            VersionErrorKind::Malformed => "ErrInvalidSemVer",
            VersionErrorKind::LeadingZero => "ErrSegmentStartsZero",
            VersionErrorKind::InvalidCharacters => "ErrInvalidCharacters",
            VersionErrorKind::InvalidPrerelease => "ErrInvalidPrerelease",
            VersionErrorKind::InvalidMetadata => "ErrInvalidMetadata",
            VersionErrorKind::NumberTooLarge => "error parsing version segment",
        }
    }
}

/// A version string that could not be read.
///
/// Displays as one line such as ``invalid version `1.2.beta`: expected a number after `.` at
/// column 5, found `beta` ``; as a [`miette::Diagnostic`] it also points at the span and gives a
/// hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionError {
    kind: VersionErrorKind,
    input: String,
    span: Span,
    expected: String,
    help: Option<String>,
}

impl VersionError {
    /// An error about `input[span]`; an empty span points at the character there (or the end).
    pub(crate) fn new(
        kind: VersionErrorKind,
        input: &str,
        span: Span,
        expected: impl Into<String>,
    ) -> Self {
        VersionError {
            kind,
            input: input.to_owned(),
            span: widen_to_char(input, span),
            expected: expected.into(),
            help: None,
        }
    }

    /// The same error with a hint.
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> VersionErrorKind {
        self.kind
    }

    /// The whole text that was parsed.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Where in [`VersionError::input`] the problem is (bytes).
    pub fn span(&self) -> Span {
        self.span
    }

    /// The 1-based column (in characters) where the problem starts.
    pub fn column(&self) -> usize {
        column_of(&self.input, self.span.start)
    }

    /// The text found where something else was expected; `None` at the end of the input.
    pub fn found(&self) -> Option<&str> {
        found_text(&self.input, self.span)
    }

    /// What was expected at [`VersionError::span`], as a phrase (``a number after `.` ``).
    pub fn expected(&self) -> &str {
        &self.expected
    }

    /// The hint, if there is one.
    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.input.is_empty() {
            return write!(
                f,
                "invalid version: the text is empty, expected {}",
                self.expected
            );
        }
        write!(
            f,
            "invalid version `{}`: expected {} at column {}, found {}",
            Shown(&self.input),
            self.expected,
            self.column(),
            FoundPhrase(self.found()),
        )
    }
}

impl std::error::Error for VersionError {}

impl Diagnostic for VersionError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("bpkit::version::invalid_version"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.input)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = LabeledSpan::new_primary_with_span(
            Some(format!("expected {}", self.expected)),
            self.span,
        );
        Some(Box::new(std::iter::once(label)))
    }
}

/// What is wrong with a constraint string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintErrorKind {
    /// The text is empty or blank.
    Empty,
    /// A constraint is missing: an empty `||` group, or nothing after `,`.
    ExpectedConstraint,
    /// An operator or the start of a constraint is not followed by a version.
    ExpectedVersion,
    /// Two constraints are glued together without a space, `,` or `||` between them.
    ExpectedSeparator,
    /// A version inside the constraint is malformed.
    InvalidVersion(VersionErrorKind),
    /// A hyphen range (`1.2 - 1.4`) stands where Masterminds cannot read one: after an
    /// operator, or after a constraint separated from it by a space only.
    MisplacedRange,
    /// The text is longer than [`crate::version::MAX_CONSTRAINT_BYTES`].
    TooLong,
}

/// A constraint string that could not be read.
///
/// Displays as one line such as ``invalid constraint `>= bar`: expected a version after `>=`
/// at column 4, found `bar` ``; as a [`miette::Diagnostic`] it also points at the span and gives a
/// hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstraintError {
    kind: ConstraintErrorKind,
    input: String,
    span: Span,
    expected: String,
    help: String,
}

/// The hint given when nothing more specific applies.
pub(crate) const CONSTRAINT_HELP: &str = "write a range such as `^1.4` or `>=1.2, <2`";

impl ConstraintError {
    /// An error about `input[span]`; an empty span points at the character there (or the end).
    pub(crate) fn new(
        kind: ConstraintErrorKind,
        input: &str,
        span: Span,
        expected: impl Into<String>,
    ) -> Self {
        let span = match kind {
            ConstraintErrorKind::MisplacedRange => span,
            ConstraintErrorKind::TooLong => Span::at(floor_char_boundary(input, span.start)),
            _ => widen_to_char(input, span),
        };
        ConstraintError {
            kind,
            input: input.to_owned(),
            span,
            expected: expected.into(),
            help: CONSTRAINT_HELP.to_owned(),
        }
    }

    /// The same error with another hint.
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> ConstraintErrorKind {
        self.kind
    }

    /// The whole constraint text that was parsed.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Where in [`ConstraintError::input`] the problem is (bytes).
    pub fn span(&self) -> Span {
        self.span
    }

    /// The 1-based column (in characters) where the problem starts.
    pub fn column(&self) -> usize {
        column_of(&self.input, self.span.start)
    }

    /// The text found where something else was expected; `None` at the end of the input.
    pub fn found(&self) -> Option<&str> {
        found_text(&self.input, self.span)
    }

    /// What was expected at [`ConstraintError::span`], as a phrase.
    pub fn expected(&self) -> &str {
        &self.expected
    }

    /// The hint.
    pub fn help_text(&self) -> &str {
        &self.help
    }
}

impl fmt::Display for ConstraintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.input.is_empty() {
            return write!(
                f,
                "invalid constraint: the text is empty, expected {}",
                self.expected
            );
        }
        if self.kind == ConstraintErrorKind::TooLong {
            return write!(
                f,
                "invalid constraint `{}`: it is {} bytes long, expected {}",
                Shown(&self.input),
                self.input.len(),
                self.expected
            );
        }
        write!(
            f,
            "invalid constraint `{}`: expected {} at column {}, found ",
            Shown(&self.input),
            self.expected,
            self.column(),
        )?;
        match (self.kind, self.found()) {
            (ConstraintErrorKind::MisplacedRange, Some(range)) => {
                write!(f, "the hyphen range `{}`", Shown(range))
            }
            (_, found) => write!(f, "{}", FoundPhrase(found)),
        }
    }
}

impl std::error::Error for ConstraintError {}

impl Diagnostic for ConstraintError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("bpkit::version::invalid_constraint"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.input)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = LabeledSpan::new_primary_with_span(
            Some(format!("expected {}", self.expected)),
            self.span,
        );
        Some(Box::new(std::iter::once(label)))
    }
}
/// The largest char boundary of `s` at or before `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// An empty span inside the text grows to cover the character there, so that the error can
/// say what it found.
fn widen_to_char(input: &str, span: Span) -> Span {
    if !span.is_empty() {
        return span;
    }
    match input.get(span.start..).and_then(|rest| rest.chars().next()) {
        Some(c) => Span::new(span.start, span.start + c.len_utf8()),
        None => span,
    }
}

fn column_of(input: &str, offset: usize) -> usize {
    let mut at = offset.min(input.len());
    while !input.is_char_boundary(at) {
        at -= 1;
    }
    input.get(..at).map_or(at, |s| s.chars().count()) + 1
}

fn found_text(input: &str, span: Span) -> Option<&str> {
    if span.is_empty() {
        return None;
    }
    input.get(span.start..span.end)
}

/// Shows a text with control characters escaped, so a message stays on one line.
struct Shown<'a>(&'a str);

/// How many characters of a constraint a message quotes before cutting it with `…`.
const SHOWN_CHARS: usize = 80;

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i == SHOWN_CHARS {
                return f.write_str("…");
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

struct FoundPhrase<'a>(Option<&'a str>);

impl fmt::Display for FoundPhrase<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(text) => write!(f, "`{}`", Shown(text)),
            None => f.write_str("the end"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn empty_span_widens_to_the_character_there() {
        let e = VersionError::new(VersionErrorKind::Malformed, "1.é", Span::at(2), "a number");
        assert_eq!(e.found(), Some("é"));
        assert_eq!(e.span(), Span::new(2, 4));
        assert_eq!(e.column(), 3);
    }

    #[test]
    fn end_of_text_is_found_as_the_end() {
        let e = VersionError::new(VersionErrorKind::Malformed, "1.", Span::at(2), "a number");
        assert_eq!(e.found(), None);
        assert_eq!(
            e.to_string(),
            "invalid version `1.`: expected a number at column 3, found the end"
        );
    }

    #[test]
    fn control_characters_are_escaped_in_messages() {
        let e = VersionError::new(
            VersionErrorKind::Malformed,
            "\n1.2",
            Span::at(0),
            "a number",
        );
        assert_eq!(
            e.to_string(),
            "invalid version `\\n1.2`: expected a number at column 1, found `\\n`"
        );
    }

    #[test]
    fn diagnostics_carry_code_label_and_source() {
        let e = ConstraintError::new(
            ConstraintErrorKind::ExpectedVersion,
            ">= bar",
            Span::new(3, 6),
            "a version after `>=`",
        );
        assert_eq!(
            e.code().map(|c| c.to_string()).as_deref(),
            Some("bpkit::version::invalid_constraint")
        );
        let labels: Vec<_> = e.labels().into_iter().flatten().collect();
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].offset(), 3);
        assert_eq!(labels[0].len(), 3);
        assert!(e.source_code().is_some());
        assert_eq!(e.help_text(), CONSTRAINT_HELP);
    }
}
