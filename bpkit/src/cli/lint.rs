//! `bpkit lint`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::validate::summarise;
use super::{Deny, Exit, FindingFormat, Printer};
use crate::lint::{LintOptions, RULES, Target, lint, rule};
use crate::model::LoadOptions;
use crate::validate::blueprint::check_file;

/// Arguments of `bpkit lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// blueprint.yaml files, Blueprint folders or catalog trees (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Fail on warnings too (for CI).
    #[arg(long, value_enum)]
    pub deny: Option<Deny>,
    /// How to print findings in human mode.
    #[arg(long, value_enum, default_value_t = FindingFormat::Text)]
    pub format: FindingFormat,
    /// Change a rule's severity: `RULE=off|info|warning|error` (repeatable).
    #[arg(long = "rule", value_name = "RULE=LEVEL")]
    pub rules: Vec<String>,
    /// Explain a rule: the incident behind it, what it checks, the fix and the opt-out.
    #[arg(long, value_name = "RULE", conflicts_with_all = ["paths", "list"])]
    pub explain: Option<String>,
    /// List the rules.
    #[arg(long)]
    pub list: bool,
}

/// Runs `bpkit lint`.
pub fn run(a: &LintArgs, p: &Printer) -> Exit {
    if let Some(id) = &a.explain {
        return match rule(id) {
            Some(r) => {
                if p.json_mode() {
                    p.json(&json!({"id": r.id, "severity": r.default_severity, "summary": r.summary, "explain": r.explain}));
                } else {
                    p.data(&format!(
                        "{} ({} by default): {}\n\n{}",
                        r.id, r.default_severity, r.summary, r.explain
                    ));
                }
                Exit::Success
            }
            None => {
                let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
                p.error(&format!(
                    "unknown lint rule `{id}`; rules: {}",
                    ids.join(", ")
                ));
                Exit::Error
            }
        };
    }
    if a.list {
        if p.json_mode() {
            let v: Vec<_> = RULES
                .iter()
                .map(|r| json!({"id": r.id, "severity": r.default_severity, "summary": r.summary}))
                .collect();
            p.json(&json!(v));
        } else {
            for r in RULES {
                p.data(&format!(
                    "{:<22} {:<8} {}",
                    r.id,
                    r.default_severity.to_string(),
                    r.summary
                ));
            }
        }
        return Exit::Success;
    }
    let mut opts = LintOptions::default();
    for spec in &a.rules {
        if let Err(e) = opts.set(spec) {
            p.error(&e);
            return Exit::Error;
        }
    }
    let files = match super::validate::discover_files(&a.paths, p) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let load = LoadOptions::default();
    let checked: Vec<_> = files.iter().map(|f| check_file(f, &load)).collect();
    let catalog: BTreeSet<String> = checked
        .iter()
        .filter_map(|c| c.blueprint().map(|b| b.name().to_string()))
        .collect();
    let mut all = Vec::new();
    let mut results = Vec::new();
    for c in &checked {
        all.extend(c.findings().iter().cloned());
        let Some(bp) = c.blueprint() else { continue };
        let t = Target {
            blueprint: bp,
            checked: c,
            dir: &c.dir,
            catalog: &catalog,
        };
        let found = lint(&t, &opts);
        results.push(json!({"name": bp.name(), "version": bp.version(), "findings": found.len()}));
        all.extend(found);
    }
    summarise(p, "linted", files.len(), &all, a.deny, a.format, results)
}
