//! `bpkit migrate`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Exit, Printer};
use crate::model::migrate::migrate;

/// Arguments of `bpkit migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// blueprint.yaml files, Blueprint folders or catalog trees.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Rewrite the files in place (atomically); without it the result goes to stdout.
    #[arg(long, short = 'w')]
    pub write: bool,
    /// Only report whether files need migrating (exit 1 if any does).
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
}

/// Runs `bpkit migrate`.
pub fn run(a: &MigrateArgs, p: &Printer) -> Exit {
    let (files, errors) = crate::catalog::discover(&a.paths);
    for (path, e) in &errors {
        p.error(&format!("cannot read `{}`: {e}", path.display()));
    }
    if !errors.is_empty() {
        return Exit::Error;
    }
    if files.len() > 1 && !a.write && !a.check {
        p.error(&format!(
            "{} Blueprints found: use `--write` to rewrite them in place, or `--check`",
            files.len()
        ));
        return Exit::Error;
    }
    let mut exit = Exit::Success;
    let mut report = Vec::new();
    for f in &files {
        let name = f.display().to_string();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                p.error(&format!("cannot read `{name}`: {e}"));
                exit = Exit::Error;
                continue;
            }
        };
        match migrate(&name, &text) {
            Ok(m) => {
                let changed = m.text != text;
                for c in &m.changes {
                    p.status(&format!("{name}: {c}"));
                }
                for l in &m.left {
                    p.warn(&format!("{name}: {l}"));
                }
                if a.check {
                    if changed {
                        exit = Exit::Findings;
                    }
                } else if a.write {
                    if changed && let Err(e) = crate::atomic::write_file(f, m.text.as_bytes()) {
                        p.error(&format!("cannot write `{name}`: {e}"));
                        exit = Exit::Error;
                    }
                } else if !p.json_mode() {
                    print!("{}", m.text);
                }
                report.push(
                    json!({"file": name, "changed": changed, "changes": m.changes, "left": m.left}),
                );
            }
            Err(e) => {
                p.error(&format!("{name}: {e}"));
                if exit == Exit::Success {
                    exit = Exit::Findings;
                }
                report.push(json!({"file": name, "error": e.to_string()}));
            }
        }
    }
    if p.json_mode() {
        p.json(&json!({ "files": report }));
    }
    exit
}
