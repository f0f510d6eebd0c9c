//! The [`Catalog`] seam: where the resolver finds Blueprints, and the in-memory catalog.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::Blueprint;
use crate::version::Version;

/// Why a catalog could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The Blueprint is not in the catalog at that version.
    #[error("`{name}` {version} is not in the catalog")]
    Missing {
        /// The Blueprint.
        name: String,
        /// The version.
        version: String,
    },
    /// Two documents claim the same name and version.
    #[error("`{name}` {version} is defined twice: {first} and {second}")]
    Duplicate {
        /// The Blueprint.
        name: String,
        /// The version.
        version: String,
        /// Where it was first seen.
        first: String,
        /// Where it was seen again.
        second: String,
    },
    /// A Blueprint's version is not a semantic version.
    #[error("`{name}` has version `{version}`, which is not a semantic version")]
    BadVersion {
        /// The Blueprint.
        name: String,
        /// The version text.
        version: String,
    },
    /// The catalog's storage failed.
    #[error("the catalog could not be read: {0}")]
    Io(String),
}

/// A source of Blueprints: names, their versions, and a Blueprint at a version.
///
/// Implementations must be deterministic (the same answers for the same state) and cheap to call
/// repeatedly; the resolver does not cache. `Send + Sync` so one catalog can serve many threads.
pub trait Catalog: Send + Sync {
    /// Every Blueprint name, sorted.
    fn names(&self) -> Result<Vec<String>, CatalogError>;
    /// The versions of `name`, ascending; empty when the catalog has no such Blueprint.
    fn versions(&self, name: &str) -> Result<Vec<Version>, CatalogError>;
    /// The Blueprint `name` at `version`.
    fn get(&self, name: &str, version: &Version) -> Result<Arc<Blueprint>, CatalogError>;
    /// Where `name` at `version` comes from, for lockfiles (a path, a registry reference).
    fn source(&self, name: &str, version: &Version) -> String {
        format!("catalog:{name}@{version}")
    }
    /// The content digest of `name` at `version` (`sha256:…`), when the catalog knows it.
    fn digest(&self, _name: &str, _version: &Version) -> Option<String> {
        None
    }
}

/// A catalog held in memory: what tests and embedding services use.
#[derive(Debug, Default, Clone)]
pub struct InMemoryCatalog {
    entries: BTreeMap<String, BTreeMap<Version, Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    blueprint: Arc<Blueprint>,
    source: String,
    digest: Option<String>,
}

impl InMemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Blueprint. Its version must be a semantic version; a second Blueprint with the
    /// same name and version is refused.
    pub fn insert(&mut self, bp: Blueprint) -> Result<(), CatalogError> {
        let source = format!("memory:{}@{}", bp.name(), bp.version());
        self.insert_from(bp, source, None)
    }

    /// Adds a Blueprint with its origin and content digest.
    pub fn insert_from(
        &mut self,
        bp: Blueprint,
        source: String,
        digest: Option<String>,
    ) -> Result<(), CatalogError> {
        let version =
            Version::parse_strict(bp.version()).map_err(|_| CatalogError::BadVersion {
                name: bp.name().to_string(),
                version: bp.version().to_string(),
            })?;
        let versions = self.entries.entry(bp.name().to_string()).or_default();
        if let Some(e) = versions.get(&version) {
            return Err(CatalogError::Duplicate {
                name: bp.name().to_string(),
                version: version.to_string(),
                first: e.source.clone(),
                second: source,
            });
        }
        versions.insert(
            version,
            Entry {
                blueprint: Arc::new(bp),
                source,
                digest,
            },
        );
        Ok(())
    }

    /// The number of Blueprint versions held.
    pub fn len(&self) -> usize {
        self.entries.values().map(BTreeMap::len).sum()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Catalog for InMemoryCatalog {
    fn names(&self) -> Result<Vec<String>, CatalogError> {
        Ok(self.entries.keys().cloned().collect())
    }

    fn versions(&self, name: &str) -> Result<Vec<Version>, CatalogError> {
        Ok(self
            .entries
            .get(name)
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default())
    }

    fn get(&self, name: &str, version: &Version) -> Result<Arc<Blueprint>, CatalogError> {
        self.entries
            .get(name)
            .and_then(|v| v.get(version))
            .map(|e| e.blueprint.clone())
            .ok_or_else(|| CatalogError::Missing {
                name: name.to_string(),
                version: version.to_string(),
            })
    }

    fn source(&self, name: &str, version: &Version) -> String {
        self.entries
            .get(name)
            .and_then(|v| v.get(version))
            .map_or_else(|| format!("memory:{name}@{version}"), |e| e.source.clone())
    }

    fn digest(&self, name: &str, version: &Version) -> Option<String> {
        self.entries
            .get(name)
            .and_then(|v| v.get(version))
            .and_then(|e| e.digest.clone())
    }
}
