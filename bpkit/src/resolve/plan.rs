//! The install plan: what the catalog service hands to the installer.

use std::collections::{BTreeMap, BTreeSet};

use pubgrub::SelectedDependencies;
use serde::Serialize;
use serde_json::{Value, json};

use super::ResolveError;
use super::provider::{Kind, Pkg, Provider, merge_values};
use crate::render::{BlueprintRef, Context};
use crate::version::Version;

/// What happens to an Application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum Action {
    /// A new Application.
    Create,
    /// An installed Application kept as it is.
    Reuse,
    /// An installed Application moved to a newer version.
    Upgrade {
        /// The version it runs now.
        from: String,
    },
}

/// One Application of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedApp {
    /// The Application name.
    pub name: String,
    /// Its Blueprint.
    pub blueprint: String,
    /// The exact version.
    pub version: String,
    /// Create, reuse or upgrade.
    pub action: Action,
    /// Whether it is a shared (cluster-wide or installed) instance.
    pub shared: bool,
    /// The values given to it (its configSchema defaults apply underneath).
    pub values: Value,
    /// The Applications it needs, installed before it.
    pub depends_on: Vec<String>,
    /// Where the Blueprint comes from.
    pub source: String,
    /// The Blueprint's content digest, when the catalog knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// One `depends` edge, including those whose `when` was false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    /// The parent Application.
    pub from: String,
    /// The child Application (`None` when the edge does not apply).
    pub to: Option<String>,
    /// The Blueprint depended on.
    pub blueprint: String,
    /// The alias.
    pub alias: String,
    /// The constraint.
    pub constraint: Option<String>,
    /// The condition.
    pub when: Option<String>,
    /// Whether the edge applies.
    pub active: bool,
    /// Whether it binds to a shared or installed instance.
    pub shared: bool,
}

/// The install plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The requested Application.
    pub application: String,
    /// The requested Blueprint.
    pub blueprint: String,
    /// Applications in install order: every Application comes after the ones it depends on.
    pub applications: Vec<PlannedApp>,
    /// Every `depends` edge considered.
    pub edges: Vec<Edge>,
}

/// The plan, and the values each shared instance gets from its parents.
// `Pkg` keys carry the provider's per-instance memo (atomics); hashing and equality ignore it.
#[allow(clippy::mutable_key_type)]
pub(crate) fn build(
    p: &Provider<'_>,
    solution: &SelectedDependencies<Pkg, Version>,
) -> Result<(Plan, BTreeMap<String, Value>), ResolveError> {
    // The solver is done with the provider's records: take them rather than copy them.
    let edges_map = std::mem::take(&mut *super::provider::lock(&p.edges));
    let mut apps: BTreeMap<String, PlannedApp> = BTreeMap::new();
    // The Blueprint and version of each Application, as loaded for the walk.
    let mut loaded: BTreeMap<String, (std::sync::Arc<crate::model::Blueprint>, Version)> =
        BTreeMap::new();
    let mut shared_values: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    let mut edges = Vec::new();
    // Walk from the top instance through the edges recorded for the chosen versions.
    let mut todo = vec![p.top.clone()];
    let mut visited: BTreeSet<String> = BTreeSet::new();
    while let Some(pkg) = todo.pop() {
        if !visited.insert(pkg.app().to_string()) {
            continue;
        }
        let Some(version) = solution.get(&pkg) else {
            continue;
        };
        let bp = p.catalog.get(pkg.blueprint(), version)?;
        loaded.insert(pkg.app().to_string(), (bp.clone(), version.clone()));
        let recorded = edges_map
            .get(&(pkg.clone(), version.clone()))
            .cloned()
            .unwrap_or_default();
        let mut active = vec![false; bp.spec.depends.len()];
        for e in recorded.iter() {
            if let (Some(_), Some(slot)) = (&e.child, active.get_mut(e.index)) {
                *slot = true;
            }
        }
        // Without `values` templates every active edge passes `{}` (as `edge_values` gives),
        // and nothing needs the configuration or the children's outputs.
        let renders_values = bp.spec.depends.iter().any(|d| d.values.is_some());
        let values = if renders_values {
            // Re-render values with the outputs of the versions actually chosen.
            let config = p
                .effective_config(&pkg, &bp, version)
                .map_err(|u| ResolveError::Outputs(u.to_string()))?;
            let ctx = Context {
                application: p.app_context(pkg.app()),
                config,
                blueprint: BlueprintRef {
                    name: bp.name().to_string(),
                    version: version.to_string(),
                },
                outputs: BTreeMap::new(),
            };
            let mut children = vec![None; bp.spec.depends.len()];
            for e in recorded.iter() {
                if let (Some(child), Some(slot)) = (&e.child, children.get_mut(e.index))
                    && let Some(cv) = solution.get(child)
                {
                    *slot = Some((
                        p.catalog.get(child.blueprint(), cv)?,
                        cv.clone(),
                        child.app().to_string(),
                    ));
                }
            }
            p.edge_values(&bp, &ctx, &active, &children).map_err(|b| {
                let (i, err) = *b;
                ResolveError::Outputs(format!(
                    "`{}` {version}: `depends[{i}].values` failed with the chosen versions: {}",
                    bp.name(),
                    err.message()
                ))
            })?
        } else {
            active
                .iter()
                .map(|&a| {
                    if a {
                        Value::Object(serde_json::Map::new())
                    } else {
                        Value::Null
                    }
                })
                .collect()
        };
        let mut depends_on = Vec::new();
        for e in recorded.iter() {
            edges.push(Edge {
                from: pkg.app().to_string(),
                to: e.child.as_ref().map(|c| c.app().to_string()),
                blueprint: e.blueprint.clone(),
                alias: e.alias.clone(),
                constraint: e.constraint.clone(),
                when: e.when.clone(),
                active: e.active,
                shared: e.shared,
            });
            let Some(child) = &e.child else { continue };
            depends_on.push(child.app().to_string());
            let values = values.get(e.index).cloned().unwrap_or(Value::Null);
            if child.kind() == Kind::Owned {
                if &values != child.config() {
                    return Err(ResolveError::Outputs(format!(
                        "`{}` {version} passes values to `{}` that depend on `.outputs`, and the outputs of the chosen `{}` differ from those of its newest version; pin the dependency to one version",
                        bp.name(),
                        child.app(),
                        child.blueprint()
                    )));
                }
            } else if values.as_object().is_some_and(|m| !m.is_empty()) {
                shared_values
                    .entry(child.app().to_string())
                    .or_default()
                    .push((pkg.app().to_string(), values));
            }
            todo.push(child.clone());
        }
        depends_on.sort();
        depends_on.dedup();
        let (action, values) = match pkg.0.installed {
            Some(i) => {
                let inst = &p.request.installed[i];
                let action = if &inst.version == version {
                    Action::Reuse
                } else {
                    Action::Upgrade {
                        from: inst.version.to_string(),
                    }
                };
                (action, inst.config.clone())
            }
            None => (Action::Create, pkg.config().clone()),
        };
        apps.insert(
            pkg.app().to_string(),
            PlannedApp {
                name: pkg.app().to_string(),
                blueprint: pkg.blueprint().to_string(),
                version: version.to_string(),
                action,
                shared: matches!(pkg.kind(), Kind::Shared | Kind::Installed),
                values,
                depends_on,
                source: p.catalog.source(pkg.blueprint(), version),
                digest: if p.opts.digests {
                    p.catalog.digest(pkg.blueprint(), version)
                } else {
                    None
                },
            },
        );
    }
    // Values several parents give one shared instance must agree.
    let mut shared_out: BTreeMap<String, Value> = BTreeMap::new();
    for (app, givers) in shared_values {
        let mut merged = Value::Object(serde_json::Map::new());
        let mut origin: BTreeMap<String, (String, Value)> = BTreeMap::new();
        for (parent, v) in &givers {
            for (ptr, leaf) in leaves(v) {
                if let Some((other, prev)) = origin.get(&ptr)
                    && prev != &leaf
                {
                    return Err(ResolveError::SharedValues(format!(
                        "shared Application `{app}` gets `{ptr}` = {prev} from `{other}` but {leaf} from `{parent}`; make them agree or drop one"
                    )));
                }
                origin.insert(ptr, (parent.clone(), leaf));
            }
            merge_values(&mut merged, v);
        }
        if let Some(a) = apps.get_mut(&app)
            && a.action == Action::Create
        {
            a.values = merged.clone();
        }
        shared_out.insert(app, merged);
    }
    for a in apps.values_mut() {
        if a.shared && a.action == Action::Create && !shared_out.contains_key(&a.name) {
            a.values = Value::Object(serde_json::Map::new());
        }
    }
    for a in apps
        .values()
        .filter(|a| a.shared && a.action == Action::Create)
    {
        let Some((bp, v)) = loaded.get(&a.name) else {
            continue;
        };
        p.check_shared(&a.name, bp, v, &a.values)
            .map_err(ResolveError::SharedValues)?;
    }
    let order = install_order(&apps)?;
    let applications = order.into_iter().filter_map(|n| apps.remove(&n)).collect();
    edges.sort_by(|a, b| (&a.from, &a.alias).cmp(&(&b.from, &b.alias)));
    Ok((
        Plan {
            application: p.request.app.name.clone(),
            blueprint: p.request.blueprint.clone(),
            applications,
            edges,
        },
        shared_out,
    ))
}

fn leaves(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), v)];
    while let Some((ptr, v)) = stack.pop() {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    stack.push((format!("{ptr}/{}", crate::diag::pointer_escape(k)), x));
                }
            }
            other => out.push((ptr, other.clone())),
        }
    }
    out
}

/// Dependencies first; among Applications that are ready at the same time, by name.
///
/// "Ready at the same time" is a round of Kahn's algorithm: round 0 holds the Applications
/// without dependencies, round k those whose last dependency was placed in round k-1. Each
/// Application's round is computed once from its dependencies' (linear in the graph), then the
/// order is by (round, name).
fn install_order(apps: &BTreeMap<String, PlannedApp>) -> Result<Vec<String>, ResolveError> {
    let names: Vec<&str> = apps.keys().map(String::as_str).collect();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // deps[i]: the distinct dependencies of Application i inside the plan.
    let deps: Vec<BTreeSet<usize>> = apps
        .values()
        .map(|a| {
            a.depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    let mut waiting: Vec<usize> = deps.iter().map(BTreeSet::len).collect();
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let mut round = vec![0usize; names.len()];
    let mut queue: std::collections::VecDeque<usize> =
        (0..names.len()).filter(|&i| waiting[i] == 0).collect();
    let mut placed: Vec<(usize, usize)> = Vec::with_capacity(names.len());
    while let Some(i) = queue.pop_front() {
        placed.push((round[i], i));
        for &j in &dependents[i] {
            round[j] = round[j].max(round[i] + 1);
            waiting[j] -= 1;
            if waiting[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    // Names are sorted in `names`, so (round, index) orders by (round, name).
    placed.sort_unstable();
    let order: Vec<String> = placed.iter().map(|&(_, i)| names[i].to_string()).collect();
    if order.len() == names.len() {
        return Ok(order);
    }
    let remaining: BTreeMap<&str, BTreeSet<&str>> = (0..names.len())
        .filter(|&i| waiting[i] > 0)
        .map(|i| {
            (
                names[i],
                deps[i]
                    .iter()
                    .filter(|&&d| waiting[d] > 0)
                    .map(|&d| names[d])
                    .collect(),
            )
        })
        .collect();
    // Name one cycle among what is left.
    let mut g = petgraph::graph::DiGraph::<&str, ()>::new();
    let idx: BTreeMap<&str, _> = remaining.keys().map(|n| (*n, g.add_node(*n))).collect();
    for (n, deps) in &remaining {
        for d in deps {
            if let (Some(a), Some(b)) = (idx.get(n), idx.get(d)) {
                g.add_edge(*a, *b, ());
            }
        }
    }
    let mut cycle: Vec<String> = petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .find(|c| c.len() > 1)
        .map(|c| c.into_iter().map(|i| g[i].to_string()).collect())
        .unwrap_or_else(|| remaining.keys().map(|s| (*s).to_string()).collect());
    cycle.sort();
    if let Some(first) = cycle.first().cloned() {
        cycle.push(first);
    }
    Err(ResolveError::Cycle(cycle))
}

impl Plan {
    /// The plan as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// One Flux `Kustomization` per Application, with `spec.dependsOn`, as a multi-document
    /// YAML stream. Each points at an `OCIRepository` named after the Blueprint and version;
    /// the values travel in the `catalyst.openova.io/values` annotation (JSON).
    pub fn to_flux(&self, namespace: &str) -> String {
        let mut out = String::new();
        for a in &self.applications {
            let doc = json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {
                    "name": a.name,
                    "namespace": namespace,
                    "labels": {
                        "catalyst.openova.io/blueprint": a.blueprint,
                        "catalyst.openova.io/version": a.version,
                    },
                    "annotations": {"catalyst.openova.io/values": a.values.to_string()},
                },
                "spec": {
                    "interval": "10m",
                    "path": "./",
                    "prune": true,
                    "wait": true,
                    "targetNamespace": a.name,
                    "sourceRef": {"kind": "OCIRepository", "name": format!("{}-{}", a.blueprint, a.version.replace(['.', '+'], "-"))},
                    "dependsOn": a.depends_on.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
                },
            });
            out.push_str("---\n");
            out.push_str(&crate::yaml::to_yaml(&doc));
        }
        out
    }
}

impl Plan {
    /// The graph in Graphviz DOT: solid edges apply, dashed ones had a false `when`.
    pub fn to_dot(&self) -> String {
        let mut s = String::from(
            "digraph plan {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n",
        );
        for a in &self.applications {
            let style = if a.shared { ", style=rounded" } else { "" };
            s.push_str(&format!(
                "  {} [label=\"{}\\n{} {}\"{style}];\n",
                dot_id(&a.name),
                a.name,
                a.blueprint,
                a.version
            ));
        }
        for e in &self.edges {
            let label = e.constraint.clone().unwrap_or_default();
            match (&e.to, e.active) {
                (Some(to), true) => s.push_str(&format!(
                    "  {} -> {} [label=\"{}\"];\n",
                    dot_id(&e.from),
                    dot_id(to),
                    dot_escape(&label)
                )),
                _ => {
                    let ghost = format!("{}:{}", e.from, e.alias);
                    s.push_str(&format!(
                        "  {} [label=\"{}\\n(when false)\", style=dashed];\n",
                        dot_id(&ghost),
                        e.blueprint
                    ));
                    s.push_str(&format!(
                        "  {} -> {} [style=dashed, label=\"{}\"];\n",
                        dot_id(&e.from),
                        dot_id(&ghost),
                        dot_escape(e.when.as_deref().unwrap_or(""))
                    ));
                }
            }
        }
        s.push_str("}\n");
        s
    }

    /// The graph as a Mermaid flowchart: `-->` edges apply, `-.->` ones had a false `when`.
    pub fn to_mermaid(&self) -> String {
        let mut s = String::from("flowchart LR\n");
        for a in &self.applications {
            s.push_str(&format!(
                "  {}[\"{}<br/>{} {}\"]\n",
                mermaid_id(&a.name),
                a.name,
                a.blueprint,
                a.version
            ));
        }
        for e in &self.edges {
            let label = e
                .constraint
                .clone()
                .unwrap_or_else(|| "any".into())
                .replace('"', "'");
            match (&e.to, e.active) {
                (Some(to), true) => s.push_str(&format!(
                    "  {} -->|\"{label}\"| {}\n",
                    mermaid_id(&e.from),
                    mermaid_id(to)
                )),
                _ => {
                    let ghost = mermaid_id(&format!("{}:{}", e.from, e.alias));
                    s.push_str(&format!("  {ghost}[\"{} (when false)\"]\n", e.blueprint));
                    s.push_str(&format!(
                        "  {} -.->|\"{label}\"| {ghost}\n",
                        mermaid_id(&e.from)
                    ));
                }
            }
        }
        s
    }
}

fn dot_id(s: &str) -> String {
    format!("\"{}\"", dot_escape(s))
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn mermaid_id(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn apps(edges: &[(usize, Vec<usize>)]) -> BTreeMap<String, PlannedApp> {
        edges
            .iter()
            .map(|(i, deps)| {
                let name = format!("a{i}");
                let app = PlannedApp {
                    name: name.clone(),
                    blueprint: "bp-x".into(),
                    version: "1.0.0".into(),
                    action: Action::Create,
                    shared: false,
                    values: Value::Null,
                    depends_on: deps.iter().map(|d| format!("a{d}")).collect(),
                    source: String::new(),
                    digest: None,
                };
                (name, app)
            })
            .collect()
    }

    /// The order by rounds, computed the plain way: each round takes every Application whose
    /// dependencies are all placed, by name.
    fn by_rounds(apps: &BTreeMap<String, PlannedApp>) -> Option<Vec<String>> {
        let mut placed: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::new();
        while placed.len() < apps.len() {
            let ready: Vec<&str> = apps
                .values()
                .filter(|a| !placed.contains(a.name.as_str()))
                .filter(|a| {
                    a.depends_on
                        .iter()
                        .all(|d| !apps.contains_key(d) || placed.contains(d.as_str()))
                })
                .map(|a| a.name.as_str())
                .collect();
            if ready.is_empty() {
                return None;
            }
            placed.extend(ready.iter().copied());
            order.extend(ready.iter().map(|s| (*s).to_string()));
        }
        Some(order)
    }

    #[test]
    fn dependencies_come_first_and_ties_go_by_name() {
        // a0 -> a1 -> a3, a0 -> a2; a4 alone; a2 depends on something outside the plan.
        let m = apps(&[
            (0, vec![1, 2]),
            (1, vec![3]),
            (2, vec![9]),
            (3, vec![]),
            (4, vec![]),
        ]);
        let order = install_order(&m).unwrap();
        assert_eq!(order, ["a2", "a3", "a4", "a1", "a0"]);
    }

    #[test]
    fn a_long_chain_is_ordered_from_its_end() {
        let n = 5_000;
        let m = apps(
            &(0..n)
                .map(|i| (i, if i + 1 < n { vec![i + 1] } else { vec![] }))
                .collect::<Vec<_>>(),
        );
        let order = install_order(&m).unwrap();
        let want: Vec<String> = (0..n).rev().map(|i| format!("a{i}")).collect();
        assert_eq!(order, want);
    }

    #[test]
    fn a_cycle_is_named() {
        let m = apps(&[(0, vec![1]), (1, vec![2]), (2, vec![1]), (3, vec![])]);
        match install_order(&m) {
            Err(ResolveError::Cycle(c)) => assert_eq!(c, ["a1", "a2", "a1"]),
            other => panic!("expected a cycle, got {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn same_order_as_round_by_round(
            raw in proptest::collection::vec(proptest::collection::vec(0usize..40, 0..4), 1..40)
        ) {
            // Edges only to higher indexes: a DAG; some point outside the plan.
            let edges: Vec<(usize, Vec<usize>)> = raw
                .iter()
                .enumerate()
                .map(|(i, ds)| (i, ds.iter().map(|d| i + 1 + d).collect()))
                .collect();
            let m = apps(&edges);
            prop_assert_eq!(install_order(&m).ok(), by_rounds(&m));
        }

        #[test]
        fn cycles_are_found_like_round_by_round(
            raw in proptest::collection::vec(proptest::collection::vec(0usize..12, 0..3), 1..12)
        ) {
            let edges: Vec<(usize, Vec<usize>)> = raw.into_iter().enumerate().collect();
            let m = apps(&edges);
            let ours = install_order(&m);
            match by_rounds(&m) {
                Some(order) => prop_assert_eq!(ours.ok(), Some(order)),
                None => prop_assert!(matches!(ours, Err(ResolveError::Cycle(_)))),
            }
        }
    }
}
