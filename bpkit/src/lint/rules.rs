//! The lint rules.

use std::collections::BTreeMap;

use super::chart::{Chart, Vendored, scalar, strip_v};
use super::{Rule, Target, chart_dir};
use crate::diag::{Finding, Severity, Source, Span};
use crate::yaml::{Document, Node, NodeKind};

/// `hollow-chart`.
pub const HOLLOW_CHART: &str = "hollow-chart";
/// `version-lockstep`.
pub const VERSION_LOCKSTEP: &str = "version-lockstep";
/// `observability-default`.
pub const OBSERVABILITY_DEFAULT: &str = "observability-default";
/// `stray-kustomization`.
pub const STRAY_KUSTOMIZATION: &str = "stray-kustomization";
/// `hardcoded-namespace`.
pub const HARDCODED_NAMESPACE: &str = "hardcoded-namespace";
/// `hardcoded-host`.
pub const HARDCODED_HOST: &str = "hardcoded-host";
/// `override-collision`.
pub const OVERRIDE_COLLISION: &str = "override-collision";
/// `unknown-dependency`.
pub const UNKNOWN_DEPENDENCY: &str = "unknown-dependency";
/// `duplicate-alias`.
pub const DUPLICATE_ALIAS: &str = "duplicate-alias";
/// Problems reading the chart itself.
pub const CHART_READ: &str = "chart-read";

/// Every rule, in documentation order.
pub static RULES: &[Rule] = &[
    Rule {
        id: HOLLOW_CHART,
        default_severity: Severity::Error,
        summary: "Chart.yaml dependencies must be vendored under charts/",
        explain: "Incident: bp-cert-manager 1.0.0 shipped as a hollow chart. It carried only a ClusterIssuer \
template and no upstream cert-manager sub-chart, so Flux installed it everywhere and nothing worked: no \
controller, no CRDs.\n\nChecks: every `dependencies:` entry of the chart's Chart.yaml is present under \
`charts/`, unpacked (`charts/<name>/Chart.yaml` at the pinned version) or as `charts/<name>-<version>.tgz`. \
A chart that declares no dependency at all is hollow too, unless the Blueprint says it has no upstream.\n\n\
Fix: run `helm dependency build` (or let `bpkit package` vendor it) and commit `charts/`.\n\n\
Opt out (first-party charts with real workloads): the Blueprint annotation \
`catalyst.openova.io/no-upstream: \"true\"`. Declared dependencies must be vendored even then.",
    },
    Rule {
        id: VERSION_LOCKSTEP,
        default_severity: Severity::Error,
        summary: "Blueprint, Chart.yaml and upstream versions must agree",
        explain: "Incident: upstream versions recorded in three places drifted apart, so the artifact claimed one \
upstream version and shipped another.\n\nChecks: Chart.yaml `name` and `version` equal the Blueprint's \
`metadata.name` and `metadata.version`; `catalystBlueprint.upstream.version` in values.yaml equals the \
version pinned in Chart.yaml `dependencies` for that chart (a leading `v` is ignored).\n\n\
Fix: bump all of them together in one change.",
    },
    Rule {
        id: OBSERVABILITY_DEFAULT,
        default_severity: Severity::Error,
        summary: "observability toggles must default to false in values.yaml",
        explain: "Incident (issue #182): a chart defaulted `serviceMonitor.enabled: true`. The ServiceMonitor CRD \
ships with kube-prometheus-stack, which is installed later, so the apiserver rejected the release and the \
whole bootstrap stalled.\n\nChecks: in the chart's values.yaml, and in vendored sub-charts' values.yaml \
unless the umbrella sets the key, every `enabled`/`create` under serviceMonitor, podMonitor, \
prometheusRule, grafanaDashboard, dashboards, metrics, prometheus, monitoring, tracing or promExporter \
is not `true`.\n\nFix: default it to `false`; operators opt in per cluster once the CRDs exist.",
    },
    Rule {
        id: STRAY_KUSTOMIZATION,
        default_severity: Severity::Error,
        summary: "no kustomization.yaml inside a chart's templates/",
        explain: "Incident: a kustomization.yaml left in templates/ was rendered by Helm as a manifest and \
rejected by the apiserver (no such kind).\n\nChecks: no file named kustomization.yaml, kustomization.yml or \
Kustomization anywhere under the chart's templates/.\n\nFix: move it out of the chart, or delete it.",
    },
    Rule {
        id: HARDCODED_NAMESPACE,
        default_severity: Severity::Warning,
        summary: "templates must not hard-code namespaces",
        explain: "A literal `namespace: foo` in a template breaks every installation into another namespace and \
silently couples Blueprints.\n\nChecks: `namespace:` keys in templates whose value is a literal (no `{{ }}`).\n\n\
Fix: use `{{ .Release.Namespace }}` or a value.",
    },
    Rule {
        id: HARDCODED_HOST,
        default_severity: Severity::Warning,
        summary: "templates must take hostnames from values",
        explain: "Hostnames differ per Sovereign; a literal hostname in a template cannot be changed without a new \
release.\n\nChecks: `host`, `hostname` and `commonName` keys and items of `hosts`/`dnsNames` lists whose value \
is a literal domain name (cluster-internal `*.cluster.local` names are allowed).\n\nFix: read it from values.",
    },
    Rule {
        id: OVERRIDE_COLLISION,
        default_severity: Severity::Error,
        summary: "sub-charts must not share fullnameOverride/nameOverride",
        explain: "Two sub-charts with the same `fullnameOverride` render resources with the same names; the second \
one overwrites the first at install.\n\nChecks: the effective `fullnameOverride` and `nameOverride` of every \
sub-chart (the umbrella's values under the sub-chart key, else the sub-chart's own values) are distinct.\n\n\
Fix: give each sub-chart its own override.",
    },
    Rule {
        id: UNKNOWN_DEPENDENCY,
        default_severity: Severity::Warning,
        summary: "depends must name a Blueprint of the catalog",
        explain: "A dependency on a Blueprint that the catalog does not contain cannot be resolved at install \
time.\n\nChecks: every `depends[].blueprint` is one of the Blueprints being linted together. (Linting a \
partial catalog reports the missing ones; that is why this is a warning.)\n\nFix: add the Blueprint, or fix \
the name.",
    },
    Rule {
        id: DUPLICATE_ALIAS,
        default_severity: Severity::Error,
        summary: "depends entries must have distinct aliases",
        explain: "Each dependency becomes an Application named `<app>-<alias>` and its outputs are read as \
`.outputs.<alias>`; two entries with one alias collide.\n\nChecks: the aliases (or, without an alias, the \
Blueprint names without `bp-`) of `depends` are distinct.\n\nFix: set distinct `alias:` values.",
    },
];

/// Runs every rule; severities are the defaults (the caller applies overrides).
pub fn run_all(t: &Target<'_>, out: &mut Vec<Finding>) {
    depends_rules(t, out);
    let Some(dir) = chart_dir(t.blueprint, t.dir) else {
        return;
    };
    if !dir.join("Chart.yaml").is_file() {
        return;
    }
    let chart = Chart::read(&dir);
    for p in &chart.problems {
        let mut p = p.clone();
        p.rule = CHART_READ;
        out.push(p);
    }
    hollow(t, &chart, out);
    lockstep(t, &chart, out);
    observability(&chart, out);
    stray_kustomization(&chart, out);
    templates(&chart, out);
    overrides(&chart, out);
}

fn sev(id: &str) -> Severity {
    super::rule(id).map_or(Severity::Warning, |r| r.default_severity)
}

fn finding(id: &'static str, msg: String) -> Finding {
    Finding::new(sev(id), id, msg)
}

fn bp_at(t: &Target<'_>, f: Finding, ptr: &str) -> Finding {
    match (&t.checked.loaded.document, t.checked.loaded.span_of(ptr)) {
        (Some(d), Some(s)) => f.at(&d.source, s).with_pointer(ptr),
        _ => f.with_pointer(ptr),
    }
}

fn doc_at(doc: &Document, f: Finding, span: Span) -> Finding {
    f.at(&doc.source, span)
}

fn depends_rules(t: &Target<'_>, out: &mut Vec<Finding>) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, d) in t.blueprint.spec.depends.iter().enumerate() {
        if !t.catalog.contains(&d.blueprint) {
            out.push(bp_at(
                t,
                finding(
                    UNKNOWN_DEPENDENCY,
                    format!(
                        "`{}` depends on `{}`, which is not in the catalog",
                        t.blueprint.name(),
                        d.blueprint
                    ),
                )
                .with_help("add the Blueprint to the catalog, or fix the name"),
                &format!("/spec/depends/{i}/blueprint"),
            ));
        }
        let local = d.local_name();
        if let Some(first) = seen.insert(local, i) {
            let ptr = if d.alias.is_some() {
                format!("/spec/depends/{i}/alias")
            } else {
                format!("/spec/depends/{i}")
            };
            out.push(bp_at(
                t,
                finding(
                    DUPLICATE_ALIAS,
                    format!("dependency alias `{local}` is used twice (entries {first} and {i})"),
                )
                .with_help("give each dependency a distinct `alias:`"),
                &ptr,
            ));
        }
    }
}

fn hollow(t: &Target<'_>, chart: &Chart, out: &mut Vec<Finding>) {
    let Some(cy) = &chart.chart_yaml else { return };
    if chart.dependencies.is_empty() {
        if !t.blueprint.no_upstream() {
            out.push(doc_at(
                cy,
                finding(HOLLOW_CHART, "the chart declares no upstream dependency: the artifact would carry only overlay templates".into())
                    .with_help(format!(
                        "declare the upstream chart under `dependencies:` and vendor it into `charts/`; for a first-party chart set the Blueprint annotation `{}: \"true\"`",
                        crate::model::ANNOTATION_NO_UPSTREAM
                    )),
                cy.root.entry("name").map_or(Span::at(0), |e| e.key_span),
            ));
        }
        return;
    }
    for d in &chart.dependencies {
        let ver = d.version.clone().unwrap_or_else(|| "?".into());
        match chart.vendored(d) {
            Vendored::Yes => {}
            Vendored::No => out.push(doc_at(
                cy,
                finding(HOLLOW_CHART, format!("dependency `{}` {ver} is not vendored under `charts/`", d.name))
                    .with_help(format!("run `helm dependency build` so that `charts/{}-{ver}.tgz` (or `charts/{}/`) is in the artifact", d.name, d.name)),
                d.span,
            )),
            Vendored::WrongVersion(v) => out.push(doc_at(
                cy,
                finding(HOLLOW_CHART, format!("dependency `{}` is pinned at {ver} but `charts/` holds {v}", d.name))
                    .with_help("run `helm dependency update`, or fix the pin"),
                d.version_span.unwrap_or(d.span),
            )),
        }
    }
}

fn lockstep(t: &Target<'_>, chart: &Chart, out: &mut Vec<Finding>) {
    let Some(cy) = &chart.chart_yaml else { return };
    let bp = t.blueprint;
    if let Some(n) = cy.root.get("name") {
        let name = scalar(n);
        if name != bp.name() {
            out.push(doc_at(
                cy,
                finding(
                    VERSION_LOCKSTEP,
                    format!(
                        "Chart.yaml `name` is `{name}`, the Blueprint is `{}`",
                        bp.name()
                    ),
                )
                .with_help(format!("name the chart `{}`", bp.name())),
                n.span,
            ));
        }
    }
    if let Some(v) = cy.root.get("version") {
        let ver = scalar(v);
        if strip_v(&ver) != strip_v(bp.version()) {
            out.push(doc_at(
                cy,
                finding(
                    VERSION_LOCKSTEP,
                    format!(
                        "Chart.yaml `version` is {ver}, the Blueprint version is {}",
                        bp.version()
                    ),
                )
                .with_help("bump the Blueprint version and Chart.yaml version together"),
                v.span,
            ));
        }
    }
    let Some(values) = &chart.values else { return };
    let Some(up) = values.root.find("/catalystBlueprint/upstream") else {
        return;
    };
    let Some(uv) = up.get("version") else { return };
    let upstream_version = scalar(uv);
    let upstream_chart = up.get("chart").map(scalar).filter(|c| !c.is_empty());
    if upstream_chart.is_none() && (upstream_version.is_empty() || upstream_version == "null") {
        // A scratch chart that records "no upstream".
        return;
    }
    let dep = match &upstream_chart {
        Some(name) => chart.dependencies.iter().find(|d| &d.name == name),
        None if chart.dependencies.len() == 1 => chart.dependencies.first(),
        None => None,
    };
    match dep {
        Some(d) => {
            let pinned = d.version.clone().unwrap_or_default();
            if strip_v(&pinned) != strip_v(&upstream_version) {
                out.push(doc_at(
                    values,
                    finding(
                        VERSION_LOCKSTEP,
                        format!("`catalystBlueprint.upstream.version` is {upstream_version}, Chart.yaml pins `{}` at {pinned}", d.name),
                    )
                    .with_help("bump Chart.yaml `dependencies`, values.yaml and the Blueprint together"),
                    uv.span,
                ));
            }
        }
        None => out.push(doc_at(
            values,
            finding(
                VERSION_LOCKSTEP,
                match &upstream_chart {
                    Some(n) => format!("values.yaml records upstream chart `{n}`, which Chart.yaml does not declare in `dependencies`"),
                    None => "values.yaml records an upstream version, but Chart.yaml has no single dependency it could belong to".into(),
                },
            )
            .with_help("declare the upstream chart in Chart.yaml `dependencies`"),
            uv.span,
        )),
    }
}

const TOGGLES: &[&str] = &[
    "servicemonitor",
    "podmonitor",
    "prometheusrule",
    "prometheusrules",
    "grafanadashboard",
    "dashboards",
    "metrics",
    "prometheus",
    "monitoring",
    "tracing",
    "promexporter",
];

/// `(dotted path, span)` of every observability toggle set to `true`.
fn toggles_on(root: &Node) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &Node)> = vec![(String::new(), root)];
    while let Some((path, node)) = stack.pop() {
        let Some(entries) = node.entries() else {
            continue;
        };
        let parent = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        for e in entries.iter().rev() {
            let p = if path.is_empty() {
                e.key.clone()
            } else {
                format!("{path}.{}", e.key)
            };
            if (e.key == "enabled" || e.key == "create")
                && TOGGLES.contains(&parent.as_str())
                && e.value.kind == NodeKind::Bool(true)
            {
                out.push((p.clone(), e.value.span));
            }
            stack.push((p, &e.value));
        }
    }
    out.sort_by_key(|(_, s)| s.start);
    out
}

fn observability(chart: &Chart, out: &mut Vec<Finding>) {
    if let Some(v) = &chart.values {
        for (path, span) in toggles_on(&v.root) {
            out.push(doc_at(
                v,
                finding(OBSERVABILITY_DEFAULT, format!("`{path}` defaults to `true`"))
                    .with_help("default it to `false`; the monitoring CRDs may not exist yet (opt in per cluster)"),
                span,
            ));
        }
    }
    // Sub-chart defaults that the umbrella leaves on.
    for d in &chart.dependencies {
        let Some(sub) = chart
            .subcharts
            .iter()
            .find(|s| s.name.as_deref() == Some(d.name.as_str()) || s.entry == d.name)
        else {
            continue;
        };
        let Some(sv) = &sub.values else { continue };
        for (path, span) in toggles_on(&sv.root) {
            let umbrella_ptr = format!(
                "/{}/{}",
                crate::diag::pointer_escape(d.values_key()),
                path.replace('.', "/")
            );
            let overridden = chart
                .values
                .as_ref()
                .and_then(|v| v.root.find(&umbrella_ptr))
                .is_some();
            if !overridden {
                out.push(doc_at(
                    sv,
                    finding(
                        OBSERVABILITY_DEFAULT,
                        format!("sub-chart `{}` defaults `{path}` to `true` and the umbrella does not turn it off", d.name),
                    )
                    .with_help(format!("set `{}.{path}: false` in the umbrella's values.yaml", d.values_key())),
                    span,
                ));
            }
        }
    }
}

fn stray_kustomization(chart: &Chart, out: &mut Vec<Finding>) {
    for p in &chart.template_paths {
        let name = p.rsplit('/').next().unwrap_or(p);
        if matches!(
            name,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        ) {
            out.push(
                finding(
                    STRAY_KUSTOMIZATION,
                    format!("`{p}` is a Kustomize file inside the chart's templates/"),
                )
                .with_help("Helm renders every file in templates/; move it out of the chart")
                .in_file(chart.dir.join(p).display().to_string()),
            );
        }
    }
}

fn templates(chart: &Chart, out: &mut Vec<Finding>) {
    for (_, src) in &chart.templates {
        scan_template(src, out);
    }
}

/// A `key: value` line of a YAML-ish template: (indent, key, value, value offset in line).
fn key_value(line: &str) -> Option<(usize, &str, &str, usize)> {
    let indent = line.len() - line.trim_start().len();
    let mut rest = &line[indent..];
    let mut off = indent;
    if let Some(r) = rest.strip_prefix("- ") {
        off += 2;
        rest = r;
    }
    let colon = rest.find(':')?;
    let key = &rest[..colon];
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return None;
    }
    let after = &rest[colon + 1..];
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    let value = strip_comment(after.trim());
    let vstart = off + colon + 1 + (after.len() - after.trim_start().len());
    Some((indent, key, value, vstart))
}

fn strip_comment(v: &str) -> &str {
    match v.find(" #") {
        Some(i) if !v.starts_with('"') && !v.starts_with('\'') => v[..i].trim_end(),
        _ => v,
    }
}

fn unquote(v: &str) -> &str {
    v.trim_matches(|c| c == '"' || c == '\'')
}

fn looks_like_domain(v: &str) -> bool {
    let v = unquote(v);
    let host = v.strip_prefix("*.").unwrap_or(v);
    !host.is_empty()
        && host.contains('.')
        && !host.contains("{{")
        && !host.ends_with(".cluster.local")
        && !host.ends_with(".svc")
        && host.chars().any(|c| c.is_ascii_alphabetic())
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && host
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()) && tld.len() >= 2)
}

fn scan_template(src: &Source, out: &mut Vec<Finding>) {
    let text = src.text();
    let mut offset = 0usize;
    let mut list_key: Option<(usize, String)> = None;
    let mut in_comment = false;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let l = line.trim_end_matches(['\n', '\r']);
        let t = l.trim_start();
        if in_comment {
            if t.contains("*/}}")
                || t.contains("*/ }}")
                || t.contains("*/ -}}")
                || t.contains("*/-}}")
            {
                in_comment = false;
            }
            continue;
        }
        if t.starts_with("{{/*") || t.starts_with("{{- /*") || t.starts_with("{{-/*") {
            in_comment = !(t.contains("*/}}")
                || t.contains("*/ }}")
                || t.contains("*/ -}}")
                || t.contains("*/-}}"));
            continue;
        }
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        let indent = l.len() - t.len();
        // List items under `hosts:` / `dnsNames:`.
        if let Some((li, key)) = &list_key {
            if indent >= *li && t.starts_with("- ") && !t[2..].contains(": ") {
                let v = strip_comment(t[2..].trim());
                if looks_like_domain(v) {
                    let s = line_start + indent + 2;
                    out.push(
                        finding(
                            HARDCODED_HOST,
                            format!("`{key}` lists the literal hostname `{}`", unquote(v)),
                        )
                        .with_help("take hostnames from values, e.g. `{{ .Values.ingress.host }}`")
                        .at(src, Span::new(s, s + v.len())),
                    );
                }
                continue;
            } else if indent <= *li && !t.starts_with("- ") || indent < *li {
                list_key = None;
            }
        }
        let Some((_, key, value, vstart)) = key_value(l) else {
            continue;
        };
        let s = line_start + vstart;
        match key {
            "namespace"
                if !value.is_empty() && !value.contains("{{") && !unquote(value).is_empty() =>
            {
                out.push(
                    finding(
                        HARDCODED_NAMESPACE,
                        format!("the namespace `{}` is hard-coded", unquote(value)),
                    )
                    .with_help("use `{{ .Release.Namespace }}` or a value")
                    .at(src, Span::new(s, s + value.len())),
                );
            }
            "host" | "hostname" | "commonName" if looks_like_domain(value) => {
                out.push(
                    finding(
                        HARDCODED_HOST,
                        format!("the hostname `{}` is hard-coded", unquote(value)),
                    )
                    .with_help("take hostnames from values, e.g. `{{ .Values.ingress.host }}`")
                    .at(src, Span::new(s, s + value.len())),
                );
            }
            "hosts" | "dnsNames" if value.is_empty() => {
                list_key = Some((indent, key.to_string()));
            }
            _ => {}
        }
    }
}

fn overrides(chart: &Chart, out: &mut Vec<Finding>) {
    for key in ["fullnameOverride", "nameOverride"] {
        // value -> (sub-chart, doc, span) of its first holder
        let mut seen: BTreeMap<String, (String, Span, Source)> = BTreeMap::new();
        for d in &chart.dependencies {
            let umbrella = chart.values.as_ref().and_then(|v| {
                v.root
                    .find(&format!(
                        "/{}/{key}",
                        crate::diag::pointer_escape(d.values_key())
                    ))
                    .map(|n| (scalar(n), n.span, v.source.clone()))
            });
            let own = || {
                chart
                    .subcharts
                    .iter()
                    .find(|s| s.name.as_deref() == Some(d.name.as_str()) || s.entry == d.name)
                    .and_then(|s| s.values.as_ref())
                    .and_then(|v| {
                        v.root
                            .get(key)
                            .map(|n| (scalar(n), n.span, v.source.clone()))
                    })
            };
            let Some((value, span, src)) = umbrella.or_else(own) else {
                continue;
            };
            if value.is_empty() || value == "null" {
                continue;
            }
            if let Some((first, _, _)) = seen.get(&value) {
                out.push(
                    finding(
                        OVERRIDE_COLLISION,
                        format!("sub-charts `{first}` and `{}` both set `{key}: {value}`; their resources would collide", d.values_key()),
                    )
                    .with_help(format!("give `{}` its own `{key}`", d.values_key()))
                    .at(&src, span),
                );
            } else {
                seen.insert(value, (d.values_key().to_string(), span, src));
            }
        }
    }
}
