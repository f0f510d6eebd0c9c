//! `bpkit push`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::package::{BuildArgs, build, write_layout};
use super::progress::Bars;
use super::registry::{Place, RegistryArgs, parse_place, write};
use super::{Exit, Printer};

/// Arguments of `bpkit push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The Blueprint folder (or its blueprint.yaml).
    pub dir: PathBuf,
    /// Where to: an OCI image layout folder, `oci:DIR[:TAG]`, or a registry,
    /// `[oci://]HOST/REPO[:TAG]` (the tag defaults to the Blueprint version).
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Move a tag that already names other content.
    #[arg(long)]
    pub force: bool,
    /// Options recorded in the artifact.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `bpkit push`: packages, then writes the artifact; prints the manifest digest.
pub fn run(a: &PushArgs, p: &Printer) -> Exit {
    let art = match build(&a.dir, &a.build, p) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let place = match parse_place(&a.target, true, p) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let total: u64 = art.image.total_size();
    let bars = Bars::transfer(p, "pushing", total);
    let result = match &place {
        Place::Layout(_) => write_layout(&art, &a.target, a.force, p),
        Place::Registry(r) => {
            let tag = r.tag.clone().unwrap_or_else(|| art.default_tag());
            write(&art.image, &place, &tag, a.force, &mut None, &a.registry, p)
        }
    };
    if result.is_ok() {
        bars.complete(total);
    }
    bars.finish();
    match result {
        Ok(v) => {
            if p.json_mode() {
                p.json(&json!({
                    "name": art.blueprint.name(),
                    "version": art.blueprint.version(),
                    "digest": art.digest().to_string(),
                    "target": v,
                }));
            } else {
                p.data(&art.digest().to_string());
            }
            Exit::Success
        }
        Err(code) => code,
    }
}
