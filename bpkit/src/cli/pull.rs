//! `bpkit pull`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::package::report;
use super::progress::Bars;
use super::registry::{RegistryArgs, parse_place, read};
use super::{Exit, FindingFormat, Printer};
use crate::package::{UnpackError, UnpackOptions, blueprint_of, unpack};

/// Arguments of `bpkit pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Where from: an OCI image layout folder, `oci:DIR:TAG` (the tag may be left out when the
    /// layout holds a single artifact), or a registry, `[oci://]HOST/REPO:TAG` or
    /// `HOST/REPO@sha256:…`.
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// The folder to create (default: `./<Blueprint name>`); it must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The most bytes the layers may expand to, e.g. `100MiB` (default: 100MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Parses `123`, `64KiB`, `100MiB`, `1GiB`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = [
        ("GiB", 1u64 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("B", 1),
    ]
    .iter()
    .find_map(|(suf, m)| t.strip_suffix(suf).map(|n| (n.trim(), *m)))
    .unwrap_or((t, 1));
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("`{s}` is not a size; write e.g. `100MiB`"))
}

fn unpack_exit(e: &UnpackError) -> Exit {
    match e {
        UnpackError::Io { .. } | UnpackError::TargetExists { .. } => Exit::Error,
        _ => Exit::Findings,
    }
}

/// Runs `bpkit pull`: reads and verifies the artifact, then unpacks the Blueprint.
pub fn run(a: &PullArgs, p: &Printer) -> Exit {
    let place = match parse_place(&a.source, false, p) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let bars = Bars::transfer(p, "pulling", 0);
    let image = match read(&place, &mut None, &a.registry, p) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let total: u64 = image.total_size();
    bars.complete(total);
    bars.finish();
    let fail = |e: UnpackError| {
        if let UnpackError::Invalid { findings } = &e {
            p.findings(findings, FindingFormat::Text);
        }
        report(p, &e);
        unpack_exit(&e)
    };
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => match blueprint_of(&image) {
            Ok((bp, _)) => PathBuf::from(bp.name()),
            Err(e) => return fail(e),
        },
    };
    let mut opts = UnpackOptions::default();
    if let Some(m) = a.max_size {
        opts.limits.max_bytes = m;
    }
    match unpack(&image, &dir, &opts) {
        Ok(u) => {
            p.status(&format!(
                "pulled `{}` {} ({}) into `{}`: {} files",
                u.blueprint.name(),
                u.blueprint.version(),
                image.digest(),
                u.dir.display(),
                u.files
            ));
            if p.json_mode() {
                p.json(&json!({
                    "name": u.blueprint.name(),
                    "version": u.blueprint.version(),
                    "digest": image.digest().to_string(),
                    "dir": u.dir.display().to_string(),
                    "files": u.files,
                }));
            } else {
                p.data(&u.dir.display().to_string());
            }
            Exit::Success
        }
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("10"), Ok(10));
        assert_eq!(super::parse_size("64KiB"), Ok(65536));
        assert_eq!(super::parse_size("1 MiB"), Ok(1 << 20));
        assert!(super::parse_size("lots").is_err());
    }
}
