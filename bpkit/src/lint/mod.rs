//! `bpkit lint`: rules learned from real incidents in the Catalyst catalog.
//!
//! Every rule has a stable id, a default severity and an explanation ([`Rule::explain`]) that
//! tells the incident behind it, what is checked, how to fix it and how to opt out. Severities
//! can be changed per rule with [`LintOptions::severity`].
//!
//! | id | default | checks |
//! |---|---|---|
//! | `hollow-chart` | error | `Chart.yaml` dependencies are vendored under `charts/`; a chart without any upstream says so |
//! | `version-lockstep` | error | Blueprint, `Chart.yaml` and `catalystBlueprint.upstream` versions agree |
//! | `observability-default` | error | observability toggles in `values.yaml` default to `false` |
//! | `stray-kustomization` | error | no `kustomization.yaml` inside a chart's `templates/` |
//! | `hardcoded-namespace` | warning | templates take the namespace from the release or values |
//! | `hardcoded-host` | warning | templates take hostnames from values |
//! | `override-collision` | error | sub-charts do not share a `fullnameOverride`/`nameOverride` |
//! | `unknown-dependency` | warning | every `depends` names a Blueprint of the linted catalog |
//! | `duplicate-alias` | error | `depends` entries have distinct aliases |

pub(crate) mod chart;
mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::diag::{Finding, Severity};
use crate::model::Blueprint;
use crate::validate::blueprint::Checked;

pub use rules::RULES;

/// A lint rule's description.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The stable id.
    pub id: &'static str,
    /// The severity unless configured otherwise.
    pub default_severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// The long explanation printed by `bpkit lint --explain`.
    pub explain: &'static str,
}

/// Looks a rule up by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// How to lint.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Severity overrides by rule id; `None` turns a rule off.
    pub severity: BTreeMap<String, Option<Severity>>,
}

impl LintOptions {
    /// Parses `ID=off|info|warning|error`.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (id, level) = spec.split_once('=').ok_or_else(|| {
            format!("`{spec}` is not `RULE=LEVEL`; write e.g. `hardcoded-host=error`")
        })?;
        if rule(id).is_none() {
            let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            return Err(format!(
                "unknown lint rule `{id}`; rules: {}",
                ids.join(", ")
            ));
        }
        let sev = match level {
            "off" | "allow" => None,
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" | "deny" => Some(Severity::Error),
            other => {
                return Err(format!(
                    "unknown level `{other}` for `{id}`; use off, info, warning or error"
                ));
            }
        };
        self.severity.insert(id.to_string(), sev);
        Ok(())
    }

    fn level(&self, r: &Rule) -> Option<Severity> {
        match self.severity.get(r.id) {
            Some(s) => *s,
            None => Some(r.default_severity),
        }
    }
}

/// One Blueprint to lint, with the catalog it belongs to.
pub struct Target<'a> {
    /// The Blueprint.
    pub blueprint: &'a Blueprint,
    /// Its checked file (for positions in blueprint.yaml).
    pub checked: &'a Checked,
    /// The folder.
    pub dir: &'a Path,
    /// Names of every Blueprint in the linted catalog.
    pub catalog: &'a BTreeSet<String>,
}

/// Runs every rule on one Blueprint.
pub fn lint(t: &Target<'_>, opts: &LintOptions) -> Vec<Finding> {
    let mut raw = Vec::new();
    rules::run_all(t, &mut raw);
    let mut out = Vec::new();
    for mut f in raw {
        let Some(r) = rule(f.rule) else {
            out.push(f);
            continue;
        };
        if let Some(sev) = opts.level(r) {
            f.severity = sev;
            out.push(f);
        }
    }
    out
}

/// The chart folder of a Blueprint, when it is a local Helm chart.
pub fn chart_dir(bp: &Blueprint, dir: &Path) -> Option<PathBuf> {
    match bp.source() {
        Some(s)
            if s.kind == crate::model::SourceKind::HelmChart && !s.reference.contains("://") =>
        {
            Some(join_clean(dir, &s.reference))
        }
        Some(_) => None,
        None => Some(dir.join("chart")),
    }
}

/// `dir` joined with a relative reference such as `./chart`, without `.` components.
pub fn join_clean(dir: &Path, reference: &str) -> PathBuf {
    let mut p = dir.to_path_buf();
    for c in Path::new(reference).components() {
        match c {
            std::path::Component::CurDir => {}
            other => p.push(other),
        }
    }
    p
}
