//! `bpkit init`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Exit, Printer};
use crate::init::{Flavor, blueprint_name, scaffold};

/// Arguments of `bpkit init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Blueprint name (`wordpress` or `bp-wordpress`).
    pub name: String,
    /// Where to create it (default: `./<name without bp->`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Use a Kustomize base with size overlays instead of a Helm chart.
    #[arg(long)]
    pub kustomize: bool,
}

/// Runs `bpkit init`.
pub fn run(a: &InitArgs, p: &Printer) -> Exit {
    let bp = match blueprint_name(&a.name) {
        Ok(n) => n,
        Err(e) => {
            p.error(&e.to_string());
            return Exit::Error;
        }
    };
    let short = bp.trim_start_matches(crate::model::NAME_PREFIX);
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from(short));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        p.error(&format!(
            "`{}` already exists and is not empty; choose another `--dir`",
            dir.display()
        ));
        return Exit::Error;
    }
    let flavor = if a.kustomize {
        Flavor::Kustomize
    } else {
        Flavor::Helm
    };
    let files = match scaffold(&a.name, flavor) {
        Ok(f) => f,
        Err(e) => {
            p.error(&e.to_string());
            return Exit::Error;
        }
    };
    // Build the whole tree next to the target, then move it into place in one rename.
    let parent = match dir.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let result = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&parent)?;
        let staging = tempfile::Builder::new()
            .prefix(".bpkit-init.")
            .tempdir_in(&parent)?;
        for (rel, content) in &files {
            let path = staging.path().join(rel);
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::write(&path, content)?;
        }
        if dir.exists() {
            std::fs::remove_dir(&dir)?;
        }
        let staged = staging.keep();
        std::fs::rename(&staged, &dir)
    })();
    if let Err(e) = result {
        p.error(&format!("cannot create `{}`: {e}", dir.display()));
        return Exit::Error;
    }
    if p.json_mode() {
        p.json(&json!({"name": bp, "dir": dir.display().to_string(), "files": files.iter().map(|(f, _)| f).collect::<Vec<_>>()}));
    } else {
        p.status(&format!(
            "created {bp} in {} ({} files)",
            dir.display(),
            files.len()
        ));
        p.status(&format!(
            "next: edit {}/blueprint.yaml, then `bpkit validate {}` and `bpkit lint {}`",
            dir.display(),
            dir.display(),
            dir.display()
        ));
    }
    Exit::Success
}
