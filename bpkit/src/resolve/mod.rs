//! The catalog resolver: from "install Blueprint X as Application A with this config" to an
//! ordered install plan, or an explanation of why there is none.
//!
//! - [`Catalog`] is the seam to where Blueprints live ([`InMemoryCatalog`] here, a directory
//!   catalog in [`crate::catalog`]).
//! - [`resolve`] runs PubGrub over *Application instances*: each `depends` edge creates an
//!   Application named `<parent-app>-<alias>`, unless it binds to a shared instance: an installed
//!   Application of that Blueprint ([`Request::installed`]), or a cluster-wide singleton when the
//!   edge says `shared: true` (named after the Blueprint without `bp-`). Every edge bound to one
//!   instance must agree on one version; that is where conflicts and backtracking happen.
//! - `when` conditions are evaluated against the parent's effective configuration (configSchema
//!   defaults, then the values given to it); `values` are rendered with `.application`,
//!   `.config`, `.blueprint` and `.outputs.<alias>` and validated against the child's
//!   configSchema. Outputs are rendered with the child's default configuration.
//! - The result is a [`Plan`]: Applications in install order (dependencies first), each with its
//!   Blueprint, exact version, values and `dependsOn` edges.
//!
//! Everything is deterministic for the same inputs and free of global state.
//!
//! ```
//! use bpkit::resolve::{InMemoryCatalog, Request, ResolveOptions, resolve};
//! use bpkit::model::{LoadOptions, load_str};
//!
//! let doc = |name: &str, version: &str, deps: &str| format!(
//!     "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: {name}\n  version: {version}\n\
//!      spec:\n  card: {{title: x}}\n  visibility: listed\n  depends: {deps}\n");
//! let mut catalog = InMemoryCatalog::new();
//! for (n, v, d) in [("bp-app", "1.0.0", "[{blueprint: bp-db, version: ^2}]"), ("bp-db", "2.1.0", "[]")] {
//!     let bp = load_str("inline", &doc(n, v, d), &LoadOptions::default()).blueprint.unwrap();
//!     catalog.insert(bp).unwrap();
//! }
//! let plan = resolve(&catalog, &Request::new("bp-app", "shop"), &ResolveOptions::default()).unwrap();
//! let order: Vec<_> = plan.applications.iter().map(|a| a.name.as_str()).collect();
//! assert_eq!(order, ["shop-db", "shop"]);
//! ```

mod catalog;
mod lock;
mod plan;
mod provider;
mod report;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use catalog::{Catalog, CatalogError, InMemoryCatalog};
pub use lock::{LOCK_VERSION, Lock, LockError, LockNode};
pub use plan::{Action, Edge, Plan, PlannedApp};
pub use provider::{Kind, Unavailable, merge_values};

use crate::version::{Constraint, Version};

/// An Application that is already installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Installed {
    /// The Application name.
    pub name: String,
    /// Its Blueprint.
    pub blueprint: String,
    /// The version it runs.
    #[serde(with = "version_text")]
    pub version: Version,
    /// Its configuration.
    #[serde(default)]
    pub config: Value,
}

mod version_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::version::Version;

    pub fn serialize<S: Serializer>(v: &Version, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        let text = String::deserialize(d)?;
        Version::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What to install.
#[derive(Debug, Clone)]
pub struct Request {
    /// The Blueprint.
    pub blueprint: String,
    /// A constraint on its version (`None`: the newest).
    pub version: Option<Constraint>,
    /// The Application: name, namespace, organisation, environment.
    pub app: crate::render::Application,
    /// The Application's configuration.
    pub values: Value,
    /// Applications already installed, reused by dependencies on their Blueprints.
    pub installed: Vec<Installed>,
    /// Keep installed Applications at their version when it satisfies every constraint
    /// (instead of upgrading them to the newest allowed version).
    pub prefer_installed: bool,
    /// Versions to keep when they satisfy every constraint, by Application name (from a
    /// lockfile).
    pub preferred: std::collections::BTreeMap<String, Version>,
}

impl Request {
    /// A request for the newest `blueprint` as Application `app`, with default configuration.
    pub fn new(blueprint: &str, app: &str) -> Self {
        Request {
            blueprint: blueprint.to_string(),
            version: None,
            app: crate::render::Application {
                name: app.to_string(),
                namespace: app.to_string(),
                org: String::new(),
                environment: String::new(),
            },
            values: Value::Object(serde_json::Map::new()),
            installed: Vec::new(),
            prefer_installed: true,
            preferred: std::collections::BTreeMap::new(),
        }
    }
}

/// A callback mapping (Blueprint, version, JSON Pointer) to a `file:line:col` text.
pub type Locate = Arc<dyn Fn(&str, &Version, &str) -> Option<String> + Send + Sync>;

/// Limits and hooks.
#[derive(Clone)]
pub struct ResolveOptions {
    /// The most solver steps.
    pub max_steps: usize,
    /// The most Applications in a plan.
    pub max_instances: usize,
    /// Template limits.
    pub render_limits: crate::render::Limits,
    /// Maps a place in a Blueprint to its file position, for messages.
    pub locate: Option<Locate>,
    /// Whether the requested configuration must be complete. `false` (a preview, `bpkit plan
    /// --partial`) ignores `required` properties the request does not fill in; everything
    /// else is still checked, and values passed to dependencies always are.
    pub require_complete_config: bool,
    /// Whether to ask the catalog for each Blueprint's content digest (for lockfiles); a
    /// directory catalog packages the Blueprint to know it.
    pub digests: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            max_steps: 2_000_000,
            max_instances: 10_000,
            render_limits: crate::render::Limits::default(),
            locate: None,
            require_complete_config: true,
            digests: true,
        }
    }
}

impl std::fmt::Debug for ResolveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolveOptions")
            .field("max_steps", &self.max_steps)
            .field("max_instances", &self.max_instances)
            .finish()
    }
}

/// Why there is no plan.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    /// No versions satisfy everything; the report explains why, step by step.
    #[error("no install plan for `{app}` (`{blueprint}`)\n{report}")]
    NoSolution {
        /// The Application.
        app: String,
        /// The Blueprint.
        blueprint: String,
        /// The explanation, one fact per line.
        report: String,
        /// Blueprints that are referred to but not in the catalog.
        missing: Vec<String>,
        /// Cycles found, as Blueprint chains.
        cycles: Vec<Vec<String>>,
    },
    /// The install order has a cycle (through shared instances).
    #[error("the Applications depend on each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// Values that parents give one shared instance disagree.
    #[error("{0}")]
    SharedValues(String),
    /// The solver gave up.
    #[error("{0}")]
    Budget(String),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A dependency's outputs differ between the version used to plan and the one chosen.
    #[error("{0}")]
    Outputs(String),
}

/// How many rounds [`resolve`] runs at most to settle the values of shared instances.
pub const MAX_SHARED_ROUNDS: usize = 5;

/// Resolves a request against a catalog.
///
/// A shared instance's own `when` conditions depend on the values its parents give it, which
/// are known only once the parents are resolved. So resolution runs in rounds: each round
/// resolves with the shared values of the previous one, until they no longer change (usually
/// the second round; at most [`MAX_SHARED_ROUNDS`]).
pub fn resolve(
    catalog: &dyn Catalog,
    request: &Request,
    opts: &ResolveOptions,
) -> Result<Plan, ResolveError> {
    let mut shared = std::collections::BTreeMap::new();
    let schemas = provider::SchemaCache::default();
    for _ in 0..MAX_SHARED_ROUNDS {
        let (plan, next) = resolve_round(catalog, request, opts, shared.clone(), &schemas)?;
        if next == shared {
            return Ok(plan);
        }
        shared = next;
    }
    Err(ResolveError::SharedValues(format!(
        "the values of shared Applications did not settle after {MAX_SHARED_ROUNDS} rounds; a shared Application's dependencies change the values it is given"
    )))
}

fn resolve_round(
    catalog: &dyn Catalog,
    request: &Request,
    opts: &ResolveOptions,
    shared: std::collections::BTreeMap<String, Value>,
    schemas: &provider::SchemaCache,
) -> Result<(Plan, std::collections::BTreeMap<String, Value>), ResolveError> {
    let provider = provider::Provider::new(catalog, request, opts, shared, schemas);
    let solution = match pubgrub::resolve(&provider, provider.root.clone(), Version::new(0, 0, 0)) {
        Ok(s) => s,
        Err(pubgrub::PubGrubError::NoSolution(tree)) => {
            return Err(report::no_solution(&provider, &tree));
        }
        Err(pubgrub::PubGrubError::ErrorRetrievingDependencies {
            source,
            package,
            version,
        }) => {
            return Err(match source {
                provider::ProviderError::Catalog(c) => ResolveError::Catalog(c),
                other => ResolveError::Budget(format!("{package} {version}: {other}")),
            });
        }
        Err(pubgrub::PubGrubError::ErrorChoosingVersion { source, .. }) => {
            return Err(match source {
                provider::ProviderError::Catalog(c) => ResolveError::Catalog(c),
                other => ResolveError::Budget(other.to_string()),
            });
        }
        Err(pubgrub::PubGrubError::ErrorInShouldCancel(e)) => {
            return Err(ResolveError::Budget(e.to_string()));
        }
    };
    plan::build(&provider, &solution)
}
