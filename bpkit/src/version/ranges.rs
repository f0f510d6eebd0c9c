//! The bridge to pubgrub: a [`Constraint`] as a [`pubgrub::Ranges`] of [`Version`]s.
//!
//! Masterminds' rules are not all intervals. A group without a prerelease rejects every
//! prerelease version, even one between two releases it accepts (`>=1.0, <2` accepts `1.0.0`
//! and `1.0.1` but not `1.0.1-beta`), and no finite set of intervals can say that. So:
//!
//! - [`Constraint::to_ranges`] is exact for release versions and approximates prereleases;
//! - [`Constraint::ranges_over`] is exact for a known list of candidates: the resolver uses it.

use pubgrub::Ranges;

use super::constraint::{Comparator, Constraint, Op, Wildcard};
use super::versions::Version;

impl Constraint {
    /// The versions this constraint accepts, as intervals of the version order.
    ///
    /// For every release version `v`, `to_ranges().contains(&v) == matches(&v)`.
    ///
    /// Prereleases: each comparator becomes the interval its rule describes over all versions
    /// (bounds such as `2.0.0-0`, the least version of `2.0.0`, keep `^1.2` from reaching
    /// `2.0.0-alpha`). The ranges therefore contain every prerelease that lies inside those
    /// intervals, including those that [`Constraint::matches`] rejects because their AND group
    /// names no prerelease. With [`Constraint::with_include_prerelease`], or in groups that name
    /// a prerelease, the ranges are exact for prereleases as well, except after `!=` with a
    /// wildcard patch (`!=1.2`, `!=1.2.x-beta`), whose treatment of prereleases is not an
    /// interval: there the ranges treat prereleases like their release. For exact answers on
    /// known versions use [`Constraint::ranges_over`].
    pub fn to_ranges(&self) -> Ranges<Version> {
        self.groups()
            .iter()
            .map(|group| {
                group.comparators().iter().fold(Ranges::full(), |acc, c| {
                    acc.intersection(&comparator_ranges(c))
                })
            })
            .fold(Ranges::empty(), |acc, group| acc.union(&group))
    }

    /// The candidates that satisfy this constraint (by [`Constraint::matches`], so exact for
    /// prereleases too), as a union of single versions. This is what the resolver hands to
    /// pubgrub: the catalog lists the versions that exist, and only those can be chosen.
    pub fn ranges_over(&self, candidates: &[Version]) -> Ranges<Version> {
        let mut accepted: Vec<&Version> = candidates.iter().filter(|v| self.matches(v)).collect();
        accepted.sort();
        accepted.dedup();
        accepted
            .into_iter()
            .map(|v| {
                (
                    std::ops::Bound::Included(v.clone()),
                    std::ops::Bound::Included(v.clone()),
                )
            })
            .collect()
    }
}

/// `[low, high)`; an absent `high` is unbounded (the bound overflowed 64 bits).
fn from(low: &Version, high: Option<Version>) -> Ranges<Version> {
    let lower = Ranges::higher_than(low.clone());
    match high {
        Some(high) => lower.intersection(&Ranges::strictly_lower_than(high)),
        None => lower,
    }
}

/// The least version of the next major.
fn next_major(c: &Version) -> Option<Version> {
    Some(Version::floor(c.major().checked_add(1)?, 0, 0))
}

/// The least version of the next minor (of the next major if the minor overflows).
fn next_minor(c: &Version) -> Option<Version> {
    match c.minor().checked_add(1) {
        Some(minor) => Some(Version::floor(c.major(), minor, 0)),
        None => next_major(c),
    }
}

/// The least version of the next patch (of the next minor if the patch overflows).
fn next_patch(c: &Version) -> Option<Version> {
    match c.patch().checked_add(1) {
        Some(patch) => Some(Version::floor(c.major(), c.minor(), patch)),
        None => next_minor(c),
    }
}

/// Everything below `high`; an absent `high` is no bound.
fn below(high: Option<Version>) -> Ranges<Version> {
    match high {
        Some(high) => Ranges::strictly_lower_than(high),
        None => Ranges::full(),
    }
}

/// Everything from `low` up; an absent `low` (past the largest version) is nothing.
fn at_or_above(low: Option<Version>) -> Ranges<Version> {
    match low {
        Some(low) => Ranges::higher_than(low),
        None => Ranges::empty(),
    }
}

fn comparator_ranges(comparator: &Comparator) -> Ranges<Version> {
    let c = comparator.version();
    let wildcard = comparator.wildcard();
    match comparator.op() {
        Op::Eq if wildcard.is_some() => tilde(c, wildcard),
        Op::Eq => Ranges::singleton(c.clone()),
        Op::Ne => match wildcard {
            None | Some(Wildcard::Major) => Ranges::singleton(c.clone()).complement(),
            Some(Wildcard::Minor) => {
                from(&Version::floor(c.major(), 0, 0), next_major(c)).complement()
            }
            // Releases of `M.m` differ from a prerelease constraint version, so all pass.
            Some(Wildcard::Patch) if c.is_prerelease() => Ranges::full(),
            Some(Wildcard::Patch) => {
                from(&Version::floor(c.major(), c.minor(), 0), next_minor(c)).complement()
            }
        },
        Op::Gt => match wildcard {
            None | Some(Wildcard::Major) => Ranges::strictly_higher_than(c.clone()),
            Some(Wildcard::Minor) => at_or_above(next_major(c)),
            Some(Wildcard::Patch) => at_or_above(next_minor(c)),
        },
        Op::Lt => Ranges::strictly_lower_than(c.clone()),
        Op::Ge => Ranges::higher_than(c.clone()),
        Op::Le => match wildcard {
            None => Ranges::lower_than(c.clone()),
            Some(Wildcard::Minor) => below(next_major(c)),
            Some(Wildcard::Patch | Wildcard::Major) => below(next_minor(c)),
        },
        Op::Tilde => tilde(c, wildcard),
        Op::Caret => {
            if c.major() > 0 || wildcard == Some(Wildcard::Minor) {
                from(c, next_major(c))
            } else if c.minor() > 0 || wildcard == Some(Wildcard::Patch) {
                from(c, next_minor(c))
            } else {
                from(c, next_patch(c))
            }
        }
    }
}

fn tilde(c: &Version, wildcard: Option<Wildcard>) -> Ranges<Version> {
    let zero = (c.major(), c.minor(), c.patch()) == (0, 0, 0);
    match wildcard {
        Some(Wildcard::Minor) => from(c, next_major(c)),
        Some(Wildcard::Patch) => from(c, next_minor(c)),
        _ if zero => Ranges::higher_than(c.clone()),
        _ => from(c, next_minor(c)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::version::constraint::tests::{constraint_text, probe_version};
    use proptest::prelude::*;

    fn c(text: &str) -> Constraint {
        Constraint::parse(text).unwrap()
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn caret_range_stops_before_the_next_major_prereleases() {
        let r = c("^1.2").to_ranges();
        assert!(r.contains(&v("1.2.0")));
        assert!(r.contains(&v("1.99.0")));
        assert!(!r.contains(&v("2.0.0-alpha")));
        assert!(!r.contains(&v("2.0.0")));
        assert!(!r.contains(&v("1.1.9")));
        assert_eq!(r.to_string(), ">=1.2.0, <2.0.0-0");
    }

    #[test]
    fn prereleases_inside_intervals_are_contained() {
        let k = c(">=1.0, <2");
        assert!(!k.matches(&v("1.5.0-beta")));
        assert!(k.to_ranges().contains(&v("1.5.0-beta")));
    }

    #[test]
    fn numbers_at_the_top_of_u64_do_not_overflow() {
        let max = u64::MAX;
        let r = c(&format!("^{max}")).to_ranges();
        assert!(r.contains(&Version::new(max, 5, 0)));
        assert!(c(&format!(">{max}")).to_ranges().is_empty());
        assert_eq!(c(&format!("<={max}")).to_ranges(), Ranges::full());
    }

    #[test]
    fn ranges_over_keeps_only_matching_candidates() {
        let candidates: Vec<Version> = ["1.0.0", "1.5.0-beta", "1.5.0", "2.0.0", "1.5.0+build"]
            .iter()
            .map(|s| v(s))
            .collect();
        let r = c("^1").ranges_over(&candidates);
        assert!(r.contains(&v("1.0.0")) && r.contains(&v("1.5.0")));
        assert!(!r.contains(&v("1.5.0-beta")) && !r.contains(&v("2.0.0")));
        assert!(!r.contains(&v("1.2.0")));
        let with_pre = c("^1.0.0-0").ranges_over(&candidates);
        assert!(with_pre.contains(&v("1.5.0-beta")));
    }

    fn release() -> impl Strategy<Value = Version> {
        (0u64..5, 0u64..5, 0u64..5).prop_map(|(a, b, c)| Version::new(a, b, c))
    }

    proptest! {
        #[test]
        fn ranges_are_exact_on_releases(text in constraint_text(), x in release()) {
            let k = c(&text);
            prop_assert_eq!(k.to_ranges().contains(&x), k.matches(&x), "{}", text);
        }

        #[test]
        fn ranges_are_exact_when_prereleases_are_included(
            text in constraint_text(), x in probe_version()
        ) {
            let k = c(&text).with_include_prerelease(true);
            // The documented exception: `!=` with a wildcard patch.
            let patch_ne = k.groups().iter().flat_map(|g| g.comparators()).any(|c| {
                c.op() == Op::Ne && c.wildcard() == Some(Wildcard::Patch)
            });
            if !patch_ne {
                prop_assert_eq!(k.to_ranges().contains(&x), k.matches(&x), "{}", text);
            }
        }

        #[test]
        fn ranges_over_is_exact_on_its_candidates(
            text in constraint_text(),
            candidates in prop::collection::vec(probe_version(), 0..12),
            x in probe_version()
        ) {
            let k = c(&text);
            let r = k.ranges_over(&candidates);
            for candidate in &candidates {
                prop_assert_eq!(r.contains(candidate), k.matches(candidate));
            }
            if !candidates.contains(&x) {
                prop_assert!(!r.contains(&x));
            }
        }
    }
}
