//! Checks of a loaded Blueprint and its folder, beyond the document's shape.

use std::path::Path;

use crate::diag::{Finding, Severity};
use crate::model::{self, Blueprint, LoadOptions, Loaded, SourceKind};

/// Rule: the manifests the Blueprint points at do not exist.
pub const RULE_SOURCE: &str = "manifest-source";
/// Rule: a card asset (icon, screenshot) does not exist.
pub const RULE_CARD_ASSET: &str = "card-asset";
/// Rule: the file could not be read.
pub const RULE_IO: &str = "io";

/// A Blueprint checked with its folder.
#[derive(Debug)]
pub struct Checked {
    /// What loading found, plus the folder checks.
    pub loaded: Loaded,
    /// The folder the Blueprint lives in.
    pub dir: std::path::PathBuf,
}

impl Checked {
    /// The Blueprint, when it loaded without errors.
    pub fn blueprint(&self) -> Option<&Blueprint> {
        self.loaded.blueprint.as_ref()
    }

    /// Every finding.
    pub fn findings(&self) -> &[Finding] {
        &self.loaded.findings
    }
}

/// Reads `file` and checks the Blueprint and its folder.
pub fn check_file(file: &Path, opts: &LoadOptions) -> Checked {
    let name = file.display().to_string();
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let loaded = match std::fs::read(file) {
        Ok(bytes) => {
            if bytes.len() > opts.limits.max_bytes {
                Loaded {
                    document: None,
                    blueprint: None,
                    findings: vec![
                        Finding::error(
                            crate::yaml::YamlError::LIMIT_RULE,
                            format!(
                                "the file is {} bytes, more than the limit of {} bytes",
                                bytes.len(),
                                opts.limits.max_bytes
                            ),
                        )
                        .in_file(name)
                        .with_help(
                            "a blueprint.yaml is a small document; remove generated content",
                        ),
                    ],
                }
            } else {
                model::load(&name, &bytes, opts)
            }
        }
        Err(e) => Loaded {
            document: None,
            blueprint: None,
            findings: vec![
                Finding::error(RULE_IO, format!("cannot read the file: {e}")).in_file(name),
            ],
        },
    };
    let mut checked = Checked { loaded, dir };
    check_folder(&mut checked);
    checked
}

/// Checks what a loaded Blueprint says about its folder and its own content.
pub fn check_folder(c: &mut Checked) {
    let Some(bp) = c.loaded.blueprint.clone() else {
        return;
    };
    let mut out = Vec::new();
    let span_of = |ptr: &str| c.loaded.span_of(ptr);
    let src = c.loaded.document.as_ref().map(|d| d.source.clone());
    let at = |f: Finding, ptr: &str| -> Finding {
        match (&src, span_of(ptr)) {
            (Some(s), Some(sp)) => f.at(s, sp).with_pointer(ptr),
            _ => f.with_pointer(ptr),
        }
    };

    // The manifests exist.
    let (kind, reference) = match bp.source() {
        Some(s) => (s.kind, s.reference.clone()),
        None => (SourceKind::HelmChart, "./chart".to_string()),
    };
    if !reference.starts_with("oci://") {
        let path = crate::lint::join_clean(&c.dir, &reference);
        let marker = match kind {
            SourceKind::HelmChart => "Chart.yaml",
            SourceKind::Kustomize => "kustomization.yaml",
        };
        if !path.is_dir() {
            out.push(at(
                Finding::error(RULE_SOURCE, format!("the manifests folder `{reference}` does not exist"))
                    .with_help(format!("create `{reference}/{marker}`, or point `manifests.source.ref` at the right folder")),
                "/spec/manifests/source/ref",
            ));
        } else if !(path.join(marker).is_file()
            || (kind == SourceKind::Kustomize && path.join("kustomization.yml").is_file()))
        {
            out.push(at(
                Finding::error(RULE_SOURCE, format!("`{reference}` has no `{marker}`"))
                    .with_help(format!("a {kind:?} source needs `{marker}` in its folder")),
                "/spec/manifests/source/ref",
            ));
        }
    }

    // Card assets exist.
    let mut assets: Vec<(String, String)> = Vec::new();
    if let Some(icon) = &bp.spec.card.icon {
        assets.push((icon.clone(), "/spec/card/icon".into()));
    }
    for (i, s) in bp.spec.card.screenshots.iter().enumerate() {
        assets.push((s.clone(), format!("/spec/card/screenshots/{i}")));
    }
    for (asset, ptr) in assets {
        if asset.contains("://") {
            continue;
        }
        if !c.dir.join(&asset).is_file() {
            out.push(at(
                Finding::warning(
                    RULE_CARD_ASSET,
                    format!("card asset `{asset}` does not exist in the Blueprint folder"),
                )
                .with_help("add the file, or remove the reference"),
                &ptr,
            ));
        }
    }

    c.loaded.findings.extend(out);
    c.loaded.findings.sort_by_key(|f| {
        (
            f.span.map_or(usize::MAX, |s| s.start),
            f.severity != Severity::Error,
        )
    });
}
