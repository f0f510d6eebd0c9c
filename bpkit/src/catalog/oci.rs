//! A catalog served by an OCI registry (behind the `oci` feature): Blueprints pushed by
//! `bpkit push` under `HOST/PREFIX/<name>:<version>`.
//!
//! Names are configured (a list), or listed from the registry's `_catalog` under the prefix;
//! versions come from the tag listing (tags that are semantic versions, `_` read as `+`); a
//! Blueprint is read from its artifact's Blueprint layer alone (the chart is not downloaded),
//! fetched when first asked for and cached on disk by digest, so later runs read it from the
//! cache after one manifest request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::model::{Blueprint, LoadOptions};
use crate::oci::registry::{Reference, Registry};
use crate::oci::{Digest, media_type};
use crate::resolve::{Catalog, CatalogError};
use crate::version::Version;

/// A catalog of the Blueprints in one registry namespace.
pub struct OciCatalog {
    registry: Registry,
    host: String,
    prefix: String,
    names: Vec<String>,
    cache: Option<PathBuf>,
    tags: Mutex<BTreeMap<String, BTreeMap<Version, String>>>,
    loaded: Mutex<BTreeMap<(String, Version), Loaded>>,
}

/// A Blueprint read from the registry, with its artifact's manifest digest.
type Loaded = (Arc<Blueprint>, Digest);

impl std::fmt::Debug for OciCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciCatalog")
            .field("host", &self.host)
            .field("prefix", &self.prefix)
            .field("names", &self.names)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

fn io(e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Io(e.to_string())
}

impl OciCatalog {
    /// A catalog of `[oci://]HOST/PREFIX`: Blueprint `n` is the repository `HOST/PREFIX/n`.
    /// `names` lists the Blueprints; when empty they are listed from the registry's
    /// `_catalog`. `cache` is the folder of cached Blueprint layers (see [`default_cache_dir`]),
    /// `None` for no disk cache.
    pub fn open(
        registry: Registry,
        base: &str,
        names: Vec<String>,
        cache: Option<PathBuf>,
    ) -> Result<OciCatalog, CatalogError> {
        let text = base
            .strip_prefix("oci://")
            .unwrap_or(base)
            .trim_end_matches('/');
        let (host, prefix) = text.split_once('/').unwrap_or((text, ""));
        // Validates the host and prefix the way references are validated.
        Reference::parse_repo(&format!(
            "{host}/{}",
            if prefix.is_empty() { "x" } else { prefix }
        ))
        .map_err(io)?;
        let mut names = names;
        names.sort();
        names.dedup();
        Ok(OciCatalog {
            registry,
            host: host.to_string(),
            prefix: prefix.to_string(),
            names,
            cache,
            tags: Mutex::default(),
            loaded: Mutex::default(),
        })
    }

    fn repo(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    fn reference(&self, name: &str, tag: &str) -> Result<Reference, CatalogError> {
        Reference::parse(&format!("{}/{}:{tag}", self.host, self.repo(name))).map_err(io)
    }

    /// The registry this catalog reads.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn tag_map(&self, name: &str) -> Result<BTreeMap<Version, String>, CatalogError> {
        let mut tags = self.tags.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = tags.get(name) {
            return Ok(t.clone());
        }
        let r = Reference::parse_repo(&format!("{}/{}", self.host, self.repo(name))).map_err(io)?;
        let list = match self.registry.tags(&r) {
            Ok(l) => l,
            Err(crate::oci::registry::RegistryError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        let map: BTreeMap<Version, String> = list
            .into_iter()
            .filter_map(|t| {
                Version::parse_strict(&t.replace('_', "+"))
                    .ok()
                    .map(|v| (v, t))
            })
            .collect();
        tags.insert(name.to_string(), map.clone());
        Ok(map)
    }

    fn cached(&self, d: &Digest) -> Option<Vec<u8>> {
        let path = self
            .cache
            .as_ref()?
            .join("blobs")
            .join("sha256")
            .join(d.hex());
        let bytes = std::fs::read(path).ok()?;
        (Digest::of(&bytes) == *d).then_some(bytes)
    }

    fn store(&self, d: &Digest, bytes: &[u8]) {
        if let Some(c) = &self.cache {
            let dir = c.join("blobs").join("sha256");
            // A cache that cannot be written only costs a download next time.
            if std::fs::create_dir_all(&dir).is_ok() {
                let _ = crate::atomic::write_file(&dir.join(d.hex()), bytes);
            }
        }
    }

    fn load(
        &self,
        name: &str,
        version: &Version,
    ) -> Result<(Arc<Blueprint>, Digest), CatalogError> {
        let key = (name.to_string(), version.clone());
        if let Some(x) = self
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(x.clone());
        }
        let missing = || CatalogError::Missing {
            name: name.to_string(),
            version: version.to_string(),
        };
        let tag = self
            .tag_map(name)?
            .get(version)
            .cloned()
            .ok_or_else(missing)?;
        let r = self.reference(name, &tag)?;
        let (manifest, digest) = self.registry.manifest_of(&r).map_err(io)?;
        let layer = manifest
            .layers
            .iter()
            .find(|l| l.media_type == media_type::BLUEPRINT)
            .ok_or_else(|| {
                io(format!(
                    "`{r}` is not a Blueprint artifact: it has no `{}` layer",
                    media_type::BLUEPRINT
                ))
            })?;
        let bytes = match self.cached(&layer.digest) {
            Some(b) => b,
            None => {
                let b = self.registry.blob_of(&r, layer).map_err(io)?;
                self.store(&layer.digest, &b);
                b
            }
        };
        let loaded = crate::model::load(
            &format!("{r} blueprint.yaml"),
            &bytes,
            &LoadOptions::default(),
        );
        let bp = match loaded.blueprint {
            Some(bp) if !loaded.has_errors() => bp,
            _ => {
                let first = loaded
                    .findings
                    .iter()
                    .find(|f| f.severity == crate::diag::Severity::Error)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                return Err(io(format!("the Blueprint of `{r}` is not valid: {first}")));
            }
        };
        if bp.name() != name || Version::parse_strict(bp.version()).ok().as_ref() != Some(version) {
            return Err(io(format!(
                "`{r}` holds `{}` {}, not `{name}` {version}",
                bp.name(),
                bp.version()
            )));
        }
        let x = (Arc::new(bp), digest);
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, x.clone());
        Ok(x)
    }
}

/// The default cache folder: `$XDG_CACHE_HOME/bpkit`, else `~/.cache/bpkit`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(Path::new(&x).join("bpkit"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(".cache").join("bpkit"))
}

impl Catalog for OciCatalog {
    fn names(&self) -> Result<Vec<String>, CatalogError> {
        if !self.names.is_empty() {
            return Ok(self.names.clone());
        }
        let mut names: Vec<String> = self
            .registry
            .repositories(&self.host)
            .map_err(io)?
            .into_iter()
            .filter_map(|repo| {
                let rest = if self.prefix.is_empty() {
                    Some(repo.as_str())
                } else {
                    repo.strip_prefix(&format!("{}/", self.prefix))
                };
                rest.filter(|n| !n.is_empty() && !n.contains('/'))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
    fn versions(&self, name: &str) -> Result<Vec<Version>, CatalogError> {
        Ok(self.tag_map(name)?.into_keys().collect())
    }
    fn get(&self, name: &str, version: &Version) -> Result<Arc<Blueprint>, CatalogError> {
        self.load(name, version).map(|x| x.0)
    }
    fn source(&self, name: &str, version: &Version) -> String {
        let tag = self
            .tag_map(name)
            .ok()
            .and_then(|m| m.get(version).cloned())
            .unwrap_or_else(|| version.to_string());
        format!("oci://{}/{}:{tag}", self.host, self.repo(name))
    }
    fn digest(&self, name: &str, version: &Version) -> Option<String> {
        self.load(name, version).ok().map(|x| x.1.to_string())
    }
}
