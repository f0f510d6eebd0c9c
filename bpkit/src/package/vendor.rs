//! Umbrella charts: the `dependencies` of `Chart.yaml` vendored into `charts/`, as
//! `helm dependency build` does, and pinned by digest in [`VENDOR_LOCK`].
//!
//! The offline part (this module without the `oci` feature) lists the dependencies, checks that
//! each is vendored (the `hollow-chart` rule: [`check`], which [`super::package`] runs) and
//! that every archive named in the lock still has the digest recorded there. Fetching
//! (`vendor`, behind the `oci` feature) pulls each `oci://` dependency missing from `charts/`
//! from its registry, verifies it against the lock when the lock names it, writes
//! `charts/<name>-<version>.tgz`, and records the manifest and chart digests in the lock.
//!
//! The lock, `charts.lock` beside `Chart.yaml`, is JSON:
//!
//! ```json
//! {
//!   "dependencies": [
//!     {
//!       "name": "sub",
//!       "version": "1.0.0",
//!       "repository": "oci://registry.example/charts",
//!       "manifest": "sha256:…",
//!       "chart": "sha256:…"
//!     }
//!   ]
//! }
//! ```
//!
//! `manifest` is the digest of the artifact pulled, `chart` the digest of the archive written
//! (the artifact's chart layer).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{PackageError, helm};
use crate::lint::chart::{Chart, Dependency as LintDependency, Vendored};
use crate::oci::Digest;

/// The lock file beside `Chart.yaml` that pins vendored sub-charts by digest.
pub const VENDOR_LOCK: &str = "charts.lock";

/// One `dependencies:` entry of `Chart.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartDependency {
    /// The chart name.
    pub name: String,
    /// The pinned version (empty when missing).
    pub version: String,
    /// The repository (`oci://…`, `https://…`, `file://…` or empty).
    pub repository: String,
}

impl ChartDependency {
    /// The archive `helm dependency build` writes: `charts/<name>-<version>.tgz`.
    pub fn archive_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }

    /// For an `oci://` repository: the artifact reference, `HOST/PATH/NAME:VERSION` (a `+` in
    /// the version becomes `_`, as Helm writes tags).
    pub fn oci_reference(&self) -> Option<String> {
        let repo = self.repository.strip_prefix("oci://")?;
        Some(format!(
            "{}/{}:{}",
            repo.trim_end_matches('/'),
            self.name,
            self.version.replace('+', "_")
        ))
    }
}

/// One entry of the lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    /// The chart name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The repository.
    pub repository: String,
    /// The digest of the artifact's manifest.
    pub manifest: String,
    /// The digest of the chart archive.
    pub chart: String,
}

/// The vendoring lock, [`VENDOR_LOCK`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorLock {
    /// The pinned sub-charts, sorted by name.
    pub dependencies: Vec<LockEntry>,
}

impl VendorLock {
    /// Reads the lock of a chart folder; `None` when there is none.
    pub fn read(chart_dir: &Path) -> Result<Option<VendorLock>, PackageError> {
        let path = chart_dir.join(VENDOR_LOCK);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PackageError::Io { path, source: e }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| PackageError::Vendor {
                message: format!(
                    "`{}` is not a vendoring lock: {e} (line {}, column {})",
                    path.display(),
                    e.line(),
                    e.column()
                ),
                help: Some("delete it and vendor again to rewrite it".into()),
            })
    }

    /// Writes the lock (entries sorted, pretty JSON, a final newline), atomically.
    pub fn write(&self, chart_dir: &Path) -> Result<(), PackageError> {
        let mut lock = self.clone();
        lock.dependencies
            .sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        let mut bytes = serde_json::to_vec_pretty(&lock).unwrap_or_default();
        bytes.push(b'\n');
        let path = chart_dir.join(VENDOR_LOCK);
        crate::atomic::write_file(&path, &bytes).map_err(|e| PackageError::Io { path, source: e })
    }

    /// The entry for a dependency (same name, version and repository).
    pub fn find(&self, d: &ChartDependency) -> Option<&LockEntry> {
        self.dependencies
            .iter()
            .find(|e| e.name == d.name && e.version == d.version && e.repository == d.repository)
    }
}

/// The `dependencies` of the chart in `chart_dir`, as Helm reads them (`requirements.yaml`
/// for `apiVersion: v1` charts).
pub fn dependencies(chart_dir: &Path) -> Result<Vec<ChartDependency>, PackageError> {
    let cy = chart_dir.join("Chart.yaml");
    let name = cy.display().to_string();
    let bytes = std::fs::read(&cy).map_err(|e| PackageError::Io {
        path: cy.clone(),
        source: e,
    })?;
    let doc = helm::load(&name, &bytes).map_err(|f| PackageError::Chart {
        file: name.clone(),
        findings: vec![*f],
    })?;
    let req_path = chart_dir.join("requirements.yaml");
    let req = match std::fs::read(&req_path) {
        Ok(b) => Some(
            helm::load(&req_path.display().to_string(), &b).map_err(|f| PackageError::Chart {
                file: req_path.display().to_string(),
                findings: vec![*f],
            })?,
        ),
        Err(_) => None,
    };
    let meta = helm::chart_config(&doc, req.as_ref()).map_err(|findings| PackageError::Chart {
        file: name.clone(),
        findings,
    })?;
    let config: serde_json::Value = serde_json::from_slice(&meta.config).unwrap_or_default();
    let text = |d: &serde_json::Value, k: &str| {
        d.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(config
        .get("dependencies")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .map(|d| ChartDependency {
                    name: text(d, "name"),
                    version: text(d, "version"),
                    repository: text(d, "repository"),
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Whether a dependency is vendored under `charts/`.
pub fn vendored(chart: &Chart, d: &ChartDependency) -> Vendored {
    chart.vendored(&LintDependency {
        name: d.name.clone(),
        version: (!d.version.is_empty()).then(|| d.version.clone()),
        alias: None,
        span: crate::diag::Span::at(0),
        version_span: None,
    })
}

/// Checks for packaging: every archive the lock names has the digest recorded there, and, when
/// `require_vendored`, every dependency is vendored under `charts/` (the `hollow-chart` rule).
pub fn check(chart_dir: &Path, require_vendored: bool) -> Result<(), PackageError> {
    let deps = dependencies(chart_dir)?;
    if deps.is_empty() {
        return Ok(());
    }
    let chart = Chart::read(chart_dir);
    let lock = VendorLock::read(chart_dir)?;
    for d in &deps {
        match vendored(&chart, d) {
            Vendored::Yes => {}
            _ if !require_vendored => {}
            Vendored::No => {
                return Err(PackageError::Vendor {
                    message: format!(
                        "dependency `{}` {} of `{}` is not vendored under `charts/` (hollow chart)",
                        d.name,
                        d.version,
                        chart_dir.join("Chart.yaml").display()
                    ),
                    help: Some(if d.repository.starts_with("oci://") {
                        format!(
                            "pass `--vendor` to pull `{}` into `charts/` (needs the registry)",
                            d.oci_reference().unwrap_or_default()
                        )
                    } else {
                        "run `helm dependency build` so that the sub-chart is in `charts/`".into()
                    }),
                });
            }
            Vendored::WrongVersion(v) => {
                return Err(PackageError::Vendor {
                    message: format!(
                        "dependency `{}` is pinned at {} but `charts/` holds {v}",
                        d.name, d.version
                    ),
                    help: Some("remove the stale archive and vendor again".into()),
                });
            }
        }
        if let Some(e) = lock.as_ref().and_then(|l| l.find(d)) {
            let path = chart_dir.join("charts").join(d.archive_name());
            if let Ok(bytes) = std::fs::read(&path) {
                let actual = Digest::of(&bytes).to_string();
                if actual != e.chart {
                    return Err(PackageError::Vendor {
                        message: format!(
                            "`{}` has digest `{actual}`, but `{VENDOR_LOCK}` pins `{}`",
                            path.display(),
                            e.chart
                        ),
                        help: Some(
                            "the vendored archive changed: restore it, or delete it and the lock entry and vendor again"
                                .into(),
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The chart folder of the Blueprint in `dir` (a folder or its `blueprint.yaml`), when it is
/// packaged from a Helm chart in the folder.
pub fn chart_folder(dir: &Path) -> Result<Option<PathBuf>, PackageError> {
    let (dir, file) = if dir.is_file() {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        (parent, dir.to_path_buf())
    } else {
        (dir.to_path_buf(), dir.join(super::BLUEPRINT_FILE))
    };
    let checked = crate::validate::blueprint::check_file(&file, &Default::default());
    let Some(bp) = checked.blueprint() else {
        return Err(PackageError::Invalid {
            file: file.display().to_string(),
            findings: checked.loaded.findings,
        });
    };
    let (folder, kind) = super::manifests_folder(bp)?;
    Ok((kind == crate::model::SourceKind::HelmChart).then(|| dir.join(folder.join("/"))))
}

/// A sub-chart that vendoring wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// The dependency.
    pub dependency: ChartDependency,
    /// The archive written.
    pub path: PathBuf,
    /// The artifact's manifest digest.
    pub manifest: Digest,
    /// The archive's digest.
    pub chart: Digest,
}

/// Pulls every `oci://` dependency missing from `charts/` (verified against the lock when it
/// names it), writes `charts/<name>-<version>.tgz` and records the digests in the lock.
/// Dependencies already vendored are left alone.
#[cfg(feature = "oci")]
pub fn vendor(
    chart_dir: &Path,
    registry: &crate::oci::registry::Registry,
) -> Result<Vec<Fetched>, PackageError> {
    use crate::oci::registry::Reference;
    let deps = dependencies(chart_dir)?;
    let chart = Chart::read(chart_dir);
    let mut lock = VendorLock::read(chart_dir)?.unwrap_or_default();
    let mut fetched = Vec::new();
    for d in deps {
        if vendored(&chart, &d) == Vendored::Yes {
            continue;
        }
        let Some(text) = d.oci_reference() else {
            continue;
        };
        let pinned = lock.find(&d).cloned();
        let mut r = Reference::parse(&text).map_err(|e| PackageError::Vendor {
            message: format!("dependency `{}`: {e}", d.name),
            help: Some("write the repository as `oci://HOST/PATH` and an exact version".into()),
        })?;
        if let Some(p) = &pinned {
            r.digest = Some(Digest::parse(&p.manifest)?);
        }
        let image = registry.pull(&r).map_err(|e| {
            let message = format!("cannot vendor dependency `{}` from `{text}`: {e}", d.name);
            if e.is_refusal() {
                PackageError::Vendor {
                    message,
                    help: miette::Diagnostic::help(&e).map(|h| h.to_string()),
                }
            } else {
                PackageError::Fetch {
                    message,
                    help: Some(
                        "vendoring needs the registry: check the network, the reference and the credentials (`bpkit login`)"
                            .into(),
                    ),
                }
            }
        })?;
        let Some((_, tgz)) = image.layer(crate::oci::media_type::HELM_CHART) else {
            return Err(PackageError::Vendor {
                message: format!("`{text}` is not a Helm chart: it has no chart layer"),
                help: None,
            });
        };
        let chart_digest = Digest::of(tgz);
        if let Some(p) = &pinned
            && p.chart != chart_digest.to_string()
        {
            return Err(PackageError::Vendor {
                message: format!(
                    "the chart of `{text}` has digest `{chart_digest}`, but `{VENDOR_LOCK}` pins `{}`",
                    p.chart
                ),
                help: Some("delete the lock entry to accept the new content".into()),
            });
        }
        let dir = chart_dir.join("charts");
        std::fs::create_dir_all(&dir).map_err(|e| PackageError::Io {
            path: dir.clone(),
            source: e,
        })?;
        let path = dir.join(d.archive_name());
        crate::atomic::write_file(&path, tgz).map_err(|e| PackageError::Io {
            path: path.clone(),
            source: e,
        })?;
        let manifest = image.digest().clone();
        lock.dependencies
            .retain(|e| !(e.name == d.name && e.version == d.version));
        lock.dependencies.push(LockEntry {
            name: d.name.clone(),
            version: d.version.clone(),
            repository: d.repository.clone(),
            manifest: manifest.to_string(),
            chart: chart_digest.to_string(),
        });
        fetched.push(Fetched {
            dependency: d,
            path,
            manifest,
            chart: chart_digest,
        });
    }
    if !fetched.is_empty() {
        lock.write(chart_dir)?;
    }
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(dir: &Path, deps: &str) {
        std::fs::write(
            dir.join("Chart.yaml"),
            format!("apiVersion: v2\nname: umbrella\nversion: 1.0.0\n{deps}"),
        )
        .unwrap();
    }

    #[test]
    fn lists_dependencies_and_references() {
        let t = tempfile::tempdir().unwrap();
        chart(
            t.path(),
            "dependencies:\n  - name: sub\n    version: 1.2.3+b\n    repository: oci://127.0.0.1:5000/charts/\n  - name: web\n    version: 2.0.0\n    repository: https://x\n",
        );
        let d = dependencies(t.path()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].oci_reference().as_deref(),
            Some("127.0.0.1:5000/charts/sub:1.2.3_b")
        );
        assert_eq!(d[0].archive_name(), "sub-1.2.3+b.tgz");
        assert_eq!(d[1].oci_reference(), None);
    }

    #[test]
    fn hollow_and_locked_archives_are_refused() {
        let t = tempfile::tempdir().unwrap();
        chart(
            t.path(),
            "dependencies:\n  - name: sub\n    version: 1.0.0\n    repository: oci://h.example/c\n",
        );
        check(t.path(), false).unwrap();
        let e = check(t.path(), true).unwrap_err();
        assert!(e.to_string().contains("is not vendored"), "{e}");
        assert!(
            miette::Diagnostic::help(&e)
                .unwrap()
                .to_string()
                .contains("--vendor"),
        );
        std::fs::create_dir(t.path().join("charts")).unwrap();
        std::fs::write(t.path().join("charts/sub-1.0.0.tgz"), b"tgz").unwrap();
        check(t.path(), true).unwrap();
        let lock = VendorLock {
            dependencies: vec![LockEntry {
                name: "sub".into(),
                version: "1.0.0".into(),
                repository: "oci://h.example/c".into(),
                manifest: Digest::of(b"m").to_string(),
                chart: Digest::of(b"tgz").to_string(),
            }],
        };
        lock.write(t.path()).unwrap();
        assert_eq!(VendorLock::read(t.path()).unwrap(), Some(lock));
        check(t.path(), true).unwrap();
        std::fs::write(t.path().join("charts/sub-1.0.0.tgz"), b"tampered").unwrap();
        let e = check(t.path(), true).unwrap_err();
        assert!(e.to_string().contains("pins"), "{e}");
        std::fs::write(t.path().join("charts/sub-0.9.0.tgz"), b"old").unwrap();
        std::fs::remove_file(t.path().join("charts/sub-1.0.0.tgz")).unwrap();
        let e = check(t.path(), true).unwrap_err();
        assert!(e.to_string().contains("holds 0.9.0"), "{e}");
        std::fs::write(t.path().join(VENDOR_LOCK), b"{").unwrap();
        let e = VendorLock::read(t.path()).unwrap_err();
        assert!(e.to_string().contains("not a vendoring lock"), "{e}");
    }

    #[test]
    fn no_dependencies_is_fine() {
        let t = tempfile::tempdir().unwrap();
        chart(t.path(), "");
        check(t.path(), true).unwrap();
    }
}
