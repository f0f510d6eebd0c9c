//! `bpkit digest`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::package::{BuildArgs, build};
use super::{Exit, Printer};

/// Arguments of `bpkit digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The Blueprint folder (or its blueprint.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Options recorded in the artifact (they change the digest: pass the same as to `push`).
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Runs `bpkit digest`: packages in memory and prints the manifest digest.
pub fn run(a: &DigestArgs, p: &Printer) -> Exit {
    let art = match build(&a.dir, &a.build, p) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if p.json_mode() {
        p.json(&json!({
            "name": art.blueprint.name(),
            "version": art.blueprint.version(),
            "tag": art.default_tag(),
            "digest": art.digest().to_string(),
            "size": art.image.manifest_json().len(),
        }));
    } else {
        p.data(&art.digest().to_string());
    }
    Exit::Success
}
