//! `bpkit validate-config`.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};

use super::{Exit, Printer};
use crate::diag::{Finding, Source};
use crate::model::LoadOptions;
use crate::validate::blueprint::check_file;
use crate::validate::config::{ConfigSchema, SchemaOptions};
use crate::validate::values::{LayerKind, ValuesMerge};
use crate::yaml::{Document, Limits};

/// Arguments of `bpkit validate-config`.
#[derive(Debug, Args)]
pub struct ValidateConfigArgs {
    /// The Blueprint (a blueprint.yaml or its folder) whose configSchema applies, then values
    /// files; with `--schema`, only values files.
    #[arg(value_name = "BLUEPRINT [VALUES]", required_unless_present = "schema")]
    pub inputs: Vec<PathBuf>,
    /// A JSON Schema file (JSON or YAML) to use instead of a Blueprint's configSchema.
    #[arg(long, conflicts_with = "overlay")]
    pub schema: Option<PathBuf>,
    /// Values files, merged in order (YAML or JSON).
    #[arg(long = "values", short = 'f')]
    pub values: Vec<PathBuf>,
    /// An overlay of the Blueprint (`small`, `medium`, `large`…), applied before the files.
    #[arg(long)]
    pub overlay: Option<String>,
    /// Set values on the command line, Helm style (`a.b=c`, `list={x,y}`, `a[0]=x`).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Like `--set`, but values stay strings.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Check each values file on its own (with defaults, overlay and --set) instead of merging.
    #[arg(long)]
    pub each: bool,
    /// Print the effective configuration.
    #[arg(long)]
    pub print: bool,
}

fn load_doc(path: &PathBuf) -> Result<Document, Box<Finding>> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        Box::new(Finding::error("io", format!("cannot read the file: {e}")).in_file(name.clone()))
    })?;
    crate::yaml::load_bytes(&name, &bytes, &Limits::default()).map_err(|e| Box::new(e.to_finding()))
}

/// Runs `bpkit validate-config`.
pub fn run(a: &ValidateConfigArgs, p: &Printer) -> Exit {
    // The schema and the overlay.
    let (schema_value, schema_src, overlay): (Value, Option<(Source, String)>, Option<Value>) =
        if let Some(s) = &a.schema {
            match load_doc(s) {
                Ok(d) => (d.root.to_json(), None, None),
                Err(f) => {
                    p.findings(&[*f], super::FindingFormat::Text);
                    return Exit::Error;
                }
            }
        } else {
            let Some(bp_path) = a.inputs.first() else {
                return Exit::Error;
            };
            let file = if bp_path.is_dir() {
                bp_path.join(crate::catalog::BLUEPRINT_FILE)
            } else {
                bp_path.clone()
            };
            let c = check_file(&file, &LoadOptions::default());
            let Some(bp) = c.blueprint() else {
                p.findings(c.findings(), super::FindingFormat::Text);
                p.error(&format!("`{}` is not a valid Blueprint", file.display()));
                return Exit::Findings;
            };
            let overlay = match &a.overlay {
                None => None,
                Some(name) => match bp
                    .spec
                    .manifests
                    .as_ref()
                    .and_then(|m| m.overlays.get(name))
                {
                    Some(o) => Some(o.clone()),
                    None => {
                        let known: Vec<String> = bp
                            .spec
                            .manifests
                            .as_ref()
                            .map(|m| m.overlays.keys().cloned().collect())
                            .unwrap_or_default();
                        p.error(&format!(
                            "`{}` has no overlay `{name}`; overlays: {}",
                            bp.name(),
                            if known.is_empty() {
                                "none".into()
                            } else {
                                known.join(", ")
                            }
                        ));
                        return Exit::Error;
                    }
                },
            };
            let src = c
                .loaded
                .document
                .as_ref()
                .map(|d| (d.source.clone(), bp.name().to_string()));
            (
                bp.spec
                    .config_schema
                    .clone()
                    .unwrap_or_else(|| json!({"type": "object"})),
                src,
                overlay,
            )
        };
    let schema = match ConfigSchema::compile(&schema_value, &SchemaOptions::default()) {
        Ok(s) => s,
        Err(issues) => {
            for i in &issues {
                p.error(&format!("configSchema: {i}"));
            }
            return Exit::Findings;
        }
    };
    let positional = if a.schema.is_some() {
        &a.inputs[..]
    } else {
        a.inputs.get(1..).unwrap_or(&[])
    };
    let files: Vec<PathBuf> = a.values.iter().chain(positional.iter()).cloned().collect();
    let mut docs = Vec::with_capacity(files.len());
    let mut all: Vec<Finding> = Vec::new();
    for f in &files {
        match load_doc(f) {
            Ok(d) => docs.push(d),
            Err(finding) => all.push(*finding),
        }
    }
    let groups: Vec<Vec<&Document>> = if a.each {
        docs.iter().map(|d| vec![d]).collect()
    } else {
        vec![docs.iter().collect()]
    };
    let mut results = Vec::new();
    let mut invalid = 0usize;
    for group in &groups {
        let mut m = ValuesMerge::new(schema.defaults());
        if let (Some(o), Some(name)) = (&overlay, &a.overlay) {
            m = m.overlay(name.clone(), o.clone());
        }
        for d in group {
            m = m.values_file(d.source.name().to_string(), d.root.to_json());
        }
        for s in &a.set {
            m = m.set(s.clone());
        }
        for s in &a.set_string {
            m = m.set_string(s.clone());
        }
        let merged = match m.merge() {
            Ok(x) => x,
            Err(e) => {
                all.push(
                    Finding::error("values", e.to_string()).in_file(
                        group
                            .first()
                            .map_or("--set".into(), |d| d.source.name().to_string()),
                    ),
                );
                invalid += 1;
                continue;
            }
        };
        let violations = schema.validate(&merged.values);
        let name = group.first().map(|d| d.source.name().to_string());
        if !violations.is_empty() {
            invalid += 1;
        }
        for v in &violations {
            let mut f = Finding::error("config", v.message.clone()).with_pointer(
                if v.instance_pointer.is_empty() {
                    "/".into()
                } else {
                    v.instance_pointer.clone()
                },
            );
            if let Some(h) = &v.help {
                f = f.with_help(h.clone());
            }
            // A missing property has no origin: it is reported in the last file.
            let origin = merged.origin(&v.instance_pointer);
            match origin {
                Some(layer) if layer.kind == LayerKind::ValuesFile => {
                    if let Some(d) = group.iter().find(|d| d.source.name() == layer.name) {
                        f = f.at(&d.source, d.root.span_for(&v.instance_pointer));
                    }
                }
                Some(layer) if matches!(layer.kind, LayerKind::Set | LayerKind::SetString) => {
                    f.message = format!("{} (from {layer})", f.message);
                    f = f.in_file(layer.to_string());
                }
                Some(layer) => {
                    f.message = format!("{} (from {layer})", f.message);
                    match &schema_src {
                        Some((src, _)) => {
                            f = f
                                .at(src, Default::default())
                                .in_file(src.name().to_string())
                        }
                        None => f = f.in_file(layer.to_string()),
                    }
                }
                None => match group.last() {
                    Some(d) => f = f.at(&d.source, d.root.span_for(&v.instance_pointer)),
                    None => f = f.in_file("the configuration"),
                },
            }
            f.message = format!(
                "{} (keyword `{}`, expected {})",
                f.message, v.keyword, v.expected
            );
            all.push(f);
        }
        results.push(json!({"file": name, "valid": violations.is_empty(), "config": if a.print { merged.values.clone() } else { Value::Null }}));
        if a.print && !p.json_mode() {
            p.data(crate::yaml::to_yaml(&merged.values).trim_end());
        }
    }
    let load_errors = all
        .iter()
        .filter(|f| f.rule == "io" || f.rule.starts_with("yaml"))
        .count();
    if p.json_mode() {
        let findings: Vec<_> = all.iter().map(Finding::record).collect();
        p.json(&json!({"results": results, "findings": findings, "summary": {"checked": groups.len(), "invalid": invalid + load_errors}}));
    } else {
        p.findings(&all, super::FindingFormat::Text);
        let line = format!(
            "{} configs checked: {} valid, {} invalid",
            groups.len() + load_errors,
            groups.len() - invalid.min(groups.len()),
            invalid + load_errors
        );
        if invalid + load_errors > 0 {
            p.error(&line)
        } else {
            p.status(&line)
        }
    }
    if load_errors > 0 && invalid == 0 && groups.is_empty() {
        return Exit::Error;
    }
    if invalid + load_errors > 0 {
        Exit::Findings
    } else {
        Exit::Success
    }
}
