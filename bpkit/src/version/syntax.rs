//! Reading constraint text exactly as Masterminds/semver v3 accepts it.
//!
//! Masterminds works in four steps, and so does this reader, with hand-written scanners in place
//! of its regular expressions:
//!
//! 1. **Hyphen ranges are rewritten** over the whole text: every `A - B` (a version, white space,
//!    `-`, white space, a version, with the white space around the match) becomes `>= A, <= B `.
//!    The search is textual and leftmost-first, which has visible effects that this reader keeps:
//!    `1 - 2 3 - 4` is valid (the first rewrite ends in a space), `3 1 - 2` is not (the space
//!    before `1` is swallowed, gluing `3` to `>=`), and `1 - 2>3` is valid.
//! 2. **The text is split on `||`** into OR groups.
//! 3. **Each group must be a list of constraints**: an optional operator (`=`, `!=`, `>`, `<`,
//!    `>=`, `=>`, `<=`, `=<`, `~`, `~>`, `^`), optional white space, a version, separated by white
//!    space or by `,` (with optional white space). White space is ` `, `\t`, `\n`, `\r`, `\f`.
//! 4. **Each version is read**: a part that is `x`, `X` or `*`, or missing, makes it a wildcard
//!    from that part on (`1.2` is `1.2.x`; later parts are ignored, so `1.x.7` is `1.x`); the
//!    parts before it must be numbers that fit in 64 bits; the prerelease must have no numeric
//!    identifier with a leading zero.
//!
//! Masterminds lets a version part contain `|` (its character class is written `[0-9|x|X|\*]`).
//! That is kept too, so `1||2 - 3` reads as `>= 1 || 2, <= 3`, as in Helm; a part with a `|`
//! is an error unless a wildcard before it makes it ignored.
//!
//! Errors point at the leftmost problem in the original text, even inside a rewritten range.

use super::constraint::{Comparator, Group, Op, Wildcard};
use super::error::{ConstraintError, ConstraintErrorKind, VersionErrorKind};
use super::versions::{Version, is_identifier_byte, prerelease_leading_zero};
use crate::diag::Span;

/// Masterminds' (Go's) `\s`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// A byte of a `MAJOR`, `MINOR` or `PATCH` part in a constraint.
fn is_part_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*' | b'|')
}

fn is_wildcard(part: &str) -> bool {
    matches!(part, "x" | "X" | "*")
}

/// A version as written in a constraint: byte ranges into the scanned text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RawVersion {
    start: usize,
    end: usize,
    /// `MAJOR` (always present), `MINOR`, `PATCH`, without their dots.
    parts: [Option<(usize, usize)>; 3],
    /// Without the `-`.
    pre: Option<(usize, usize)>,
    /// Without the `+`.
    build: Option<(usize, usize)>,
}

/// Scans the longest version that starts at `start` and ends by `limit`, as Masterminds'
/// greedy pattern `v?P+(\.P+)?(\.P+)?(-I(\.I)*)?(\+I(\.I)*)?` would (`P` a part byte, `I` an
/// identifier). `None` if no version starts there.
fn scan_version(b: &[u8], start: usize, limit: usize) -> Option<RawVersion> {
    let limit = limit.min(b.len());
    let at = |i: usize| if i < limit { Some(b[i]) } else { None };
    let mut pos = start;
    if at(pos) == Some(b'v') && at(pos + 1).is_some_and(is_part_byte) {
        pos += 1;
    }
    let first = pos;
    while at(pos).is_some_and(is_part_byte) {
        pos += 1;
    }
    if pos == first {
        return None;
    }
    let mut parts = [Some((first, pos)), None, None];
    for slot in parts.iter_mut().skip(1) {
        if at(pos) == Some(b'.') && at(pos + 1).is_some_and(is_part_byte) {
            let s = pos + 1;
            pos = s;
            while at(pos).is_some_and(is_part_byte) {
                pos += 1;
            }
            *slot = Some((s, pos));
        } else {
            break;
        }
    }
    let mut extras = [None, None];
    for (marker, slot) in [b'-', b'+'].into_iter().zip(extras.iter_mut()) {
        if at(pos) == Some(marker) && at(pos + 1).is_some_and(is_identifier_byte) {
            let s = pos + 1;
            pos = s;
            loop {
                while at(pos).is_some_and(is_identifier_byte) {
                    pos += 1;
                }
                if at(pos) == Some(b'.') && at(pos + 1).is_some_and(is_identifier_byte) {
                    pos += 1;
                } else {
                    break;
                }
            }
            *slot = Some((s, pos));
        }
    }
    Some(RawVersion {
        start,
        end: pos,
        parts,
        pre: extras[0],
        build: extras[1],
    })
}

/// The leftmost `i` in `lo..end` such that `b[i..end]` is exactly one version, in time linear in
/// `end - lo`. (Checking every `i` with [`scan_version`] would be quadratic.)
///
/// A version is a core `v?P+(\.P+){0,2}` and a tail `(-I(\.I)*)?(\+I(\.I)*)?`. The core holds
/// no `-` or `+`, so it ends at the first `-` or `+` after `i`: for each such delimiter `k`, from
/// left to right, check that the tail from `k` is valid, then look for the leftmost core ending
/// at `k` after the previous delimiter.
fn leftmost_version_start(b: &[u8], lo: usize, end: usize) -> Option<usize> {
    if lo >= end || end > b.len() {
        return None;
    }
    // Smallest `s >= lo` such that `b[s..to]` has only identifier bytes and dots, no `..`.
    let ids_from = |to: usize| {
        let mut s = to;
        while s > lo {
            let c = b[s - 1];
            if !(is_identifier_byte(c) || c == b'.') || (c == b'.' && s < to && b[s] == b'.') {
                break;
            }
            s -= 1;
        }
        s
    };
    let ids_ok = |from: usize, to: usize, min: usize| {
        from < to && from >= min && b[from] != b'.' && b[to - 1] != b'.'
    };
    let last_plus = (lo..end).rev().find(|&x| b[x] == b'+');
    let from_end = ids_from(end);
    let build_ok = last_plus.is_some_and(|lp| ids_ok(lp + 1, end, from_end));
    let from_last_plus = last_plus.map(ids_from);
    let tail_ok = |k: usize| -> bool {
        if k == end {
            return true;
        }
        match b[k] {
            b'+' => Some(k) == last_plus && build_ok,
            b'-' => match (last_plus, from_last_plus) {
                (Some(lp), Some(min)) if lp > k => ids_ok(k + 1, lp, min) && build_ok,
                _ => ids_ok(k + 1, end, from_end),
            },
            _ => false,
        }
    };
    let mut segment = lo;
    loop {
        let mut k = segment;
        while k < end && b[k] != b'-' && b[k] != b'+' {
            k += 1;
        }
        if tail_ok(k)
            && let Some(i) = leftmost_core(b, segment, k)
        {
            return Some(i);
        }
        if k >= end {
            return None;
        }
        segment = k + 1;
    }
}

/// The leftmost `i` in `lo..k` with `b[i..k]` matching `v?P+(\.P+){0,2}`.
fn leftmost_core(b: &[u8], lo: usize, k: usize) -> Option<usize> {
    if k <= lo || !is_part_byte(b[k - 1]) {
        return None;
    }
    let mut edge = k - 1;
    let mut best = k - 1;
    let mut dots = 0;
    while edge > lo {
        let prev = b[edge - 1];
        if is_part_byte(prev) {
            edge -= 1;
            best = edge;
        } else if prev == b'.' && b[edge] != b'.' && dots < 2 {
            edge -= 1;
            dots += 1;
        } else {
            break;
        }
    }
    if best == edge && edge > lo && b[edge - 1] == b'v' {
        return Some(edge - 1);
    }
    Some(best)
}

/// One hyphen range found by the rewrite, in original byte offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HyphenRange {
    /// Where the match starts (white space before the low version included).
    start: usize,
    low: (usize, usize),
    high: (usize, usize),
    /// Where the match ends (white space after the high version included).
    end: usize,
}

/// Finds the hyphen ranges as Masterminds' leftmost-first search for
/// `\s*V\s+-\s+V\s*` does (`V` a version).
fn find_ranges(b: &[u8]) -> Vec<HyphenRange> {
    let len = b.len();
    let mut found = Vec::new();
    let mut pos = 0;
    while pos < len {
        let space_start = pos;
        let mut run = pos;
        while run < len && is_space(b[run]) {
            run += 1;
        }
        if run == len {
            break;
        }
        let mut run_end = run;
        while run_end < len && !is_space(b[run_end]) {
            run_end += 1;
        }
        if let Some((high, end)) = hyphen_tail(b, run_end)
            && let Some(low) = leftmost_version_start(b, run, run_end)
        {
            found.push(HyphenRange {
                start: if low == run { space_start } else { low },
                low: (low, run_end),
                high,
                end,
            });
            pos = end;
            continue;
        }
        pos = run_end;
    }
    found
}

/// `\s+-\s+V\s*` at `at`: the high version and the end of the match.
fn hyphen_tail(b: &[u8], at: usize) -> Option<((usize, usize), usize)> {
    let len = b.len();
    let skip = |mut pos: usize| {
        while pos < len && is_space(b[pos]) {
            pos += 1;
        }
        pos
    };
    let pos = skip(at);
    if pos == at || b.get(pos) != Some(&b'-') {
        return None;
    }
    let version_start = skip(pos + 1);
    if version_start == pos + 1 {
        return None;
    }
    let high = scan_version(b, version_start, len)?;
    Some(((high.start, high.end), skip(high.end)))
}

/// The text after hyphen ranges are rewritten, with a map back to the original.
struct Reader<'a> {
    input: &'a str,
    /// The rewritten text: pieces of `input` and ASCII inserted by the rewrite.
    text: String,
    /// For each byte of `text`, the offset in `input` it comes from (inserted bytes: the
    /// nearest version of their range).
    origin: Vec<usize>,
    /// For each byte of `text`, 0 if it comes from `input`, else 1 + the index of the range
    /// whose rewrite inserted it.
    inserted: Vec<u32>,
    /// The original span of each range, from its low version to the end of its high one.
    ranges: Vec<Span>,
}

const RANGE_HELP: &str = "a hyphen range must come first, or after `,` or `||`, as in `>=1.0, 1.2 - 1.4` (Helm reads `a b - c` as `a` glued to `>= b`)";
const HYPHEN_HELP: &str =
    "a hyphen range needs white space on both sides of `-`, as in `1.2 - 1.4`";
const BAR_HELP: &str = "use `||` (two bars) for OR";

/// How far the text quoted as "found" reaches.
#[derive(Clone, Copy)]
enum Found {
    /// One character.
    Char,
    /// Up to white space, `,` or the end of the group.
    Word,
    /// Up to this offset of the rewritten text.
    To(usize),
}

impl<'a> Reader<'a> {
    fn new(input: &'a str) -> Self {
        let bytes = input.as_bytes();
        let ranges = find_ranges(bytes);
        let mut reader = Reader {
            input,
            text: String::with_capacity(input.len() + 12 * ranges.len()),
            origin: Vec::with_capacity(input.len()),
            inserted: Vec::with_capacity(input.len()),
            ranges: Vec::with_capacity(ranges.len()),
        };
        let mut copied = 0;
        for (n, range) in ranges.iter().enumerate() {
            let tag = u32::try_from(n + 1).unwrap_or(u32::MAX);
            reader.copy(copied, range.start);
            reader.insert(">= ", range.low.0, tag);
            reader.copy(range.low.0, range.low.1);
            reader.insert(", <= ", range.high.0, tag);
            reader.copy(range.high.0, range.high.1);
            reader.insert(" ", range.high.1, tag);
            reader.ranges.push(Span::new(range.low.0, range.high.1));
            copied = range.end;
        }
        reader.copy(copied, input.len());
        reader
    }

    fn copy(&mut self, from: usize, to: usize) {
        if let Some(piece) = self.input.get(from..to) {
            self.text.push_str(piece);
            self.origin.extend(from..to);
            self.inserted.extend(std::iter::repeat_n(0, to - from));
        }
    }

    fn insert(&mut self, piece: &str, origin: usize, tag: u32) {
        self.text.push_str(piece);
        self.origin.extend(std::iter::repeat_n(origin, piece.len()));
        self.inserted.extend(std::iter::repeat_n(tag, piece.len()));
    }

    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The original offset of a rewritten offset (the end maps to the end).
    fn orig(&self, at: usize) -> usize {
        self.origin.get(at).copied().unwrap_or(self.input.len())
    }

    fn orig_span(&self, from: usize, to: usize) -> Span {
        if to <= from {
            Span::at(self.orig(from))
        } else {
            Span::new(self.orig(from), self.orig(to - 1) + 1)
        }
    }

    /// The range whose rewrite inserted the byte at `at`, if it was inserted.
    fn inserted_by(&self, at: usize) -> Option<usize> {
        match self.inserted.get(at) {
            Some(&tag) if tag > 0 => Some(tag as usize - 1),
            _ => None,
        }
    }

    fn skip_space(&self, mut pos: usize, limit: usize) -> usize {
        let b = self.bytes();
        while pos < limit && is_space(b[pos]) {
            pos += 1;
        }
        pos
    }

    /// An error at rewritten offset `at`; `limit` is the end of the current group.
    fn error(
        &self,
        kind: ConstraintErrorKind,
        at: usize,
        found: Found,
        limit: usize,
        expected: impl Into<String>,
    ) -> ConstraintError {
        if let Some(range) = self.inserted_by(at) {
            let span = self.ranges.get(range).copied().unwrap_or_default();
            return ConstraintError::new(
                ConstraintErrorKind::MisplacedRange,
                self.input,
                span,
                expected,
            )
            .with_help(RANGE_HELP);
        }
        let b = self.bytes();
        if at >= limit {
            // At the end of a group: the `||` that ends it, or the end of the text.
            let to = if at < b.len() { at + 2 } else { at };
            return ConstraintError::new(kind, self.input, self.orig_span(at, to), expected);
        }
        let to = match found {
            Found::Char => at,
            Found::To(to) => to,
            Found::Word => {
                let mut to = at;
                while to < limit
                    && !is_space(b[to])
                    && b[to] != b','
                    && self.inserted_by(to).is_none()
                {
                    to += 1;
                }
                to
            }
        };
        ConstraintError::new(kind, self.input, self.orig_span(at, to), expected)
    }

    /// The OR groups, as ranges of the rewritten text.
    fn groups(&self) -> Vec<(usize, usize)> {
        let b = self.bytes();
        let mut groups = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i + 1 < b.len() {
            if b[i] == b'|' && b[i + 1] == b'|' {
                groups.push((start, i));
                i += 2;
                start = i;
            } else {
                i += 1;
            }
        }
        groups.push((start, b.len()));
        groups
    }

    fn group(&self, start: usize, limit: usize) -> Result<Group, ConstraintError> {
        let b = self.bytes();
        let mut pos = self.skip_space(start, limit);
        if pos == limit {
            let expected = if limit < b.len() {
                "a constraint before `||`"
            } else {
                "a constraint after `||`"
            };
            return Err(self.error(
                ConstraintErrorKind::ExpectedConstraint,
                limit,
                Found::Char,
                limit,
                expected,
            ));
        }
        let mut comparators = Vec::new();
        let mut after_comma = false;
        loop {
            let (op, op_text) = read_op(&b[pos..limit]);
            let op_start = pos;
            let version_start = self.skip_space(pos + op_text.len(), limit);
            let Some(raw) = scan_version(b, version_start, limit) else {
                return Err(self.no_version(version_start, limit, op_text, after_comma));
            };
            comparators.push(self.comparator(op, op_text, op_start, &raw)?);
            let next = self.skip_space(raw.end, limit);
            if next == limit {
                break;
            }
            if b[next] == b',' {
                pos = self.skip_space(next + 1, limit);
                if pos == limit {
                    return Err(self.error(
                        ConstraintErrorKind::ExpectedConstraint,
                        pos,
                        Found::Char,
                        limit,
                        "a constraint after `,`",
                    ));
                }
                after_comma = true;
                continue;
            }
            if next > raw.end {
                pos = next;
                after_comma = false;
                continue;
            }
            return Err(self.glued(&raw, limit));
        }
        Ok(Group::new(comparators))
    }

    /// No version where one must start.
    fn no_version(
        &self,
        at: usize,
        limit: usize,
        op_text: &str,
        after_comma: bool,
    ) -> ConstraintError {
        let b = self.bytes();
        let expected = if op_text.is_empty() {
            "a version or an operator (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~`, `^`)".to_owned()
        } else {
            format!("a version after `{op_text}`")
        };
        if op_text.is_empty() && at < limit && b[at] == b',' && self.inserted_by(at).is_none() {
            let expected = if after_comma {
                "a constraint after `,`"
            } else {
                "a constraint before `,`"
            };
            return self.error(
                ConstraintErrorKind::ExpectedConstraint,
                at,
                Found::Char,
                limit,
                expected,
            );
        }
        let err = self.error(
            ConstraintErrorKind::ExpectedVersion,
            at,
            Found::Word,
            limit,
            expected,
        );
        if at < limit && b[at] == b'-' && self.inserted_by(at).is_none() {
            err.with_help(HYPHEN_HELP)
        } else {
            err
        }
    }

    /// A version followed by something other than white space, `,` or the end of its group.
    fn glued(&self, raw: &RawVersion, limit: usize) -> ConstraintError {
        use ConstraintErrorKind::{ExpectedSeparator, InvalidVersion};
        let malformed = InvalidVersion(VersionErrorKind::Malformed);
        let b = self.bytes();
        let at = raw.end;
        let has_extras = raw.pre.is_some() || raw.build.is_some();
        let version = &self.text[raw.start..raw.end];
        let (kind, err_at, found, expected, help) = match b[at] {
            _ if self.inserted_by(at).is_some() => (
                ExpectedSeparator,
                at,
                Found::Char,
                "`,` or `||` before a hyphen range (a space is not enough)".to_owned(),
                None,
            ),
            b'.' if !has_extras && raw.parts[2].is_some() => {
                let mut to = at + 1;
                while to < limit && !matches!(b[to], b'-' | b'+' | b',') && !is_space(b[to]) {
                    to += 1;
                }
                (
                    malformed,
                    at,
                    Found::To(to),
                    "at most three numbers (`MAJOR.MINOR.PATCH`)".to_owned(),
                    None,
                )
            }
            b'.' if has_extras => (
                malformed,
                at + 1,
                Found::Char,
                "an identifier after `.`".to_owned(),
                None,
            ),
            b'.' => (
                malformed,
                at + 1,
                Found::Char,
                "a number or a wildcard (`x`, `X`, `*`) after `.`".to_owned(),
                None,
            ),
            b'-' => (
                malformed,
                at + 1,
                Found::Char,
                "a prerelease identifier after `-`".to_owned(),
                (at + 1 < limit && is_space(b[at + 1])).then_some(HYPHEN_HELP),
            ),
            b'+' if raw.build.is_some() => (
                malformed,
                at,
                Found::Char,
                "the end of the build metadata (a version has one `+`)".to_owned(),
                None,
            ),
            b'+' => (
                malformed,
                at + 1,
                Found::Char,
                "build metadata after `+`".to_owned(),
                None,
            ),
            other => {
                let expected = if has_extras {
                    format!(
                        "a letter, digit, `-` or `.` in `{version}`, or a space, `,` or `||` after it"
                    )
                } else {
                    format!("a space, `,` or `||` after `{version}`")
                };
                (
                    ExpectedSeparator,
                    at,
                    Found::Char,
                    expected,
                    (other == b'|').then_some(BAR_HELP),
                )
            }
        };
        let err = self.error(kind, err_at, found, limit, expected);
        match help {
            Some(help) => err.with_help(help),
            None => err,
        }
    }

    /// Reads one constraint's version the way Masterminds' `parseConstraint` does.
    fn comparator(
        &self,
        op: Op,
        op_text: &'static str,
        op_start: usize,
        raw: &RawVersion,
    ) -> Result<Comparator, ConstraintError> {
        let text = &self.text;
        let part = |(s, e): (usize, usize)| &text[s..e];
        let level = raw
            .parts
            .iter()
            .position(|p| p.is_none_or(|range| is_wildcard(part(range))));
        let wildcard = match level {
            Some(0) => Some(Wildcard::Major),
            Some(1) => Some(Wildcard::Minor),
            Some(2) => Some(Wildcard::Patch),
            _ => None,
        };
        let limit = raw.end;
        let mut numbers = [0u64; 3];
        for (n, slot) in numbers.iter_mut().enumerate().take(level.unwrap_or(3)) {
            let Some((s, e)) = raw.parts[n] else { break };
            let digits = &text[s..e];
            if !digits.bytes().all(|c| c.is_ascii_digit()) {
                let help = if digits.contains('|') {
                    BAR_HELP
                } else {
                    "each part of a version is a number or one of `x`, `X`, `*`"
                };
                return Err(self
                    .error(
                        ConstraintErrorKind::InvalidVersion(VersionErrorKind::Malformed),
                        s,
                        Found::To(e),
                        limit,
                        "a number or a wildcard (`x`, `X` or `*`)",
                    )
                    .with_help(help));
            }
            *slot = match digits.parse::<u64>() {
                Ok(value) => value,
                Err(_) => {
                    return Err(self
                        .error(
                            ConstraintErrorKind::InvalidVersion(VersionErrorKind::NumberTooLarge),
                            s,
                            Found::To(e),
                            limit,
                            "a number no larger than 18446744073709551615",
                        )
                        .with_help("version numbers must fit in 64 bits"));
                }
            };
        }
        let (pre_start, pre_end) = raw.pre.unwrap_or((raw.end, raw.end));
        let pre = &text[pre_start..pre_end];
        if let Some((s, e)) = prerelease_leading_zero(pre) {
            return Err(self
                .error(
                    ConstraintErrorKind::InvalidVersion(VersionErrorKind::LeadingZero),
                    pre_start + s,
                    Found::To(pre_start + e),
                    limit,
                    "a numeric prerelease identifier without leading zeros",
                )
                .with_help(
                    "semver 2.0.0 forbids leading zeros in numeric identifiers: write `1`, not `01`",
                ));
        }
        let written = &text[raw.start..raw.end];
        let (metadata, original) = match wildcard {
            None => (raw.build.map_or("", part), Some(written.to_owned())),
            Some(_) => ("", None),
        };
        let version = Version::from_parts(
            numbers[0],
            numbers[1],
            numbers[2],
            pre.to_owned(),
            metadata.to_owned(),
            original,
        );
        let span = if !op_text.is_empty() && self.inserted_by(op_start).is_none() {
            self.orig_span(op_start, raw.end)
        } else {
            self.orig_span(raw.start, raw.end)
        };
        Ok(Comparator::new(
            op,
            op_text,
            written.to_owned(),
            version,
            wildcard,
            span,
        ))
    }
}

/// The operator at the start of `text` (longest match) and its spelling; `(Op::Eq, "")` when
/// there is none.
fn read_op(text: &[u8]) -> (Op, &'static str) {
    const OPS: [(&str, Op); 11] = [
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    OPS.iter()
        .find(|(spelling, _)| text.starts_with(spelling.as_bytes()))
        .map_or((Op::Eq, ""), |&(spelling, op)| (op, spelling))
}

/// The longest constraint read, in bytes. Real ones are a few dozen bytes; the limit keeps a
/// hostile Blueprint from making every version check walk megabytes.
pub const MAX_CONSTRAINT_BYTES: usize = 1024;

/// Reads a whole constraint into its OR groups.
pub(crate) fn parse(input: &str) -> Result<Vec<Group>, ConstraintError> {
    if input.len() > MAX_CONSTRAINT_BYTES {
        return Err(ConstraintError::new(
            ConstraintErrorKind::TooLong,
            input,
            Span::at(MAX_CONSTRAINT_BYTES),
            format!("at most {MAX_CONSTRAINT_BYTES} bytes"),
        )
        .with_help("a constraint is a short range such as `^1.4` or `>=1.2, <2`"));
    }
    if input.bytes().all(is_space) {
        return Err(ConstraintError::new(
            ConstraintErrorKind::Empty,
            input,
            Span::at(input.len()),
            "a version or a range such as `^1.4`",
        ));
    }
    let reader = Reader::new(input);
    reader
        .groups()
        .into_iter()
        .map(|(start, end)| reader.group(start, end))
        .collect()
}

/// The hyphen-range rewrite alone, as Masterminds' `rewriteRange` prints it (for tests).
#[cfg(test)]
fn rewrite(input: &str) -> String {
    Reader::new(input).text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_leftmost(b: &[u8], lo: usize, end: usize) -> Option<usize> {
        (lo..end).find(|&i| scan_version(b, i, end).is_some_and(|v| v.end == end))
    }

    #[test]
    fn rewrite_matches_masterminds_text() {
        assert_eq!(rewrite("2 - 3"), ">= 2, <= 3 ");
        assert_eq!(rewrite("2 - 3, 2 - 3"), ">= 2, <= 3 ,>= 2, <= 3 ");
        assert_eq!(
            rewrite("2 - 3, 4.0.0 - 5.1"),
            ">= 2, <= 3 ,>= 4.0.0, <= 5.1 "
        );
        assert_eq!(rewrite("2 - 3 4.0.0 - 5.1"), ">= 2, <= 3 >= 4.0.0, <= 5.1 ");
        assert_eq!(
            rewrite("1.0.0 - 2.0.0 <=2.0.0"),
            ">= 1.0.0, <= 2.0.0 <=2.0.0"
        );
        assert_eq!(rewrite("3 1 - 2"), "3>= 1, <= 2 ");
        assert_eq!(rewrite("1||2 - 3"), ">= 1||2, <= 3 ");
        assert_eq!(rewrite("1.1-3"), "1.1-3");
        assert_eq!(rewrite("a1.2 - 3"), "a>= 1.2, <= 3 ");
    }

    #[test]
    fn leftmost_start_examples() {
        let cases: &[(&str, Option<usize>)] = &[
            ("1.2.3", Some(0)),
            ("v1.2.3-rc.1+b", Some(0)),
            ("1.2.3.4", Some(2)),
            ("a1", Some(1)),
            ("1..2.3", Some(3)),
            ("x-", None),
            ("=1", Some(1)),
            ("1-a+b+c", None),
            ("vv1", Some(1)),
            ("1.2.3-a..b", None),
        ];
        for &(text, want) in cases {
            assert_eq!(
                leftmost_version_start(text.as_bytes(), 0, text.len()),
                want,
                "{text}"
            );
            assert_eq!(
                naive_leftmost(text.as_bytes(), 0, text.len()),
                want,
                "{text}"
            );
        }
    }

    proptest! {
        #[test]
        fn fast_leftmost_start_agrees_with_the_naive_search(text in "[v1x*|.+a-]{0,14}") {
            let b = text.as_bytes();
            for lo in 0..=b.len() {
                prop_assert_eq!(
                    leftmost_version_start(b, lo, b.len()),
                    naive_leftmost(b, lo, b.len()),
                    "lo = {}", lo
                );
            }
        }
    }
}
