//! `bpkit validate`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Deny, Exit, FindingFormat, Printer};
use crate::diag::{Finding, Severity};
use crate::model::LoadOptions;
use crate::validate::blueprint::check_file;

/// Arguments of `bpkit validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// blueprint.yaml files, Blueprint folders or catalog trees (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Fail on warnings too.
    #[arg(long, value_enum)]
    pub deny: Option<Deny>,
    /// How to print findings in human mode.
    #[arg(long, value_enum, default_value_t = FindingFormat::Text)]
    pub format: FindingFormat,
}

/// The blueprint.yaml files under `paths` (the current folder when none), or the exit code
/// after the problem was printed.
pub(crate) fn discover_files(paths: &[PathBuf], p: &Printer) -> Result<Vec<PathBuf>, Exit> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let (files, errors) = crate::catalog::discover(&paths);
    for (path, e) in &errors {
        p.error(&format!("cannot read `{}`: {e}", path.display()));
    }
    if !errors.is_empty() {
        return Err(Exit::Error);
    }
    if files.is_empty() {
        let names: Vec<String> = paths.iter().map(|x| format!("`{}`", x.display())).collect();
        p.error(&format!(
            "no blueprint.yaml found under {}",
            names.join(", ")
        ));
        return Err(Exit::Error);
    }
    Ok(files)
}

/// Runs `bpkit validate`.
pub fn run(a: &ValidateArgs, p: &Printer) -> Exit {
    let files = match discover_files(&a.paths, p) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let opts = LoadOptions::default();
    let mut all: Vec<Finding> = Vec::new();
    let mut results = Vec::new();
    for f in &files {
        let c = check_file(f, &opts);
        results.push(json!({
            "file": f.display().to_string(),
            "name": c.blueprint().map(|b| b.name().to_string()),
            "version": c.blueprint().map(|b| b.version().to_string()),
            "valid": !c.findings().iter().any(|x| x.severity == Severity::Error),
        }));
        all.extend(c.loaded.findings);
    }
    summarise(p, "validated", files.len(), &all, a.deny, a.format, results)
}

/// Prints findings and a summary; decides the exit code.
pub(crate) fn summarise(
    p: &Printer,
    verb: &str,
    count: usize,
    all: &[Finding],
    deny: Option<Deny>,
    format: FindingFormat,
    results: Vec<serde_json::Value>,
) -> Exit {
    let errors = all.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = all
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let failed = errors > 0 || (deny == Some(Deny::Warnings) && warnings > 0);
    if p.json_mode() {
        let findings: Vec<_> = all.iter().map(|f| f.record()).collect();
        p.json(&json!({
            "blueprints": results,
            "findings": findings,
            "summary": {"blueprints": count, "errors": errors, "warnings": warnings, "ok": !failed},
        }));
    } else {
        p.findings(all, format);
        let noun = if count == 1 {
            "Blueprint"
        } else {
            "Blueprints"
        };
        let line = format!("{verb} {count} {noun}: {errors} errors, {warnings} warnings");
        if failed {
            p.error(&line);
        } else {
            p.status(&line);
        }
    }
    if failed {
        Exit::Findings
    } else {
        Exit::Success
    }
}
