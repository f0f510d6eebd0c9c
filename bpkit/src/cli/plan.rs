//! `bpkit plan`, `bpkit graph` and `bpkit update`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::Value;

use super::{Exit, OutputMode, Printer};
use crate::catalog::DirCatalog;
use crate::resolve::{Installed, Lock, Plan, Request, ResolveOptions, resolve};
use crate::version::{Constraint, Version};

/// What to resolve (shared by plan, graph and update).
#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    /// The Blueprint, optionally with a version constraint: `bp-wordpress`, `bp-wordpress@^1.3`.
    pub blueprint: String,
    /// The Application name (default: the Blueprint name without `bp-`).
    #[arg(long)]
    pub app: Option<String>,
    /// The catalog: a folder of Blueprints, or `oci://HOST/PREFIX` for the Blueprints pushed
    /// to `HOST/PREFIX/<name>:<version>`.
    #[arg(long, default_value = ".")]
    pub catalog: Vec<PathBuf>,
    /// Values files (YAML or JSON), merged in order.
    #[arg(long = "values", short = 'f')]
    pub values: Vec<PathBuf>,
    /// Values on the command line, Helm style: `a.b=c` (repeatable).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Installed Applications to reuse: a YAML list of `{name, blueprint, version, config}`.
    #[arg(long)]
    pub installed: Option<PathBuf>,
    /// The namespace of the Application.
    #[arg(long)]
    pub namespace: Option<String>,
    /// The organisation (`.application.org`).
    #[arg(long, default_value = "")]
    pub org: String,
    /// The environment (`.application.environment`).
    #[arg(long, default_value = "")]
    pub environment: String,
    /// The lockfile to read and write.
    #[arg(long, default_value = "bpkit.lock")]
    pub lock: PathBuf,
    /// Fail if the resolution would change the lockfile.
    #[arg(long)]
    pub locked: bool,
    /// Do not write the lockfile.
    #[arg(long)]
    pub no_lock: bool,
    /// A preview: ignore required fields of the configuration that are not filled in yet.
    #[arg(long)]
    pub partial: bool,
}

/// Graph formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
    /// The plan's nodes and edges as JSON.
    Json,
}

/// Arguments of `bpkit graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// What to resolve.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// The format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

/// Arguments of `bpkit update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// What to resolve.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Only refresh these Applications (default: all).
    #[arg(long = "only")]
    pub only: Vec<String>,
}

fn read_values(path: &PathBuf) -> Result<Value, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let doc = crate::yaml::load_bytes(
        &path.display().to_string(),
        &bytes,
        &crate::yaml::Limits::default(),
    )
    .map_err(|e| e.to_finding().to_string())?;
    Ok(doc.root.to_json())
}

fn request(a: &PlanArgs, lock: Option<&Lock>, keep_pins: bool) -> Result<Request, String> {
    let (name, constraint) = match a.blueprint.split_once('@') {
        Some((n, c)) => (
            n.to_string(),
            Some(Constraint::parse(c).map_err(|e| format!("`{c}`: {e}"))?),
        ),
        None => (a.blueprint.clone(), None),
    };
    let app = a.app.clone().unwrap_or_else(|| {
        name.strip_prefix(crate::model::NAME_PREFIX)
            .unwrap_or(&name)
            .to_string()
    });
    let mut r = Request::new(&name, &app);
    r.version = constraint;
    r.app.namespace = a.namespace.clone().unwrap_or_else(|| app.clone());
    r.app.org = a.org.clone();
    r.app.environment = a.environment.clone();
    let mut values = Value::Object(serde_json::Map::new());
    for f in &a.values {
        crate::resolve::merge_values(&mut values, &read_values(f)?);
    }
    for s in &a.set {
        let v = crate::validate::values::parse_set(s).map_err(|e| format!("--set `{s}`: {e}"))?;
        crate::resolve::merge_values(&mut values, &v);
    }
    r.values = values;
    if let Some(path) = &a.installed {
        let v = read_values(path)?;
        r.installed = serde_json::from_value::<Vec<Installed>>(v)
            .map_err(|e| format!("`{}` is not a list of installed Applications ({{name, blueprint, version, config}}): {e}", path.display()))?;
    }
    if let (Some(l), true) = (lock, keep_pins)
        && l.blueprint == r.blueprint
        && l.application == r.app.name
    {
        for n in &l.nodes {
            if let Ok(v) = Version::parse(&n.version) {
                r.preferred.insert(n.name.clone(), v);
            }
        }
    }
    Ok(r)
}

fn read_lock(path: &PathBuf) -> Result<Option<Lock>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Lock::parse(&t)
            .map(Some)
            .map_err(|e| format!("`{}`: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
    }
}

/// Resolves against the Blueprints pushed under `oci://HOST/PREFIX` (names from the
/// registry's `_catalog`, Blueprint layers cached in `$XDG_CACHE_HOME/bpkit`).
fn resolve_oci(base: &str, a: &PlanArgs, p: &Printer, req: &Request) -> Result<Plan, Exit> {
    let args = super::registry::RegistryArgs {
        retries: 3,
        ..Default::default()
    };
    let reg = super::registry::connect(&args, p)?;
    let cat = crate::catalog::OciCatalog::open(
        reg,
        base,
        Vec::new(),
        crate::catalog::default_cache_dir(),
    )
    .map_err(|e| {
        p.error(&e.to_string());
        Exit::Error
    })?;
    let opts = ResolveOptions {
        require_complete_config: !a.partial,
        digests: !a.no_lock || a.locked,
        ..ResolveOptions::default()
    };
    resolve(&cat, req, &opts).map_err(|e| {
        p.error(&e.to_string());
        Exit::Findings
    })
}

/// Resolves; prints the error and returns the exit code on failure.
fn run_resolve(
    a: &PlanArgs,
    p: &Printer,
    keep_pins: bool,
    only: &[String],
) -> Result<(Plan, Option<Lock>), Exit> {
    let lock = read_lock(&a.lock).map_err(|e| {
        p.error(&e);
        Exit::Error
    })?;
    let mut req = request(a, lock.as_ref(), keep_pins).map_err(|e| {
        p.error(&e);
        Exit::Error
    })?;
    for o in only {
        req.preferred.remove(o);
    }
    if !only.is_empty() {
        // Keep every other pin.
        if let Some(l) = &lock {
            for n in &l.nodes {
                if !only.contains(&n.name)
                    && let Ok(v) = Version::parse(&n.version)
                {
                    req.preferred.insert(n.name.clone(), v);
                }
            }
        }
    }
    if let [one] = a.catalog.as_slice()
        && let Some(base) = one.to_str().filter(|s| s.starts_with("oci://"))
    {
        return resolve_oci(base, a, p, &req).map(|plan| (plan, lock));
    }
    let catalog = DirCatalog::open(&a.catalog).map_err(|e| {
        p.error(&e.to_string());
        Exit::Error
    })?;
    for f in catalog
        .findings()
        .iter()
        .filter(|f| f.severity == crate::diag::Severity::Error)
    {
        p.warn(&format!("left out of the catalog: {f}"));
    }
    let cat = std::sync::Arc::new(catalog);
    let locate_cat = cat.clone();
    let opts = ResolveOptions {
        locate: Some(std::sync::Arc::new(
            move |n: &str, v: &Version, ptr: &str| locate_cat.locate(n, v, ptr),
        )),
        require_complete_config: !a.partial,
        // Digests pin content in the lockfile; packaging to learn them is skipped without one.
        digests: !a.no_lock || a.locked,
        ..ResolveOptions::default()
    };
    match resolve(cat.as_ref(), &req, &opts) {
        Ok(plan) => Ok((plan, lock)),
        Err(e) => {
            p.error(&e.to_string());
            Err(Exit::Findings)
        }
    }
}

fn write_lock(a: &PlanArgs, p: &Printer, new: &Lock) -> Exit {
    if a.no_lock {
        return Exit::Success;
    }
    match crate::atomic::write_file(&a.lock, new.to_toml().as_bytes()) {
        Ok(()) => Exit::Success,
        Err(e) => {
            p.error(&format!("cannot write `{}`: {e}", a.lock.display()));
            Exit::Error
        }
    }
}

/// Runs `bpkit plan`.
pub fn run(a: &PlanArgs, p: &Printer) -> Exit {
    let (plan, lock) = match run_resolve(a, p, true, &[]) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let new = Lock::from_plan(&plan);
    if let Some(old) = &lock {
        let diff = old.diff(&new);
        if a.locked && !diff.is_empty() {
            p.error(&format!("the resolution differs from `{}` (--locked):\n  {}\nhelp: run `bpkit update` to refresh the lockfile", a.lock.display(), diff.join("\n  ")));
            return Exit::Findings;
        }
    } else if a.locked {
        p.error(&format!("`{}` does not exist (--locked)", a.lock.display()));
        return Exit::Findings;
    }
    match p.mode {
        OutputMode::Json => p.json(&plan.to_json()),
        OutputMode::Yaml => p.data(crate::yaml::to_yaml(&plan.to_json()).trim_end()),
        OutputMode::Flux => p.data(plan.to_flux("flux-system").trim_end()),
        OutputMode::Human => {
            p.data(&format!(
                "install plan for `{}` ({}), {} Applications in order:",
                plan.application,
                plan.blueprint,
                plan.applications.len()
            ));
            for (i, app) in plan.applications.iter().enumerate() {
                let action = match &app.action {
                    crate::resolve::Action::Create => "create".to_string(),
                    crate::resolve::Action::Reuse => "reuse".to_string(),
                    crate::resolve::Action::Upgrade { from } => format!("upgrade from {from}"),
                };
                let deps = if app.depends_on.is_empty() {
                    String::new()
                } else {
                    format!("  after {}", app.depends_on.join(", "))
                };
                p.data(&format!(
                    "{:>3}. {:<28} {} {}  ({action}){deps}",
                    i + 1,
                    app.name,
                    app.blueprint,
                    app.version
                ));
            }
            let skipped: Vec<_> = plan.edges.iter().filter(|e| !e.active).collect();
            for e in skipped {
                p.status(&format!(
                    "skipped: `{}` -> `{}` ({}): `when` is false: {}",
                    e.from,
                    e.alias,
                    e.blueprint,
                    e.when.as_deref().unwrap_or("")
                ));
            }
        }
    }
    if a.locked {
        return Exit::Success;
    }
    write_lock(a, p, &new)
}

/// Runs `bpkit graph`.
pub fn graph(a: &GraphArgs, p: &Printer) -> Exit {
    let (plan, _) = match run_resolve(&a.plan, p, true, &[]) {
        Ok(x) => x,
        Err(e) => return e,
    };
    match a.format {
        GraphFormat::Dot => p.data(plan.to_dot().trim_end()),
        GraphFormat::Mermaid => p.data(plan.to_mermaid().trim_end()),
        GraphFormat::Json => {
            p.json(&serde_json::json!({"applications": plan.applications, "edges": plan.edges}))
        }
    }
    Exit::Success
}

/// Runs `bpkit update`.
pub fn update(a: &UpdateArgs, p: &Printer) -> Exit {
    let keep = !a.only.is_empty();
    let (plan, lock) = match run_resolve(&a.plan, p, keep, &a.only) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let new = Lock::from_plan(&plan);
    let diff = lock.as_ref().map(|l| l.diff(&new)).unwrap_or_default();
    if diff.is_empty() {
        p.status(&format!("`{}` is up to date", a.plan.lock.display()));
    }
    for d in &diff {
        p.status(d);
    }
    if p.json_mode() {
        p.json(&serde_json::json!({"changes": diff}));
    }
    write_lock(&a.plan, p, &new)
}
