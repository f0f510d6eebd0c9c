//! Versions and version constraints in the Helm dialect: Masterminds/semver v3, which Helm uses
//! for chart versions and dependency ranges, and which Blueprints use in `depends[].version`.
//!
//! - [`Version`]: a semantic version, read leniently as Helm reads chart versions (`v1.2` is
//!   `1.2.0`), or strictly per semver 2.0.0 ([`Strictness`]).
//! - [`Constraint`]: a range such as `^1.4`, `~1.2.3`, `>=1.2, <2 || 3.x`, `1.2 - 1.4.5`;
//!   [`Constraint::matches`] and [`Constraint::validate`] check a version.
//! - [`Constraint::to_ranges`] and [`Constraint::ranges_over`]: the bridge to pubgrub.
//! - [`VersionError`], [`ConstraintError`]: what was found, where, what was expected, a hint.
//!
//! The traps, all Masterminds behaviour kept on purpose:
//!
//! - **Prereleases are opt-in per AND group.** `>=1.0` does not accept `1.1.0-rc.1`; a group
//!   accepts prereleases only if one of its comparators names one (`>=1.0.0-0`), or if
//!   [`Constraint::with_include_prerelease`] is set.
//! - **Missing parts are wildcards in constraints**: `1.2` means `1.2.x`, so `>1.2` means
//!   `>=1.3.0` and `<=1.2` accepts `1.2.9`.
//! - **`~` and `^` with zeros**: `~0.0.0` and `~*` accept everything; `^0.2.3` means
//!   `>=0.2.3, <0.3.0`; `^0.0.3` means `=0.0.3`.
//! - **An empty constraint is an error**, not "any version": write `*`.
//! - **Build metadata is ignored** when comparing, in versions and in constraints.
//!
//! The tables of Masterminds' own tests (all 949 rows, in
//! `../shared/conformance/semver/masterminds-constraints.json`) pass; see
//! `tests/semver_conformance.rs`. Where a row is about an internal function of Masterminds, the
//! test checks the same fact through this API.
//!
//! ```
//! use bpkit::version::{Constraint, Version};
//! let c = Constraint::parse(">= 1.2, < 2").unwrap();
//! assert!(c.matches(&Version::parse("1.4").unwrap()));
//! let err = Constraint::parse(">= bar").unwrap_err();
//! assert_eq!(err.column(), 4);
//! assert_eq!(
//!     err.to_string(),
//!     "invalid constraint `>= bar`: expected a version after `>=` at column 4, found `bar`"
//! );
//! ```

mod constraint;
mod error;
mod ranges;
mod syntax;
mod versions;

pub use constraint::{Comparator, Constraint, Group, Op, Wildcard};
pub use error::{ConstraintError, ConstraintErrorKind, VersionError, VersionErrorKind};
pub use syntax::MAX_CONSTRAINT_BYTES;
pub use versions::{Strictness, Version};
