//! The PubGrub dependency provider: Application instances as packages.
//!
//! A package is an *instance*: an Application with a name, the Blueprint it runs and the
//! configuration it is given. The configuration is part of the identity, because `when`
//! conditions and the values passed on depend on it; a version of a package therefore always
//! has the same dependencies, as PubGrub requires.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics, Ranges,
};
use serde_json::Value;

use super::catalog::{Catalog, CatalogError};
use super::{Installed, Request, ResolveOptions};
use crate::model::{Blueprint, NAME_PREFIX};
use crate::render::{self, BlueprintRef, Context, PreparedContext, Renderer, Template};
use crate::validate::config::{ConfigSchema, SchemaOptions};
use crate::version::{Constraint, Version};

/// What an instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The synthetic package standing for the request.
    Root,
    /// An Application of its own (the requested one, or a per-parent dependency).
    Owned,
    /// A shared, cluster-wide instance (`shared: true`).
    Shared,
    /// An Application that is already installed and is reused.
    Installed,
}

/// A package: one Application instance.
#[derive(Clone)]
pub struct Pkg(pub(crate) Arc<PkgInner>);

pub(crate) struct PkgInner {
    pub kind: Kind,
    pub app: String,
    pub blueprint: String,
    pub config: Value,
    config_hash: u64,
    /// Blueprints from the top of this instance's ownership chain down to it.
    pub chain: Vec<String>,
    /// Index into the request's installed Applications.
    pub installed: Option<usize>,
    /// Where the config came from: (parent blueprint, parent version, depends index).
    pub origin: Option<(String, String, usize)>,
    /// What the provider remembers about the instance while it resolves (not part of its
    /// identity). The solver hands the provider the same stored `Pkg` for one instance every
    /// time, so these make `prioritize` and `choose_version` lookups without hashing.
    memo: PkgMemo,
}

/// Per-instance memory of the provider.
#[derive(Default)]
struct PkgMemo {
    /// The catalog versions of the Blueprint, ascending.
    versions: OnceLock<Arc<Vec<Version>>>,
    /// Whether the solver has asked for the dependencies of any version.
    explored: AtomicBool,
}

impl Pkg {
    pub(crate) fn new(
        kind: Kind,
        app: String,
        blueprint: String,
        config: Value,
        chain: Vec<String>,
        installed: Option<usize>,
        origin: Option<(String, String, usize)>,
    ) -> Self {
        // The hash of the config's JSON text, written straight into the hasher.
        struct HashWriter<'h>(&'h mut std::collections::hash_map::DefaultHasher);
        impl std::io::Write for HashWriter<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.write(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        // Serializing a `Value` into a writer that never fails cannot fail.
        let _ = serde_json::to_writer(HashWriter(&mut h), &config);
        Pkg(Arc::new(PkgInner {
            kind,
            app,
            blueprint,
            config_hash: h.finish(),
            config,
            chain,
            installed,
            origin,
            memo: PkgMemo::default(),
        }))
    }

    /// The Application name.
    pub fn app(&self) -> &str {
        &self.0.app
    }

    /// The Blueprint.
    pub fn blueprint(&self) -> &str {
        &self.0.blueprint
    }

    /// The kind of instance.
    pub fn kind(&self) -> Kind {
        self.0.kind
    }

    /// The configuration given to the instance (before schema defaults).
    pub fn config(&self) -> &Value {
        &self.0.config
    }
}

impl PartialEq for Pkg {
    fn eq(&self, o: &Self) -> bool {
        let (a, b) = (&self.0, &o.0);
        a.kind == b.kind
            && a.app == b.app
            && a.blueprint == b.blueprint
            && a.config_hash == b.config_hash
            && a.config == b.config
    }
}
impl Eq for Pkg {}
impl Hash for Pkg {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.kind.hash(h);
        self.0.app.hash(h);
        self.0.blueprint.hash(h);
        self.0.config_hash.hash(h);
    }
}
impl fmt::Debug for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}
impl fmt::Display for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.kind {
            Kind::Root => write!(f, "the request"),
            Kind::Installed => write!(
                f,
                "`{}` (existing Application `{}`)",
                self.0.blueprint, self.0.app
            ),
            Kind::Shared => write!(
                f,
                "`{}` (shared Application `{}`)",
                self.0.blueprint, self.0.app
            ),
            Kind::Owned => write!(f, "`{}` (Application `{}`)", self.0.blueprint, self.0.app),
        }
    }
}

/// Why a version of an instance cannot be used: PubGrub's custom incompatibilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The Blueprint itself is broken (its configSchema, a constraint or a template).
    Invalid(String),
    /// The configuration given to the instance does not satisfy its configSchema.
    Config(String),
    /// A `when` or `values` template failed.
    Template(String),
    /// Following `depends` leads back to a Blueprint already on the path.
    Cycle(Vec<String>),
    /// An installed Application cannot move to this version.
    Upgrade(String),
    /// Two installed Applications could serve one dependency.
    Ambiguous(String),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::Invalid(m)
            | Unavailable::Config(m)
            | Unavailable::Template(m)
            | Unavailable::Upgrade(m)
            | Unavailable::Ambiguous(m) => f.write_str(m),
            Unavailable::Cycle(chain) => write!(
                f,
                "dependency cycle: {}",
                chain
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ),
        }
    }
}

/// The resolver ran out of budget, or the catalog failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Too many steps.
    #[error(
        "resolution took more than {0} steps; the catalog is too large or too tangled for the budget"
    )]
    Budget(usize),
    /// Too many instances.
    #[error("the plan would hold more than {0} Applications")]
    TooManyInstances(usize),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// One `depends` entry as seen for one version of a parent.
#[derive(Debug, Clone)]
pub struct EdgeInfo {
    /// Index in `depends`.
    pub index: usize,
    /// The alias (or short name).
    pub alias: String,
    /// The Blueprint depended on.
    pub blueprint: String,
    /// The constraint text, if any.
    pub constraint: Option<String>,
    /// The `when` text, if any.
    pub when: Option<String>,
    /// Whether the dependency applies.
    pub active: bool,
    /// The child instance (for active edges).
    pub child: Option<Pkg>,
    /// Whether the edge binds to a shared or installed instance.
    pub shared: bool,
}

/// The edges recorded for each (instance, version) the solver looked at.
pub(crate) type EdgeMap = HashMap<(Pkg, Version), Arc<Vec<EdgeInfo>>>;

/// Compiled configSchemas by Blueprint and version, shared by the rounds of one resolution.
pub(crate) type SchemaCache = Mutex<HashMap<(String, Version), Arc<Result<ConfigSchema, String>>>>;

/// The provider.
pub struct Provider<'a> {
    pub(crate) catalog: &'a dyn Catalog,
    pub(crate) request: &'a Request,
    pub(crate) opts: &'a ResolveOptions,
    pub(crate) renderer: Renderer,
    versions: Mutex<HashMap<String, Arc<Vec<Version>>>>,
    schemas: &'a SchemaCache,
    default_schema: Mutex<Option<Arc<Result<ConfigSchema, String>>>>,
    pub(crate) edges: Mutex<EdgeMap>,
    pub(crate) constraint_text: Mutex<HashMap<(Pkg, Pkg), String>>,
    steps: AtomicUsize,
    instances: Mutex<std::collections::HashSet<String>>,
    pub(crate) root: Pkg,
    pub(crate) top: Pkg,
    /// The configuration of shared instances, by Application name: what their parents gave
    /// them in the previous round (see [`super::resolve`]).
    shared_configs: BTreeMap<String, Value>,
}

impl<'a> Provider<'a> {
    pub(crate) fn new(
        catalog: &'a dyn Catalog,
        request: &'a Request,
        opts: &'a ResolveOptions,
        shared_configs: BTreeMap<String, Value>,
        schemas: &'a SchemaCache,
    ) -> Self {
        let root = Pkg::new(
            Kind::Root,
            String::new(),
            String::new(),
            Value::Null,
            Vec::new(),
            None,
            None,
        );
        let installed = request
            .installed
            .iter()
            .position(|i| i.name == request.app.name && i.blueprint == request.blueprint);
        let top = Pkg::new(
            if installed.is_some() {
                Kind::Installed
            } else {
                Kind::Owned
            },
            request.app.name.clone(),
            request.blueprint.clone(),
            request.values.clone(),
            vec![request.blueprint.clone()],
            installed,
            None,
        );
        Provider {
            catalog,
            request,
            opts,
            renderer: Renderer::with_limits(opts.render_limits),
            versions: Mutex::default(),
            schemas,
            default_schema: Mutex::default(),
            edges: Mutex::default(),
            constraint_text: Mutex::default(),
            steps: AtomicUsize::new(0),
            instances: Mutex::default(),
            root,
            top,
            shared_configs,
        }
    }

    /// The versions of a Blueprint, ascending (cached).
    pub(crate) fn versions(&self, name: &str) -> Result<Arc<Vec<Version>>, CatalogError> {
        if let Some(v) = lock(&self.versions).get(name) {
            return Ok(v.clone());
        }
        let mut v = self.catalog.versions(name)?;
        if !v.is_sorted() {
            // Binary searches below need the order; a stable sort keeps equal versions (builds
            // of one release) in the catalog's order.
            v.sort();
        }
        let v = Arc::new(v);
        lock(&self.versions).insert(name.to_string(), v.clone());
        Ok(v)
    }

    /// The versions of an instance's Blueprint, ascending, remembered on the instance.
    fn versions_of(&self, pkg: &Pkg) -> Result<Arc<Vec<Version>>, CatalogError> {
        if let Some(v) = pkg.0.memo.versions.get() {
            return Ok(v.clone());
        }
        let v = self.versions(&pkg.0.blueprint)?;
        Ok(pkg.0.memo.versions.get_or_init(|| v).clone())
    }

    fn schema(&self, bp: &Blueprint, version: &Version) -> Arc<Result<ConfigSchema, String>> {
        if bp.spec.config_schema.is_none() {
            // Blueprints without a configSchema share one compiled "any object" schema.
            let mut d = lock(&self.default_schema);
            if let Some(s) = d.as_ref() {
                return s.clone();
            }
            let s = Arc::new(
                ConfigSchema::compile(
                    &serde_json::json!({"type": "object"}),
                    &SchemaOptions::default(),
                )
                .map_err(|_| "the default schema does not compile".to_string()),
            );
            *d = Some(s.clone());
            return s;
        }
        let key = (bp.name().to_string(), version.clone());
        if let Some(s) = lock(self.schemas).get(&key) {
            return s.clone();
        }
        let schema = bp
            .spec
            .config_schema
            .clone()
            .unwrap_or_else(|| serde_json::json!({"type": "object"}));
        let compiled =
            ConfigSchema::compile(&schema, &SchemaOptions::default()).map_err(|issues| {
                let first = issues.first().map(ToString::to_string).unwrap_or_default();
                format!("its configSchema is not a valid JSON Schema: {first}")
            });
        let s = Arc::new(compiled);
        lock(self.schemas).insert(key, s.clone());
        s
    }

    /// Checks the final configuration of a shared instance (defaults, then every parent's
    /// values) against its configSchema.
    pub(crate) fn check_shared(
        &self,
        app: &str,
        bp: &Blueprint,
        version: &Version,
        values: &Value,
    ) -> Result<(), String> {
        let schema = self.schema(bp, version);
        let schema = schema.as_ref().as_ref().map_err(Clone::clone)?;
        let mut config = schema.defaults();
        merge_values(&mut config, values);
        let mut violations = schema.validate(&config);
        if !self.opts.require_complete_config {
            violations.retain(|v| v.keyword != "required");
        }
        match violations.first() {
            None => Ok(()),
            Some(v) => Err(format!(
                "the values the parents give shared Application `{app}` (`{}` {version}) do not satisfy its configSchema: {v}",
                bp.name()
            )),
        }
    }

    /// The effective configuration of an instance at a version: schema defaults, then the
    /// instance's own values.
    pub(crate) fn effective_config(
        &self,
        pkg: &Pkg,
        bp: &Blueprint,
        version: &Version,
    ) -> Result<Value, Unavailable> {
        let schema = self.schema(bp, version);
        let schema = schema
            .as_ref()
            .as_ref()
            .map_err(|e| Unavailable::Invalid(e.clone()))?;
        let mut config = schema.defaults();
        merge_values(&mut config, &pkg.0.config);
        let mut violations = schema.validate(&config);
        let preview = !self.opts.require_complete_config
            && pkg.0.kind == Kind::Owned
            && pkg.0.origin.is_none();
        if preview || pkg.0.kind == Kind::Shared {
            // A preview: the user has not filled in the required fields yet. A shared instance
            // gets its values from every parent; they are merged and checked in full once the
            // versions are chosen (see `plan`).
            violations.retain(|v| v.keyword != "required");
        }
        if let Some(v) = violations.first() {
            let from = match &pkg.0.origin {
                Some((parent, pv, i)) => {
                    let at = self
                        .catalog_location(parent, pv, &format!("/spec/depends/{i}/values"))
                        .map(|l| format!(" (values from {l})"))
                        .unwrap_or_default();
                    format!("the values that `{parent}` {pv} passes in `depends[{i}]`{at} do")
                }
                None if pkg.0.kind == Kind::Installed => {
                    "the installed configuration does".to_string()
                }
                None => "the requested configuration does".to_string(),
            };
            let more = if violations.len() > 1 {
                format!(" (and {} more)", violations.len() - 1)
            } else {
                String::new()
            };
            return Err(Unavailable::Config(format!(
                "{from} not satisfy its configSchema: {}{more}",
                v
            )));
        }
        Ok(config)
    }

    fn catalog_location(&self, name: &str, version: &str, pointer: &str) -> Option<String> {
        let v = Version::parse_strict(version).ok()?;
        self.catalog_locate(name, &v, pointer)
    }

    pub(crate) fn catalog_locate(
        &self,
        name: &str,
        version: &Version,
        pointer: &str,
    ) -> Option<String> {
        self.opts
            .locate
            .as_ref()
            .and_then(|f| f(name, version, pointer))
    }

    pub(crate) fn app_context(&self, app: &str) -> render::Application {
        render::Application {
            name: app.to_string(),
            namespace: self.request.app.namespace.clone(),
            org: self.request.app.org.clone(),
            environment: self.request.app.environment.clone(),
        }
    }

    /// The outputs a Blueprint advertises, rendered for the Application `app` with `values`
    /// (what the parent passes) over the Blueprint's defaults. Each output is rendered on its
    /// own: one that cannot be rendered is left out, and a parent that reads it gets a clear
    /// "no key" error.
    pub(crate) fn outputs_of(
        &self,
        bp: &Blueprint,
        version: &Version,
        app: &str,
        values: &Value,
    ) -> Value {
        let mut out = serde_json::Map::new();
        if bp.spec.outputs.is_empty() {
            return Value::Object(out);
        }
        let schema = self.schema(bp, version);
        let mut config = schema
            .as_ref()
            .as_ref()
            .map(ConfigSchema::defaults)
            .unwrap_or(Value::Object(serde_json::Map::new()));
        merge_values(&mut config, values);
        let ctx = Context {
            application: self.app_context(app),
            config,
            blueprint: BlueprintRef {
                name: bp.name().to_string(),
                version: version.to_string(),
            },
            outputs: BTreeMap::new(),
        };
        // A context that cannot be prepared fails every output, as each render would.
        let Ok(prepared) = self.renderer.prepare_context(&ctx) else {
            return Value::Object(out);
        };
        for (k, v) in &bp.spec.outputs {
            if let Ok(r) = self.renderer.render_value_prepared(v, &prepared) {
                out.insert(k.clone(), r);
            }
        }
        Value::Object(out)
    }

    /// The values a parent passes to each of its `depends` edges, with `.outputs` of the
    /// children given (`children[i]`: the child's Blueprint, version and Application name, or
    /// `None` when it is not known). Three steps, so that outputs may depend on the values a
    /// parent passes and values may read the outputs: render values without outputs (skipping
    /// what needs them), render each child's outputs with those values, then render the values
    /// in full. Inactive edges get `Null`.
    pub(crate) fn edge_values(
        &self,
        bp: &Blueprint,
        base: &Context,
        active: &[bool],
        children: &[Option<(Arc<Blueprint>, Version, String)>],
    ) -> Result<Vec<Value>, Box<(usize, crate::render::RenderError)>> {
        let empty_or_null = |i: usize| {
            if active.get(i).copied().unwrap_or(false) {
                Value::Object(serde_json::Map::new())
            } else {
                Value::Null
            }
        };
        if bp.spec.depends.iter().all(|d| d.values.is_none()) {
            // Nothing to render: no context, no outputs.
            return Ok((0..bp.spec.depends.len()).map(empty_or_null).collect());
        }
        let mut outputs = BTreeMap::new();
        let mut base_prepared = None;
        for (i, d) in bp.spec.depends.iter().enumerate() {
            let (Some(Some((cbp, cv, capp))), true) =
                (children.get(i), active.get(i).copied().unwrap_or(false))
            else {
                continue;
            };
            let partial = match &d.values {
                Some(v) => {
                    let prepared = base_prepared
                        .get_or_insert_with(|| self.renderer.prepare_context(base).ok());
                    render_tolerant(&self.renderer, v, prepared.as_ref())
                }
                None => Value::Null,
            };
            outputs.insert(
                d.local_name().to_string(),
                self.outputs_of(cbp, cv, capp, &partial),
            );
        }
        let ctx = Context {
            outputs,
            ..base.clone()
        };
        let mut out = Vec::with_capacity(bp.spec.depends.len());
        let mut prepared = None;
        for (i, d) in bp.spec.depends.iter().enumerate() {
            if !active.get(i).copied().unwrap_or(false) {
                out.push(Value::Null);
                continue;
            }
            out.push(match &d.values {
                None => Value::Object(serde_json::Map::new()),
                Some(v) => {
                    let p = prepared.get_or_insert_with(|| self.renderer.prepare_context(&ctx));
                    match p {
                        Ok(p) => self.renderer.render_value_prepared(v, p),
                        Err(e) => Err(e.clone()),
                    }
                    .map_err(|e| Box::new((i, e)))?
                }
            });
        }
        Ok(out)
    }

    fn installed_for(
        &self,
        blueprint: &str,
        default_name: &str,
    ) -> Result<Option<usize>, Unavailable> {
        let matches: Vec<usize> = self
            .request
            .installed
            .iter()
            .enumerate()
            .filter(|(_, i)| i.blueprint == blueprint && i.name != self.request.app.name)
            .map(|(n, _)| n)
            .collect();
        match matches.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => {
                if let Some(n) = many
                    .iter()
                    .find(|&&n| self.request.installed[n].name == default_name)
                {
                    return Ok(Some(*n));
                }
                let names: Vec<String> = many
                    .iter()
                    .map(|&n| format!("`{}`", self.request.installed[n].name))
                    .collect();
                Err(Unavailable::Ambiguous(format!(
                    "several installed Applications run `{blueprint}` ({}); none is named `{default_name}`",
                    names.join(", ")
                )))
            }
        }
    }

    /// Whether an installed Application may move from its version to `to`.
    fn upgrade_allowed(
        &self,
        inst: &Installed,
        bp: &Blueprint,
        to: &Version,
    ) -> Result<(), Unavailable> {
        let from = &inst.version;
        if to == from {
            return Ok(());
        }
        if to < from {
            return Err(Unavailable::Upgrade(format!(
                "existing Application `{}` runs `{}` {from}; {to} would be a downgrade",
                inst.name, inst.blueprint
            )));
        }
        let up = bp.spec.upgrades.clone().unwrap_or_default();
        for b in &up.blocks {
            if Constraint::parse(b).is_ok_and(|c| c.matches(from)) {
                return Err(Unavailable::Upgrade(format!(
                    "existing Application `{}` runs `{}` {from}; {to} blocks upgrades from `{b}` (recreate the Application instead)",
                    inst.name, inst.blueprint
                )));
            }
        }
        if up
            .from
            .iter()
            .any(|f| Constraint::parse(f).is_ok_and(|c| c.matches(from)))
        {
            return Ok(());
        }
        let allowed = if up.from.is_empty() {
            "declares no `upgrades.from`".to_string()
        } else {
            format!(
                "allows upgrades only from {}",
                up.from
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Err(Unavailable::Upgrade(format!(
            "existing Application `{}` runs `{}` {from}, and {to} {allowed}",
            inst.name, inst.blueprint
        )))
    }

    fn range_for(
        &self,
        blueprint: &str,
        constraint: Option<&Constraint>,
    ) -> Result<Ranges<Version>, CatalogError> {
        let versions = self.versions(blueprint)?;
        Ok(catalog_ranges(&versions, |v| {
            constraint.is_none_or(|c| c.matches(v))
        }))
    }

    fn deps_of(
        &self,
        pkg: &Pkg,
        version: &Version,
    ) -> Result<Dependencies<Pkg, Ranges<Version>, Unavailable>, ProviderError> {
        let bp = self.catalog.get(&pkg.0.blueprint, version)?;
        if let Some(i) = pkg.0.installed
            && let Err(u) = self.upgrade_allowed(&self.request.installed[i], &bp, version)
        {
            return Ok(Dependencies::Unavailable(u));
        }
        let config = match self.effective_config(pkg, &bp, version) {
            Ok(c) => c,
            Err(u) => return Ok(Dependencies::Unavailable(u)),
        };
        let mut edges = Vec::new();
        let mut deps: indexmap::IndexMap<Pkg, Ranges<Version>> = indexmap::IndexMap::new();
        // Who each edge binds to, and its version range.
        let mut planned = Vec::new();
        for (i, d) in bp.spec.depends.iter().enumerate() {
            let constraint = match d.version.as_deref().map(Constraint::parse).transpose() {
                Ok(c) => c,
                Err(e) => {
                    return Ok(Dependencies::Unavailable(Unavailable::Invalid(format!(
                        "`depends[{i}].version` `{}` is not a valid constraint: {e}",
                        d.version.as_deref().unwrap_or("")
                    ))));
                }
            };
            let range = self.range_for(&d.blueprint, constraint.as_ref())?;
            let default_name = format!("{}-{}", pkg.0.app, d.local_name());
            let installed = match self.installed_for(&d.blueprint, &default_name) {
                Ok(x) => x,
                Err(u) => return Ok(Dependencies::Unavailable(u)),
            };
            let (kind, app) = match installed {
                Some(n) => (Kind::Installed, self.request.installed[n].name.clone()),
                None if d.shared => (
                    Kind::Shared,
                    d.blueprint
                        .strip_prefix(NAME_PREFIX)
                        .unwrap_or(&d.blueprint)
                        .to_string(),
                ),
                None => (Kind::Owned, default_name),
            };
            planned.push((i, d, range, installed, kind, app));
        }
        let ctx = Context {
            application: self.app_context(&pkg.0.app),
            config,
            blueprint: BlueprintRef {
                name: bp.name().to_string(),
                version: version.to_string(),
            },
            outputs: BTreeMap::new(),
        };
        // Which edges apply: `when` sees the parent's configuration.
        let mut active = Vec::with_capacity(planned.len());
        let mut prepared = None;
        for (i, d, ..) in &planned {
            active.push(match &d.when {
                None => true,
                Some(w) => {
                    let p = prepared.get_or_insert_with(|| self.renderer.prepare_context(&ctx));
                    let decided = Template::parse(w).and_then(|t| match p {
                        Ok(p) => self.renderer.eval_condition_prepared(&t, p),
                        Err(e) => Err(e.clone()),
                    });
                    match decided {
                        Ok(b) => b,
                        Err(e) => {
                            return Ok(Dependencies::Unavailable(Unavailable::Template(format!(
                                "`depends[{i}].when` failed: {}",
                                e.message()
                            ))));
                        }
                    }
                }
            });
        }
        // Values, with the outputs of the newest candidate of each child. Outputs are only read
        // by `values` templates: without any, the children are not loaded.
        let renders_values = bp.spec.depends.iter().any(|d| d.values.is_some());
        let mut children = Vec::with_capacity(planned.len());
        for (_, d, range, _, _, app) in &planned {
            if !renders_values {
                children.push(None);
                continue;
            }
            let versions = self.versions(&d.blueprint)?;
            let newest = versions.iter().rev().find(|v| range.contains(v)).cloned();
            children.push(match newest {
                Some(v) => self
                    .catalog
                    .get(&d.blueprint, &v)
                    .ok()
                    .map(|b| (b, v, app.clone())),
                None => None,
            });
        }
        let values = match self.edge_values(&bp, &ctx, &active, &children) {
            Ok(v) => v,
            Err(b) => {
                let (i, e) = *b;
                let at = e
                    .pointer()
                    .map(|p| format!(" at `{p}`"))
                    .unwrap_or_default();
                return Ok(Dependencies::Unavailable(Unavailable::Template(format!(
                    "`depends[{i}].values`{at} failed: {}",
                    e.message()
                ))));
            }
        };
        for ((i, d, range, installed, kind, app), (active, values)) in
            planned.into_iter().zip(active.into_iter().zip(values))
        {
            let mut edge = EdgeInfo {
                index: i,
                alias: d.local_name().to_string(),
                blueprint: d.blueprint.clone(),
                constraint: d.version.clone(),
                when: d.when.clone(),
                active,
                child: None,
                shared: kind != Kind::Owned,
            };
            if active {
                let child = match kind {
                    Kind::Owned => {
                        let mut chain = pkg.0.chain.clone();
                        chain.push(d.blueprint.clone());
                        if pkg.0.chain.contains(&d.blueprint) {
                            return Ok(Dependencies::Unavailable(Unavailable::Cycle(chain)));
                        }
                        Pkg::new(
                            kind,
                            app,
                            d.blueprint.clone(),
                            values,
                            chain,
                            None,
                            Some((bp.name().to_string(), version.to_string(), i)),
                        )
                    }
                    Kind::Installed => {
                        let n = installed.unwrap_or(0);
                        let inst = &self.request.installed[n];
                        Pkg::new(
                            kind,
                            app,
                            d.blueprint.clone(),
                            inst.config.clone(),
                            vec![d.blueprint.clone()],
                            Some(n),
                            None,
                        )
                    }
                    _ => {
                        let config = self
                            .shared_configs
                            .get(&app)
                            .cloned()
                            .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
                        Pkg::new(
                            kind,
                            app,
                            d.blueprint.clone(),
                            config,
                            vec![d.blueprint.clone()],
                            None,
                            None,
                        )
                    }
                };
                self.note_instance(&child)?;
                if let Some(text) = &d.version {
                    lock(&self.constraint_text).insert((pkg.clone(), child.clone()), text.clone());
                }
                let r = match deps.get(&child) {
                    Some(existing) => existing.intersection(&range),
                    None => range,
                };
                deps.insert(child.clone(), r);
                edge.child = Some(child);
            }
            edges.push(edge);
        }
        lock(&self.edges).insert((pkg.clone(), version.clone()), Arc::new(edges));
        Ok(Dependencies::Available(
            deps.into_iter().collect::<DependencyConstraints<_, _>>(),
        ))
    }

    fn note_instance(&self, p: &Pkg) -> Result<(), ProviderError> {
        let mut set = lock(&self.instances);
        if !set.contains(&p.0.app) {
            set.insert(p.0.app.clone());
        }
        if set.len() > self.opts.max_instances {
            return Err(ProviderError::TooManyInstances(self.opts.max_instances));
        }
        Ok(())
    }
}

/// Deep merge with Helm's rules: maps merge, anything else replaces, `null` deletes.
pub fn merge_values(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.shift_remove(k);
                } else if let Some(existing) = b.get_mut(k) {
                    merge_values(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DependencyProvider for Provider<'_> {
    type P = Pkg;
    type V = Version;
    type VS = Ranges<Version>;
    type M = Unavailable;
    /// Conflicts first (PubGrub's statistics), then instances whose dependencies are not known
    /// yet, then the fewest versions left; ties go to the instance the solver met first.
    type Priority = (u32, bool, Reverse<usize>);
    type Err = ProviderError;

    fn prioritize(
        &self,
        package: &Pkg,
        range: &Ranges<Version>,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        // An instance whose dependencies are still unknown goes before those already explored:
        // after a backjump the solver re-decides the instances it knows (their versions do not
        // change), and deciding the unknown ones first brings the next conflict to light before
        // much is built on top of a choice that will be undone. Without it, each of many local
        // conflicts costs a replay of everything decided before it (quadratic).
        let unexplored = !package.0.memo.explored.load(Ordering::Relaxed);
        let n = self
            .versions_of(package)
            .map(|v| count_in(&v, range))
            .unwrap_or(0);
        (stats.conflict_count(), unexplored, Reverse(n))
    }

    fn choose_version(
        &self,
        package: &Pkg,
        range: &Ranges<Version>,
    ) -> Result<Option<Version>, ProviderError> {
        if package.0.kind == Kind::Root {
            let v = Version::new(0, 0, 0);
            return Ok(range.contains(&v).then_some(v));
        }
        if let Some(i) = package.0.installed {
            let iv = &self.request.installed[i].version;
            // Ranges decide only catalog versions (see `catalog_ranges`): an installed version
            // the catalog does not have is never picked.
            if range.contains(iv)
                && self.request.prefer_installed
                && self.versions(&package.0.blueprint)?.contains(iv)
            {
                return Ok(Some(iv.clone()));
            }
        }
        if let Some(pinned) = self.request.preferred.get(&package.0.app)
            && range.contains(pinned)
            && self.versions(&package.0.blueprint)?.contains(pinned)
        {
            return Ok(Some(pinned.clone()));
        }
        Ok(newest_in(&self.versions_of(package)?, range).cloned())
    }

    fn get_dependencies(
        &self,
        package: &Pkg,
        version: &Version,
    ) -> Result<Dependencies<Pkg, Ranges<Version>, Unavailable>, ProviderError> {
        package.0.memo.explored.store(true, Ordering::Relaxed);
        if package.0.kind == Kind::Root {
            let top = self.top.clone();
            let range = self.range_for(&top.0.blueprint, self.request.version.as_ref())?;
            if let Some(c) = &self.request.version {
                lock(&self.constraint_text).insert((package.clone(), top.clone()), c.to_string());
            }
            return Ok(Dependencies::Available(
                std::iter::once((top, range)).collect(),
            ));
        }
        self.deps_of(package, version)
    }

    fn should_cancel(&self) -> Result<(), ProviderError> {
        let n = self.steps.fetch_add(1, Ordering::Relaxed);
        if n > self.opts.max_steps {
            return Err(ProviderError::Budget(self.opts.max_steps));
        }
        Ok(())
    }
}

/// How many of `versions` (ascending) lie in `range`: two binary searches per interval.
fn count_in(versions: &[Version], range: &Ranges<Version>) -> usize {
    range
        .iter()
        .map(|(low, high)| {
            let (a, b) = bounds_in(versions, low, high);
            b.saturating_sub(a)
        })
        .sum()
}

/// The newest of `versions` (ascending) in `range`, from the top interval down.
fn newest_in<'v>(versions: &'v [Version], range: &Ranges<Version>) -> Option<&'v Version> {
    let intervals: Vec<_> = range.iter().collect();
    intervals.iter().rev().find_map(|(low, high)| {
        let (a, b) = bounds_in(versions, low, high);
        (b > a).then(|| &versions[b - 1])
    })
}

/// The index range of `versions` (ascending) between two bounds.
fn bounds_in(
    versions: &[Version],
    low: &std::ops::Bound<Version>,
    high: &std::ops::Bound<Version>,
) -> (usize, usize) {
    use std::ops::Bound;
    let a = match low {
        Bound::Unbounded => 0,
        Bound::Included(l) => versions.partition_point(|v| v < l),
        Bound::Excluded(l) => versions.partition_point(|v| v <= l),
    };
    let b = match high {
        Bound::Unbounded => versions.len(),
        Bound::Included(h) => versions.partition_point(|v| v <= h),
        Bound::Excluded(h) => versions.partition_point(|v| v < h),
    };
    (a, b.max(a))
}

/// The set of the catalog's `versions` (ascending) that `keep` accepts, as few intervals as
/// possible: each run of consecutive accepted versions `a ..= b` becomes one interval
/// `(version before a, b]` (unbounded below when `a` is the oldest).
///
/// A version that is not in the catalog then falls in a set exactly when the next catalog
/// version above it does (and in none above the newest), so every set built from these, by
/// union, intersection or complement, holds a non-catalog version only together with a catalog
/// one: the solver reaches the same conclusions as with one singleton per version, and
/// `choose_version` only ever picks catalog versions. A set of singletons costs one interval
/// per version in every operation of the solver; this costs one per run.
pub(crate) fn catalog_ranges(
    versions: &[Version],
    keep: impl Fn(&Version) -> bool,
) -> Ranges<Version> {
    use std::ops::Bound;
    let mut sorted: Vec<&Version> = versions.iter().collect();
    if !sorted.is_sorted() {
        sorted.sort();
    }
    // One entry per distinct version (by precedence): accepted when any of its builds is.
    let mut points: Vec<(&Version, bool)> = Vec::with_capacity(sorted.len());
    for v in sorted {
        let k = keep(v);
        match points.last_mut() {
            Some((last, acc)) if *last == v => *acc |= k,
            _ => points.push((v, k)),
        }
    }
    let mut segments = Vec::new();
    let mut i = 0;
    while i < points.len() {
        if !points[i].1 {
            i += 1;
            continue;
        }
        let start = i;
        while i + 1 < points.len() && points[i + 1].1 {
            i += 1;
        }
        let low = match start.checked_sub(1) {
            Some(p) => Bound::Excluded(points[p].0.clone()),
            None => Bound::Unbounded,
        };
        segments.push((low, Bound::Included(points[i].0.clone())));
        i += 1;
    }
    segments.into_iter().collect()
}

/// Renders every template string it can; leaves that fail are left out. `ctx` is `None` when
/// the context could not be prepared: then every template fails.
fn render_tolerant(r: &Renderer, v: &Value, ctx: Option<&PreparedContext>) -> Value {
    let render = |v: &Value| match ctx {
        Some(p) => r.render_value_prepared(v, p).ok(),
        None => None,
    };
    match v {
        Value::String(s) if s.contains("{{") => render(v).unwrap_or(Value::Null),
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                let key = if k.contains("{{") {
                    match render(&Value::String(k.clone())) {
                        Some(Value::String(s)) => s,
                        _ => continue,
                    }
                } else {
                    k.clone()
                };
                let val = render_tolerant(r, x, ctx);
                if !val.is_null() || x.is_null() {
                    out.insert(key, val);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| render_tolerant(r, x, ctx)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn catalog(n: u64) -> Vec<Version> {
        // Releases and a prerelease between each, so that gaps hold versions too.
        (1..=n)
            .flat_map(|m| {
                [
                    Version::parse(&format!("{m}.0.0-rc.1")).unwrap(),
                    Version::new(m, 0, 0),
                ]
            })
            .collect()
    }

    fn singletons(versions: &[Version], keep: &[bool]) -> Ranges<Version> {
        versions
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .fold(Ranges::empty(), |acc, (v, _)| {
                acc.union(&Ranges::singleton(v.clone()))
            })
    }

    #[test]
    fn one_interval_per_run() {
        let vs = catalog(5);
        let keep = [
            true, true, false, true, true, true, false, false, true, true,
        ];
        let r = catalog_ranges(&vs, |v| keep[vs.iter().position(|x| x == v).unwrap()]);
        assert_eq!(r.iter().count(), 3);
        for (v, k) in vs.iter().zip(keep) {
            assert_eq!(r.contains(v), k, "{v}");
        }
        assert_eq!(catalog_ranges(&vs, |_| true).iter().count(), 1);
        assert!(catalog_ranges(&vs, |_| false).is_empty());
        assert!(catalog_ranges(&[], |_| true).is_empty());
    }

    #[test]
    fn builds_of_one_version_count_once() {
        let vs = vec![
            Version::parse("1.0.0").unwrap(),
            Version::parse("1.0.0+b").unwrap(),
            Version::parse("2.0.0").unwrap(),
        ];
        let r = catalog_ranges(&vs, |v| v.major() == 2 || v.to_string().contains('+'));
        assert!(r.contains(&vs[0]) && r.contains(&vs[2]));
    }

    proptest! {
        /// The binary searches of `count_in` and `newest_in` agree with a scan of every version,
        /// on sets made by the solver's operations.
        #[test]
        fn searches_agree_with_a_scan(
            a in proptest::collection::vec(any::<bool>(), 12),
            b in proptest::collection::vec(any::<bool>(), 12),
        ) {
            let vs = catalog(6);
            let compact = |k: &[bool]| catalog_ranges(&vs, |v| k[vs.iter().position(|x| x == v).unwrap()]);
            let (ca, cb) = (compact(&a), compact(&b));
            for r in [
                ca.clone(),
                ca.intersection(&cb.complement()),
                ca.union(&cb),
                ca.complement(),
                Ranges::singleton(vs[3].clone()),
                Ranges::empty(),
            ] {
                prop_assert_eq!(count_in(&vs, &r), vs.iter().filter(|v| r.contains(v)).count());
                prop_assert_eq!(newest_in(&vs, &r), vs.iter().rev().find(|v| r.contains(v)));
            }
        }

        /// Sets built from `catalog_ranges` answer every question the solver asks (is it empty,
        /// is one inside another, after unions, intersections and complements) exactly like
        /// sets of singletons of the same catalog versions.
        #[test]
        fn same_algebra_as_singletons(
            a in proptest::collection::vec(any::<bool>(), 12),
            b in proptest::collection::vec(any::<bool>(), 12),
            c in proptest::collection::vec(any::<bool>(), 12),
        ) {
            let vs = catalog(6);
            let compact = |k: &[bool]| catalog_ranges(&vs, |v| k[vs.iter().position(|x| x == v).unwrap()]);
            let (ca, cb, cc) = (compact(&a), compact(&b), compact(&c));
            let (sa, sb, sc) = (singletons(&vs, &a), singletons(&vs, &b), singletons(&vs, &c));
            let combos = |x: &Ranges<Version>, y: &Ranges<Version>, z: &Ranges<Version>| {
                vec![
                    x.intersection(y),
                    x.intersection(&y.complement()),
                    x.intersection(&y.complement()).intersection(&z.complement()),
                    x.union(y).intersection(&z.complement()),
                    x.complement().intersection(&y.complement()).intersection(z),
                ]
            };
            for (cs, ss) in combos(&ca, &cb, &cc).iter().zip(combos(&sa, &sb, &sc).iter()) {
                prop_assert_eq!(cs.is_empty(), ss.is_empty());
                for v in &vs {
                    prop_assert_eq!(cs.contains(v), ss.contains(v));
                }
            }
            prop_assert_eq!(ca.subset_of(&cb), sa.subset_of(&sb));
            prop_assert_eq!(ca.is_disjoint(&cb), sa.is_disjoint(&sb));
        }
    }
}
