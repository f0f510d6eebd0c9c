//! Packaging: a Blueprint folder in, a reproducible OCI artifact out.
//!
//! [`package`] loads the Blueprint (refusing it when it has errors), archives its manifests and
//! card, and assembles the OCI image manifest, all in memory:
//!
//! | Blueprint | config | layers, in order |
//! |---|---|---|
//! | Helm chart | Helm's chart config (`Chart.yaml` as Helm writes it) | the chart `.tgz`, `blueprint.yaml`, `card/` |
//! | Kustomize | Flux's config (`{}`) | the manifests `.tar.gz`, `blueprint.yaml`, `card/` |
//!
//! so `helm pull oci://…`, `helm install oci://…` and a Flux `OCIRepository` consume the
//! artifact as their own. The same folder gives the same bytes, hence the same digest, on any
//! machine and at any time: file order, timestamps, owners, modes and compression are fixed
//! (see [`archive`]), and the only time in the artifact is the build epoch of
//! [`PackageOptions::epoch`] (`SOURCE_DATE_EPOCH`, else [`DEFAULT_EPOCH`]).
//! `docs/artifact-format.md` describes the format in full.
//!
//! [`unpack`] is the way back: from a verified image to a Blueprint folder, refusing anything
//! that could write outside the target.

pub mod archive;
pub mod helm;
pub mod ignore;
mod unpack;
pub mod vendor;
mod walk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Finding, Severity};
use crate::model::{Blueprint, LoadOptions, SourceKind};
use crate::oci::{self, Descriptor, Digest, Image, Manifest, OciError, annotation, media_type};

pub use unpack::{UnpackError, UnpackOptions, Unpacked, blueprint_of, unpack};

/// The build epoch used when none is given: 2000-01-01T00:00:00Z.
pub const DEFAULT_EPOCH: u64 = 946_684_800;
/// The latest epoch a tar header can hold (eleven octal digits): 2242-03-16T12:56:31Z.
pub const MAX_EPOCH: u64 = 0o77_777_777_777;
/// The file name of a Blueprint document.
pub const BLUEPRINT_FILE: &str = "blueprint.yaml";
/// The card folder.
pub const CARD_DIR: &str = "card";
/// The layer title of the card archive.
pub const CARD_TITLE: &str = "card.tar.gz";

/// Size limits for packaging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest sum of file sizes (Helm's own limit on a chart: 100 MiB).
    pub max_total_bytes: u64,
    /// The largest single file (Helm refuses chart files above 5 MiB).
    pub max_file_bytes: u64,
    /// The most files and folders.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 100 << 20,
            max_file_bytes: 5 << 20,
            max_entries: 10_000,
        }
    }
}

/// How to package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageOptions {
    /// The build time, in seconds since 1970: every archive timestamp and the `created`
    /// annotation. The CLI reads `SOURCE_DATE_EPOCH`.
    pub epoch: u64,
    /// The source repository URL (`org.opencontainers.image.source`).
    pub source: Option<String>,
    /// The source revision, e.g. a commit (`org.opencontainers.image.revision`).
    pub revision: Option<String>,
    /// Refuse a chart whose `Chart.yaml` dependencies are not all vendored under `charts/`
    /// (the `hollow-chart` rule; the CLI sets it). Archives pinned in `charts.lock` are
    /// checked against their digests either way.
    pub require_vendored: bool,
    /// Size limits.
    pub limits: Limits,
}

impl Default for PackageOptions {
    fn default() -> Self {
        PackageOptions {
            epoch: DEFAULT_EPOCH,
            source: None,
            revision: None,
            require_vendored: false,
            limits: Limits::default(),
        }
    }
}

/// How a Blueprint is installed, hence how it is packaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactKind {
    /// A Helm chart: Helm's media types.
    Helm,
    /// A Kustomize base: Flux's media types.
    Kustomize,
}

/// A packaged Blueprint.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// The Blueprint.
    pub blueprint: Blueprint,
    /// Helm or Kustomize.
    pub kind: ArtifactKind,
    /// The OCI artifact: manifest, config and layers.
    pub image: Image,
    /// The file name of the content archive (`bp-x-1.0.0.tgz`).
    pub content_name: String,
    /// For Kustomize: the base's folder inside the content archive (`base`, or `.`).
    pub kustomize_path: Option<String>,
    /// Warnings from loading the Blueprint.
    pub warnings: Vec<Finding>,
}

impl Artifact {
    /// The manifest digest, the artifact's identity.
    pub fn digest(&self) -> &Digest {
        self.image.digest()
    }

    /// The content archive: the chart `.tgz` (Helm) or the manifests `.tar.gz` (Kustomize).
    pub fn content(&self) -> &[u8] {
        self.image
            .manifest()
            .layers
            .first()
            .and_then(|d| self.image.blob(&d.digest))
            .unwrap_or_default()
    }

    /// The tag used when none is given: the Blueprint version, `+` written as `_`.
    pub fn default_tag(&self) -> String {
        oci::layout::tag_for_version(self.blueprint.version())
    }
}

/// Why a Blueprint could not be packaged.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum PackageError {
    /// The Blueprint has errors.
    #[error("`{file}` is not a valid Blueprint ({})", count_errors(findings))]
    #[diagnostic(
        code(bpkit::package::invalid),
        help("run `bpkit validate` for details")
    )]
    Invalid {
        /// The file.
        file: String,
        /// Everything found.
        #[related]
        findings: Vec<Finding>,
    },
    /// `Chart.yaml` has problems Helm would refuse.
    #[error(
        "`{file}` cannot be packaged as a Helm chart ({})",
        count_errors(findings)
    )]
    #[diagnostic(code(bpkit::package::chart))]
    Chart {
        /// The `Chart.yaml`.
        file: String,
        /// The problems.
        #[related]
        findings: Vec<Finding>,
    },
    /// A file or folder could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    #[diagnostic(code(bpkit::package::io))]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifests are not in the folder.
    #[error("`manifests.source.ref` is `{reference}`, a reference to manifests elsewhere")]
    #[diagnostic(
        code(bpkit::package::remote_source),
        help(
            "bpkit packages manifests that live in the Blueprint folder; vendor the chart into it"
        )
    )]
    RemoteSource {
        /// The reference.
        reference: String,
    },
    /// A manifests reference that leaves the folder or names nothing.
    #[error("`manifests.source.ref` `{reference}` {reason}")]
    #[diagnostic(
        code(bpkit::package::bad_ref),
        help("point it at a folder inside the Blueprint, e.g. `./chart`")
    )]
    BadRef {
        /// The reference.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// A `.helmignore` line Helm would refuse.
    #[error("`{file}` line {line}: `{text}`: {reason}")]
    #[diagnostic(
        code(bpkit::package::helmignore),
        help("fix or remove the line; Helm refuses it too")
    )]
    Ignore {
        /// The file.
        file: String,
        /// The 1-based line.
        line: usize,
        /// The line.
        text: String,
        /// Why.
        reason: String,
    },
    /// A symbolic link leaving the folder being archived.
    #[error("`{path}` is a symbolic link to `{target}`, outside {root}")]
    #[diagnostic(
        code(bpkit::package::symlink_outside),
        help("copy the file into the folder; links are followed only inside it")
    )]
    SymlinkOutside {
        /// The link.
        path: String,
        /// Where it points.
        target: String,
        /// The folder it leaves.
        root: String,
    },
    /// A symbolic link to nothing.
    #[error("`{path}` is a symbolic link to `{target}`, which does not exist")]
    #[diagnostic(
        code(bpkit::package::broken_symlink),
        help("remove the link or create its target")
    )]
    BrokenSymlink {
        /// The link.
        path: String,
        /// Where it points.
        target: String,
    },
    /// A symbolic link to a folder that contains it.
    #[error("`{path}` is a symbolic link to `{target}`, a folder that contains it (a loop)")]
    #[diagnostic(code(bpkit::package::symlink_loop), help("remove the link"))]
    SymlinkLoop {
        /// The link.
        path: String,
        /// Where it points.
        target: String,
    },
    /// A device, FIFO or socket.
    #[error("`{path}` is a {kind}; only files, folders and links to them can be packaged")]
    #[diagnostic(
        code(bpkit::package::special_file),
        help("remove it, or list it in `.helmignore`")
    )]
    Special {
        /// The path.
        path: String,
        /// What it is.
        kind: String,
    },
    /// A file name archives cannot carry.
    #[error("`{path}` {reason}")]
    #[diagnostic(code(bpkit::package::bad_name), help("rename the file"))]
    BadName {
        /// The path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file above the per-file limit.
    #[error("`{path}` is {size} bytes, more than the limit of {limit} bytes for one file")]
    #[diagnostic(
        code(bpkit::package::file_too_large),
        help("Helm refuses chart files above 5 MiB; keep large data out of the Blueprint")
    )]
    FileTooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// More bytes than the total limit.
    #[error("the files to package add up to more than {limit} bytes (the limit)")]
    #[diagnostic(
        code(bpkit::package::too_large),
        help("list generated or large files in `.helmignore`")
    )]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// More entries than the limit.
    #[error("there are more than {limit} files and folders to package (the limit)")]
    #[diagnostic(
        code(bpkit::package::too_many_entries),
        help("list generated files in `.helmignore`")
    )]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// An epoch a tar header cannot hold.
    #[error(
        "the build epoch {epoch} is after {MAX_EPOCH} (2242-03-16T12:56:31Z, the latest time a tar header holds)"
    )]
    #[diagnostic(
        code(bpkit::package::epoch),
        help("set `SOURCE_DATE_EPOCH` to seconds since 1970, e.g. the last commit time")
    )]
    Epoch {
        /// The epoch given.
        epoch: u64,
    },
    /// A sub-chart that is not vendored, does not match the lock, or cannot be fetched.
    #[error("{message}")]
    #[diagnostic(code(bpkit::package::vendor))]
    Vendor {
        /// What is wrong.
        message: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// A sub-chart that could not be fetched (network, missing artifact).
    #[error("{message}")]
    #[diagnostic(code(bpkit::package::fetch))]
    Fetch {
        /// What went wrong.
        message: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// Assembling the OCI artifact failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Oci(#[from] OciError),
}

fn count_errors(findings: &[Finding]) -> String {
    match findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count()
    {
        1 => "1 error".to_string(),
        n => format!("{n} errors"),
    }
}

/// The epoch as RFC 3339 UTC (`2000-01-01T00:00:00Z`).
pub fn rfc3339(epoch: u64) -> String {
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Where the manifests are: `(folder relative to the Blueprint, kind)`, checked to stay inside.
pub fn manifests_folder(bp: &Blueprint) -> Result<(Vec<String>, SourceKind), PackageError> {
    let (kind, reference) = match bp.source() {
        Some(s) => (s.kind, s.reference.clone()),
        None => (SourceKind::HelmChart, "./chart".to_string()),
    };
    if reference.contains("://") {
        return Err(PackageError::RemoteSource { reference });
    }
    let bad = |reason: &str| PackageError::BadRef {
        reference: reference.clone(),
        reason: reason.to_string(),
    };
    if reference.starts_with('/') || reference.contains('\\') {
        return Err(bad("is not a relative path"));
    }
    let mut parts = Vec::new();
    for c in reference.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(bad("leaves the Blueprint folder")),
            other => parts.push(other.to_string()),
        }
    }
    if parts.is_empty() {
        return Err(bad("names the Blueprint folder itself"));
    }
    Ok((parts, kind))
}

/// Packages the Blueprint in `dir` (a Blueprint folder, or its `blueprint.yaml`).
pub fn package(dir: &Path, opts: &PackageOptions) -> Result<Artifact, PackageError> {
    if opts.epoch > MAX_EPOCH {
        return Err(PackageError::Epoch { epoch: opts.epoch });
    }
    let (dir, file) = if dir.is_file() {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (parent, dir.to_path_buf())
    } else {
        (dir.to_path_buf(), dir.join(BLUEPRINT_FILE))
    };
    if let Err(e) = std::fs::metadata(&file) {
        return Err(PackageError::Io {
            path: file,
            source: e,
        });
    }
    let checked = crate::validate::blueprint::check_file(&file, &LoadOptions::default());
    let file_name = file.display().to_string();
    let warnings: Vec<Finding> = checked
        .findings()
        .iter()
        .filter(|f| f.severity != Severity::Error)
        .cloned()
        .collect();
    let bp = match checked.blueprint() {
        Some(bp) if !checked.loaded.has_errors() => bp.clone(),
        _ => {
            return Err(PackageError::Invalid {
                file: file_name,
                findings: checked.loaded.findings,
            });
        }
    };
    let bp_bytes = std::fs::read(&file).map_err(|e| PackageError::Io {
        path: file.clone(),
        source: e,
    })?;
    let (folder, kind) = manifests_folder(&bp)?;
    let mut budget = walk::Budget::default();
    let limits = &opts.limits;

    let mut layers: Vec<(Descriptor, Vec<u8>)> = Vec::new();
    let config: (Descriptor, Vec<u8>);
    let content_name;
    let mut kustomize_path = None;
    match kind {
        SourceKind::HelmChart => {
            let rel = folder.join("/");
            let chart_dir = dir.join(&rel);
            let cy_path = chart_dir.join("Chart.yaml");
            let cy_name = cy_path.display().to_string();
            let read = |p: &Path| {
                std::fs::read(p).map_err(|e| PackageError::Io {
                    path: p.to_path_buf(),
                    source: e,
                })
            };
            let rules = match std::fs::read(chart_dir.join(".helmignore")) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    ignore::Rules::parse(&text).map_err(|b| PackageError::Ignore {
                        file: chart_dir.join(".helmignore").display().to_string(),
                        line: b.line,
                        text: b.text,
                        reason: b.reason,
                    })?
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let mut r = ignore::Rules::empty();
                    r.add_defaults();
                    r
                }
                Err(e) => {
                    return Err(PackageError::Io {
                        path: chart_dir.join(".helmignore"),
                        source: e,
                    });
                }
            };
            vendor::check(&chart_dir, opts.require_vendored)?;
            let chart_doc =
                helm::load(&cy_name, &read(&cy_path)?).map_err(|f| PackageError::Chart {
                    file: cy_name.clone(),
                    findings: vec![*f],
                })?;
            // Helm reads `requirements.yaml` only when it is packaged (not ignored).
            let req_path = chart_dir.join("requirements.yaml");
            let requirements = if req_path.is_file() && !rules.ignored("requirements.yaml", false) {
                let name = req_path.display().to_string();
                Some(
                    helm::load(&name, &read(&req_path)?).map_err(|f| PackageError::Chart {
                        file: name.clone(),
                        findings: vec![*f],
                    })?,
                )
            } else {
                None
            };
            let meta =
                helm::chart_config(&chart_doc, requirements.as_ref()).map_err(|findings| {
                    PackageError::Chart {
                        file: cy_name.clone(),
                        findings,
                    }
                })?;
            let prefix = format!("{}/", meta.name);
            let mut entries = vec![archive::Entry::dir(meta.name.clone())];
            budget.entries += 1;
            entries.extend(
                walk::Walk {
                    base: &dir,
                    rel_root: &rel,
                    prefix: &prefix,
                    rules: Some(&rules),
                    limits,
                }
                .run(&mut budget)?,
            );
            content_name = format!("{}-{}.tgz", meta.name, meta.version);
            let tgz = archive::tar_gz(&entries, opts.epoch);
            layers.push((
                Descriptor::of(media_type::HELM_CHART, &tgz)
                    .with_annotation(annotation::TITLE, content_name.clone()),
                tgz,
            ));
            config = (
                Descriptor::of(media_type::HELM_CONFIG, &meta.config),
                meta.config,
            );
        }
        SourceKind::Kustomize => {
            let root = folder[0].clone();
            let inner = if folder.len() > 1 {
                folder[1..].join("/")
            } else {
                ".".to_string()
            };
            let entries = walk::Walk {
                base: &dir,
                rel_root: &root,
                prefix: "",
                rules: None,
                limits,
            }
            .run(&mut budget)?;
            content_name = format!("{}-{}.tar.gz", bp.name(), bp.version());
            let tgz = archive::tar_gz(&entries, opts.epoch);
            layers.push((
                Descriptor::of(media_type::FLUX_CONTENT, &tgz)
                    .with_annotation(annotation::TITLE, content_name.clone()),
                tgz,
            ));
            config = (
                Descriptor::of(media_type::FLUX_CONFIG, b"{}"),
                b"{}".to_vec(),
            );
            kustomize_path = Some(inner);
        }
    }
    layers.push((
        Descriptor::of(media_type::BLUEPRINT, &bp_bytes)
            .with_annotation(annotation::TITLE, BLUEPRINT_FILE),
        bp_bytes,
    ));
    let card = dir.join(CARD_DIR);
    if std::fs::metadata(&card).is_ok_and(|m| m.is_dir()) {
        let mut entries = vec![archive::Entry::dir(CARD_DIR)];
        budget.entries += 1;
        entries.extend(
            walk::Walk {
                base: &dir,
                rel_root: CARD_DIR,
                prefix: "card/",
                rules: None,
                limits,
            }
            .run(&mut budget)?,
        );
        let tgz = archive::tar_gz(&entries, opts.epoch);
        layers.push((
            Descriptor::of(media_type::CARD, &tgz).with_annotation(annotation::TITLE, CARD_TITLE),
            tgz,
        ));
    }

    let mut annotations = BTreeMap::new();
    annotations.insert(annotation::CREATED.to_string(), rfc3339(opts.epoch));
    annotations.insert(annotation::TITLE.to_string(), bp.name().to_string());
    annotations.insert(annotation::VERSION.to_string(), bp.version().to_string());
    let card_info = &bp.spec.card;
    let description = card_info
        .summary
        .as_ref()
        .or(card_info.tagline.as_ref())
        .unwrap_or(&card_info.title);
    if !description.trim().is_empty() {
        annotations.insert(
            annotation::DESCRIPTION.to_string(),
            description.trim().to_string(),
        );
    }
    if let Some(l) = card_info.license.as_ref().filter(|l| !l.trim().is_empty()) {
        annotations.insert(annotation::LICENSES.to_string(), l.clone());
    }
    if let Some(s) = opts.source.as_ref().filter(|s| !s.is_empty()) {
        annotations.insert(annotation::SOURCE.to_string(), s.clone());
    }
    if let Some(r) = opts.revision.as_ref().filter(|r| !r.is_empty()) {
        annotations.insert(annotation::REVISION.to_string(), r.clone());
    }
    if let Some(p) = &kustomize_path {
        annotations.insert(annotation::KUSTOMIZE_PATH.to_string(), p.clone());
    }
    let mut manifest = Manifest::new(config.0, layers.iter().map(|l| l.0.clone()).collect());
    manifest.annotations = annotations;
    let mut blobs = vec![config.1];
    blobs.extend(layers.into_iter().map(|l| l.1));
    let image = Image::new(manifest, blobs)?;
    Ok(Artifact {
        blueprint: bp,
        kind: match kind {
            SourceKind::HelmChart => ArtifactKind::Helm,
            SourceKind::Kustomize => ArtifactKind::Kustomize,
        },
        image,
        content_name,
        kustomize_path,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_as_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(DEFAULT_EPOCH), "2000-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(MAX_EPOCH), "2242-03-16T12:56:31Z");
    }
}
