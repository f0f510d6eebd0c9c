//! [`Version`]: a semantic version read the way Masterminds/semver v3 (and so Helm) reads it.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{VersionError, VersionErrorKind};
use crate::diag::Span;

/// How strictly [`Version::parse_with`] reads a version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Strictness {
    /// Masterminds `NewVersion` with its default `CoerceNewVersion = true`, which is what Helm
    /// uses for chart versions: an optional `v`, one to three numbers (`1` and `1.2` read as
    /// `1.0.0` and `1.2.0`), numbers may have leading zeros (`01.2.3` reads as `1.2.3`).
    #[default]
    Lenient,
    /// `NewVersion` with `CoerceNewVersion = false`: as [`Strictness::Lenient`], but a number
    /// may not start with `0` unless it is `0`.
    NoLeadingZeros,
    /// `StrictNewVersion`: exactly `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` per semver 2.0.0,
    /// no `v` prefix, no leading zeros.
    Strict,
}

/// A semantic version: `MAJOR.MINOR.PATCH`, an optional prerelease and optional build metadata,
/// plus the text it was read from.
///
/// # Order and equality
///
/// Versions are ordered by semver precedence, as Masterminds' `Compare` does: numbers first, then
/// a version with a prerelease before the same version without one, prerelease identifiers
/// compared one by one (numeric ones numerically and before alphanumeric ones, which compare
/// as bytes; a shorter list of otherwise equal identifiers comes first). **Build metadata and the
/// original text take no part**: `1.2.3+a == 1.2.3+b` and `v1.2 == 1.2.0`, like Masterminds'
/// `Equal`. `Eq`, `Ord` and `Hash` all follow that one rule, so a set of versions keeps one of
/// several builds of the same version. One departure from semver 2.0.0 comes with Masterminds:
/// a numeric prerelease identifier too large for 64 bits is compared as alphanumeric.
///
/// # Text
///
/// [`Display`](fmt::Display) writes the canonical form (`1.2.0-beta.1+build`);
/// [`Version::original`] gives the text as written (`v1.2-beta.1+build`).
#[derive(Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    /// The texts, shared by clones: a clone (the resolver makes many) copies three numbers and
    /// counts one reference, and allocates nothing.
    text: Arc<Text>,
}

/// The text parts of a [`Version`].
struct Text {
    pre: Box<str>,
    metadata: Box<str>,
    original: Box<str>,
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Version")
            .field("major", &self.major)
            .field("minor", &self.minor)
            .field("patch", &self.patch)
            .field("pre", &self.prerelease())
            .field("metadata", &self.metadata())
            .field("original", &self.original())
            .finish()
    }
}

impl Version {
    /// The release version `major.minor.patch`; its original text is its canonical form.
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self::from_parts(major, minor, patch, String::new(), String::new(), None)
    }

    /// Reads a version the way Helm reads chart versions ([`Strictness::Lenient`]).
    ///
    /// ```
    /// use bpkit::version::Version;
    /// let v = Version::parse("v1.2-beta.1").unwrap();
    /// assert_eq!(v.to_string(), "1.2.0-beta.1");
    /// assert_eq!(v.original(), "v1.2-beta.1");
    /// assert!(Version::parse("1.2.3.4").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        Self::parse_with(text, Strictness::Lenient)
    }

    /// Reads a version per semver 2.0.0 ([`Strictness::Strict`]).
    pub fn parse_strict(text: &str) -> Result<Self, VersionError> {
        Self::parse_with(text, Strictness::Strict)
    }

    /// Reads a version with the given strictness.
    pub fn parse_with(text: &str, strictness: Strictness) -> Result<Self, VersionError> {
        parse(text, strictness)
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor number.
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch number.
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease, without its `-` (empty for a release).
    pub fn prerelease(&self) -> &str {
        &self.text.pre
    }

    /// The build metadata, without its `+` (empty when there is none).
    pub fn metadata(&self) -> &str {
        &self.text.metadata
    }

    /// Whether this version has a prerelease.
    pub fn is_prerelease(&self) -> bool {
        !self.text.pre.is_empty()
    }

    /// The text this version was read from (for versions made otherwise, their canonical form
    /// with the `v` prefix of the version they came from, as Masterminds keeps it).
    pub fn original(&self) -> &str {
        &self.text.original
    }

    /// The next patch version, as Masterminds' `IncPatch`: a prerelease is dropped (so
    /// `1.2.3-beta` gives `1.2.3`), otherwise the patch number goes up by one; build metadata is
    /// dropped. `None` if the number would overflow.
    pub fn inc_patch(&self) -> Option<Self> {
        let patch = if self.is_prerelease() {
            self.patch
        } else {
            self.patch.checked_add(1)?
        };
        Some(self.derived(self.major, self.minor, patch, String::new(), String::new()))
    }

    /// The next minor version (`1.2.3-beta` gives `1.3.0`), as Masterminds' `IncMinor`. `None`
    /// if the number would overflow.
    pub fn inc_minor(&self) -> Option<Self> {
        let minor = self.minor.checked_add(1)?;
        Some(self.derived(self.major, minor, 0, String::new(), String::new()))
    }

    /// The next major version (`1.2.3` gives `2.0.0`), as Masterminds' `IncMajor`. `None` if the
    /// number would overflow.
    pub fn inc_major(&self) -> Option<Self> {
        let major = self.major.checked_add(1)?;
        Some(self.derived(major, 0, 0, String::new(), String::new()))
    }

    /// This version with another prerelease (empty removes it), as Masterminds'
    /// `SetPrerelease`.
    pub fn with_prerelease(&self, prerelease: &str) -> Result<Self, VersionError> {
        if !prerelease.is_empty() {
            check_identifiers(prerelease, Field::Prerelease)?;
        }
        Ok(self.derived(
            self.major,
            self.minor,
            self.patch,
            prerelease.to_owned(),
            self.metadata().to_owned(),
        ))
    }

    /// This version with other build metadata (empty removes it), as Masterminds'
    /// `SetMetadata`.
    pub fn with_metadata(&self, metadata: &str) -> Result<Self, VersionError> {
        if !metadata.is_empty() {
            check_identifiers(metadata, Field::Metadata)?;
        }
        Ok(self.derived(
            self.major,
            self.minor,
            self.patch,
            self.prerelease().to_owned(),
            metadata.to_owned(),
        ))
    }

    /// The least version with these numbers: `major.minor.patch-0` (no version with the same
    /// numbers sorts before it).
    pub(crate) fn floor(major: u64, minor: u64, patch: u64) -> Self {
        Self::from_parts(major, minor, patch, "0".to_owned(), String::new(), None)
    }

    /// A version from parts that the caller has already checked. Without `original`, the
    /// original text is the canonical form.
    pub(crate) fn from_parts(
        major: u64,
        minor: u64,
        patch: u64,
        pre: String,
        metadata: String,
        original: Option<String>,
    ) -> Self {
        let original = original.unwrap_or_else(|| canonical(major, minor, patch, &pre, &metadata));
        Version {
            major,
            minor,
            patch,
            text: Arc::new(Text {
                pre: pre.into_boxed_str(),
                metadata: metadata.into_boxed_str(),
                original: original.into_boxed_str(),
            }),
        }
    }

    fn derived(&self, major: u64, minor: u64, patch: u64, pre: String, metadata: String) -> Self {
        let original = self
            .original()
            .starts_with('v')
            .then(|| format!("v{}", canonical(major, minor, patch, &pre, &metadata)));
        Self::from_parts(major, minor, patch, pre, metadata, original)
    }
}

/// The canonical text `major.minor.patch[-pre][+metadata]`.
fn canonical(major: u64, minor: u64, patch: u64, pre: &str, metadata: &str) -> String {
    let mut s = format!("{major}.{minor}.{patch}");
    if !pre.is_empty() {
        s.push('-');
        s.push_str(pre);
    }
    if !metadata.is_empty() {
        s.push('+');
        s.push_str(metadata);
    }
    s
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.text.pre.is_empty() {
            write!(f, "-{}", self.text.pre)?;
        }
        if !self.text.metadata.is_empty() {
            write!(f, "+{}", self.text.metadata)?;
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal versions have equal numbers and identical prerelease text (see `Ord`).
        (self.major, self.minor, self.patch, self.prerelease()).hash(state);
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(
                || match (self.text.pre.is_empty(), other.text.pre.is_empty()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => compare_prerelease(&self.text.pre, &other.text.pre),
                },
            )
    }
}

/// Compares two non-empty prereleases identifier by identifier. Valid prereleases have no
/// leading zeros, so this is `Equal` exactly when the texts are equal.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (numeric(x), numeric(y)) {
                    (Some(m), Some(n)) => m.cmp(&n),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => x.as_bytes().cmp(y.as_bytes()),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The value of a numeric identifier; digits beyond 64 bits count as alphanumeric, as in
/// Masterminds.
fn numeric(identifier: &str) -> Option<u64> {
    if identifier.is_empty() || !identifier.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    identifier.parse().ok()
}

impl Serialize for Version {
    /// A version serializes as its canonical text, as Masterminds' `MarshalJSON` does.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    /// A version deserializes from a string, read with [`Version::parse`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Version::parse(&text).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Letters, digits and `-`: the characters of a prerelease or build identifier.
pub(crate) fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// The first numeric identifier of a prerelease with a leading zero, as a byte range of `pre`.
pub(crate) fn prerelease_leading_zero(pre: &str) -> Option<(usize, usize)> {
    let mut start = 0;
    for identifier in pre.split('.') {
        let end = start + identifier.len();
        let all_digits = identifier.bytes().all(|b| b.is_ascii_digit());
        if all_digits && identifier.len() > 1 && identifier.starts_with('0') {
            return Some((start, end));
        }
        start = end + 1;
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Prerelease,
    Metadata,
}

/// Checks a prerelease or build metadata given on its own (`with_prerelease`,
/// `with_metadata`).
fn check_identifiers(text: &str, field: Field) -> Result<(), VersionError> {
    let kind = match field {
        Field::Prerelease => VersionErrorKind::InvalidPrerelease,
        Field::Metadata => VersionErrorKind::InvalidMetadata,
    };
    let bytes = text.as_bytes();
    match scan_identifiers(bytes, 0) {
        Err(at) => {
            return Err(VersionError::new(
                kind,
                text,
                Span::at(at),
                "an identifier (letters, digits, `-`)",
            )
            .with_help(IDENTIFIER_HELP));
        }
        Ok(end) if end < bytes.len() => {
            return Err(VersionError::new(
                kind,
                text,
                Span::at(end),
                "a letter, digit, `-` or `.`",
            )
            .with_help(IDENTIFIER_HELP));
        }
        Ok(_) => {}
    }
    if field == Field::Prerelease
        && let Some((start, end)) = prerelease_leading_zero(text)
    {
        return Err(leading_zero_in_prerelease(text, Span::new(start, end)));
    }
    Ok(())
}

const IDENTIFIER_HELP: &str =
    "identifiers are non-empty runs of letters, digits and `-`, separated by `.`";

fn leading_zero_in_prerelease(text: &str, span: Span) -> VersionError {
    VersionError::new(
        VersionErrorKind::LeadingZero,
        text,
        span,
        "a numeric prerelease identifier without leading zeros",
    )
    .with_help("semver 2.0.0 forbids leading zeros in numeric identifiers: write `1`, not `01`")
}

/// Scans dot-separated identifiers from `start`; stops before the first byte that can neither
/// continue an identifier nor start the next one. `Err` holds where an identifier was expected
/// but none was found.
pub(crate) fn scan_identifiers(bytes: &[u8], start: usize) -> Result<usize, usize> {
    let mut pos = start;
    loop {
        let begin = pos;
        while pos < bytes.len() && is_identifier_byte(bytes[pos]) {
            pos += 1;
        }
        if pos == begin {
            return Err(pos);
        }
        if pos < bytes.len() && bytes[pos] == b'.' {
            pos += 1;
        } else {
            return Ok(pos);
        }
    }
}

fn digits_end(bytes: &[u8], start: usize) -> usize {
    let mut pos = start;
    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    pos
}

const SHAPE_HELP: &str = "a version looks like `1.2.3`, `1.2.3-beta.1` or `1.2.3+build.5`";

fn parse(text: &str, strictness: Strictness) -> Result<Version, VersionError> {
    let strict = strictness == Strictness::Strict;
    let bytes = text.as_bytes();
    let err = |kind, span, expected: &str| {
        VersionError::new(kind, text, span, expected).with_help(SHAPE_HELP)
    };
    if bytes.is_empty() {
        return Err(err(
            VersionErrorKind::Empty,
            Span::at(0),
            "a version such as `1.2.3`",
        ));
    }
    let mut pos = 0;
    if bytes[0] == b'v' {
        if strict {
            return Err(err(
                VersionErrorKind::InvalidCharacters,
                Span::new(0, 1),
                "a number (a strict version has no `v` prefix)",
            ));
        }
        pos = 1;
    }
    let number_kind = if strict {
        VersionErrorKind::InvalidCharacters
    } else {
        VersionErrorKind::Malformed
    };

    // MAJOR[.MINOR[.PATCH]]
    let mut numbers: Vec<(usize, usize)> = Vec::with_capacity(3);
    let end = digits_end(bytes, pos);
    if end == pos {
        let expected = if pos == 1 {
            "a number after `v`"
        } else {
            "a number"
        };
        return Err(err(number_kind, Span::at(pos), expected));
    }
    numbers.push((pos, end));
    pos = end;
    while numbers.len() < 3 && bytes.get(pos) == Some(&b'.') {
        let end = digits_end(bytes, pos + 1);
        if end == pos + 1 {
            return Err(err(number_kind, Span::at(pos + 1), "a number after `.`"));
        }
        numbers.push((pos + 1, end));
        pos = end;
    }
    if strict && numbers.len() < 3 {
        return Err(err(
            VersionErrorKind::Malformed,
            Span::at(pos),
            "`.` and a number (a strict version has all of `MAJOR.MINOR.PATCH`)",
        ));
    }

    // -PRERELEASE
    let mut pre = None;
    if bytes.get(pos) == Some(&b'-') {
        let kind = if strict {
            VersionErrorKind::InvalidPrerelease
        } else {
            VersionErrorKind::Malformed
        };
        match scan_identifiers(bytes, pos + 1) {
            Ok(end) => {
                pre = Some((pos + 1, end));
                pos = end;
            }
            Err(at) => {
                let expected = if at == pos + 1 {
                    "a prerelease identifier after `-`"
                } else {
                    "an identifier after `.`"
                };
                return Err(err(kind, Span::at(at), expected));
            }
        }
        if pos < bytes.len() && bytes[pos] != b'+' {
            return Err(err(
                kind,
                Span::at(pos),
                "a letter, digit, `-` or `.` in the prerelease, or `+`",
            ));
        }
    }

    // +BUILD
    let mut metadata = None;
    if bytes.get(pos) == Some(&b'+') {
        let kind = if strict {
            VersionErrorKind::InvalidMetadata
        } else {
            VersionErrorKind::Malformed
        };
        match scan_identifiers(bytes, pos + 1) {
            Ok(end) => {
                metadata = Some((pos + 1, end));
                pos = end;
            }
            Err(at) => {
                let expected = if at == pos + 1 {
                    "build metadata after `+`"
                } else {
                    "an identifier after `.`"
                };
                return Err(err(kind, Span::at(at), expected));
            }
        }
        if pos < bytes.len() {
            return Err(err(
                kind,
                Span::at(pos),
                "a letter, digit, `-` or `.` in the build metadata",
            ));
        }
    }

    if pos < bytes.len() {
        if bytes[pos] == b'.' {
            // A fourth number.
            let end = bytes[pos..]
                .iter()
                .position(|&b| b == b'-' || b == b'+')
                .map_or(bytes.len(), |n| pos + n);
            return Err(err(
                VersionErrorKind::Malformed,
                Span::new(pos, end),
                "at most three numbers (`MAJOR.MINOR.PATCH`)",
            ));
        }
        let expected = match numbers.len() {
            3 => "a digit, `-`, `+` or the end of the version",
            _ => "a digit, `.`, `-`, `+` or the end of the version",
        };
        return Err(err(number_kind, Span::at(pos), expected));
    }

    // The numbers.
    let mut values = [0u64; 3];
    for (slot, &(start, end)) in values.iter_mut().zip(&numbers) {
        let digits = &text[start..end];
        if strictness != Strictness::Lenient && digits.len() > 1 && digits.starts_with('0') {
            return Err(VersionError::new(
                VersionErrorKind::LeadingZero,
                text,
                Span::new(start, end),
                "a number without leading zeros",
            )
            .with_help("write `1`, not `01`"));
        }
        *slot = parse_number(text, start, end)?;
    }

    let (pre_start, pre_end) = pre.unwrap_or((pos, pos));
    let pre = &text[pre_start..pre_end];
    if let Some((s, e)) = prerelease_leading_zero(pre) {
        return Err(leading_zero_in_prerelease(
            text,
            Span::new(pre_start + s, pre_start + e),
        ));
    }
    let metadata = metadata.map_or("", |(s, e)| &text[s..e]);
    Ok(Version::from_parts(
        values[0],
        values[1],
        values[2],
        pre.to_owned(),
        metadata.to_owned(),
        Some(text.to_owned()),
    ))
}

/// Reads the decimal number `text[start..end]` (all digits, checked by the caller).
pub(crate) fn parse_number(text: &str, start: usize, end: usize) -> Result<u64, VersionError> {
    text.get(start..end)
        .and_then(|digits| digits.parse::<u64>().ok())
        .ok_or_else(|| {
            VersionError::new(
                VersionErrorKind::NumberTooLarge,
                text,
                Span::new(start, end),
                "a number no larger than 18446744073709551615",
            )
            .with_help("version numbers must fit in 64 bits")
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn lenient_parsing_fills_missing_numbers() {
        assert_eq!(v("1").to_string(), "1.0.0");
        assert_eq!(v("v1.2").to_string(), "1.2.0");
        assert_eq!(v("v1.2").original(), "v1.2");
        assert_eq!(v("01.002.3").to_string(), "1.2.3");
        assert_eq!(v("1.2-beta.5+b.01").to_string(), "1.2.0-beta.5+b.01");
        assert_eq!(v("20221209-update-renovatejson-v4").major(), 20221209);
    }

    #[test]
    fn strictness_levels_differ_on_prefix_parts_and_zeros() {
        assert!(Version::parse_strict("1.2").is_err());
        assert!(Version::parse_strict("v1.2.3").is_err());
        assert!(Version::parse_strict("01.2.3").is_err());
        assert!(Version::parse_with("01.2.3", Strictness::NoLeadingZeros).is_err());
        assert!(Version::parse_with("v1.2", Strictness::NoLeadingZeros).is_ok());
        assert!(Version::parse_strict("1.2.3-rc.1+b.01").is_ok());
    }

    #[test]
    fn errors_name_the_place_the_expectation_and_what_was_found() {
        let e = Version::parse("1.2.beta").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid version `1.2.beta`: expected a number after `.` at column 5, found `b`"
        );
        assert_eq!(e.kind(), VersionErrorKind::Malformed);

        let e = Version::parse("1.2.3-alpha.01").unwrap_err();
        assert_eq!(e.kind(), VersionErrorKind::LeadingZero);
        assert_eq!(e.span(), Span::new(12, 14));
        assert_eq!(e.found(), Some("01"));
        assert_eq!(e.column(), 13);

        let e = Version::parse("1.2.3.4").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid version `1.2.3.4`: expected at most three numbers (`MAJOR.MINOR.PATCH`) at column 6, found `.4`"
        );

        let e = Version::parse("1.0.0-alpha..1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid version `1.0.0-alpha..1`: expected an identifier after `.` at column 13, found `.`"
        );

        let e = Version::parse("99999999999999999999.0.0").unwrap_err();
        assert_eq!(e.kind(), VersionErrorKind::NumberTooLarge);
        assert_eq!(e.found(), Some("99999999999999999999"));

        let e = Version::parse("").unwrap_err();
        assert_eq!(e.kind(), VersionErrorKind::Empty);
        assert_eq!(
            e.to_string(),
            "invalid version: the text is empty, expected a version such as `1.2.3`"
        );
    }

    #[test]
    fn prerelease_precedence_follows_semver() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in chain.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        // Masterminds compares over-long numeric identifiers as text.
        assert!(v("1.0.0-99999999999999999999") > v("1.0.0-5"));
        assert!(v("1.0.0-99999999999999999999") < v("1.0.0-a"));
    }

    #[test]
    fn build_metadata_is_ignored_by_eq_ord_and_hash() {
        use std::collections::HashSet;
        let a = v("1.2.3+a");
        let b = v("v1.2.3+b");
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), Ordering::Equal);
        let set: HashSet<_> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn increments_keep_the_v_prefix_and_drop_extras() {
        let n = v("v1.2.4-beta+meta").inc_patch().unwrap();
        assert_eq!((n.to_string().as_str(), n.original()), ("1.2.4", "v1.2.4"));
        assert_eq!(v("1.2.3+meta").inc_patch().unwrap().to_string(), "1.2.4");
        assert_eq!(v("1.2.3").inc_minor().unwrap().to_string(), "1.3.0");
        assert_eq!(v("1.2.3").inc_major().unwrap().to_string(), "2.0.0");
        assert!(Version::new(u64::MAX, 0, 0).inc_major().is_none());
    }

    #[test]
    fn set_prerelease_and_metadata_validate() {
        let base = v("v1.2.4");
        let n = base.with_prerelease("beta").unwrap();
        assert_eq!(
            (n.to_string().as_str(), n.original()),
            ("1.2.4-beta", "v1.2.4-beta")
        );
        assert_eq!(
            base.with_prerelease("alpha.01").unwrap_err().kind(),
            VersionErrorKind::LeadingZero
        );
        assert_eq!(
            base.with_prerelease("**").unwrap_err().kind(),
            VersionErrorKind::InvalidPrerelease
        );
        assert_eq!(
            base.with_metadata("a..b").unwrap_err().kind(),
            VersionErrorKind::InvalidMetadata
        );
        assert_eq!(
            base.with_metadata("alpha.01").unwrap().metadata(),
            "alpha.01"
        );
    }

    #[test]
    fn serde_uses_the_canonical_text() {
        let json = serde_json::to_string(&v("v1.2")).unwrap();
        assert_eq!(json, "\"1.2.0\"");
        let back: Version = serde_json::from_str("\"v1.2-rc.1\"").unwrap();
        assert_eq!(back.to_string(), "1.2.0-rc.1");
        assert!(serde_json::from_str::<Version>("\"1.x\"").is_err());
    }

    #[test]
    fn floor_is_below_every_version_with_the_same_numbers() {
        let floor = Version::floor(1, 2, 3);
        assert!(floor < v("1.2.3-0.0"));
        assert!(floor < v("1.2.3-a"));
        assert!(floor > v("1.2.2"));
        assert!(floor > v("1.2.2-zzz"));
    }

    fn identifier() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..30).prop_map(|n| n.to_string()),
            "[a-z][a-z0-9-]{0,3}",
            Just("99999999999999999999".to_owned()),
        ]
    }

    pub(crate) fn version_strategy() -> impl Strategy<Value = Version> {
        (
            0u64..4,
            0u64..4,
            0u64..4,
            prop::collection::vec(identifier(), 0..3),
            prop::option::of("[a-z0-9]{1,3}"),
        )
            .prop_map(|(major, minor, patch, pre, build)| {
                let mut text = format!("{major}.{minor}.{patch}");
                if !pre.is_empty() {
                    text.push('-');
                    text.push_str(&pre.join("."));
                }
                if let Some(build) = build {
                    text.push('+');
                    text.push_str(&build);
                }
                Version::parse(&text).unwrap()
            })
    }

    proptest! {
        #[test]
        fn order_is_total_antisymmetric_and_transitive(
            a in version_strategy(), b in version_strategy(), c in version_strategy()
        ) {
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            if a <= b && b <= c {
                prop_assert!(a <= c);
            }
            if a == b {
                prop_assert_eq!(a.prerelease(), b.prerelease());
                prop_assert_eq!((a.major(), a.minor(), a.patch()), (b.major(), b.minor(), b.patch()));
            }
        }

        #[test]
        fn a_prerelease_sorts_before_its_release(a in version_strategy()) {
            let release = Version::new(a.major(), a.minor(), a.patch());
            if a.is_prerelease() {
                prop_assert!(a < release);
                prop_assert!(Version::floor(a.major(), a.minor(), a.patch()) <= a);
            } else {
                prop_assert_eq!(&a, &release);
            }
        }

        #[test]
        fn build_metadata_never_changes_the_order(a in version_strategy(), meta in "[a-z0-9]{1,4}") {
            let b = a.with_metadata(&meta).unwrap();
            prop_assert_eq!(a.cmp(&b), Ordering::Equal);
            prop_assert_eq!(b.metadata(), meta.as_str());
        }

        #[test]
        fn display_parses_back_to_an_identical_version(a in version_strategy()) {
            let back = Version::parse_strict(&a.to_string()).unwrap();
            prop_assert_eq!(back.to_string(), a.to_string());
            prop_assert_eq!(&back, &a);
        }

        #[test]
        fn no_input_makes_the_parsers_panic(text in "\\PC{0,40}") {
            for strictness in [Strictness::Lenient, Strictness::NoLeadingZeros, Strictness::Strict] {
                match Version::parse_with(&text, strictness) {
                    Ok(v) => prop_assert_eq!(v.original(), text.as_str()),
                    Err(e) => {
                        prop_assert!(e.span().end <= text.len());
                        let _ = e.to_string();
                    }
                }
            }
        }

        #[test]
        fn version_like_noise_never_panics(text in "[v0-9.+a-z-]{0,20}") {
            for strictness in [Strictness::Lenient, Strictness::NoLeadingZeros, Strictness::Strict] {
                if let Ok(v) = Version::parse_with(&text, strictness) {
                    // Whatever parses has a canonical form that parses strictly to the same version.
                    let again = Version::parse_strict(&v.to_string()).unwrap();
                    prop_assert_eq!(again, v);
                }
            }
        }
    }
}
