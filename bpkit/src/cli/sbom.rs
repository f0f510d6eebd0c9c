//! `bpkit sbom`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::package::{BuildArgs, build, report};
use super::{Exit, Printer};
use crate::resolve::Lock;
use crate::sbom::{Format, SbomOptions};

/// The SBOM formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// Arguments of `bpkit sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The Blueprint folder (or its blueprint.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The SBOM format.
    #[arg(long, short = 'f', value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub format: SbomFormat,
    /// Where to write the SBOM (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A `bpkit.lock` whose exact versions and digests pin the Blueprint dependencies.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// The repository the Blueprint is published to (`ghcr.io/org/bp-x`), for its purl.
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,
    /// Options recorded in the artifact (they change its digest: pass the same as to `push`).
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Runs `bpkit sbom`: packages in memory, then writes the SBOM. The time recorded is
/// `SOURCE_DATE_EPOCH` (default 2000-01-01), so the same input gives the same bytes.
pub fn run(a: &SbomArgs, p: &Printer) -> Exit {
    let lock = match &a.lock {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match Lock::parse(&text) {
                Ok(l) => Some(l),
                Err(e) => {
                    p.error(&format!("`{}`: {e}", path.display()));
                    return Exit::Findings;
                }
            },
            Err(e) => {
                p.error(&format!("cannot read `{}`: {e}", path.display()));
                return Exit::Error;
            }
        },
    };
    let art = match build(&a.dir, &a.build, p) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let epoch = match super::package::options(&a.build) {
        Ok(o) => o.epoch,
        Err(e) => {
            p.error(&e);
            return Exit::Error;
        }
    };
    let opts = SbomOptions {
        epoch,
        repository: a.repository.clone(),
        ..SbomOptions::default()
    };
    let inv = match crate::sbom::inventory(&art, lock.as_ref()) {
        Ok(i) => i,
        Err(e) => {
            report(p, &e);
            return Exit::Findings;
        }
    };
    for w in &inv.warnings {
        p.warn(w);
    }
    let format = match a.format {
        SbomFormat::Cyclonedx => Format::CycloneDx,
        SbomFormat::Spdx => Format::Spdx,
    };
    let written = match format {
        Format::CycloneDx => crate::sbom::cyclonedx::write(&inv, &opts),
        Format::Spdx => crate::sbom::spdx::write(&inv, &opts),
    };
    let bytes = match written {
        Ok(b) => b,
        Err(e) => {
            report(p, &e);
            return Exit::Error;
        }
    };
    match &a.out {
        None => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(&bytes);
        }
        Some(out) => {
            if let Err(e) = crate::atomic::write_file(out, &bytes) {
                p.error(&format!("cannot write `{}`: {e}", out.display()));
                return Exit::Error;
            }
            p.status(&format!(
                "wrote the {} SBOM of `{}` {} to `{}` ({} images, {} charts, {} Blueprint dependencies)",
                match format {
                    Format::CycloneDx => "CycloneDX",
                    Format::Spdx => "SPDX",
                },
                art.blueprint.name(),
                art.blueprint.version(),
                out.display(),
                inv.images.len(),
                inv.charts.len(),
                inv.dependencies.len(),
            ));
            if p.json_mode() {
                p.json(&json!({
                    "name": art.blueprint.name(),
                    "version": art.blueprint.version(),
                    "digest": art.digest().to_string(),
                    "file": out.display().to_string(),
                    "images": inv.images.iter().map(|i| i.reference.to_string()).collect::<Vec<_>>(),
                    "warnings": inv.warnings,
                }));
            }
        }
    }
    Exit::Success
}
