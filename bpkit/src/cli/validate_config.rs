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
            // Positions in the schema file are never reported: read it as plain data (JSON
            // with serde_json, which is several times faster than the YAML reader).
            match read_fast(s) {
                Ok(v) => (v, None, None),
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
    let mut all: Vec<Finding> = Vec::new();
    let defaults = schema.defaults();
    let mut base = defaults.clone();
    if let Some(o) = &overlay {
        crate::resolve::merge_values(&mut base, o);
    }
    let mut sets = Value::Object(serde_json::Map::new());
    for (arg, string) in a
        .set
        .iter()
        .map(|x| (x, false))
        .chain(a.set_string.iter().map(|x| (x, true)))
    {
        let parsed = if string {
            crate::validate::values::parse_set_string(arg)
        } else {
            crate::validate::values::parse_set(arg)
        };
        match parsed {
            Ok(v) => crate::resolve::merge_values(&mut sets, &v),
            Err(e) => {
                p.error(&e.to_string());
                return Exit::Error;
            }
        }
    }
    let cx = Check {
        a,
        schema: &schema,
        defaults: &defaults,
        base: &base,
        sets: &sets,
        overlay: overlay.as_ref(),
        schema_src: schema_src.as_ref().map(|(s, _)| s),
    };
    // Fast path first: read each file as plain data, merge, and ask the schema yes or no. Only
    // a config that fails is merged again with positions, to say where each problem is. With
    // `--each`, files are checked on all cores; the output keeps the order of the arguments.
    let outcomes: Vec<Outcome> = if a.each {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(files.len().max(1));
        let chunk = files.len().div_ceil(threads.max(1)).max(1);
        if threads <= 1 {
            files
                .iter()
                .map(|f| cx.check(std::slice::from_ref(f)))
                .collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = files
                    .chunks(chunk)
                    .map(|part| {
                        scope.spawn(|| {
                            part.iter()
                                .map(|f| cx.check(std::slice::from_ref(f)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        }
    } else {
        vec![cx.check(&files)]
    };
    let mut results = Vec::with_capacity(outcomes.len());
    let mut invalid = 0usize;
    let mut load_errors = 0usize;
    for o in outcomes {
        if o.unreadable {
            load_errors += 1;
        } else if !o.valid {
            invalid += 1;
        }
        all.extend(o.findings);
        if a.print
            && !p.json_mode()
            && let Some(m) = &o.merged
        {
            p.data(crate::yaml::to_yaml(m).trim_end());
        }
        results.push(json!({"file": o.name, "valid": o.valid && !o.unreadable, "config": if a.print { o.merged.unwrap_or(Value::Null) } else { Value::Null }}));
    }
    let checked = results.len();
    let bad = invalid + load_errors;
    if p.json_mode() {
        let findings: Vec<_> = all.iter().map(Finding::record).collect();
        p.json(&json!({"results": results, "findings": findings, "summary": {"checked": checked, "invalid": bad}}));
    } else {
        p.findings(&all, super::FindingFormat::Text);
        let line = format!(
            "{checked} configs checked: {} valid, {bad} invalid",
            checked - bad
        );
        if bad > 0 {
            p.error(&line)
        } else {
            p.status(&line)
        }
    }
    if bad > 0 {
        Exit::Findings
    } else {
        Exit::Success
    }
}

/// What one check needs; shared by the worker threads.
struct Check<'a> {
    a: &'a ValidateConfigArgs,
    schema: &'a ConfigSchema,
    defaults: &'a Value,
    base: &'a Value,
    sets: &'a Value,
    overlay: Option<&'a Value>,
    schema_src: Option<&'a Source>,
}

/// The result of checking one config (one file with `--each`, else all files merged).
#[derive(Default)]
struct Outcome {
    name: Option<String>,
    valid: bool,
    unreadable: bool,
    merged: Option<Value>,
    findings: Vec<Finding>,
}

impl Check<'_> {
    fn check(&self, files: &[PathBuf]) -> Outcome {
        let mut out = Outcome {
            name: files.first().map(|f| f.display().to_string()),
            ..Outcome::default()
        };
        let mut merged = self.base.clone();
        let mut read: Vec<(PathBuf, Value)> = Vec::with_capacity(files.len());
        for f in files {
            match read_fast(f) {
                Ok(v) => {
                    crate::resolve::merge_values(&mut merged, &v);
                    read.push((f.clone(), v));
                }
                Err(finding) => {
                    out.findings.push(*finding);
                    out.unreadable = true;
                }
            }
        }
        if out.unreadable {
            return out;
        }
        crate::resolve::merge_values(&mut merged, self.sets);
        out.valid = merged.is_object() && self.schema.is_valid(&merged);
        if !out.valid {
            let group: Vec<&(PathBuf, Value)> = read.iter().collect();
            out.findings.extend(explain(
                self.a,
                self.schema,
                self.defaults,
                self.overlay,
                self.schema_src,
                &group,
            ));
        }
        if self.a.print {
            out.merged = Some(merged);
        }
        out
    }
}

/// Reads a values file as plain data: JSON files with serde_json, others with the YAML reader.
fn read_fast(path: &PathBuf) -> Result<Value, Box<Finding>> {
    if path.extension().is_some_and(|e| e == "json")
        && let Ok(bytes) = std::fs::read(path)
        && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
    {
        return Ok(v);
    }
    // YAML, or JSON with an error: the YAML reader says where.
    load_doc(path).map(|d| d.root.into_json())
}

/// The findings of one failed config, each at the file, line and column that supplied the
/// offending value (or naming the `--set` argument, overlay or default).
fn explain(
    a: &ValidateConfigArgs,
    schema: &ConfigSchema,
    defaults: &Value,
    overlay: Option<&Value>,
    schema_src: Option<&Source>,
    group: &[&(PathBuf, Value)],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut docs = Vec::new();
    for (f, _) in group {
        match load_doc(f) {
            Ok(d) => docs.push(d),
            Err(finding) => out.push(*finding),
        }
    }
    let mut m = ValuesMerge::new(defaults.clone());
    if let (Some(o), Some(name)) = (overlay, &a.overlay) {
        m = m.overlay(name.clone(), o.clone());
    }
    for d in &docs {
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
            let file = docs
                .first()
                .map_or_else(|| "--set".to_string(), |d| d.source.name().to_string());
            out.push(Finding::error("values", e.to_string()).in_file(file));
            return out;
        }
    };
    for v in schema.validate(&merged.values) {
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
        match merged.origin(&v.instance_pointer) {
            Some(layer) if layer.kind == LayerKind::ValuesFile => {
                if let Some(d) = docs.iter().find(|d| d.source.name() == layer.name) {
                    f = f.at(&d.source, d.root.span_for(&v.instance_pointer));
                }
            }
            Some(layer) => {
                f.message = format!("{} (from {layer})", f.message);
                match (layer.kind, schema_src) {
                    (LayerKind::Set | LayerKind::SetString, _) | (_, None) => {
                        f = f.in_file(layer.to_string())
                    }
                    (_, Some(src)) => f = f.at(src, Default::default()),
                }
            }
            None => match docs.last() {
                Some(d) => f = f.at(&d.source, d.root.span_for(&v.instance_pointer)),
                None => f = f.in_file("the configuration"),
            },
        }
        f.message = format!(
            "{} (keyword `{}`, expected {})",
            f.message, v.keyword, v.expected
        );
        out.push(f);
    }
    out
}
