//! `bpkit bundle export|import`: Blueprints for sneakernet, as one tarball of OCI image
//! layouts (one per Blueprint repository), and back into a registry with every signature
//! verified.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::mirror::{MirrorArgs, run as mirror};
use super::registry::RegistryArgs;
use super::trust::VerifyArgs;
use super::{Exit, Printer};
use crate::oci::Layout;

/// Arguments of `bpkit bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: BundleCommand,
}

/// The bundle commands.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write Blueprints (with dependencies, signatures, attestations, referrers) to a tarball.
    Export {
        /// The Blueprints: `HOST/PREFIX/<name>:<version>` or `oci:DIR/<name>:<version>`.
        #[arg(required = true, value_name = "REF")]
        refs: Vec<String>,
        /// The tarball to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Leave the dependencies out.
        #[arg(long)]
        without_dependencies: bool,
        /// Registry options.
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Load a tarball into a registry or layout folder, then verify every signature.
    Import {
        /// The tarball.
        file: PathBuf,
        /// Where to: `HOST[/PREFIX]` or `oci:DIR`.
        #[arg(long, value_name = "TARGET")]
        to: String,
        /// The public key every Blueprint must be signed with (`cosign.pub`).
        #[arg(long)]
        key: PathBuf,
        /// Registry options.
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// The Blueprint layouts in a folder: `(name, tags that are versions)`.
fn layouts(dir: &Path) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
    let mut names: Vec<String> = rd
        .flatten()
        .filter(|e| e.path().join("oci-layout").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let tags = Layout::open(&dir.join(&n))
            .and_then(|l| l.tags())
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(t, _)| t)
            .filter(|t| !t.starts_with("sha256-"))
            .collect();
        out.push((n, tags));
    }
    Ok(out)
}

/// Runs `bpkit bundle`.
pub fn run(a: &BundleArgs, p: &Printer) -> Exit {
    match &a.command {
        BundleCommand::Export {
            refs,
            out,
            without_dependencies,
            registry,
        } => {
            let tmp = match tempfile::tempdir() {
                Ok(t) => t,
                Err(e) => {
                    p.error(&format!("cannot create a temporary folder: {e}"));
                    return Exit::Error;
                }
            };
            let stage = tmp.path().join("bundle");
            let m = MirrorArgs {
                refs: refs.clone(),
                to: format!("oci:{}", stage.display()),
                with_dependencies: !without_dependencies,
                with_images: false,
                allow_missing_images: false,
                registry: registry.clone(),
            };
            let code = mirror(&m, p);
            if code != Exit::Success {
                return code;
            }
            let write = || -> std::io::Result<()> {
                let file = tempfile::NamedTempFile::new_in(
                    out.parent()
                        .filter(|x| !x.as_os_str().is_empty())
                        .unwrap_or(Path::new(".")),
                )?;
                let mut b = tar::Builder::new(file.as_file());
                b.mode(tar::HeaderMode::Deterministic);
                b.follow_symlinks(false);
                b.append_dir_all(".", &stage)?;
                b.finish()?;
                drop(b);
                file.persist(out).map_err(|e| e.error)?;
                Ok(())
            };
            match write() {
                Ok(()) => {
                    p.status(&format!("wrote `{}`", out.display()));
                    Exit::Success
                }
                Err(e) => {
                    p.error(&format!("cannot write `{}`: {e}", out.display()));
                    Exit::Error
                }
            }
        }
        BundleCommand::Import {
            file,
            to,
            key,
            registry,
        } => {
            let tmp = match tempfile::tempdir() {
                Ok(t) => t,
                Err(e) => {
                    p.error(&format!("cannot create a temporary folder: {e}"));
                    return Exit::Error;
                }
            };
            let unpacked =
                std::fs::File::open(file).and_then(|f| tar::Archive::new(f).unpack(tmp.path()));
            if let Err(e) = unpacked {
                p.error(&format!("cannot read the bundle `{}`: {e}", file.display()));
                return Exit::Findings;
            }
            let found = match layouts(tmp.path()) {
                Ok(l) => l,
                Err(e) => {
                    p.error(&e);
                    return Exit::Findings;
                }
            };
            if found.is_empty() {
                p.error(&format!("`{}` holds no OCI image layouts", file.display()));
                return Exit::Findings;
            }
            let refs: Vec<String> = found
                .iter()
                .flat_map(|(n, tags)| {
                    tags.iter()
                        .map(|t| format!("oci:{}:{t}", tmp.path().join(n).display()))
                        .collect::<Vec<_>>()
                })
                .collect();
            let m = MirrorArgs {
                refs,
                to: to.clone(),
                with_dependencies: false,
                with_images: false,
                allow_missing_images: false,
                registry: registry.clone(),
            };
            let code = mirror(&m, p);
            if code != Exit::Success {
                return code;
            }
            let target = match crate::publish::Target::parse(to) {
                Ok(t) => t,
                Err(_) => return Exit::Error,
            };
            let mut bad = 0;
            for (n, tags) in &found {
                for t in tags {
                    let v = VerifyArgs {
                        reference: target.reference(n, t),
                        key: key.clone(),
                        annotations: Vec::new(),
                        registry: registry.clone(),
                    };
                    if super::trust::verify(&v, p) != Exit::Success {
                        bad += 1;
                    }
                }
            }
            if bad > 0 {
                p.error(&format!(
                    "{bad} imported Blueprints do not verify with `{}`",
                    key.display()
                ));
                Exit::Findings
            } else {
                Exit::Success
            }
        }
    }
}
