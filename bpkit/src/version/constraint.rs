//! [`Constraint`]: a version range in the Helm dialect (Masterminds/semver v3), and how a
//! [`Version`] is checked against it.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::ConstraintError;
use super::syntax;
use super::versions::Version;
use crate::diag::Span;

/// The comparison a [`Comparator`] makes. Several spellings map to one operator: `=>` is
/// [`Op::Ge`], `=<` is [`Op::Le`], `~>` is [`Op::Tilde`], and a bare version is [`Op::Eq`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` or a bare version; with a wildcard it means the same as `~`.
    Eq,
    /// `!=`.
    Ne,
    /// `>`.
    Gt,
    /// `<`.
    Lt,
    /// `>=` or `=>`.
    Ge,
    /// `<=` or `=<`.
    Le,
    /// `~` or `~>`: same major and minor (same major for `~1`).
    Tilde,
    /// `^`: same major (same minor, or same patch, while the major, or major and minor, are 0).
    Caret,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Tilde => "~",
            Op::Caret => "^",
        })
    }
}

/// Where a comparator's version turns into a wildcard: the first part that is `x`, `X`, `*`
/// or missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wildcard {
    /// `1.2.x` or `1.2`.
    Patch,
    /// `1.x`, `1.x.x` or `1`.
    Minor,
    /// `x`, `*`, `x.x.x`: any version.
    Major,
}

/// One comparison: an operator and a version, such as `>=1.2` or `~1.4.x`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparator {
    op: Op,
    op_text: &'static str,
    text: String,
    version: Version,
    wildcard: Option<Wildcard>,
    span: Span,
}

impl Comparator {
    pub(crate) fn new(
        op: Op,
        op_text: &'static str,
        text: String,
        version: Version,
        wildcard: Option<Wildcard>,
        span: Span,
    ) -> Self {
        Comparator {
            op,
            op_text,
            text,
            version,
            wildcard,
            span,
        }
    }

    /// The operator.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The operator as written: `""` for a bare version, else one of `=`, `!=`, `>`, `<`,
    /// `>=`, `=>`, `<=`, `=<`, `~`, `~>`, `^` (ranges `A - B` give `>=` and `<=`).
    pub fn op_text(&self) -> &'static str {
        self.op_text
    }

    /// The version as written (`v1.2.x`).
    pub fn version_text(&self) -> &str {
        &self.text
    }

    /// The version compared against: missing and wildcard parts read as `0` (`1.x` gives
    /// `1.0.0`); the prerelease is kept; build metadata is dropped when there is a wildcard.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Where the version turns into a wildcard, if it does.
    pub fn wildcard(&self) -> Option<Wildcard> {
        self.wildcard
    }

    /// Where this comparator is in the constraint text (bytes); for a comparator from a hyphen
    /// range, the span of its version.
    pub fn span(&self) -> Span {
        self.span
    }

    /// Checks `v`, assuming prereleases are allowed; `Err` carries why it does not match.
    fn check(&self, v: &Version) -> Result<(), Reason> {
        let c = &self.version;
        match self.op {
            Op::Eq if self.wildcard.is_some() => self.tilde(v),
            Op::Eq => ok_if(v == c, Reason::NotEqual),
            Op::Ne => {
                let equal = match self.wildcard {
                    None | Some(Wildcard::Major) => v == c,
                    Some(Wildcard::Minor) => v.major() == c.major(),
                    Some(Wildcard::Patch) => {
                        v.major() == c.major()
                            && v.minor() == c.minor()
                            && v.prerelease() == c.prerelease()
                    }
                };
                ok_if(!equal, Reason::Equal)
            }
            Op::Gt => {
                let above = match self.wildcard {
                    None | Some(Wildcard::Major) => v > c,
                    Some(Wildcard::Minor) => v.major() > c.major(),
                    Some(Wildcard::Patch) => (v.major(), v.minor()) > (c.major(), c.minor()),
                };
                ok_if(above, Reason::LessOrEqual)
            }
            Op::Lt => ok_if(v < c, Reason::GreaterOrEqual),
            Op::Ge => ok_if(v >= c, Reason::Less),
            Op::Le => {
                let within = match self.wildcard {
                    None => v <= c,
                    Some(Wildcard::Minor) => v.major() <= c.major(),
                    Some(Wildcard::Patch | Wildcard::Major) => {
                        (v.major(), v.minor()) <= (c.major(), c.minor())
                    }
                };
                ok_if(within, Reason::Greater)
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    /// `~`: at least the version, and the same major and minor (only the same major when the
    /// minor is a wildcard). `~0.0.0` and `~*` take everything from their version up.
    fn tilde(&self, v: &Version) -> Result<(), Reason> {
        let c = &self.version;
        if v < c {
            return Err(Reason::Less);
        }
        let zero = (c.major(), c.minor(), c.patch()) == (0, 0, 0);
        if zero && !matches!(self.wildcard, Some(Wildcard::Minor | Wildcard::Patch)) {
            return Ok(());
        }
        if v.major() != c.major() {
            return Err(Reason::NotSameMajor);
        }
        if v.minor() != c.minor() && self.wildcard != Some(Wildcard::Minor) {
            return Err(Reason::NotSameMajorMinor);
        }
        Ok(())
    }

    /// `^`: at least the version, and the same major; with major 0, the same minor; with major
    /// and minor 0, the same patch (a wildcard part widens the step).
    fn caret(&self, v: &Version) -> Result<(), Reason> {
        let c = &self.version;
        if v < c {
            return Err(Reason::Less);
        }
        if c.major() > 0 || self.wildcard == Some(Wildcard::Minor) {
            return ok_if(v.major() == c.major(), Reason::NotSameMajor);
        }
        if v.major() > 0 {
            return Err(Reason::NotSameMajor);
        }
        if c.minor() > 0 || self.wildcard == Some(Wildcard::Patch) {
            return ok_if(v.minor() == c.minor(), Reason::NotSameMinorMajorZero);
        }
        if v.minor() > 0 {
            return Err(Reason::NotSameMinor);
        }
        ok_if(v.patch() == c.patch(), Reason::NotSamePatch)
    }

    fn canonical(&self) -> String {
        format!("{}{}", self.op_text, self.text)
    }
}

fn ok_if(condition: bool, reason: Reason) -> Result<(), Reason> {
    if condition { Ok(()) } else { Err(reason) }
}

/// Why a version fails a comparator; each has Masterminds' wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Prerelease,
    NotEqual,
    Equal,
    LessOrEqual,
    GreaterOrEqual,
    Less,
    Greater,
    NotSameMajor,
    NotSameMajorMinor,
    NotSameMinorMajorZero,
    NotSameMinor,
    NotSamePatch,
}

impl Reason {
    /// The message Masterminds/semver v3 gives, with both versions in double quotes as its
    /// newest releases print them.
    fn message(self, v: &Version, constraint: &str) -> String {
        let tail = match self {
            Reason::Prerelease => {
                return format!(
                    "\"{v}\" is a prerelease version and the constraint is only looking for release versions"
                );
            }
            Reason::NotEqual => "is not equal to",
            Reason::Equal => "is equal to",
            Reason::LessOrEqual => "is less than or equal to",
            Reason::GreaterOrEqual => "is greater than or equal to",
            Reason::Less => "is less than",
            Reason::Greater => "is greater than",
            Reason::NotSameMajor => "does not have same major version as",
            Reason::NotSameMajorMinor => "does not have same major and minor version as",
            Reason::NotSameMinorMajorZero => {
                return format!(
                    "\"{v}\" does not have same minor version as \"{constraint}\". Expected minor versions to match when constraint major version is 0"
                );
            }
            Reason::NotSameMinor => "does not have same minor version as",
            Reason::NotSamePatch => {
                return format!(
                    "\"{v}\" does not equal \"{constraint}\". Expect version and constraint to equal when major and minor versions are 0"
                );
            }
        };
        format!("\"{v}\" {tail} \"{constraint}\"")
    }
}

/// Constraints joined by AND (white space or `,`), one side of a `||`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    comparators: Vec<Comparator>,
    has_prerelease: bool,
}

impl Group {
    pub(crate) fn new(comparators: Vec<Comparator>) -> Self {
        let has_prerelease = comparators.iter().any(|c| c.version.is_prerelease());
        Group {
            comparators,
            has_prerelease,
        }
    }

    /// The comparators, in the order written (never empty).
    pub fn comparators(&self) -> &[Comparator] {
        &self.comparators
    }

    /// Whether a comparator of this group names a prerelease, which lets prerelease versions
    /// match the group.
    pub fn has_prerelease(&self) -> bool {
        self.has_prerelease
    }
}

/// A version constraint in the Helm dialect (Masterminds/semver v3), as written in a
/// Blueprint's `depends[].version` or a chart's dependency.
///
/// # Syntax
///
/// - comparators `=`, `!=`, `>`, `<`, `>=` (or `=>`), `<=` (or `=<`), `~` (or `~>`), `^`, and
///   bare versions (`1.2.3` means `=1.2.3`); a `v` before a version is allowed;
/// - wildcards `x`, `X`, `*` and missing parts: `1.2.x` and `1.2` mean `>=1.2.0, <1.3.0`;
///   `1.x` and `1` mean `>=1.0.0, <2.0.0`; `*` means any version;
/// - hyphen ranges `1.2 - 1.4.5` meaning `>=1.2, <=1.4.5` (white space around `-` is needed);
/// - AND with white space or `,`, OR with `||`.
///
/// # Prereleases
///
/// A version with a prerelease satisfies an AND group only if some comparator of that group has
/// a prerelease itself (`>=1.2.0-0` admits prereleases, `>=1.2.0` does not), unless
/// [`Constraint::with_include_prerelease`] lifts the rule. This is Masterminds v3.4 and later,
/// which Helm uses from v3.19; Helm before that judged each comparator apart.
///
/// # Equality and text
///
/// [`Display`](fmt::Display) and [`Constraint::as_str`] give the text as written;
/// [`Constraint::canonical`] gives Masterminds' `String()` form (`>= 1.2, <2` becomes
/// `>=1.2 <2`), which is also what serde writes. Two constraints are equal when their texts and
/// prerelease settings are equal.
///
/// ```
/// use bpkit::version::{Constraint, Version};
/// let c: Constraint = "^1.4 || >=2.0.0-rc.1, <2.1".parse().unwrap();
/// assert!(c.matches(&Version::parse("1.9.0").unwrap()));
/// assert!(c.matches(&Version::parse("2.0.0-rc.2").unwrap()));
/// assert!(!c.matches(&Version::parse("1.9.0-beta").unwrap()));
/// assert_eq!(c.canonical(), "^1.4 || >=2.0.0-rc.1 <2.1");
/// ```
#[derive(Clone, Debug)]
pub struct Constraint {
    text: String,
    groups: Vec<Group>,
    include_prerelease: bool,
}

impl Constraint {
    /// Reads a constraint.
    pub fn parse(text: &str) -> Result<Self, ConstraintError> {
        Ok(Constraint {
            text: text.to_owned(),
            groups: syntax::parse(text)?,
            include_prerelease: false,
        })
    }

    /// The same constraint, with prerelease versions allowed in every group (`true`) or only in
    /// groups that name a prerelease (`false`, the default). Masterminds' `IncludePrerelease`.
    pub fn with_include_prerelease(mut self, include: bool) -> Self {
        self.include_prerelease = include;
        self
    }

    /// Whether prerelease versions are allowed in every group.
    pub fn include_prerelease(&self) -> bool {
        self.include_prerelease
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Masterminds' `String()` form: each comparator as its operator and version as written,
    /// AND as a space, OR as ` || ` (`>= 1.2, <2 || 3 - 4` gives `>=1.2 <2 || >=3 <=4`).
    pub fn canonical(&self) -> String {
        self.groups
            .iter()
            .map(|g| {
                g.comparators
                    .iter()
                    .map(Comparator::canonical)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" || ")
    }

    /// The OR groups, in the order written (never empty).
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Whether `v` satisfies the constraint (Masterminds' `Check`).
    pub fn matches(&self, v: &Version) -> bool {
        self.groups.iter().any(|group| {
            (!v.is_prerelease() || self.include_prerelease || group.has_prerelease)
                && group.comparators.iter().all(|c| c.check(v).is_ok())
        })
    }

    /// Whether `v` satisfies the constraint, and if not, why (Masterminds' `Validate`): one
    /// message per failing comparator over all groups, in Masterminds' wording (such as
    /// `"1.2.3" is less than "2"`), the prerelease message at most once.
    pub fn validate(&self, v: &Version) -> Result<(), Vec<String>> {
        let mut reasons = Vec::new();
        let mut told_prerelease = false;
        for group in &self.groups {
            let excluded = v.is_prerelease() && !self.include_prerelease && !group.has_prerelease;
            let mut satisfied = true;
            for comparator in &group.comparators {
                if excluded {
                    if !told_prerelease {
                        reasons.push(Reason::Prerelease.message(v, &comparator.text));
                        told_prerelease = true;
                    }
                    satisfied = false;
                } else if let Err(reason) = comparator.check(v) {
                    reasons.push(reason.message(v, &comparator.text));
                    satisfied = false;
                }
            }
            if satisfied {
                return Ok(());
            }
        }
        Err(reasons)
    }
}

impl fmt::Display for Constraint {
    /// The text as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Constraint {
    type Err = ConstraintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl PartialEq for Constraint {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.include_prerelease == other.include_prerelease
    }
}

impl Eq for Constraint {}

impl Hash for Constraint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (&self.text, self.include_prerelease).hash(state);
    }
}

impl Serialize for Constraint {
    /// A constraint serializes as [`Constraint::canonical`], as Masterminds' `MarshalText`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for Constraint {
    /// A constraint deserializes from a string, read with [`Constraint::parse`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Constraint::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
pub(crate) mod tests {
    use super::*;
    use crate::version::error::{ConstraintErrorKind, VersionErrorKind};
    use proptest::prelude::*;

    fn c(text: &str) -> Constraint {
        Constraint::parse(text).unwrap()
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn err(text: &str) -> ConstraintError {
        Constraint::parse(text).unwrap_err()
    }

    #[test]
    fn comparators_keep_operator_spelling_version_and_wildcard() {
        let k = c("=> v1.2, ~>1.x || <=*");
        let first = &k.groups()[0].comparators()[0];
        assert_eq!(first.op(), Op::Ge);
        assert_eq!(first.op_text(), "=>");
        assert_eq!(first.version_text(), "v1.2");
        assert_eq!(first.version().to_string(), "1.2.0");
        assert_eq!(first.wildcard(), Some(Wildcard::Patch));
        assert_eq!(first.span(), Span::new(0, 7));
        let second = &k.groups()[0].comparators()[1];
        assert_eq!(
            (second.op(), second.wildcard()),
            (Op::Tilde, Some(Wildcard::Minor))
        );
        assert_eq!(
            k.groups()[1].comparators()[0].wildcard(),
            Some(Wildcard::Major)
        );
        assert_eq!(k.canonical(), "=>v1.2 ~>1.x || <=*");
        assert_eq!(k.to_string(), "=> v1.2, ~>1.x || <=*");
    }

    #[test]
    fn hyphen_ranges_read_as_two_comparators() {
        let k = c("1.2 - 1.4.5");
        let ops: Vec<_> = k.groups()[0].comparators().iter().map(|c| c.op()).collect();
        assert_eq!(ops, [Op::Ge, Op::Le]);
        assert_eq!(k.canonical(), ">=1.2 <=1.4.5");
        assert_eq!(k.groups()[0].comparators()[1].span(), Span::new(6, 11));
        // Masterminds' quirks, kept: a range right after a space-separated constraint is glued.
        assert_eq!(err("3 1 - 2").kind(), ConstraintErrorKind::MisplacedRange);
        assert!(Constraint::parse("3, 1 - 2").is_ok());
        assert_eq!(c("1 - 2 3 - 4").canonical(), ">=1 <=2 >=3 <=4");
        assert_eq!(c("1 - 2>3").canonical(), ">=1 <=2 >3");
        assert_eq!(c("1||2 - 3").canonical(), ">=1 || 2 <=3");
    }

    #[test]
    fn wildcards_and_ignored_parts() {
        assert!(c("1.x.7").matches(&v("1.9.0")));
        assert!(c("x.|").matches(&v("3.0.0")));
        assert!(c("*").matches(&v("0.0.0")));
        // `<=*` and `^*` are narrow in Masterminds: 0.0.x and 0.0.0 only.
        assert!(c("<=*").matches(&v("0.0.9")) && !c("<=*").matches(&v("0.1.0")));
        assert!(c("^*").matches(&v("0.0.0")) && !c("^*").matches(&v("0.0.1")));
    }

    #[test]
    fn prereleases_are_judged_per_and_group() {
        let k = c(">=1.0.0-0 <2 || >=3");
        assert!(k.matches(&v("1.5.0-beta")));
        assert!(!k.matches(&v("3.1.0-beta")));
        assert!(
            k.clone()
                .with_include_prerelease(true)
                .matches(&v("3.1.0-beta"))
        );
        assert_ne!(k.clone().with_include_prerelease(true), k);
    }

    #[test]
    fn validate_lists_every_reason_in_masterminds_words() {
        assert_eq!(
            c("!= 1.2.5, ^2, <= 1.1.x").validate(&v("1.2.3")),
            Err(vec![
                "\"1.2.3\" is less than \"2\"".to_owned(),
                "\"1.2.3\" is greater than \"1.1.x\"".to_owned(),
            ])
        );
        assert_eq!(
            c(">1 || <0.5").validate(&v("1.2.3-beta")),
            Err(vec![
                "\"1.2.3-beta\" is a prerelease version and the constraint is only looking for release versions"
                    .to_owned()
            ])
        );
        assert_eq!(c("^1").validate(&v("1.2.3")), Ok(()));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases: &[(&str, &str)] = &[
            (
                "",
                "invalid constraint: the text is empty, expected a version or a range such as `^1.4`",
            ),
            (
                " ",
                "invalid constraint ` `: expected a version or a range such as `^1.4` at column 2, found the end",
            ),
            (
                ">= bar",
                "invalid constraint `>= bar`: expected a version after `>=` at column 4, found `bar`",
            ),
            (
                "BAR >= 1.2.3",
                "invalid constraint `BAR >= 1.2.3`: expected a version or an operator (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~`, `^`) at column 1, found `BAR`",
            ),
            (
                "12.3.34~ 1.2.3",
                "invalid constraint `12.3.34~ 1.2.3`: expected a space, `,` or `||` after `12.3.34` at column 8, found `~`",
            ),
            (
                "12.3.4.1234",
                "invalid constraint `12.3.4.1234`: expected at most three numbers (`MAJOR.MINOR.PATCH`) at column 7, found `.1234`",
            ),
            (
                "v1.2.3-beta.01",
                "invalid constraint `v1.2.3-beta.01`: expected a numeric prerelease identifier without leading zeros at column 13, found `01`",
            ),
            (
                ">=1.2 ||",
                "invalid constraint `>=1.2 ||`: expected a constraint after `||` at column 9, found the end",
            ),
            (
                "|| 1",
                "invalid constraint `|| 1`: expected a constraint before `||` at column 1, found `||`",
            ),
            (
                "1 || || 2",
                "invalid constraint `1 || || 2`: expected a constraint before `||` at column 6, found `||`",
            ),
            (
                "1,",
                "invalid constraint `1,`: expected a constraint after `,` at column 3, found the end",
            ),
            (
                "1,,2",
                "invalid constraint `1,,2`: expected a constraint after `,` at column 3, found `,`",
            ),
            (
                "^1 - 2",
                "invalid constraint `^1 - 2`: expected a version after `^` at column 2, found the hyphen range `1 - 2`",
            ),
            (
                "3 1 - 2",
                "invalid constraint `3 1 - 2`: expected `,` or `||` before a hyphen range (a space is not enough) at column 3, found the hyphen range `1 - 2`",
            ),
            (
                "1.2x",
                "invalid constraint `1.2x`: expected a number or a wildcard (`x`, `X` or `*`) at column 3, found `2x`",
            ),
            (
                "1 | 2",
                "invalid constraint `1 | 2`: expected a number or a wildcard (`x`, `X` or `*`) at column 3, found `|`",
            ),
            (
                "99999999999999999999",
                "invalid constraint `99999999999999999999`: expected a number no larger than 18446744073709551615 at column 1, found `99999999999999999999`",
            ),
            (
                "1.2.",
                "invalid constraint `1.2.`: expected a number or a wildcard (`x`, `X`, `*`) after `.` at column 5, found the end",
            ),
            (
                "1.2.3 -2",
                "invalid constraint `1.2.3 -2`: expected a version or an operator (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~`, `^`) at column 7, found `-2`",
            ),
            (
                "1.0.0-a_b",
                "invalid constraint `1.0.0-a_b`: expected a letter, digit, `-` or `.` in `1.0.0-a`, or a space, `,` or `||` after it at column 8, found `_`",
            ),
            (
                "1+a+b",
                "invalid constraint `1+a+b`: expected the end of the build metadata (a version has one `+`) at column 4, found `+`",
            ),
            (
                "≥1.2",
                "invalid constraint `≥1.2`: expected a version or an operator (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~`, `^`) at column 1, found `≥1.2`",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(&err(text).to_string(), message, "{text:?}");
        }
        let e = err(">= bar");
        assert_eq!(
            (e.column(), e.span(), e.found()),
            (4, Span::new(3, 6), Some("bar"))
        );
        assert_eq!(e.kind(), ConstraintErrorKind::ExpectedVersion);
        assert_eq!(
            err("1.2x").kind(),
            ConstraintErrorKind::InvalidVersion(VersionErrorKind::Malformed)
        );
        assert_eq!(err("1 | 2").help_text(), "use `||` (two bars) for OR");
        assert_eq!(
            err("1.2.3 -2").help_text(),
            "a hyphen range needs white space on both sides of `-`, as in `1.2 - 1.4`"
        );
    }

    #[test]
    fn serde_writes_the_canonical_form_and_reads_text() {
        let k = c("> 1 , <=1.2.3");
        assert_eq!(serde_json::to_string(&k).unwrap(), "\">1 <=1.2.3\"");
        let back: Constraint = serde_json::from_str("\">1, <=1.2.3\"").unwrap();
        assert_eq!(back.canonical(), ">1 <=1.2.3");
        let bad = serde_json::from_str::<Constraint>("\">= bar\"").unwrap_err();
        assert!(bad.to_string().contains("expected a version after `>=`"));
    }

    // -----------------------------------------------------------------------------------------
    // Properties

    /// A version text for constraints: full, partial or wildcard, sometimes with a prerelease.
    fn version_text() -> impl Strategy<Value = String> {
        let part =
            prop_oneof![4 => (0u64..4).prop_map(|n| n.to_string()), 1 => Just("x".to_owned())];
        (
            part.clone(),
            prop::option::of(part.clone()),
            prop::option::of(part),
            prop::option::of(prop_oneof![
                Just("0"),
                Just("alpha"),
                Just("beta.1"),
                Just("rc.2")
            ]),
        )
            .prop_map(|(major, minor, patch, pre)| {
                let mut s = major;
                if let Some(minor) = minor {
                    s = format!("{s}.{minor}");
                    if let Some(patch) = patch {
                        s = format!("{s}.{patch}");
                    }
                }
                if let Some(pre) = pre {
                    s = format!("{s}-{pre}");
                }
                s
            })
    }

    fn comparator_text() -> impl Strategy<Value = String> {
        let op = prop_oneof![
            Just(""),
            Just("="),
            Just("!="),
            Just(">"),
            Just("<"),
            Just(">="),
            Just("<="),
            Just("=>"),
            Just("=<"),
            Just("~"),
            Just("~>"),
            Just("^"),
        ];
        prop_oneof![
            4 => (op, prop_oneof![Just(""), Just(" ")], version_text())
                .prop_map(|(op, space, version)| format!("{op}{space}{version}")),
            1 => (version_text(), version_text()).prop_map(|(a, b)| format!("{a} - {b}")),
        ]
    }

    /// An AND group of one to three comparators.
    pub(crate) fn group_text() -> impl Strategy<Value = String> {
        prop::collection::vec(comparator_text(), 1..4).prop_map(|parts| parts.join(", "))
    }

    /// A constraint of one to three OR groups.
    pub(crate) fn constraint_text() -> impl Strategy<Value = String> {
        prop::collection::vec(group_text(), 1..4).prop_map(|groups| groups.join(" || "))
    }

    /// Versions near the small numbers the constraints use, with and without prereleases.
    pub(crate) fn probe_version() -> impl Strategy<Value = Version> {
        (
            0u64..5,
            0u64..5,
            0u64..5,
            prop::option::of(prop_oneof![
                Just("0"),
                Just("alpha"),
                Just("beta.1"),
                Just("rc.2"),
                Just("zeta")
            ]),
        )
            .prop_map(|(major, minor, patch, pre)| {
                let base = Version::new(major, minor, patch);
                match pre {
                    Some(pre) => base.with_prerelease(pre).unwrap(),
                    None => base,
                }
            })
    }

    fn release_version() -> impl Strategy<Value = Version> {
        (0u64..5, 0u64..5, 0u64..5).prop_map(|(a, b, c)| Version::new(a, b, c))
    }

    /// Builds `>= lo, < hi` (`hi` absent: no upper bound).
    fn explicit(lo: &Version, hi: Option<Version>) -> Constraint {
        let text = match hi {
            Some(hi) => format!(">={lo}, <{hi}"),
            None => format!(">={lo}"),
        };
        c(&text)
    }

    fn floor(major: u64, minor: u64, patch: u64) -> Version {
        Version::floor(major, minor, patch)
    }

    proptest! {
        #[test]
        fn and_is_the_intersection_on_releases(a in group_text(), b in group_text(), x in release_version()) {
            let joined = c(&format!("{a}, {b}"));
            prop_assert_eq!(joined.matches(&x), c(&a).matches(&x) && c(&b).matches(&x));
        }

        #[test]
        fn and_is_the_intersection_when_prereleases_are_included(
            a in group_text(), b in group_text(), x in probe_version()
        ) {
            // Joined with `,`: after a space, a hyphen range would be glued (Masterminds).
            let joined = c(&format!("{a}, {b}")).with_include_prerelease(true);
            let left = c(&a).with_include_prerelease(true);
            let right = c(&b).with_include_prerelease(true);
            prop_assert_eq!(joined.matches(&x), left.matches(&x) && right.matches(&x));
        }

        #[test]
        fn or_is_the_union(a in constraint_text(), b in constraint_text(), x in probe_version()) {
            let joined = c(&format!("{a} || {b}"));
            prop_assert_eq!(joined.matches(&x), c(&a).matches(&x) || c(&b).matches(&x));
        }

        #[test]
        fn not_equal_is_the_complement_of_equal(
            major in 0u64..4, minor in 0u64..4, patch in 0u64..4,
            pre in prop::option::of(prop_oneof![Just("alpha"), Just("rc.1")]),
            x in release_version()
        ) {
            let target = match pre {
                Some(pre) => format!("{major}.{minor}.{patch}-{pre}"),
                None => format!("{major}.{minor}.{patch}"),
            };
            let equal = c(&format!("={target}"));
            let different = c(&format!("!={target}"));
            prop_assert_ne!(equal.matches(&x), different.matches(&x));
            // Partial versions without a prerelease, too.
            for partial in [format!("{major}"), format!("{major}.{minor}"), format!("{major}.x")] {
                let equal = c(&format!("={partial}"));
                let different = c(&format!("!={partial}"));
                prop_assert_ne!(equal.matches(&x), different.matches(&x), "{}", partial);
            }
        }

        #[test]
        fn canonical_text_reads_back_to_the_same_constraint(text in constraint_text(), x in probe_version()) {
            let original = c(&text);
            let again = c(&original.canonical());
            prop_assert_eq!(again.matches(&x), original.matches(&x));
            prop_assert_eq!(again.canonical(), original.canonical());
            let displayed = c(&original.to_string());
            prop_assert_eq!(displayed.matches(&x), original.matches(&x));
        }

        #[test]
        fn hyphen_range_is_ge_and_le(a in version_text(), b in version_text(), x in probe_version()) {
            let range = c(&format!("{a} - {b}"));
            let explicit = c(&format!(">={a} <={b}"));
            prop_assert_eq!(range.matches(&x), explicit.matches(&x));
            prop_assert_eq!(range.canonical(), explicit.canonical());
        }

        #[test]
        fn caret_and_tilde_expand_to_explicit_ranges(
            major in 0u64..4, minor in 0u64..4, patch in 0u64..4, x in probe_version()
        ) {
            let lo = Version::new(major, minor, patch);
            // ^M.m.p
            let (a, b, c3) = caret_upper(major, minor, patch);
            let caret_hi = floor(a, b, c3);
            let caret = c(&format!("^{major}.{minor}.{patch}")).with_include_prerelease(true);
            let want = explicit(&lo, Some(caret_hi)).with_include_prerelease(true);
            prop_assert_eq!(caret.matches(&x), want.matches(&x), "^ {}", lo);
            // ^M.m and ^M
            let caret_minor_hi = if major > 0 { floor(major + 1, 0, 0) } else { floor(0, minor + 1, 0) };
            let caret_minor = c(&format!("^{major}.{minor}")).with_include_prerelease(true);
            let want = explicit(&Version::new(major, minor, 0), Some(caret_minor_hi)).with_include_prerelease(true);
            prop_assert_eq!(caret_minor.matches(&x), want.matches(&x));
            let caret_major = c(&format!("^{major}")).with_include_prerelease(true);
            let want = explicit(&Version::new(major, 0, 0), Some(floor(major + 1, 0, 0))).with_include_prerelease(true);
            prop_assert_eq!(caret_major.matches(&x), want.matches(&x));
            // ~M.m.p (~0.0.0 is everything from 0.0.0 up)
            let tilde_hi = if (major, minor, patch) == (0, 0, 0) { None } else { Some(floor(major, minor + 1, 0)) };
            let tilde = c(&format!("~{major}.{minor}.{patch}")).with_include_prerelease(true);
            let want = explicit(&lo, tilde_hi).with_include_prerelease(true);
            prop_assert_eq!(tilde.matches(&x), want.matches(&x), "~ {}", lo);
            // ~M.m and ~M
            let tilde_minor = c(&format!("~{major}.{minor}")).with_include_prerelease(true);
            let want = explicit(&Version::new(major, minor, 0), Some(floor(major, minor + 1, 0))).with_include_prerelease(true);
            prop_assert_eq!(tilde_minor.matches(&x), want.matches(&x));
            let tilde_major = c(&format!("~{major}")).with_include_prerelease(true);
            let want = explicit(&Version::new(major, 0, 0), Some(floor(major + 1, 0, 0))).with_include_prerelease(true);
            prop_assert_eq!(tilde_major.matches(&x), want.matches(&x));
            // Without prereleases admitted, on releases, the plain textual expansion.
            if !x.is_prerelease() {
                let (a, b, c3) = caret_upper(major, minor, patch);
                let caret = c(&format!("^{major}.{minor}.{patch}"));
                let want = c(&format!(">={lo}, <{a}.{b}.{c3}"));
                prop_assert_eq!(caret.matches(&x), want.matches(&x));
            }
        }

        #[test]
        fn validate_agrees_with_matches(text in constraint_text(), x in probe_version(), include in any::<bool>()) {
            let k = c(&text).with_include_prerelease(include);
            match k.validate(&x) {
                Ok(()) => prop_assert!(k.matches(&x)),
                Err(reasons) => {
                    prop_assert!(!k.matches(&x));
                    prop_assert!(!reasons.is_empty());
                }
            }
        }

        #[test]
        fn no_input_makes_the_constraint_parser_panic(text in "\\PC{0,40}", x in probe_version()) {
            if let Ok(k) = Constraint::parse(&text) {
                let _ = (k.matches(&x), k.validate(&x), k.canonical());
            }
        }

        #[test]
        fn constraint_like_noise_never_panics(
            text in "[ ,|vxX*0-9.+=<>!~^a-]{0,24}", x in probe_version()
        ) {
            match Constraint::parse(&text) {
                Ok(k) => {
                    let _ = (k.matches(&x), k.validate(&x));
                    let again = c(&k.canonical());
                    prop_assert_eq!(again.matches(&x), k.matches(&x));
                }
                Err(e) => {
                    prop_assert!(e.span().end <= text.len());
                    prop_assert!(e.column() >= 1);
                    let _ = e.to_string();
                }
            }
        }
    }

    /// The exclusive upper bound of `^major.minor.patch`, as numbers.
    fn caret_upper(major: u64, minor: u64, patch: u64) -> (u64, u64, u64) {
        if major > 0 {
            (major + 1, 0, 0)
        } else if minor > 0 {
            (0, minor + 1, 0)
        } else {
            (0, 0, patch + 1)
        }
    }
}
