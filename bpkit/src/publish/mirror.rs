//! Mirroring the container images a Blueprint deploys, for air-gapped sites.
//!
//! [`images_of`] lists the images of a Blueprint artifact exactly as its SBOM lists them: the
//! same inventory ([`crate::sbom::inventory`]) is read from the artifact's bytes, so an SBOM
//! attestation attached by `bpkit publish` and this list agree. [`image_target`] says where
//! an image goes under a mirror target: its repository path, without the registry host, under
//! the target (`ghcr.io/org/app:1.0` → `TARGET/org/app:1.0`; a layout target gets one layout
//! folder per repository). With the `oci` feature, [`mirror_images`] copies them, each index
//! with all its platform manifests, blobs, referrers and signatures, byte for byte (see
//! [`crate::oci::copy`]), and reports every image it could not copy with the reason.

use crate::oci::Image;
use crate::package::{Artifact, ArtifactKind};
use crate::sbom::ImageRef;

use super::Target;

/// Why the images of an artifact cannot be listed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImagesError {
    /// The artifact is not a readable Blueprint.
    #[error("`{what}` is not a Blueprint artifact whose images can be listed: {reason}")]
    #[diagnostic(
        code(bpkit::mirror::not_a_blueprint),
        help("mirror Blueprint artifacts written by `bpkit push` or `bpkit publish`")
    )]
    NotABlueprint {
        /// The artifact.
        what: String,
        /// Why.
        reason: String,
    },
}

/// The container images a Blueprint artifact deploys, sorted, as its SBOM lists them.
/// `what` names the artifact in errors.
pub fn images_of(what: &str, image: &Image) -> Result<Vec<ImageRef>, ImagesError> {
    let bad = |reason: String| ImagesError::NotABlueprint {
        what: what.to_string(),
        reason,
    };
    let (blueprint, _) = crate::package::blueprint_of(image).map_err(|e| bad(e.to_string()))?;
    let content = image
        .manifest()
        .layers
        .iter()
        .find(|d| {
            d.media_type == crate::oci::media_type::HELM_CHART
                || d.media_type == crate::oci::media_type::HELM_CHART_LEGACY
                || d.media_type == crate::oci::media_type::FLUX_CONTENT
        })
        .ok_or_else(|| bad("it has no chart or manifests layer".to_string()))?;
    let kind = if content.media_type == crate::oci::media_type::FLUX_CONTENT {
        ArtifactKind::Kustomize
    } else {
        ArtifactKind::Helm
    };
    let kustomize_path = match kind {
        ArtifactKind::Kustomize => Some(
            image
                .manifest()
                .annotations
                .get(crate::oci::annotation::KUSTOMIZE_PATH)
                .cloned()
                .unwrap_or_else(|| ".".to_string()),
        ),
        ArtifactKind::Helm => None,
    };
    let mut manifest = image.manifest().clone();
    // `Artifact::content` is the first layer: put the content layer first.
    manifest.layers.retain(|d| d.digest != content.digest);
    manifest.layers.insert(0, content.clone());
    let blobs: Vec<Vec<u8>> = std::iter::once(&manifest.config)
        .chain(&manifest.layers)
        .map(|d| image.blob(&d.digest).unwrap_or_default().to_vec())
        .collect();
    let reordered = Image::new(manifest, blobs).map_err(|e| bad(e.to_string()))?;
    let artifact = Artifact {
        blueprint,
        kind,
        image: reordered,
        content_name: content.title().unwrap_or_default().to_string(),
        kustomize_path,
        warnings: Vec::new(),
    };
    let inv = crate::sbom::inventory(&artifact, None).map_err(|e| bad(e.to_string()))?;
    Ok(inv.images.into_iter().map(|i| i.reference).collect())
}

/// Why a Blueprint artifact was not mirrored.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MirrorError {
    /// The source has no such tag.
    #[error("`{tag}` is not in `{location}`")]
    #[diagnostic(
        code(bpkit::mirror::no_tag),
        help("`bpkit tags REPO` lists the versions there")
    )]
    NoTag {
        /// The tag.
        tag: String,
        /// The source repository.
        location: String,
    },
    /// The target has the tag for other content.
    #[error("`{location}` already has `{tag}` for `{existing}`, not `{digest}`")]
    #[diagnostic(
        code(bpkit::mirror::tag_taken),
        help(
            "versions are immutable: mirror into another prefix, or remove the tag at the target if it is stale"
        )
    )]
    TagTaken {
        /// The tag.
        tag: String,
        /// The target repository.
        location: String,
        /// What the tag names at the target.
        existing: String,
        /// What the source has.
        digest: String,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] crate::oci::StoreError),
}

/// Copies the artifact `tag` names in `src` to `dst` under the same tag, byte for byte, with
/// its referrers (signatures, attestations, SBOMs) and cosign `.sig` / `.att` tags (see
/// [`crate::oci::copy::copy_tree`]). A tag that names other content at the target is left
/// alone ([`MirrorError::TagTaken`]). Returns the artifact as read (every digest checked) and
/// what was copied.
pub fn mirror_artifact(
    src: &dyn crate::oci::Store,
    dst: &dyn crate::oci::Store,
    tag: &str,
    progress: &dyn crate::oci::copy::Progress,
) -> Result<(Image, crate::oci::copy::CopyStats), MirrorError> {
    let Some(d) = src.resolve(tag)? else {
        return Err(MirrorError::NoTag {
            tag: tag.to_string(),
            location: src.location(),
        });
    };
    if let Some(existing) = dst.resolve(tag)?
        && existing.digest != d.digest
    {
        return Err(MirrorError::TagTaken {
            tag: tag.to_string(),
            location: dst.location(),
            existing: existing.digest.to_string(),
            digest: d.digest.to_string(),
        });
    }
    let image = crate::oci::store::read_image(src, &d.digest)?;
    let stats = crate::oci::copy::copy_tree(src, dst, &d.digest, Some(tag), progress)?;
    Ok((image, stats))
}

/// Where an image goes under a mirror target: `(repository, reference)`, the repository being
/// the target's repository for the image's path without its registry host (a layout folder
/// for `oci:DIR`), the reference that repository with the image's tag or digest.
pub fn image_target(target: &Target, image: &ImageRef) -> (String, String) {
    let repo = target.repository(&image.repository);
    let suffix = match (&image.tag, &image.digest) {
        (_, Some(d)) => format!("@{d}"),
        (Some(t), None) => format!(":{t}"),
        (None, None) => ":latest".to_string(),
    };
    let reference = match target {
        Target::Layouts(_) => format!("oci:{repo}:{}", layout_tag(image)),
        Target::Registry { .. } => format!("{repo}{suffix}"),
    };
    (repo, reference)
}

/// The tag an image gets in a layout (which lists only tagged manifests): its tag, else the
/// hex of its digest, else `latest`.
fn layout_tag(image: &ImageRef) -> String {
    match (&image.tag, &image.digest) {
        (Some(t), _) => t.clone(),
        (None, Some(d)) => d.rsplit(':').next().unwrap_or(d).to_string(),
        (None, None) => "latest".to_string(),
    }
}

/// What happened to one image.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageOutcome {
    /// The image, as the SBOM names it.
    pub image: String,
    /// Where it was copied to.
    pub target: String,
    /// Its manifest or index digest, when it was read.
    pub digest: Option<String>,
    /// What was copied.
    pub stats: crate::oci::copy::CopyStats,
    /// Why it could not be copied; `None` when it was.
    pub error: Option<String>,
}

/// Copies every image to `target` (see the module documentation) through `registry`,
/// reporting progress (one item per image, bytes per blob). Images are copied in order; an
/// image that cannot be read or written is reported in its [`ImageOutcome::error`] and the
/// others are still copied.
#[cfg(feature = "oci")]
pub fn mirror_images(
    registry: &crate::oci::registry::Registry,
    images: &[ImageRef],
    target: &Target,
    progress: &dyn crate::oci::copy::Progress,
) -> Vec<ImageOutcome> {
    use crate::oci::copy::Event;
    progress.event(Event::Planned {
        count: images.len() as u64,
    });
    let mut out = Vec::new();
    for image in images {
        let text = image.to_string();
        progress.event(Event::Message { text: &text });
        let (repo, reference) = image_target(target, image);
        let mut outcome = ImageOutcome {
            image: text.clone(),
            target: reference,
            digest: None,
            stats: Default::default(),
            error: None,
        };
        if let Err(e) = copy_image(registry, image, target, &repo, progress, &mut outcome) {
            outcome.error = Some(e);
        }
        progress.event(Event::Finished { what: &text });
        out.push(outcome);
    }
    out
}

#[cfg(feature = "oci")]
fn copy_image(
    registry: &crate::oci::registry::Registry,
    image: &ImageRef,
    target: &Target,
    repo: &str,
    progress: &dyn crate::oci::copy::Progress,
    outcome: &mut ImageOutcome,
) -> Result<(), String> {
    use crate::oci::registry::{Reference, RegistryStore};
    use crate::oci::{Digest, Layout, Store};
    let source_ref = Reference {
        host: image.registry.clone(),
        repo: image.repository.clone(),
        tag: None,
        digest: None,
    };
    let src = RegistryStore::new(registry, &source_ref);
    let digest = match &image.digest {
        Some(d) => Digest::parse(d).map_err(|e| e.to_string())?,
        None => {
            let tag = image.tag.as_deref().unwrap_or("latest");
            match src.resolve(tag).map_err(|e| e.to_string())? {
                Some(d) => d.digest,
                None => return Err(format!("the tag `{tag}` is not in `{}`", src.location())),
            }
        }
    };
    outcome.digest = Some(digest.to_string());
    let tag = image
        .tag
        .as_deref()
        .or(image.digest.is_none().then_some("latest"));
    let stats = match target {
        Target::Layouts(_) => {
            let layout = Layout::create(std::path::Path::new(repo)).map_err(|e| e.to_string())?;
            let tag = layout_tag(image);
            crate::oci::copy::copy_tree(&src, &layout, &digest, Some(&tag), progress)
        }
        Target::Registry { host, .. } => {
            let path = repo
                .strip_prefix(host.as_str())
                .unwrap_or(repo)
                .trim_start_matches('/');
            let dst_ref = Reference {
                host: host.clone(),
                repo: path.to_string(),
                tag: None,
                digest: None,
            };
            let dst = RegistryStore::new(registry, &dst_ref);
            crate::oci::copy::copy_tree(&src, &dst, &digest, tag, progress)
        }
    }
    .map_err(|e| e.to_string())?;
    outcome.stats = stats;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_go_under_the_target_without_their_registry_host() {
        let t = Target::parse("127.0.0.1:5000/mirror").unwrap();
        let i = ImageRef::parse("ghcr.io/org/app:1.0").unwrap();
        assert_eq!(
            image_target(&t, &i),
            (
                "127.0.0.1:5000/mirror/org/app".to_string(),
                "127.0.0.1:5000/mirror/org/app:1.0".to_string()
            )
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let i = ImageRef::parse(&format!("nginx@{d}")).unwrap();
        assert_eq!(
            image_target(&t, &i).1,
            format!("127.0.0.1:5000/mirror/library/nginx@{d}")
        );
        let t = Target::parse("oci:out").unwrap();
        let i = ImageRef::parse("ghcr.io/org/app:1.0").unwrap();
        assert_eq!(image_target(&t, &i).1, "oci:out/org/app:1.0");
        let i = ImageRef::parse(&format!("ghcr.io/org/app@{d}")).unwrap();
        assert_eq!(
            image_target(&t, &i).1,
            format!("oci:out/org/app:{}", "a".repeat(64))
        );
    }

    #[test]
    fn images_of_an_artifact_are_its_sbom_images() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints/postgres");
        let art =
            crate::package::package(&dir, &crate::package::PackageOptions::default()).unwrap();
        let inv = crate::sbom::inventory(&art, None).unwrap();
        let want: Vec<ImageRef> = inv.images.into_iter().map(|i| i.reference).collect();
        assert!(!want.is_empty());
        assert_eq!(images_of("postgres", &art.image).unwrap(), want);
        let e = images_of(
            "x",
            &Image::new(
                crate::oci::Manifest::new(
                    crate::oci::Descriptor::of(crate::oci::media_type::EMPTY, b"{}"),
                    vec![],
                ),
                vec![b"{}".to_vec()],
            )
            .unwrap(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a Blueprint"), "{e}");
    }

    #[test]
    fn artifacts_are_mirrored_once_and_tags_are_never_moved() {
        use crate::oci::copy::NoProgress;
        use crate::oci::{Layout, Store};
        let tmp = tempfile::tempdir().unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints/valkey");
        let art =
            crate::package::package(&dir, &crate::package::PackageOptions::default()).unwrap();
        let src = Layout::create(&tmp.path().join("src")).unwrap();
        crate::oci::store::write_image(&src, &art.image, Some("2.1.0")).unwrap();
        let dst = Layout::create(&tmp.path().join("dst")).unwrap();
        let (img, stats) = mirror_artifact(&src, &dst, "2.1.0", &NoProgress).unwrap();
        assert_eq!(img.digest(), art.digest());
        assert_eq!(stats.blobs_copied, art.image.blobs().count());
        let d: &dyn Store = &dst;
        assert_eq!(d.resolve("2.1.0").unwrap().unwrap().digest, *art.digest());
        let (_, again) = mirror_artifact(&src, &dst, "2.1.0", &NoProgress).unwrap();
        assert_eq!(again.blobs_copied, 0);
        let e = mirror_artifact(&src, &dst, "9.9.9", &NoProgress).unwrap_err();
        assert!(matches!(e, MirrorError::NoTag { .. }), "{e}");
        // Other content under the same tag at the target stays.
        let other = crate::oci::Image::new(
            crate::oci::Manifest::new(
                crate::oci::Descriptor::of(crate::oci::media_type::EMPTY, b"{}"),
                vec![],
            ),
            vec![b"{}".to_vec()],
        )
        .unwrap();
        let taken = Layout::create(&tmp.path().join("taken")).unwrap();
        crate::oci::store::write_image(&taken, &other, Some("2.1.0")).unwrap();
        let e = mirror_artifact(&src, &taken, "2.1.0", &NoProgress).unwrap_err();
        assert!(matches!(e, MirrorError::TagTaken { .. }), "{e}");
        let t: &dyn Store = &taken;
        assert_eq!(t.resolve("2.1.0").unwrap().unwrap().digest, *other.digest());
    }
}
