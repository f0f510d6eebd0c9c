//! Reading `blueprint.yaml` into the canonical model.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::{API_VERSION, Blueprint, NAME_PREFIX};
use crate::diag::{Finding, Severity, Source, Span, pointer_escape};
use crate::yaml::{self, Document, Limits, Node, NodeKind};

/// The Blueprint JSON Schema (draft 2020-12), as shipped in `schema/blueprint.schema.json`.
pub const BLUEPRINT_SCHEMA: &str = include_str!("../../../schema/blueprint.schema.json");

/// `apiVersion: catalyst.openova.io/v1` instead of `v1alpha1`.
pub const RULE_API_VERSION: &str = "canonical-api-version";
/// `metadata.name` without the `bp-` prefix.
pub const RULE_NAME_PREFIX: &str = "canonical-name-prefix";
/// The version under `spec.version` instead of `metadata.version`.
pub const RULE_VERSION_LOCATION: &str = "canonical-version-location";
/// A `depends` entry written as a bare string.
pub const RULE_DEPENDS_SHORT: &str = "canonical-depends-short-form";
/// `depends:` with no value.
pub const RULE_DEPENDS_NULL: &str = "canonical-depends-empty";
/// `manifests.chart: ./chart` instead of `manifests.source`.
pub const RULE_MANIFESTS_CHART: &str = "canonical-manifests-chart";
/// No `manifests` at all.
pub const RULE_MISSING_MANIFESTS: &str = "canonical-missing-manifests";
/// No `visibility`.
pub const RULE_MISSING_VISIBILITY: &str = "canonical-missing-visibility";
/// `card.docs` instead of `card.documentation`.
pub const RULE_CARD_DOCS: &str = "canonical-card-docs";
/// A field the model does not know.
pub const RULE_UNKNOWN_FIELD: &str = "unknown-field";
/// The document does not match the Blueprint schema.
pub const RULE_SCHEMA: &str = "blueprint-schema";

/// How to load.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// YAML size limits.
    pub limits: Limits,
}

/// The result of loading one `blueprint.yaml`.
#[derive(Debug)]
pub struct Loaded {
    /// The YAML document, when it parsed.
    pub document: Option<Document>,
    /// The canonical Blueprint, when there was no error.
    pub blueprint: Option<Blueprint>,
    /// Everything found, in document order: errors and warnings.
    pub findings: Vec<Finding>,
}

impl Loaded {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The span of the value at a canonical JSON Pointer, mapped back to where the author wrote
    /// it (a version read from `spec.version` points there).
    pub fn span_of(&self, pointer: &str) -> Option<Span> {
        let doc = self.document.as_ref()?;
        Some(doc.root.span_for(&original_pointer(&doc.root, pointer)))
    }
}

/// Loads a Blueprint from bytes read from the file `name`.
pub fn load(name: &str, bytes: &[u8], opts: &LoadOptions) -> Loaded {
    match yaml::load_bytes(name, bytes, &opts.limits) {
        Ok(doc) => from_document(doc),
        Err(e) => Loaded {
            document: None,
            blueprint: None,
            findings: vec![e.to_finding()],
        },
    }
}

/// Loads a Blueprint from text.
pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> Loaded {
    match yaml::load(Source::new(name, text), &opts.limits) {
        Ok(doc) => from_document(doc),
        Err(e) => Loaded {
            document: None,
            blueprint: None,
            findings: vec![e.to_finding()],
        },
    }
}

fn from_document(doc: Document) -> Loaded {
    let mut cx = Cx {
        src: &doc.source,
        findings: Vec::new(),
    };
    let canonical = normalise(&doc.root, &mut cx);
    let mut findings = cx.findings;
    let blueprint = match canonical {
        Some(mut value) => {
            check_schema(&doc, &mut value, &mut findings);
            if findings.iter().any(|f| f.severity == Severity::Error) {
                None
            } else {
                match serde_json::from_value::<Blueprint>(value) {
                    Ok(bp) => Some(bp),
                    Err(e) => {
                        findings.push(
                            Finding::error(
                                RULE_SCHEMA,
                                format!("the document does not fit the Blueprint model: {e}"),
                            )
                            .at(&doc.source, doc.root.span)
                            .with_help("this is a bug in bpkit's schema; please report it"),
                        );
                        None
                    }
                }
            }
        }
        None => None,
    };
    findings.sort_by_key(|f| (f.span.map_or(0, |s| s.start), f.severity != Severity::Error));
    Loaded {
        document: Some(doc),
        blueprint,
        findings,
    }
}

struct Cx<'a> {
    src: &'a Source,
    findings: Vec<Finding>,
}

impl Cx<'_> {
    fn warn(&mut self, rule: &'static str, span: Span, msg: String, help: &str, ptr: &str) {
        self.findings.push(
            Finding::warning(rule, msg)
                .at(self.src, span)
                .with_help(help)
                .with_pointer(ptr),
        );
    }

    fn error(&mut self, rule: &'static str, span: Span, msg: String, help: &str, ptr: &str) {
        self.findings.push(
            Finding::error(rule, msg)
                .at(self.src, span)
                .with_help(help)
                .with_pointer(ptr),
        );
    }
}

/// Rewrites the variants found in the real catalog into the canonical shape, reporting each.
fn normalise(root: &Node, cx: &mut Cx<'_>) -> Option<Value> {
    let NodeKind::Map(_) = &root.kind else {
        cx.error(
            RULE_SCHEMA,
            root.span,
            format!("expected a Blueprint mapping, found a {}", root.kind_name()),
            "a blueprint.yaml starts with `apiVersion: catalyst.openova.io/v1alpha1` and `kind: Blueprint`",
            "",
        );
        return None;
    };
    let mut value = root.to_json();
    let obj = value.as_object_mut()?;

    // apiVersion
    if let Some(e) = root.entry("apiVersion")
        && e.value.as_str() == Some("catalyst.openova.io/v1")
    {
        cx.warn(
            RULE_API_VERSION,
            e.value.span,
            format!("`apiVersion: catalyst.openova.io/v1` is not the canonical `{API_VERSION}`"),
            "write `apiVersion: catalyst.openova.io/v1alpha1` (`bpkit migrate` does it)",
            "/apiVersion",
        );
        obj.insert("apiVersion".into(), Value::String(API_VERSION.into()));
    }

    let spec_node = root.get("spec");
    let meta_node = root.get("metadata");

    // metadata.name prefix
    if let Some(name) = meta_node.and_then(|m| m.entry("name"))
        && let Some(n) = name.value.as_str()
        && !n.starts_with(NAME_PREFIX)
        && !n.is_empty()
    {
        cx.warn(
            RULE_NAME_PREFIX,
            name.value.span,
            format!("Blueprint name `{n}` has no `{NAME_PREFIX}` prefix"),
            &format!(
                "name it `{NAME_PREFIX}{n}`; it is published as `{NAME_PREFIX}{n}` either way"
            ),
            "/metadata/name",
        );
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("name".into(), Value::String(format!("{NAME_PREFIX}{n}")));
        }
    }

    // version location
    let spec_version = spec_node.and_then(|s| s.entry("version"));
    let meta_version = meta_node.and_then(|m| m.entry("version"));
    match (meta_version, spec_version) {
        (None, Some(sv)) => {
            cx.warn(
                RULE_VERSION_LOCATION,
                sv.key_span,
                "the version is under `spec.version`; the canonical place is `metadata.version`"
                    .into(),
                "move it to `metadata.version` (`bpkit migrate` does it)",
                "/spec/version",
            );
            let v = sv.value.to_json();
            if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert("version".into(), v);
            }
            if let Some(s) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                s.remove("version");
            }
        }
        (Some(mv), Some(sv)) => {
            if mv.value.to_json() == sv.value.to_json() {
                cx.warn(
                    RULE_VERSION_LOCATION,
                    sv.key_span,
                    "the version is given twice, under `metadata.version` and `spec.version`"
                        .into(),
                    "remove `spec.version`",
                    "/spec/version",
                );
                if let Some(s) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                    s.remove("version");
                }
            } else {
                cx.error(
                    RULE_VERSION_LOCATION,
                    sv.value.span,
                    format!(
                        "`spec.version` ({}) disagrees with `metadata.version` ({})",
                        scalar_text(&sv.value),
                        scalar_text(&mv.value)
                    ),
                    "keep one version, under `metadata.version`",
                    "/spec/version",
                );
            }
        }
        _ => {}
    }

    if let Some(spec) = spec_node {
        let spec_obj = obj.get_mut("spec").and_then(Value::as_object_mut);
        if let Some(spec_obj) = spec_obj {
            normalise_spec(spec, spec_obj, cx);
        }
    }
    Some(value)
}

fn normalise_spec(spec: &Node, out: &mut Map<String, Value>, cx: &mut Cx<'_>) {
    // depends
    if let Some(dep) = spec.entry("depends") {
        match &dep.value.kind {
            NodeKind::Null => {
                cx.warn(
                    RULE_DEPENDS_NULL,
                    dep.key_span,
                    "`depends` has no value".into(),
                    "write `depends: []`, or remove the key",
                    "/spec/depends",
                );
                out.remove("depends");
            }
            NodeKind::Seq(items) => {
                let mut list = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match &item.kind {
                        NodeKind::String(s) => {
                            cx.warn(
                                RULE_DEPENDS_SHORT,
                                item.span,
                                format!("dependency `{s}` is a bare string; it has no version constraint"),
                                &format!("write `- blueprint: {s}` with a `version:` range such as `^1`"),
                                &format!("/spec/depends/{i}"),
                            );
                            let mut m = Map::new();
                            m.insert("blueprint".into(), Value::String(s.clone()));
                            list.push(Value::Object(m));
                        }
                        _ => list.push(item.to_json()),
                    }
                }
                out.insert("depends".into(), Value::Array(list));
            }
            _ => {}
        }
    }

    // manifests
    match spec.entry("manifests") {
        Some(m) => {
            if let Some(chart) = m.value.entry("chart") {
                if m.value.entry("source").is_some() {
                    cx.error(
                        RULE_MANIFESTS_CHART,
                        chart.key_span,
                        "`manifests` has both `chart` and `source`".into(),
                        "keep only `manifests.source`",
                        "/spec/manifests/chart",
                    );
                } else if let Some(path) = chart.value.as_str() {
                    cx.warn(
                        RULE_MANIFESTS_CHART,
                        chart.key_span,
                        "`manifests.chart` is a shorthand; the canonical form is `manifests.source`".into(),
                        &format!("write `source: {{ kind: HelmChart, ref: {path} }}` (`bpkit migrate` does it)"),
                        "/spec/manifests/chart",
                    );
                    if let Some(mo) = out.get_mut("manifests").and_then(Value::as_object_mut) {
                        mo.remove("chart");
                        let mut src = Map::new();
                        src.insert("kind".into(), Value::String("HelmChart".into()));
                        src.insert("ref".into(), Value::String(path.to_string()));
                        mo.insert("source".into(), Value::Object(src));
                    }
                }
            }
        }
        None => cx.warn(
            RULE_MISSING_MANIFESTS,
            spec.span_for_key_or_self("spec"),
            "`spec.manifests` is missing; the chart in `./chart` is assumed".into(),
            "add `manifests: { source: { kind: HelmChart, ref: ./chart } }`",
            "/spec/manifests",
        ),
    }

    // card.docs
    if let Some(card) = spec.get("card")
        && let Some(docs) = card.entry("docs")
    {
        if card.entry("documentation").is_some() {
            cx.warn(
                RULE_CARD_DOCS,
                docs.key_span,
                "`card.docs` duplicates `card.documentation`".into(),
                "remove `card.docs`",
                "/spec/card/docs",
            );
        } else {
            cx.warn(
                RULE_CARD_DOCS,
                docs.key_span,
                "`card.docs` is not canonical; the field is `card.documentation`".into(),
                "rename it to `documentation` (`bpkit migrate` does it)",
                "/spec/card/docs",
            );
            if let Some(co) = out.get_mut("card").and_then(Value::as_object_mut)
                && let Some(v) = co.remove("docs")
            {
                co.insert("documentation".into(), v);
            }
        }
        if let Some(co) = out.get_mut("card").and_then(Value::as_object_mut) {
            co.remove("docs");
        }
    }

    if spec.entry("visibility").is_none() {
        cx.warn(
            RULE_MISSING_VISIBILITY,
            spec.span_for_key_or_self("spec"),
            "`spec.visibility` is not set".into(),
            "say who may see it: `visibility: listed`, `unlisted` or `private`",
            "/spec/visibility",
        );
    }
}

impl Node {
    fn span_for_key_or_self(&self, _key: &str) -> Span {
        // A missing key is reported at the start of its parent mapping.
        Span::new(self.span.start, self.span.start)
    }
}

fn scalar_text(n: &Node) -> String {
    match n.to_json() {
        Value::String(s) => s,
        v => v.to_string(),
    }
}

/// Maps a pointer into the canonical document to where the author wrote it.
fn original_pointer(root: &Node, pointer: &str) -> String {
    if pointer.starts_with("/metadata/version")
        && root.find("/metadata/version").is_none()
        && root.find("/spec/version").is_some()
    {
        return pointer.replacen("/metadata/version", "/spec/version", 1);
    }
    if let Some(rest) = pointer.strip_prefix("/spec/manifests/source")
        && root.find("/spec/manifests/source").is_none()
        && root.find("/spec/manifests/chart").is_some()
    {
        let _ = rest;
        return "/spec/manifests/chart".into();
    }
    if pointer.starts_with("/spec/card/documentation")
        && root.find("/spec/card/documentation").is_none()
        && root.find("/spec/card/docs").is_some()
    {
        return "/spec/card/docs".into();
    }
    pointer.to_string()
}

fn schema_validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(BLUEPRINT_SCHEMA).ok()?;
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .ok()
    })
    .as_ref()
}

fn schema_json() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| serde_json::from_str(BLUEPRINT_SCHEMA).unwrap_or(Value::Null))
}

/// Checks the canonical value against the Blueprint schema. Unknown fields become warnings and
/// are removed from `value`; everything else is an error.
fn check_schema(doc: &Document, value: &mut Value, findings: &mut Vec<Finding>) {
    let Some(validator) = schema_validator() else {
        findings.push(
            Finding::error(
                RULE_SCHEMA,
                "the embedded Blueprint schema does not compile",
            )
            .with_help("this is a bug in bpkit; please report it"),
        );
        return;
    };
    let mut unknown: Vec<(String, String)> = Vec::new();
    let mut errors: Vec<(String, String, String, Option<String>)> = Vec::new();
    for err in validator.iter_errors(value) {
        let ptr = err.instance_path().to_string();
        let schema_ptr = err.schema_path().to_string();
        match err.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                for k in unexpected {
                    unknown.push((ptr.clone(), k.clone()));
                }
            }
            kind => {
                let (msg, help) = describe(kind, &ptr, err.instance(), &err.to_string());
                errors.push((ptr, schema_ptr, msg, help));
            }
        }
    }
    for (parent, key) in unknown {
        let ptr = format!("{parent}/{}", pointer_escape(&key));
        let orig = original_pointer(&doc.root, &ptr);
        let span = doc
            .root
            .key_span_for(&orig)
            .unwrap_or_else(|| doc.root.span_for(&orig));
        let known = known_fields(&parent);
        let mut help = match closest(&key, &known) {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        if !known.is_empty() {
            help.push_str(&format!("known fields here: {}", known.join(", ")));
        }
        let place = if parent.is_empty() {
            "the document".to_string()
        } else {
            format!("`{}`", parent.trim_start_matches('/').replace('/', "."))
        };
        findings.push(
            Finding::warning(
                RULE_UNKNOWN_FIELD,
                format!("unknown field `{key}` in {place}; it is ignored"),
            )
            .at(&doc.source, span)
            .with_help(help)
            .with_pointer(ptr.clone()),
        );
        remove_pointer(value, &parent, &key);
    }
    for (ptr, _schema_ptr, msg, help) in errors {
        let orig = original_pointer(&doc.root, &ptr);
        let span = doc.root.span_for(&orig);
        let mut f = Finding::error(RULE_SCHEMA, msg)
            .at(&doc.source, span)
            .with_pointer(if ptr.is_empty() { "/".to_string() } else { ptr });
        if let Some(h) = help {
            f = f.with_help(h);
        }
        findings.push(f);
    }
}

fn describe(
    kind: &jsonschema::error::ValidationErrorKind,
    ptr: &str,
    instance: &Value,
    fallback: &str,
) -> (String, Option<String>) {
    use jsonschema::error::ValidationErrorKind as K;
    let field = if ptr.is_empty() {
        "the document".to_string()
    } else {
        format!("`{}`", ptr.trim_start_matches('/').replace('/', "."))
    };
    match kind {
        K::Required { property } => {
            let p = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string);
            (
                format!("missing required field `{p}` in {field}"),
                Some(required_help(ptr, &p)),
            )
        }
        K::Type { kind } => (
            format!(
                "{field} must be {}, found {}",
                type_words(kind),
                json_kind(instance)
            ),
            None,
        ),
        K::Enum { options } => (
            format!(
                "{field} is {}, expected one of {}",
                short(instance),
                enum_words(options)
            ),
            None,
        ),
        K::Constant { expected_value } => (
            format!(
                "{field} is {}, expected {}",
                short(instance),
                short(expected_value)
            ),
            None,
        ),
        K::Pattern { .. } => {
            let help = if ptr.ends_with("/version") && ptr.starts_with("/metadata") {
                "a Blueprint version is MAJOR.MINOR.PATCH, such as `1.4.0`"
            } else {
                "a name is a DNS-1123 label: lower-case letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters"
            };
            (
                format!("{field} is {}, which is not valid here", short(instance)),
                Some(help.into()),
            )
        }
        K::MaxLength { limit } => (format!("{field} is longer than {limit} characters"), None),
        K::MinLength { .. } => (format!("{field} must not be empty"), None),
        K::MinItems { .. } => (format!("{field} must not be empty"), None),
        K::UniqueItems => (format!("{field} has duplicate items"), None),
        K::Minimum { limit } => (format!("{field} must be at least {limit}"), None),
        _ => (format!("{field}: {fallback}"), None),
    }
}

fn required_help(ptr: &str, p: &str) -> String {
    match (ptr, p) {
        ("/metadata", "version") => "add `version: 1.0.0` under `metadata`".into(),
        ("", "apiVersion") => {
            "start the file with `apiVersion: catalyst.openova.io/v1alpha1`".into()
        }
        ("", "kind") => "add `kind: Blueprint`".into(),
        _ => format!("add `{p}:`"),
    }
}

fn type_words(kind: &jsonschema::error::TypeKind) -> String {
    let s = format!("{kind:?}");
    // TypeKind is `Single(Object)` or `Multiple(...)`: keep only the type names.
    let names: Vec<String> = [
        "Object", "Array", "String", "Integer", "Number", "Boolean", "Null",
    ]
    .iter()
    .filter(|n| s.contains(*n))
    .map(|n| article(&n.to_ascii_lowercase()))
    .collect();
    if names.is_empty() {
        s
    } else {
        names.join(" or ")
    }
}

fn article(t: &str) -> String {
    match t {
        "object" => "a mapping".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        "null" => "null".into(),
        other => format!("a {other}"),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}…`")
    } else {
        s
    }
}

fn enum_words(options: &Value) -> String {
    match options {
        Value::Array(a) => a.iter().map(short).collect::<Vec<_>>().join(", "),
        other => short(other),
    }
}

/// The property names the schema allows at an instance pointer.
fn known_fields(instance_ptr: &str) -> Vec<String> {
    let schema = schema_json();
    let mut node = schema;
    for token in crate::diag::pointer_tokens(instance_ptr) {
        let resolved = resolve_ref(schema, node);
        if let Some(p) = resolved.get("properties").and_then(|p| p.get(&token)) {
            node = p;
        } else if let Some(items) = resolved.get("items") {
            node = items;
        } else {
            return Vec::new();
        }
    }
    let resolved = resolve_ref(schema, node);
    resolved
        .get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn resolve_ref<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with("#/") => root.pointer(&r[1..]).unwrap_or(node),
        _ => node,
    }
}

/// The known name closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn closest(word: &str, known: &[String]) -> Option<String> {
    let w = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&w, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
        .or_else(|| {
            known
                .iter()
                .find(|k| k.to_ascii_lowercase().starts_with(&w) && w.len() >= 3)
                .cloned()
        })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn remove_pointer(value: &mut Value, parent: &str, key: &str) {
    let target = if parent.is_empty() {
        Some(value)
    } else {
        value.pointer_mut(parent)
    };
    if let Some(Value::Object(m)) = target {
        m.shift_remove(key);
    }
}
