//! `bpkit init`: the files of a new canonical Blueprint, built in memory.
//!
//! The scaffold passes `bpkit validate` and `bpkit lint --deny warnings` as generated: a
//! first-party Helm chart (annotated `no-upstream`) or a Kustomize base with size overlays, a
//! configSchema whose defaults match `values.yaml`, `values.schema.json` generated from that
//! configSchema so Helm checks values too, observability toggles off, a card and a test.

use serde_json::{Value, json};

/// Which manifests the new Blueprint uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// A Helm chart in `chart/`.
    Helm,
    /// A Kustomize base in `manifests/base` with `small`/`medium`/`large` overlays.
    Kustomize,
}

/// Why a scaffold could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// The name is not a DNS-1123 label.
    #[error(
        "`{0}` is not a valid Blueprint name: use lower-case letters, digits and `-` (at most 60 characters), starting with a letter"
    )]
    BadName(String),
}

/// One file of the scaffold: a path relative to the Blueprint folder and its content.
pub type File = (String, String);

/// The Blueprint name for `name` (`wordpress` and `bp-wordpress` both give `bp-wordpress`).
pub fn blueprint_name(name: &str) -> Result<String, InitError> {
    let short = name.strip_prefix(crate::model::NAME_PREFIX).unwrap_or(name);
    let ok = !short.is_empty()
        && short.len() <= 60
        && short.starts_with(|c: char| c.is_ascii_lowercase())
        && !short.ends_with('-')
        && short
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(format!("{}{short}", crate::model::NAME_PREFIX))
    } else {
        Err(InitError::BadName(name.to_string()))
    }
}

fn config_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "replicas": {"type": "integer", "minimum": 1, "maximum": 20, "default": 1, "description": "Number of pods"},
            "image": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "registry": {"type": "string", "default": "docker.io"},
                    "repository": {"type": "string", "default": "library/nginx"},
                    "tag": {"type": "string", "default": "1.27.2"}
                }
            },
            "resources": {
                "type": "object",
                "properties": {
                    "requests": {"type": "object", "default": {"cpu": "50m", "memory": "64Mi"}},
                    "limits": {"type": "object", "default": {"memory": "128Mi"}}
                }
            },
            "serviceMonitor": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "enabled": {"type": "boolean", "default": false, "description": "Render a ServiceMonitor (needs the Prometheus Operator CRDs)"}
                }
            }
        }
    })
}

/// JSON as YAML (block style, 2-space indent), for the schema embedded in blueprint.yaml.
fn to_yaml(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut s = String::new();
            for (k, val) in m {
                let key = yaml_key(k);
                match val {
                    Value::Object(o) if !o.is_empty() => {
                        s.push_str(&format!("{pad}{key}:\n{}", to_yaml(val, indent + 2)))
                    }
                    Value::Array(a) if !a.is_empty() && a.iter().any(|x| x.is_object()) => {
                        s.push_str(&format!("{pad}{key}:\n{}", to_yaml(val, indent + 2)))
                    }
                    _ => s.push_str(&format!("{pad}{key}: {}\n", flow(val))),
                }
            }
            s
        }
        Value::Array(a) if !a.is_empty() => {
            a.iter().map(|x| format!("{pad}- {}\n", flow(x))).collect()
        }
        other => format!("{pad}{}\n", flow(other)),
    }
}

fn yaml_key(k: &str) -> String {
    if k.starts_with('$') {
        format!("\"{k}\"")
    } else {
        k.to_string()
    }
}

fn flow(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-./_ ".contains(c))
                && !matches!(s.as_str(), "true" | "false" | "null" | "yes" | "no")
                && s.parse::<f64>().is_err()
                && !s.starts_with(' ')
                && !s.ends_with(' ');
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", yaml_key(k), flow(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// The files of a new Blueprint called `name` at version 0.1.0.
pub fn scaffold(name: &str, flavor: Flavor) -> Result<Vec<File>, InitError> {
    let bp = blueprint_name(name)?;
    let short = bp.trim_start_matches(crate::model::NAME_PREFIX).to_string();
    let schema = config_schema();
    let mut files: Vec<File> = Vec::new();
    let (manifests, annotations) = match flavor {
        Flavor::Helm => (
            "  manifests:\n    source:\n      kind: HelmChart\n      ref: ./chart\n    overlays:\n      small:\n        replicas: 1\n      medium:\n        replicas: 2\n      large:\n        replicas: 4\n".to_string(),
            format!("  annotations:\n    # A first-party chart: nothing upstream to vendor (see `bpkit lint --explain hollow-chart`).\n    {}: \"true\"\n", crate::model::ANNOTATION_NO_UPSTREAM),
        ),
        Flavor::Kustomize => (
            "  manifests:\n    source:\n      kind: Kustomize\n      ref: ./manifests/base\n    overlays:\n      small:\n        replicas: 1\n      medium:\n        replicas: 2\n      large:\n        replicas: 4\n".to_string(),
            String::new(),
        ),
    };
    files.push((
        "blueprint.yaml".into(),
        format!(
            "# yaml-language-server: $schema=https://openova.io/schemas/catalyst/blueprint.v1alpha1.schema.json\n\
apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: {bp}\n  version: 0.1.0\n{annotations}spec:\n  card:\n    title: {short}\n    summary: TODO one sentence on what {short} does.\n    icon: ./card/icon.svg\n    category: apps\n    tags: [{short}]\n  visibility: unlisted\n  owner:\n    team: TODO\n  configSchema:\n{}{manifests}  upgrades:\n    from: []\n  observability:\n    metrics: prometheus\n    logs: stdout\n",
            to_yaml(&schema, 4)
        ),
    ));
    files.push((
        "card/README.md".into(),
        format!("# {short}\n\nWhat `{bp}` installs, who it is for, and how to configure it.\n\n## Configuration\n\nSee `configSchema` in `blueprint.yaml`; the console form is generated from it.\n"),
    ));
    files.push((
        "card/icon.svg".into(),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\"><rect width=\"64\" height=\"64\" rx=\"12\" fill=\"#2f6fdb\"/></svg>\n".into(),
    ));
    files.push((
        "tests/integration.yaml".into(),
        format!("# Smoke test run by the Catalyst test harness after install.\nname: {short}-smoke\nsteps:\n  - wait: {{ kind: Deployment, name: \"{{{{ .application.name }}}}\", condition: Available, timeout: 5m }}\n"),
    ));
    let image = "image:\n  registry: docker.io\n  repository: library/nginx\n  tag: \"1.27.2\"\n";
    match flavor {
        Flavor::Helm => {
            files.push((
                "chart/Chart.yaml".into(),
                format!("apiVersion: v2\nname: {bp}\nversion: 0.1.0\ndescription: Helm chart of the {bp} Blueprint\ntype: application\nappVersion: \"1.27.2\"\nannotations:\n  artifacthub.io/images: |\n    - name: {short}\n      image: docker.io/library/nginx:1.27.2\n"),
            ));
            files.push((
                "chart/values.yaml".into(),
                format!("# Defaults; keep them equal to the configSchema defaults in blueprint.yaml.\nreplicas: 1\n{image}resources:\n  requests:\n    cpu: 50m\n    memory: 64Mi\n  limits:\n    memory: 128Mi\n# Off by default: the ServiceMonitor CRD may not exist yet.\nserviceMonitor:\n  enabled: false\n"),
            ));
            let mut values_schema = schema.clone();
            if let Some(m) = values_schema.as_object_mut() {
                m.insert(
                    "title".into(),
                    json!(format!("values of {bp} (generated from configSchema)")),
                );
            }
            files.push((
                "chart/values.schema.json".into(),
                serde_json::to_string_pretty(&values_schema).unwrap_or_default() + "\n",
            ));
            files.push((
                "chart/.helmignore".into(),
                "# Patterns to ignore when packaging the chart.\n.git/\n*.swp\n*.bak\n*.tmp\n*~\n.DS_Store\n".into(),
            ));
            files.push((
                "chart/templates/_helpers.tpl".into(),
                format!("{{{{- define \"{short}.labels\" -}}}}\napp.kubernetes.io/name: {short}\napp.kubernetes.io/instance: {{{{ .Release.Name }}}}\napp.kubernetes.io/version: {{{{ .Chart.AppVersion | quote }}}}\napp.kubernetes.io/managed-by: {{{{ .Release.Service }}}}\n{{{{- end }}}}\n"),
            ));
            files.push((
                "chart/templates/deployment.yaml".into(),
                format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{{{ .Release.Name }}}}\n  namespace: {{{{ .Release.Namespace }}}}\n  labels:\n    {{{{- include \"{short}.labels\" . | nindent 4 }}}}\nspec:\n  replicas: {{{{ .Values.replicas }}}}\n  selector:\n    matchLabels:\n      app.kubernetes.io/instance: {{{{ .Release.Name }}}}\n  template:\n    metadata:\n      labels:\n        {{{{- include \"{short}.labels\" . | nindent 8 }}}}\n    spec:\n      containers:\n        - name: {short}\n          image: \"{{{{ .Values.image.registry }}}}/{{{{ .Values.image.repository }}}}:{{{{ .Values.image.tag }}}}\"\n          ports:\n            - name: http\n              containerPort: 80\n          readinessProbe:\n            httpGet: {{ path: /, port: http }}\n          resources:\n            {{{{- toYaml .Values.resources | nindent 12 }}}}\n"),
            ));
            files.push((
                "chart/templates/service.yaml".into(),
                format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{{ .Release.Name }}}}\n  namespace: {{{{ .Release.Namespace }}}}\n  labels:\n    {{{{- include \"{short}.labels\" . | nindent 4 }}}}\nspec:\n  selector:\n    app.kubernetes.io/instance: {{{{ .Release.Name }}}}\n  ports:\n    - name: http\n      port: 80\n      targetPort: http\n"),
            ));
            files.push((
                "chart/templates/servicemonitor.yaml".into(),
                format!("{{{{- if .Values.serviceMonitor.enabled }}}}\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: {{{{ .Release.Name }}}}\n  namespace: {{{{ .Release.Namespace }}}}\n  labels:\n    {{{{- include \"{short}.labels\" . | nindent 4 }}}}\nspec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/instance: {{{{ .Release.Name }}}}\n  endpoints:\n    - port: http\n{{{{- end }}}}\n"),
            ));
        }
        Flavor::Kustomize => {
            files.push((
                "manifests/base/kustomization.yaml".into(),
                format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nlabels:\n  - pairs:\n      app.kubernetes.io/name: {short}\nresources:\n  - deployment.yaml\n  - service.yaml\nimages:\n  - name: {short}\n    newName: docker.io/library/nginx\n    newTag: \"1.27.2\"\n"),
            ));
            files.push((
                "manifests/base/deployment.yaml".into(),
                format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {short}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {short}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {short}\n    spec:\n      containers:\n        - name: {short}\n          image: {short}\n          ports:\n            - name: http\n              containerPort: 80\n"),
            ));
            files.push((
                "manifests/base/service.yaml".into(),
                format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {short}\nspec:\n  selector:\n    app.kubernetes.io/name: {short}\n  ports:\n    - name: http\n      port: 80\n      targetPort: http\n"),
            ));
            for (size, replicas) in [("small", 1), ("medium", 2), ("large", 4)] {
                files.push((
                    format!("manifests/overlays/{size}/kustomization.yaml"),
                    format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nreplicas:\n  - name: {short}\n    count: {replicas}\n"),
                ));
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(blueprint_name("wordpress").as_deref(), Ok("bp-wordpress"));
        assert_eq!(
            blueprint_name("bp-wordpress").as_deref(),
            Ok("bp-wordpress")
        );
        for bad in ["", "Word", "9x", "a_b", "x-", "bp-"] {
            assert!(blueprint_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn embedded_schema_round_trips_through_yaml() {
        let files = scaffold("demo", Flavor::Helm).expect("scaffold");
        let bp = &files[0].1;
        let l = crate::model::load_str("blueprint.yaml", bp, &crate::model::LoadOptions::default());
        assert!(l.findings.is_empty(), "{:?}", l.findings);
        let b = l.blueprint.expect("loads");
        assert_eq!(b.spec.config_schema, Some(config_schema()));
    }
}
