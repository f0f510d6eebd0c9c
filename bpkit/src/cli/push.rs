//! `bpkit push`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::package::{BuildArgs, build, write_layout};
use super::{Exit, Printer};

/// Arguments of `bpkit push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The Blueprint folder (or its blueprint.yaml).
    pub dir: PathBuf,
    /// Where to: an OCI image layout folder, `oci:DIR[:TAG]` (the tag defaults to the
    /// Blueprint version).
    #[arg(value_name = "oci:DIR[:TAG]")]
    pub target: String,
    /// Move a tag that already names other content.
    #[arg(long)]
    pub force: bool,
    /// Options recorded in the artifact.
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Runs `bpkit push`: packages, then writes the artifact; prints the manifest digest.
pub fn run(a: &PushArgs, p: &Printer) -> Exit {
    let art = match build(&a.dir, &a.build, p) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match write_layout(&art, &a.target, a.force, p) {
        Ok(v) => {
            if p.json_mode() {
                p.json(&json!({
                    "name": art.blueprint.name(),
                    "version": art.blueprint.version(),
                    "digest": art.digest().to_string(),
                    "layout": v,
                }));
            } else {
                p.data(&art.digest().to_string());
            }
            Exit::Success
        }
        Err(code) => code,
    }
}
