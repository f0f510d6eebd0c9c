//! Software bills of materials: CycloneDX 1.6 JSON and SPDX 2.3 JSON for a Blueprint.
//!
//! [`inventory`] reads what a packaged Blueprint ([`crate::package::Artifact`]) is made of, from
//! the artifact's bytes alone (no file system, no network):
//!
//! - the Blueprint itself: name, version, manifest digest, `card.license`;
//! - its chart (SHA-256 of the chart archive) and the sub-charts vendored under `charts/`
//!   (folders, hashed as a canonical uncompressed archive of their files, or `.tgz` files,
//!   hashed as they are), plus the sub-charts `Chart.yaml` declares but does not vendor;
//!   licenses from the `artifacthub.io/license` annotation;
//! - for a Kustomize Blueprint, its manifests archive instead;
//! - its Blueprint dependencies (`spec.depends`), pinned to exact versions and digests when a
//!   resolved [`Lock`] is given;
//! - every container image it deploys: `image` blocks of `values.yaml` (also under sub-chart
//!   keys, where they are attributed to that sub-chart), literal `image:` lines of templates,
//!   the `artifacthub.io/images` annotation, and for Kustomize literal `image:` lines rewritten
//!   by `kustomization.yaml` `images:`; normalised (see [`image`]) and deduplicated.
//!
//! [`cyclonedx`] and [`spdx`] write that inventory; [`generate`] does both steps. Output is
//! reproducible: the only time is [`SbomOptions::epoch`], identifiers (the CycloneDX
//! `serialNumber`, the SPDX `documentNamespace`) are derived from a SHA-256 of the document's
//! own content, and every list is sorted, so the same input gives the same bytes.

pub mod cyclonedx;
pub mod image;
pub mod license;
pub mod purl;
mod scan;
pub mod spdx;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::package::archive::{self, ReadLimits};
use crate::package::{Artifact, ArtifactKind, DEFAULT_EPOCH, MAX_EPOCH};
use crate::resolve::Lock;

pub use image::ImageRef;
pub use purl::Purl;
pub use scan::{IMAGES_ANNOTATION, LICENSE_ANNOTATION};

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.6, JSON.
    CycloneDx,
    /// SPDX 2.3, JSON.
    Spdx,
}

/// How to write an SBOM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbomOptions {
    /// The document time, in seconds since 1970 (the CLI reads `SOURCE_DATE_EPOCH`).
    pub epoch: u64,
    /// The tool version recorded (default: this bpkit's version).
    pub tool_version: String,
    /// The repository the Blueprint artifact is published to (`ghcr.io/org/bp-x`), recorded as
    /// the `repository_url` of its purl.
    pub repository: Option<String>,
    /// The base of the SPDX `documentNamespace`; a name and a content-derived UUID are appended.
    pub namespace_base: String,
}

impl Default for SbomOptions {
    fn default() -> Self {
        SbomOptions {
            epoch: DEFAULT_EPOCH,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            repository: None,
            namespace_base: "https://openova.io/spdxdocs/bpkit".to_string(),
        }
    }
}

/// Why no SBOM was written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SbomError {
    /// The artifact's content archive could not be read back.
    #[error("the content archive of `{name}` cannot be read: {source}")]
    #[diagnostic(
        code(bpkit::sbom::archive),
        help("package the Blueprint again; the archive should be what `bpkit package` writes")
    )]
    Archive {
        /// The Blueprint.
        name: String,
        /// What is wrong.
        #[source]
        source: archive::ReadError,
    },
    /// The epoch is past what an RFC 3339 date in these formats can hold.
    #[error("the epoch {epoch} is after 2242-03-16T12:56:31Z")]
    #[diagnostic(
        code(bpkit::sbom::epoch),
        help(
            "set `SOURCE_DATE_EPOCH` to a number of seconds since 1970, e.g. `$(git log -1 --format=%ct)`"
        )
    )]
    Epoch {
        /// The epoch given.
        epoch: u64,
    },
}

/// The Blueprint described.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlueprintInfo {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.version`.
    pub version: String,
    /// The artifact's manifest digest (`sha256:…`).
    pub digest: String,
    /// `card.license`.
    pub license: Option<String>,
    /// `card.summary`, else `card.tagline`, else `card.title`.
    pub description: Option<String>,
    /// `card.documentation`.
    pub documentation: Option<String>,
    /// The bom-ref / SPDX key.
    pub key: String,
}

/// A chart: the Blueprint's own, or a sub-chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Chart {
    /// A unique key (`chart:<path>`), used as bom-ref.
    pub key: String,
    /// `Chart.yaml` `name`.
    pub name: String,
    /// The exact version, when known.
    pub version: Option<String>,
    /// For a declared, not vendored, sub-chart: the version constraint when not exact.
    pub version_constraint: Option<String>,
    /// `appVersion`.
    pub app_version: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// The `artifacthub.io/license` annotation.
    pub license: Option<String>,
    /// `home`.
    pub home: Option<String>,
    /// The chart repository a dependency comes from.
    pub repository: Option<String>,
    /// Its place in the chart archive (`bp-x/charts/sub`).
    pub path: String,
    /// SHA-256 (hex) of its packaged content, when it is in the artifact.
    pub sha256: Option<String>,
    /// The index of the parent chart.
    pub parent: Option<usize>,
    /// Whether its files are in the artifact (false: only declared in `Chart.yaml`).
    pub vendored: bool,
}

impl Chart {
    /// The `pkg:helm` purl.
    pub fn purl(&self) -> Purl {
        let repo = self
            .repository
            .as_deref()
            .filter(|r| r.contains("://") && !r.starts_with("file://"));
        Purl::new("helm", &self.name.to_ascii_lowercase())
            .with_version(self.version.as_deref())
            .with_qualifier("repository_url", repo)
    }
}

/// The manifests archive of a Kustomize Blueprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Manifests {
    /// A unique key, used as bom-ref.
    pub key: String,
    /// The archive file name.
    pub file_name: String,
    /// SHA-256 (hex) of the archive.
    pub sha256: String,
    /// The base's folder inside the archive.
    pub path: Option<String>,
}

/// A Blueprint dependency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// A unique key, used as bom-ref.
    pub key: String,
    /// The Blueprint depended on.
    pub blueprint: String,
    /// The local name (alias, or the name without `bp-`).
    pub local_name: String,
    /// The version constraint.
    pub constraint: Option<String>,
    /// The `when` condition.
    pub when: Option<String>,
    /// Bound to a shared instance.
    pub shared: bool,
    /// The Application it was resolved to (from the lock).
    pub application: Option<String>,
    /// The exact version (from the lock).
    pub version: Option<String>,
    /// The manifest digest (from the lock).
    pub digest: Option<String>,
    /// Whether a lock was given and this dependency is not in it (inactive `when`).
    pub unresolved: bool,
    /// An Application of the lock this Blueprint does not depend on directly.
    pub transitive: bool,
}

impl Dependency {
    /// The `pkg:oci` purl of the dependency's artifact (version: its digest, when locked).
    pub fn purl(&self, repository_base: Option<&str>) -> Purl {
        let repo =
            repository_base.map(|b| format!("{}/{}", b.trim_end_matches('/'), self.blueprint));
        let tag = self
            .version
            .as_deref()
            .map(crate::oci::layout::tag_for_version);
        Purl::new("oci", &self.blueprint.to_ascii_lowercase())
            .with_version(self.digest.as_deref())
            .with_qualifier("repository_url", repo.as_deref())
            .with_qualifier("tag", tag.as_deref())
    }
}

/// A container image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Image {
    /// The normalised reference.
    pub reference: ImageRef,
    /// Where it was found (file and place), sorted.
    pub found_in: BTreeSet<String>,
    /// The keys of the charts (or manifests) that deploy it.
    pub users: BTreeSet<String>,
}

impl Image {
    /// Its key, used as bom-ref.
    pub fn key(&self) -> String {
        format!("image:{}", self.reference)
    }
}

/// Everything an SBOM lists, independent of the format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The Blueprint.
    pub blueprint: BlueprintInfo,
    /// Its charts: the first is the Blueprint's own chart; sub-charts follow (parents first).
    pub charts: Vec<Chart>,
    /// The manifests archive (Kustomize).
    pub manifests: Option<Manifests>,
    /// The Blueprint dependencies, in `spec.depends` order, then transitive ones of the lock.
    pub dependencies: Vec<Dependency>,
    /// The images, sorted by reference.
    pub images: Vec<Image>,
    /// What could not be read (listed, not fatal).
    pub warnings: Vec<String>,
}

/// Reads the inventory of a packaged Blueprint; `lock` pins its dependencies.
pub fn inventory(artifact: &Artifact, lock: Option<&Lock>) -> Result<Inventory, SbomError> {
    let bp = &artifact.blueprint;
    let card = &bp.spec.card;
    let description = card
        .summary
        .as_ref()
        .or(card.tagline.as_ref())
        .or(Some(&card.title))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let mut inv = Inventory {
        blueprint: BlueprintInfo {
            name: bp.name().to_string(),
            version: bp.version().to_string(),
            digest: artifact.digest().to_string(),
            license: card.license.clone().filter(|l| !l.trim().is_empty()),
            description,
            documentation: card.documentation.clone(),
            key: format!("blueprint:{}@{}", bp.name(), bp.version()),
        },
        charts: Vec::new(),
        manifests: None,
        dependencies: Vec::new(),
        images: Vec::new(),
        warnings: Vec::new(),
    };
    let content = artifact.content();
    let entries = archive::read_tar_gz(content, &ReadLimits::default()).map_err(|source| {
        SbomError::Archive {
            name: bp.name().to_string(),
            source,
        }
    })?;
    let files = scan::files_of(&entries);
    let mut scanner = scan::Scanner::new(&mut inv);
    match artifact.kind {
        ArtifactKind::Helm => {
            let root = entries
                .iter()
                .find(|e| !e.path.contains('/'))
                .map(|e| e.path.clone())
                .unwrap_or_default();
            let chart_files = scan::under(&files, &root);
            let hash = scan::sha256_hex(content);
            scanner.chart(&chart_files, &root, Some(hash), None, 0);
        }
        ArtifactKind::Kustomize => {
            let key = format!("manifests:{}", artifact.content_name);
            scanner.inv.manifests = Some(Manifests {
                key: key.clone(),
                file_name: artifact.content_name.clone(),
                sha256: scan::sha256_hex(content),
                path: artifact.kustomize_path.clone(),
            });
            scanner.manifests(&files, &key);
        }
    }
    scanner.finish();
    inv.dependencies = dependencies(artifact, lock);
    Ok(inv)
}

fn dependencies(artifact: &Artifact, lock: Option<&Lock>) -> Vec<Dependency> {
    let bp = &artifact.blueprint;
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    let root_app = lock.map(|l| l.application.clone());
    for d in &bp.spec.depends {
        let local = d.local_name().to_string();
        let node = lock.and_then(|l| {
            let candidates: Vec<_> = l
                .nodes
                .iter()
                .filter(|n| n.blueprint == d.blueprint && Some(&n.name) != root_app.as_ref())
                .collect();
            let by_name = [
                format!("{}-{local}", l.application),
                d.blueprint
                    .strip_prefix(crate::model::NAME_PREFIX)
                    .unwrap_or(&d.blueprint)
                    .to_string(),
            ];
            by_name
                .iter()
                .find_map(|n| candidates.iter().find(|c| &c.name == n))
                .or_else(|| (candidates.len() == 1).then(|| &candidates[0]))
                .copied()
        });
        if let Some(n) = node {
            used.insert(n.name.clone());
        }
        let mut key = format!("blueprint-dependency:{local}");
        while out.iter().any(|x: &Dependency| x.key == key) {
            key.push('_');
        }
        out.push(Dependency {
            key,
            blueprint: d.blueprint.clone(),
            local_name: local,
            constraint: d.version.clone(),
            when: d.when.clone(),
            shared: d.shared,
            application: node.map(|n| n.name.clone()),
            version: node.map(|n| n.version.clone()),
            digest: node.and_then(|n| n.digest.clone()),
            unresolved: lock.is_some() && node.is_none(),
            transitive: false,
        });
    }
    if let Some(l) = lock {
        for n in &l.nodes {
            if used.contains(&n.name) || n.name == l.application {
                continue;
            }
            out.push(Dependency {
                key: format!("blueprint-application:{}", n.name),
                blueprint: n.blueprint.clone(),
                local_name: n.name.clone(),
                constraint: None,
                when: None,
                shared: false,
                application: Some(n.name.clone()),
                version: Some(n.version.clone()),
                digest: n.digest.clone(),
                unresolved: false,
                transitive: true,
            });
        }
    }
    out
}

/// Writes the SBOM of a packaged Blueprint in `format`.
pub fn generate(
    artifact: &Artifact,
    lock: Option<&Lock>,
    format: Format,
    opts: &SbomOptions,
) -> Result<Vec<u8>, SbomError> {
    let inv = inventory(artifact, lock)?;
    match format {
        Format::CycloneDx => cyclonedx::write(&inv, opts),
        Format::Spdx => spdx::write(&inv, opts),
    }
}

/// The RFC 3339 time of the epoch, refusing epochs past [`MAX_EPOCH`].
pub(crate) fn timestamp(epoch: u64) -> Result<String, SbomError> {
    if epoch > MAX_EPOCH {
        return Err(SbomError::Epoch { epoch });
    }
    Ok(crate::package::rfc3339(epoch))
}

/// A UUID derived from content: the first 16 bytes of SHA-256(`namespace` NUL `content`),
/// with the RFC 9562 version 8 (custom) and variant bits set.
pub fn content_uuid(namespace: &str, content: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(namespace.as_bytes());
    h.update([0]);
    h.update(content);
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// Pretty JSON with a final newline.
pub(crate) fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_and_well_formed() {
        let a = content_uuid("cyclonedx", b"x");
        assert_eq!(a, content_uuid("cyclonedx", b"x"));
        assert_ne!(a, content_uuid("cyclonedx", b"y"));
        assert_ne!(a, content_uuid("spdx", b"x"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn epochs_past_the_limit_are_refused() {
        assert_eq!(timestamp(0).expect("ok"), "1970-01-01T00:00:00Z");
        assert!(matches!(
            timestamp(MAX_EPOCH + 1),
            Err(SbomError::Epoch { .. })
        ));
    }
}
