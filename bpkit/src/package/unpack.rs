//! From a verified artifact back to a Blueprint folder, safely.
//!
//! The layers are read into memory first (within limits, refusing unsafe paths, links and
//! special files, see [`super::archive::read_tar_gz`]); only when everything checks out are
//! the files written, into a fresh temporary folder next to the target, which is then renamed
//! into place. Nothing is written outside the target, and a refused artifact leaves no trace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::archive::{self, Entry, EntryKind, ReadError, ReadLimits};
use super::{BLUEPRINT_FILE, CARD_DIR, manifests_folder};
use crate::diag::{Finding, Severity};
use crate::model::{self, Blueprint, LoadOptions, SourceKind};
use crate::oci::{Image, media_type};

/// How to unpack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnpackOptions {
    /// Limits on the decompressed layers (counted over all layers together).
    pub limits: ReadLimits,
}

/// What was unpacked.
#[derive(Clone, Debug)]
pub struct Unpacked {
    /// The folder written.
    pub dir: PathBuf,
    /// The Blueprint.
    pub blueprint: Blueprint,
    /// How many files were written.
    pub files: usize,
}

/// Why an artifact was not unpacked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum UnpackError {
    /// Not a Blueprint artifact.
    #[error("the artifact is not a Blueprint: {reason}")]
    #[diagnostic(code(bpkit::unpack::not_a_blueprint))]
    NotABlueprint {
        /// What is missing.
        reason: String,
    },
    /// The Blueprint layer has errors.
    #[error("the artifact's `blueprint.yaml` is not a valid Blueprint")]
    #[diagnostic(code(bpkit::unpack::invalid))]
    Invalid {
        /// What was found.
        #[related]
        findings: Vec<Finding>,
    },
    /// A layer that is refused.
    #[error("layer `{layer}`: {source}")]
    #[diagnostic(
        code(bpkit::unpack::archive),
        help("the artifact is damaged or hostile; nothing was written")
    )]
    Archive {
        /// The layer (its title or media type).
        layer: String,
        /// Why.
        source: ReadError,
    },
    /// An entry outside the folder its layer owns.
    #[error("layer `{layer}`: entry `{path}` is outside `{folder}`")]
    #[diagnostic(
        code(bpkit::unpack::outside),
        help("the artifact is damaged or hostile; nothing was written")
    )]
    Outside {
        /// The layer.
        layer: String,
        /// The entry.
        path: String,
        /// The folder.
        folder: String,
    },
    /// Two layers write the same path.
    #[error("`{path}` is written by two layers")]
    #[diagnostic(
        code(bpkit::unpack::collision),
        help("the artifact is damaged or hostile; nothing was written")
    )]
    Collision {
        /// The path.
        path: String,
    },
    /// The target folder has content.
    #[error("`{}` already exists and is not empty", path.display())]
    #[diagnostic(
        code(bpkit::unpack::target_exists),
        help("choose another folder, or remove this one")
    )]
    TargetExists {
        /// The target.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    #[diagnostic(code(bpkit::unpack::io))]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The Blueprint carried by an artifact (its `blueprint.yaml` layer, loaded and checked).
pub fn blueprint_of(image: &Image) -> Result<(Blueprint, Vec<u8>), UnpackError> {
    let layers: Vec<_> = image
        .manifest()
        .layers
        .iter()
        .filter(|d| d.media_type == media_type::BLUEPRINT)
        .collect();
    let d = match layers.as_slice() {
        [one] => *one,
        [] => {
            return Err(UnpackError::NotABlueprint {
                reason: format!("the manifest has no `{}` layer", media_type::BLUEPRINT),
            });
        }
        _ => {
            return Err(UnpackError::NotABlueprint {
                reason: format!(
                    "the manifest has {} `{}` layers",
                    layers.len(),
                    media_type::BLUEPRINT
                ),
            });
        }
    };
    let bytes = image.blob(&d.digest).unwrap_or_default().to_vec();
    let loaded = model::load(BLUEPRINT_FILE, &bytes, &LoadOptions::default());
    match loaded.blueprint {
        Some(bp)
            if !loaded
                .findings
                .iter()
                .any(|f| f.severity == Severity::Error) =>
        {
            Ok((bp, bytes))
        }
        _ => Err(UnpackError::Invalid {
            findings: loaded.findings,
        }),
    }
}

/// Unpacks a Blueprint artifact into `target` (which must not exist or be empty): the
/// `blueprint.yaml`, the chart or manifests at the place the Blueprint names, and `card/`.
pub fn unpack(image: &Image, target: &Path, opts: &UnpackOptions) -> Result<Unpacked, UnpackError> {
    let (bp, bp_bytes) = blueprint_of(image)?;
    let (folder, kind) = manifests_folder(&bp).map_err(|e| UnpackError::NotABlueprint {
        reason: e.to_string(),
    })?;
    let mut files: BTreeMap<String, Entry> = BTreeMap::new();
    let mut remaining = opts.limits;
    let mut read = |d: &crate::oci::Descriptor| -> Result<(String, Vec<Entry>), UnpackError> {
        let layer = d.title().unwrap_or(&d.media_type).to_string();
        let bytes = image.blob(&d.digest).unwrap_or_default();
        let entries =
            archive::read_tar_gz(bytes, &remaining).map_err(|source| UnpackError::Archive {
                layer: layer.clone(),
                source,
            })?;
        let used: u64 = entries
            .iter()
            .map(|e| match &e.kind {
                EntryKind::File { data, .. } => data.len() as u64 + 512,
                EntryKind::Dir => 512,
            })
            .sum();
        remaining.max_bytes = remaining.max_bytes.saturating_sub(used);
        remaining.max_entries = remaining.max_entries.saturating_sub(entries.len());
        Ok((layer, entries))
    };
    let add = |path: String, e: Entry, files: &mut BTreeMap<String, Entry>| {
        let kind = e.kind;
        match (files.get(&path), &kind) {
            (
                Some(Entry {
                    kind: EntryKind::Dir,
                    ..
                }),
                EntryKind::Dir,
            ) => Ok(()),
            (Some(_), _) => Err(UnpackError::Collision { path }),
            (None, _) => {
                files.insert(path.clone(), Entry { path, kind });
                Ok(())
            }
        }
    };
    add(
        BLUEPRINT_FILE.to_string(),
        Entry::file(BLUEPRINT_FILE, bp_bytes),
        &mut files,
    )?;

    let content_types: &[&str] = match kind {
        SourceKind::HelmChart => &[media_type::HELM_CHART, media_type::HELM_CHART_LEGACY],
        SourceKind::Kustomize => &[media_type::FLUX_CONTENT],
    };
    let Some(content) = image
        .manifest()
        .layers
        .iter()
        .find(|d| content_types.contains(&d.media_type.as_str()))
    else {
        return Err(UnpackError::NotABlueprint {
            reason: format!(
                "the Blueprint is a {kind:?} but the manifest has no `{}` layer",
                content_types[0]
            ),
        });
    };
    let (layer, entries) = read(content)?;
    match kind {
        SourceKind::HelmChart => {
            // Everything under one top folder (the chart name), moved to the Blueprint's ref.
            let dest = folder.join("/");
            let top = entries
                .first()
                .map(|e| e.path.split('/').next().unwrap_or("").to_string())
                .unwrap_or_default();
            for e in entries {
                let rest = if e.path == top {
                    None
                } else if let Some(r) = e.path.strip_prefix(&format!("{top}/")) {
                    Some(r.to_string())
                } else {
                    return Err(UnpackError::Outside {
                        layer,
                        path: e.path,
                        folder: format!("{top}/"),
                    });
                };
                match rest {
                    None if e.kind == EntryKind::Dir => {}
                    None => {
                        return Err(UnpackError::Outside {
                            layer,
                            path: e.path,
                            folder: format!("{top}/"),
                        });
                    }
                    Some(r) => {
                        let p = format!("{dest}/{r}");
                        add(p, e, &mut files)?;
                    }
                }
            }
        }
        SourceKind::Kustomize => {
            let dest = &folder[0];
            for e in entries {
                add(format!("{dest}/{}", e.path), e, &mut files)?;
            }
        }
    }
    if let Some(card) = image
        .manifest()
        .layers
        .iter()
        .find(|d| d.media_type == media_type::CARD)
    {
        let (layer, entries) = read(card)?;
        for e in entries {
            if e.path != CARD_DIR && !e.path.starts_with("card/") {
                return Err(UnpackError::Outside {
                    layer,
                    path: e.path,
                    folder: "card/".into(),
                });
            }
            add(e.path.clone(), e, &mut files)?;
        }
    }
    // A file must not sit where another entry needs a folder.
    for path in files.keys() {
        for parent in archive::parent_folders(path) {
            if matches!(
                files.get(parent),
                Some(Entry {
                    kind: EntryKind::File { .. },
                    ..
                })
            ) {
                return Err(UnpackError::Collision {
                    path: parent.to_string(),
                });
            }
        }
    }
    let written = write_tree(target, &files)?;
    Ok(Unpacked {
        dir: target.to_path_buf(),
        blueprint: bp,
        files: written,
    })
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> UnpackError {
    UnpackError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the checked entries into a temporary folder beside `target`, then renames it.
fn write_tree(target: &Path, files: &BTreeMap<String, Entry>) -> Result<usize, UnpackError> {
    let target_empty_dir = match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => {
            let mut rd = std::fs::read_dir(target).map_err(|e| io("read", target, e))?;
            if rd.next().is_some() {
                return Err(UnpackError::TargetExists {
                    path: target.to_path_buf(),
                });
            }
            true
        }
        Ok(_) => {
            return Err(UnpackError::TargetExists {
                path: target.to_path_buf(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io("read", target, e)),
    };
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io("create", &parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".bpkit-pull-")
        .tempdir_in(&parent)
        .map_err(|e| io("create a folder in", &parent, e))?;
    #[cfg(unix)]
    {
        // A temporary folder is private (0700); the result is an ordinary folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io("set permissions of", tmp.path(), e))?;
    }
    let mut count = 0;
    for (path, e) in files {
        let dest = tmp.path().join(path);
        match &e.kind {
            EntryKind::Dir => {
                std::fs::create_dir_all(&dest).map_err(|err| io("create", &dest, err))?;
            }
            EntryKind::File { data, executable } => {
                if let Some(p) = dest.parent() {
                    std::fs::create_dir_all(p).map_err(|err| io("create", p, err))?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(if *executable { 0o755 } else { 0o644 });
                }
                #[cfg(not(unix))]
                let _ = executable;
                let mut f = opts.open(&dest).map_err(|err| io("write", &dest, err))?;
                std::io::Write::write_all(&mut f, data).map_err(|err| io("write", &dest, err))?;
                f.sync_all().map_err(|err| io("write", &dest, err))?;
                count += 1;
            }
        }
    }
    if target_empty_dir {
        std::fs::remove_dir(target).map_err(|e| io("replace", target, e))?;
    }
    std::fs::rename(tmp.path(), target).map_err(|e| io("move the pulled files to", target, e))?;
    let _ = tmp.keep();
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::{Descriptor, Manifest, annotation};

    const BP: &str = "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-u\n  version: 1.0.0\nspec:\n  card:\n    title: U\n  visibility: unlisted\n  manifests:\n    source:\n      kind: HelmChart\n      ref: ./chart\n";

    fn image(chart: &[Entry], card: Option<&[Entry]>, bp: &str) -> Image {
        let chart = archive::tar_gz(chart, 0);
        let mut layers = vec![
            Descriptor::of(media_type::HELM_CHART, &chart)
                .with_annotation(annotation::TITLE, "c.tgz"),
            Descriptor::of(media_type::BLUEPRINT, bp.as_bytes()),
        ];
        let mut blobs = vec![b"{}".to_vec(), chart, bp.as_bytes().to_vec()];
        if let Some(card) = card {
            let c = archive::tar_gz(card, 0);
            layers.push(
                Descriptor::of(media_type::CARD, &c)
                    .with_annotation(annotation::TITLE, "card.tar.gz"),
            );
            blobs.push(c);
        }
        let m = Manifest::new(Descriptor::of(media_type::HELM_CONFIG, b"{}"), layers);
        Image::new(m, blobs).expect("image")
    }

    #[test]
    fn unpacks_to_the_blueprint_layout() {
        let tmp = tempfile::tempdir().expect("tmp");
        let img = image(
            &[
                Entry::dir("u"),
                Entry::file("u/Chart.yaml", "name: u\n"),
                Entry::dir("u/templates"),
            ],
            Some(&[Entry::dir("card"), Entry::file("card/README.md", "# U\n")]),
            BP,
        );
        let out = unpack(&img, &tmp.path().join("out"), &UnpackOptions::default()).expect("unpack");
        assert_eq!(out.files, 3);
        assert_eq!(out.blueprint.name(), "bp-u");
        let dir = tmp.path().join("out");
        assert_eq!(
            std::fs::read_to_string(dir.join("chart/Chart.yaml")).expect("read"),
            "name: u\n"
        );
        assert!(dir.join("chart/templates").is_dir());
        assert_eq!(
            std::fs::read_to_string(dir.join("blueprint.yaml")).expect("read"),
            BP
        );
        assert!(dir.join("card/README.md").is_file());
        // Only the target was created.
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("ls")
            .map(|e| e.expect("e").file_name())
            .collect();
        assert_eq!(names, ["out"]);
    }

    #[test]
    fn refuses_collisions_and_strays() {
        let tmp = tempfile::tempdir().expect("tmp");
        let t = tmp.path().join("out");
        let opts = UnpackOptions::default();
        // A card entry outside `card/`.
        let img = image(
            &[Entry::dir("u"), Entry::file("u/Chart.yaml", "x")],
            Some(&[Entry::file("blueprint.yaml", "evil")]),
            BP,
        );
        let e = unpack(&img, &t, &opts).expect_err("stray").to_string();
        assert_eq!(
            e,
            "layer `card.tar.gz`: entry `blueprint.yaml` is outside `card/`"
        );
        // A Blueprint whose ref points where the card goes: two layers write `card/README.md`.
        let bp = BP.replace("ref: ./chart", "ref: ./card");
        let img = image(
            &[Entry::dir("u"), Entry::file("u/README.md", "x")],
            Some(&[Entry::dir("card"), Entry::file("card/README.md", "y")]),
            &bp,
        );
        let e = unpack(&img, &t, &opts).expect_err("collision").to_string();
        assert_eq!(e, "`card/README.md` is written by two layers");
        // Not a Blueprint at all.
        let img = image(&[Entry::dir("u")], None, "kind: Nothing\n");
        assert!(matches!(
            unpack(&img, &t, &opts),
            Err(UnpackError::Invalid { .. })
        ));
        assert!(!t.exists());
    }
}
