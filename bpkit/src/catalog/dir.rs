//! A catalog read from a directory tree of Blueprint folders.
//!
//! Any layout works: `name/blueprint.yaml`, `name/1.2.0/blueprint.yaml`, a monorepo's
//! `platform/<name>/` — every `blueprint.yaml` below the roots is read and indexed by its own
//! `metadata.name` and `metadata.version`. Blueprints with errors are left out and their
//! findings kept ([`DirCatalog::findings`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Finding, Severity};
use crate::model::{Blueprint, LoadOptions};
use crate::resolve::{Catalog, CatalogError, InMemoryCatalog};
use crate::validate::blueprint::{Checked, check_file_shallow};
use crate::version::Version;

/// A catalog of the Blueprint folders under one or more roots.
pub struct DirCatalog {
    inner: InMemoryCatalog,
    files: BTreeMap<(String, Version), Arc<Checked>>,
    findings: Vec<Finding>,
    /// Manifest digests of packaged Blueprints, computed when first asked for.
    digests: std::sync::Mutex<BTreeMap<(String, Version), Option<String>>>,
}

impl DirCatalog {
    /// Reads every `blueprint.yaml` under `roots`. Unreadable roots are an error; broken
    /// Blueprints are skipped and reported in [`DirCatalog::findings`].
    pub fn open(roots: &[PathBuf]) -> Result<Self, CatalogError> {
        let (files, errors) = super::discover(roots);
        if let Some((p, e)) = errors.first() {
            return Err(CatalogError::Io(format!("`{}`: {e}", p.display())));
        }
        let mut cat = DirCatalog {
            inner: InMemoryCatalog::new(),
            files: BTreeMap::new(),
            findings: Vec::new(),
            digests: std::sync::Mutex::default(),
        };
        let opts = LoadOptions::default();
        for f in files {
            // The document and its folder; content checks (configSchema, templates) are left to
            // the resolver, which compiles what it visits.
            let c = check_file_shallow(&f, &opts);
            cat.findings.extend(c.findings().iter().cloned());
            let Some(bp) = c.blueprint().cloned() else {
                continue;
            };
            if c.findings().iter().any(|x| x.severity == Severity::Error) {
                continue;
            }
            let Ok(v) = Version::parse_strict(bp.version()) else {
                continue;
            };
            let source = f.display().to_string();
            cat.inner.insert_from(bp.clone(), source, None)?;
            cat.files.insert((bp.name().to_string(), v), Arc::new(c));
        }
        Ok(cat)
    }

    /// What reading the Blueprints found (warnings, and errors of the Blueprints left out).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The checked file of a Blueprint version.
    pub fn checked(&self, name: &str, version: &Version) -> Option<&Checked> {
        self.files
            .get(&(name.to_string(), version.clone()))
            .map(AsRef::as_ref)
    }

    /// The folder of a Blueprint version.
    pub fn dir(&self, name: &str, version: &Version) -> Option<&Path> {
        self.checked(name, version).map(|c| c.dir.as_path())
    }

    /// `file:line:col` of a JSON Pointer in a Blueprint version's document.
    pub fn locate(&self, name: &str, version: &Version, pointer: &str) -> Option<String> {
        let c = self.checked(name, version)?;
        let doc = c.loaded.document.as_ref()?;
        let span = c.loaded.span_of(pointer)?;
        Some(format!(
            "{}:{}",
            doc.source.name(),
            doc.source.position(span.start)
        ))
    }

    /// Every Blueprint, newest version last.
    pub fn blueprints(&self) -> impl Iterator<Item = (&str, &Version, &Checked)> {
        self.files
            .iter()
            .map(|((n, v), c)| (n.as_str(), v, c.as_ref()))
    }
}

impl Catalog for DirCatalog {
    fn names(&self) -> Result<Vec<String>, CatalogError> {
        self.inner.names()
    }
    fn versions(&self, name: &str) -> Result<Vec<Version>, CatalogError> {
        self.inner.versions(name)
    }
    fn get(&self, name: &str, version: &Version) -> Result<Arc<Blueprint>, CatalogError> {
        self.inner.get(name, version)
    }
    fn source(&self, name: &str, version: &Version) -> String {
        self.inner.source(name, version)
    }
    /// The manifest digest `bpkit push` would produce for this Blueprint folder (packaged with
    /// the default epoch), so that a lockfile pins content, not just a version.
    fn digest(&self, name: &str, version: &Version) -> Option<String> {
        let key = (name.to_string(), version.clone());
        let mut cache = self
            .digests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(d) = cache.get(&key) {
            return d.clone();
        }
        let dir = self.dir(name, version)?;
        let d = crate::package::package(dir, &crate::package::PackageOptions::default())
            .ok()
            .map(|a| a.digest().to_string());
        cache.insert(key, d.clone());
        d
    }
}
