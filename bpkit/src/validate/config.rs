//! `configSchema` compilation and config validation.
//!
//! A Blueprint's `configSchema` is a JSON Schema; the console builds its form from it and every
//! config given to the Blueprint must match it. [`ConfigSchema::compile`] checks the schema
//! itself (against the meta-schema of its draft, and the Catalyst `x-catalyst-ui-*` keywords),
//! then [`ConfigSchema::validate`] checks configs against it, as often as needed.
//!
//! ```
//! use bpkit::validate::config::{ConfigSchema, SchemaOptions};
//! use serde_json::json;
//!
//! let schema = json!({
//!     "type": "object",
//!     "properties": {"replicas": {"type": "integer", "minimum": 1, "default": 1}}
//! });
//! let compiled = ConfigSchema::compile(&schema, &SchemaOptions::default()).unwrap();
//! assert_eq!(compiled.defaults(), json!({"replicas": 1}));
//!
//! let violations = compiled.validate(&json!({"replicas": "two"}));
//! assert_eq!(violations[0].instance_pointer, "/replicas");
//! assert_eq!(violations[0].message, "expected type `integer`, found string `\"two\"`");
//! ```
//!
//! Drafts: the `$schema` keyword chooses one of draft-04, draft-06, draft-07, 2019-09 and
//! 2020-12; without it [`SchemaOptions::default_draft`] applies (2020-12 unless changed).
//! `format` is asserted (a config with `format: hostname` must hold a host name); formats the
//! engine does not know are annotations and accept anything. Nothing is ever fetched
//! from the network: a `$ref` or `$schema` naming a remote document resolves only through the
//! documents registered with [`SchemaOptions::with_resource`].

mod describe;
mod walk;

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use self::describe::{Described, Lookup};
use crate::diag::pointer_escape;

/// The keyword that asks the console for a particular input widget.
pub const UI_HINT_KEYWORD: &str = "x-catalyst-ui-hint";

/// The keyword that narrows an `application-ref` picker.
pub const UI_FILTER_KEYWORD: &str = "x-catalyst-ui-filter";

/// The members an [`UI_FILTER_KEYWORD`] object may have.
pub const UI_FILTER_MEMBERS: &[&str] = &["blueprint", "environment"];

/// One value that `x-catalyst-ui-hint` may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct UiHint {
    /// The value written in the schema.
    pub name: &'static str,
    /// What the console renders for it.
    pub summary: &'static str,
}

/// Every value `x-catalyst-ui-hint` may take. All of them render a text-like input, so the
/// schema they sit on must allow strings (`type: string`, or no `type` at all).
///
/// - `password`: a masked input; bpkit also hides the value in its own messages.
/// - `domain-picker`: autocompletion over the Organization's existing domains.
/// - `application-ref`: a picker over existing Applications in the Environment; narrowed by
///   `x-catalyst-ui-filter` (`blueprint`: the Blueprint name the Applications must come from,
///   `environment`: which Environment to look in, for example `current`).
/// - `textarea`: a multi-line text input (certificates, scripts, free text).
/// - `secret-ref`: a picker over existing Kubernetes Secrets; the value is the Secret's name,
///   never its content.
///
/// The first three are the ones the Blueprint authoring guide documents; `textarea` and
/// `secret-ref` are bpkit's additions for the two other widgets configs commonly need.
pub const UI_HINTS: &[UiHint] = &[
    UiHint {
        name: "password",
        summary: "masked input; the value is hidden in messages",
    },
    UiHint {
        name: "domain-picker",
        summary: "autocompletion over the Organization's existing domains",
    },
    UiHint {
        name: "application-ref",
        summary: "picker over existing Applications, narrowed by `x-catalyst-ui-filter`",
    },
    UiHint {
        name: "textarea",
        summary: "multi-line text input",
    },
    UiHint {
        name: "secret-ref",
        summary: "picker over existing Kubernetes Secrets (the value is a Secret name)",
    },
];

/// Schemas and configs nesting deeper than this many arrays/objects are refused, so that no
/// input can exhaust the stack of the validator.
pub const MAX_NESTING: usize = 128;

/// A JSON Schema draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Draft {
    /// draft-04 (`http://json-schema.org/draft-04/schema#`).
    Draft4,
    /// draft-06 (`http://json-schema.org/draft-06/schema#`).
    Draft6,
    /// draft-07 (`http://json-schema.org/draft-07/schema#`).
    Draft7,
    /// 2019-09 (`https://json-schema.org/draft/2019-09/schema`).
    Draft201909,
    /// 2020-12 (`https://json-schema.org/draft/2020-12/schema`), the default.
    Draft202012,
}

impl Draft {
    /// Every supported draft, oldest first.
    pub const ALL: [Draft; 5] = [
        Draft::Draft4,
        Draft::Draft6,
        Draft::Draft7,
        Draft::Draft201909,
        Draft::Draft202012,
    ];

    /// The draft a `$schema` URI names (`http` or `https`, with or without an empty fragment).
    pub fn from_schema_uri(uri: &str) -> Option<Draft> {
        let uri = uri.strip_suffix('#').unwrap_or(uri);
        let uri = uri
            .strip_prefix("https://")
            .or_else(|| uri.strip_prefix("http://"))?;
        match uri {
            "json-schema.org/draft-04/schema" => Some(Draft::Draft4),
            "json-schema.org/draft-06/schema" => Some(Draft::Draft6),
            "json-schema.org/draft-07/schema" => Some(Draft::Draft7),
            "json-schema.org/draft/2019-09/schema" => Some(Draft::Draft201909),
            "json-schema.org/draft/2020-12/schema" => Some(Draft::Draft202012),
            _ => None,
        }
    }

    /// The canonical `$schema` URI of this draft.
    pub fn schema_uri(self) -> &'static str {
        match self {
            Draft::Draft4 => "http://json-schema.org/draft-04/schema#",
            Draft::Draft6 => "http://json-schema.org/draft-06/schema#",
            Draft::Draft7 => "http://json-schema.org/draft-07/schema#",
            Draft::Draft201909 => "https://json-schema.org/draft/2019-09/schema",
            Draft::Draft202012 => "https://json-schema.org/draft/2020-12/schema",
        }
    }

    /// The short name (`draft-07`, `2020-12`).
    pub fn name(self) -> &'static str {
        match self {
            Draft::Draft4 => "draft-04",
            Draft::Draft6 => "draft-06",
            Draft::Draft7 => "draft-07",
            Draft::Draft201909 => "2019-09",
            Draft::Draft202012 => "2020-12",
        }
    }

    fn engine(self) -> jsonschema::Draft {
        match self {
            Draft::Draft4 => jsonschema::Draft::Draft4,
            Draft::Draft6 => jsonschema::Draft::Draft6,
            Draft::Draft7 => jsonschema::Draft::Draft7,
            Draft::Draft201909 => jsonschema::Draft::Draft201909,
            Draft::Draft202012 => jsonschema::Draft::Draft202012,
        }
    }

    fn meta_validator(self) -> jsonschema::meta::MetaValidator<'static> {
        match self {
            Draft::Draft4 => jsonschema::draft4::meta::validator(),
            Draft::Draft6 => jsonschema::draft6::meta::validator(),
            Draft::Draft7 => jsonschema::draft7::meta::validator(),
            Draft::Draft201909 => jsonschema::draft201909::meta::validator(),
            Draft::Draft202012 => jsonschema::draft202012::meta::validator(),
        }
    }
}

impl fmt::Display for Draft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to compile a schema.
#[derive(Clone, Debug)]
pub struct SchemaOptions {
    /// The draft of a schema without `$schema`.
    pub default_draft: Draft,
    /// Whether `format` is asserted (on by default; off makes it an annotation only).
    pub assert_formats: bool,
    /// Documents served for remote `$ref`s and custom `$schema`s, by absolute URI without
    /// fragment.
    resources: Arc<BTreeMap<String, Value>>,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        SchemaOptions {
            default_draft: Draft::Draft202012,
            assert_formats: true,
            resources: Arc::default(),
        }
    }
}

impl SchemaOptions {
    /// Serves `document` for references to `uri` (a fragment, even an empty `#`, is ignored).
    pub fn with_resource(mut self, uri: &str, document: Value) -> Self {
        Arc::make_mut(&mut self.resources).insert(without_fragment(uri).to_string(), document);
        self
    }

    /// The draft of schemas without `$schema`.
    pub fn with_default_draft(mut self, draft: Draft) -> Self {
        self.default_draft = draft;
        self
    }

    /// The document registered for `uri`, if any.
    pub fn resource(&self, uri: &str) -> Option<&Value> {
        self.resources.get(without_fragment(uri))
    }

    /// The URIs of every registered document, sorted.
    pub fn resource_uris(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }
}

fn without_fragment(uri: &str) -> &str {
    uri.split_once('#').map_or(uri, |(base, _)| base)
}

/// What kind of problem a [`SchemaIssue`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaIssueKind {
    /// The schema does not match the meta-schema of its draft.
    MetaSchema,
    /// `$schema` names no supported draft and no registered meta-schema.
    UnknownDraft,
    /// A `$ref` cannot be resolved (for example a remote document that was not registered).
    Reference,
    /// An `x-catalyst-ui-hint` or `x-catalyst-ui-filter` problem.
    UiHint,
    /// The schema is well-formed but cannot be compiled (for example a `pattern` the regular
    /// expression engine rejects, or a schema nesting too deep).
    Compile,
}

/// A problem in a schema itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SchemaIssue {
    /// What kind of problem.
    pub kind: SchemaIssueKind,
    /// The JSON Pointer of the offending value inside the schema (`""` for the root).
    pub pointer: String,
    /// The schema keyword concerned (`type`, `x-catalyst-ui-hint`...); empty when the problem is
    /// the whole schema.
    pub keyword: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl SchemaIssue {
    fn new(
        kind: SchemaIssueKind,
        pointer: impl Into<String>,
        keyword: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        SchemaIssue {
            kind,
            pointer: pointer.into(),
            keyword: keyword.into(),
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for SchemaIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "the schema root"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// A place where a config does not match its schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigViolation {
    /// The JSON Pointer of the offending value in the config (`""` for the whole config). For
    /// a property that is not allowed, the pointer names that property.
    pub instance_pointer: String,
    /// The JSON Pointer of the keyword in the schema (the keyword location, with `$ref`s
    /// resolved to where the keyword is written).
    pub schema_pointer: String,
    /// The keyword that failed (`type`, `required`, `minimum`...).
    pub keyword: String,
    /// The whole explanation, such as ``expected type `integer`, found string `"two"` ``.
    pub message: String,
    /// What the schema expects, such as ``type `integer` `` or ``a number at least `1` ``.
    pub expected: String,
    /// What the config holds there, such as ``string `"two"` `` (the value is hidden for
    /// `password` fields and `writeOnly` schemas).
    pub found: String,
    /// A hint, such as ``did you mean `replicas`?``.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl fmt::Display for ConfigViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.instance_pointer.is_empty() {
            "the config"
        } else {
            &self.instance_pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// A compiled `configSchema`: compile once, validate many configs.
pub struct ConfigSchema {
    validator: jsonschema::Validator,
    schema: Value,
    draft: Draft,
}

impl fmt::Debug for ConfigSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigSchema")
            .field("draft", &self.draft)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// The engine's retriever: registered documents only, never the network.
struct Resources(Arc<BTreeMap<String, Value>>);

#[derive(Debug)]
struct NotRegistered(String);

impl fmt::Display for NotRegistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no document is registered for `{}` and remote documents are never fetched",
            self.0
        )
    }
}

impl std::error::Error for NotRegistered {}

impl jsonschema::Retrieve for Resources {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let key = without_fragment(uri.as_str());
        match self.0.get(key) {
            Some(document) => Ok(document.clone()),
            None => Err(Box::new(NotRegistered(key.to_string()))),
        }
    }
}

/// Where the draft of a schema comes from.
enum Dialect {
    /// A standard draft.
    Known(Draft),
    /// A registered custom meta-schema (its URI), itself built on `Draft`.
    Custom(String, Draft),
}

/// How many custom meta-schemas a `$schema` chain may pass through.
const MAX_META_CHAIN: usize = 8;

impl ConfigSchema {
    /// Checks `schema` and compiles it.
    ///
    /// The schema is first checked against the meta-schema of its draft; every problem is
    /// reported with its JSON Pointer inside the schema. The `x-catalyst-ui-hint` and
    /// `x-catalyst-ui-filter` keywords are checked against [`UI_HINTS`]; other unknown
    /// keywords are allowed, as JSON Schema allows them.
    ///
    /// # Errors
    ///
    /// Every problem found, sorted by pointer: meta-schema violations, an unknown `$schema`,
    /// unresolvable `$ref`s (remote documents resolve only through
    /// [`SchemaOptions::with_resource`]), UI-hint problems and compilation failures.
    pub fn compile(schema: &Value, opts: &SchemaOptions) -> Result<ConfigSchema, Vec<SchemaIssue>> {
        if walk::deeper_than(schema, MAX_NESTING) {
            return Err(vec![SchemaIssue::new(
                SchemaIssueKind::Compile,
                "",
                "",
                format!("the schema nests more than {MAX_NESTING} levels of arrays and objects"),
            )]);
        }
        let dialect = dialect_of(schema, opts)?;
        let mut issues = ui_hint_issues(schema);
        let built = catch_unwind(AssertUnwindSafe(|| build(schema, &dialect, opts)));
        match built {
            Ok(Ok(validator)) => {
                if issues.is_empty() {
                    let draft = match dialect {
                        Dialect::Known(d) | Dialect::Custom(_, d) => d,
                    };
                    return Ok(ConfigSchema {
                        validator,
                        schema: schema.clone(),
                        draft,
                    });
                }
            }
            Ok(Err(error)) => issues.extend(explain_build_error(schema, &dialect, opts, &error)),
            Err(_) => issues.push(SchemaIssue::new(
                SchemaIssueKind::Compile,
                "",
                "",
                "the JSON Schema engine failed on this schema (an internal error)",
            )),
        }
        issues.sort_by(|a, b| {
            compare_pointers(&a.pointer, &b.pointer)
                .then_with(|| a.keyword.cmp(&b.keyword))
                .then_with(|| a.message.cmp(&b.message))
        });
        issues.dedup();
        Err(issues)
    }

    /// Every place where `instance` does not match the schema, sorted by the config's JSON
    /// Pointer (array indexes in numeric order), then by schema pointer and message. Empty when
    /// the config is valid.
    pub fn validate(&self, instance: &Value) -> Vec<ConfigViolation> {
        if walk::deeper_than(instance, MAX_NESTING) {
            return vec![ConfigViolation {
                instance_pointer: String::new(),
                schema_pointer: String::new(),
                keyword: String::new(),
                message: format!(
                    "the config nests more than {MAX_NESTING} levels of arrays and objects"
                ),
                expected: format!("at most {MAX_NESTING} levels"),
                found: "a deeper config".to_string(),
                help: None,
            }];
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if self.validator.is_valid(instance) {
                return Vec::new();
            }
            let mut described = Vec::new();
            for error in self.validator.iter_errors(instance) {
                described.extend(describe::describe(&error, self));
            }
            described
        }));
        let described = outcome.unwrap_or_else(|_| {
            vec![Described {
                instance_pointer: String::new(),
                schema_pointer: String::new(),
                keyword: String::new(),
                message: "the JSON Schema engine failed on this config (an internal error)"
                    .to_string(),
                expected: String::new(),
                found: String::new(),
                help: None,
            }]
        });
        let mut violations: Vec<ConfigViolation> = described
            .into_iter()
            .map(|d| ConfigViolation {
                instance_pointer: d.instance_pointer,
                schema_pointer: d.schema_pointer,
                keyword: d.keyword,
                message: d.message,
                expected: d.expected,
                found: d.found,
                help: d.help,
            })
            .collect();
        violations.sort_by(|a, b| {
            compare_pointers(&a.instance_pointer, &b.instance_pointer)
                .then_with(|| compare_pointers(&a.schema_pointer, &b.schema_pointer))
                .then_with(|| a.message.cmp(&b.message))
        });
        violations.dedup();
        violations
    }

    /// Whether `instance` matches the schema (faster than [`validate`](Self::validate) when
    /// the details are not needed).
    pub fn is_valid(&self, instance: &Value) -> bool {
        !walk::deeper_than(instance, MAX_NESTING)
            && catch_unwind(AssertUnwindSafe(|| self.validator.is_valid(instance))).unwrap_or(false)
    }

    /// The config the schema implies when nothing is given: the `default`s of the schema.
    ///
    /// Collected:
    /// - the root's and every property's `default`, following `properties` to any depth; an
    ///   object whose properties have defaults gets those members even without a `default`
    ///   of its own;
    /// - an object's own `default` merged over its properties' defaults (the object's wins
    ///   member by member; a non-object `default` replaces them);
    /// - the defaults of `allOf` branches and of local `$ref` targets (`#/...`), which always
    ///   apply, with lower precedence than the schema's own `properties` and `default`.
    ///
    /// Not collected: `oneOf`/`anyOf`/`if`-`then`-`else` branches (which branch applies depends
    /// on the config, so no value is invented for them), `patternProperties` and
    /// `additionalProperties` (no property name to put a default under), array `items` (no
    /// array length), `$ref`s to anchors or remote documents, and `$defs` not referenced from
    /// `properties`.
    ///
    /// Returns `Value::Null` when the schema has no defaults at all.
    pub fn defaults(&self) -> Value {
        walk::Defaults::new(&self.schema)
            .of(&self.schema, 0)
            .unwrap_or(Value::Null)
    }

    /// The draft the schema was compiled under (for a custom meta-schema, the draft it builds
    /// on).
    pub fn draft(&self) -> Draft {
        self.draft
    }

    /// The schema document.
    pub fn schema(&self) -> &Value {
        &self.schema
    }
}

impl Lookup for ConfigSchema {
    fn parent_schema(&self, schema_pointer: &str) -> Option<&Map<String, Value>> {
        let (parent, _) = schema_pointer.rsplit_once('/')?;
        walk::lookup(&self.schema, parent)?.as_object()
    }

    fn redact(&self, evaluation_path: &str) -> bool {
        // Walk the path through the document, following local `$ref`s, and look for a
        // `password` hint or `writeOnly` on any schema passed.
        let secret = |v: &Value| {
            v.get(UI_HINT_KEYWORD).and_then(Value::as_str) == Some("password")
                || v.get("writeOnly") == Some(&Value::Bool(true))
        };
        let mut current = &self.schema;
        for token in crate::diag::pointer_tokens(evaluation_path) {
            if secret(current) {
                return true;
            }
            let next = match (current, token.as_str()) {
                (Value::Object(map), "$ref") => match map.get("$ref") {
                    Some(Value::String(r)) if r.starts_with('#') => {
                        walk::resolve_local_ref(&self.schema, r)
                    }
                    _ => None,
                },
                (Value::Object(map), key) => map.get(key),
                (Value::Array(items), index) => {
                    index.parse::<usize>().ok().and_then(|i| items.get(i))
                }
                _ => None,
            };
            match next {
                Some(next) => current = next,
                None => return false,
            }
        }
        secret(current)
    }
}

/// Compares JSON Pointers token by token, numbers in numeric order.
fn compare_pointers(a: &str, b: &str) -> std::cmp::Ordering {
    let mut ta = a.split('/');
    let mut tb = b.split('/');
    loop {
        match (ta.next(), tb.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n).then_with(|| x.cmp(y)),
                    _ => x.cmp(y),
                };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

/// Finds the draft of `schema` from its `$schema`, following registered custom meta-schemas.
fn dialect_of(schema: &Value, opts: &SchemaOptions) -> Result<Dialect, Vec<SchemaIssue>> {
    let declared = match schema.get("$schema") {
        None => return Ok(Dialect::Known(opts.default_draft)),
        Some(Value::String(uri)) => uri,
        Some(other) => {
            return Err(vec![SchemaIssue::new(
                SchemaIssueKind::MetaSchema,
                "/$schema",
                "$schema",
                format!(
                    "`$schema` must be a URI string, found {}",
                    describe::type_name(other)
                ),
            )]);
        }
    };
    if let Some(draft) = Draft::from_schema_uri(declared) {
        return Ok(Dialect::Known(draft));
    }
    let unknown = || {
        let known: Vec<String> = Draft::ALL
            .iter()
            .map(|d| format!("`{}`", d.schema_uri()))
            .collect();
        SchemaIssue::new(
            SchemaIssueKind::UnknownDraft,
            "/$schema",
            "$schema",
            format!("`$schema` names an unknown meta-schema `{declared}`"),
        )
        .help(format!(
            "use one of {}, or register the meta-schema document in the schema options",
            known.join(", ")
        ))
    };
    // A custom meta-schema: follow its own `$schema` until a known draft.
    let mut uri = declared.clone();
    for _ in 0..MAX_META_CHAIN {
        let Some(meta) = opts.resource(&uri) else {
            return Err(vec![unknown()]);
        };
        match meta.get("$schema").and_then(Value::as_str) {
            Some(next) => {
                if let Some(draft) = Draft::from_schema_uri(next) {
                    return Ok(Dialect::Custom(declared.clone(), draft));
                }
                if without_fragment(next) == without_fragment(&uri) {
                    // A meta-schema describing itself without building on a known draft.
                    return Err(vec![unknown()]);
                }
                uri = next.to_string();
            }
            None => return Ok(Dialect::Custom(declared.clone(), opts.default_draft)),
        }
    }
    Err(vec![unknown()])
}

/// Builds the engine's validator.
fn build(
    schema: &Value,
    dialect: &Dialect,
    opts: &SchemaOptions,
) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    let options = jsonschema::options()
        .with_retriever(Resources(opts.resources.clone()))
        .should_validate_formats(opts.assert_formats);
    match dialect {
        Dialect::Known(draft) => options.with_draft(draft.engine()).build(schema),
        Dialect::Custom(uri, _) => {
            let registry = custom_registry(uri, opts)?;
            options.with_registry(&registry).build(schema)
        }
    }
}

/// A registry holding the custom meta-schema at `uri` (which then pulls in what it needs).
fn custom_registry<'r>(
    uri: &str,
    opts: &SchemaOptions,
) -> Result<jsonschema::Registry<'r>, jsonschema::ValidationError<'static>> {
    let meta = opts.resource(uri).cloned().unwrap_or(Value::Bool(true));
    let registry = jsonschema::Registry::new()
        .retriever(Resources(opts.resources.clone()))
        .add(
            without_fragment(uri),
            jsonschema::Resource::from_contents(meta),
        )?
        .prepare()?;
    Ok(registry)
}

/// Turns a failed build into issues: every meta-schema violation when the meta-schema finds
/// any, otherwise the build error itself.
fn explain_build_error(
    schema: &Value,
    dialect: &Dialect,
    opts: &SchemaOptions,
    error: &jsonschema::ValidationError<'static>,
) -> Vec<SchemaIssue> {
    if let jsonschema::error::ValidationErrorKind::Referencing(reference) = error.kind() {
        return vec![reference_issue(schema, reference)];
    }
    let meta_issues =
        catch_unwind(AssertUnwindSafe(|| meta_issues(schema, dialect, opts))).unwrap_or_default();
    if !meta_issues.is_empty() {
        return meta_issues;
    }
    let pointer = if error.instance_path().is_empty() {
        error.schema_path().as_str()
    } else {
        error.instance_path().as_str()
    };
    let words = describe::describe(error, &NoLookup);
    let message = words
        .first()
        .map_or_else(|| error.to_string(), |d| d.message.clone());
    let message = lower_first(&message);
    vec![SchemaIssue::new(
        SchemaIssueKind::Compile,
        pointer,
        walk::keyword_at(pointer).unwrap_or_default(),
        message,
    )]
}

/// Every meta-schema violation of `schema`.
fn meta_issues(schema: &Value, dialect: &Dialect, opts: &SchemaOptions) -> Vec<SchemaIssue> {
    let mut described = Vec::new();
    match dialect {
        Dialect::Known(draft) => {
            let meta = draft.meta_validator();
            for error in meta.iter_errors(schema) {
                described.extend(describe::describe(&error, &NoLookup));
            }
        }
        Dialect::Custom(uri, draft) => {
            let Ok(registry) = custom_registry(uri, opts) else {
                return Vec::new();
            };
            let meta_doc = opts.resource(uri).cloned().unwrap_or(Value::Bool(true));
            let Ok(meta) = jsonschema::options()
                .with_registry(&registry)
                .with_retriever(Resources(opts.resources.clone()))
                .with_draft(draft.engine())
                .with_base_uri(without_fragment(uri))
                .build(&meta_doc)
            else {
                return Vec::new();
            };
            for error in meta.iter_errors(schema) {
                described.extend(describe::describe(&error, &NoLookup));
            }
        }
    }
    described
        .into_iter()
        .map(|d| {
            let keyword = walk::keyword_at(&d.instance_pointer).unwrap_or(d.keyword);
            let mut issue = SchemaIssue::new(
                SchemaIssueKind::MetaSchema,
                d.instance_pointer,
                keyword,
                d.message,
            );
            issue.help = d.help;
            issue
        })
        .collect()
}

/// An unresolvable reference, pointed at the `$ref` that names it when it can be found.
fn reference_issue(schema: &Value, error: &jsonschema::ReferencingError) -> SchemaIssue {
    use jsonschema::ReferencingError as E;
    let text = error.to_string();
    let mut help = None;
    let (target, detail) = match error {
        E::Unretrievable { uri, .. } if !uri.contains(':') => {
            help = Some(
                "reference an absolute URI registered in the schema options, or give the schema an absolute `$id`",
            );
            (
                Some(uri.clone()),
                format!(
                    "the relative reference `{uri}` has no absolute base URI to resolve against"
                ),
            )
        }
        E::Unretrievable { uri, source } => {
            help = Some(
                "register the referenced document in the schema options, or inline it under `$defs`",
            );
            (Some(uri.clone()), lower_first(&source.to_string()))
        }
        E::PointerToNowhere { pointer } => (
            Some(pointer.clone()),
            format!("`{pointer}` points to nothing in its document"),
        ),
        E::NoSuchAnchor { anchor } => (
            Some(anchor.clone()),
            format!("no anchor `{anchor}` is defined"),
        ),
        other => (None, lower_first(&other.to_string())),
    };
    // The `$ref` concerned: one naming the target, else one whose text the error quotes.
    let mut refs: Vec<(String, String)> = Vec::new();
    walk::for_each_subschema(schema, MAX_NESTING, |map, at| {
        for keyword in ["$ref", "$dynamicRef", "$recursiveRef"] {
            if let Some(Value::String(r)) = map.get(keyword) {
                refs.push((format!("{at}/{}", pointer_escape(keyword)), r.clone()));
            }
        }
    });
    let names_target = |r: &str| {
        target.as_deref().is_some_and(|t| {
            let plain = without_fragment(t);
            r == t
                || (!plain.is_empty() && without_fragment(r).ends_with(plain))
                || t.ends_with(r.trim_start_matches('#'))
        })
    };
    let pointer = refs
        .iter()
        .find(|(_, r)| names_target(r))
        .or_else(|| {
            refs.iter()
                .find(|(_, r)| !r.is_empty() && text.contains(r.as_str()))
        })
        .map(|(p, _)| p.clone())
        .unwrap_or_default();
    let keyword = walk::keyword_at(&pointer).unwrap_or_else(|| "$ref".to_string());
    let mut issue = SchemaIssue::new(
        SchemaIssueKind::Reference,
        pointer,
        keyword,
        format!("cannot resolve a reference: {detail}"),
    );
    if let Some(help) = help {
        issue = issue.help(help);
    }
    issue
}

/// Messages from the engine start with a capital; ours do not.
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if !chars.as_str().starts_with(|c: char| c.is_uppercase()) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_string(),
    }
}

/// A lookup for meta-schema errors, where nothing is hidden and no parent schema helps.
struct NoLookup;

impl Lookup for NoLookup {
    fn parent_schema(&self, _: &str) -> Option<&Map<String, Value>> {
        None
    }

    fn redact(&self, _: &str) -> bool {
        false
    }
}

/// Checks every `x-catalyst-ui-hint` and `x-catalyst-ui-filter` in the schema.
fn ui_hint_issues(schema: &Value) -> Vec<SchemaIssue> {
    let mut issues = Vec::new();
    walk::for_each_subschema(schema, MAX_NESTING, |map, at| {
        let hint_at = format!("{at}/{UI_HINT_KEYWORD}");
        let filter_at = format!("{at}/{UI_FILTER_KEYWORD}");
        let hint = map.get(UI_HINT_KEYWORD);
        let issue = |pointer: &str, keyword: &str, message: String| {
            SchemaIssue::new(SchemaIssueKind::UiHint, pointer, keyword, message)
        };
        let hint_name = match hint {
            None => None,
            Some(Value::String(name)) => {
                if UI_HINTS.iter().any(|h| h.name == name) {
                    Some(name.as_str())
                } else {
                    let known: Vec<String> =
                        UI_HINTS.iter().map(|h| format!("`{}`", h.name)).collect();
                    let help = match describe::closest(name, UI_HINTS.iter().map(|h| h.name)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("the known hints are {}", known.join(", ")),
                    };
                    issues.push(
                        issue(
                            &hint_at,
                            UI_HINT_KEYWORD,
                            format!("unknown UI hint `{name}`"),
                        )
                        .help(help),
                    );
                    None
                }
            }
            Some(other) => {
                issues.push(issue(
                    &hint_at,
                    UI_HINT_KEYWORD,
                    format!(
                        "`{UI_HINT_KEYWORD}` must be a string, found {}",
                        describe::type_name(other)
                    ),
                ));
                None
            }
        };
        if let Some(name) = hint
            && !allows_strings(map.get("type"))
        {
            issues.push(
                issue(
                    &hint_at,
                    UI_HINT_KEYWORD,
                    format!(
                        "the UI hint {} renders a text input but the schema's `type` does not allow strings",
                        describe::show(name)
                    ),
                )
                .help("use `type: string` on a schema with a UI hint"),
            );
        }
        let Some(filter) = map.get(UI_FILTER_KEYWORD) else {
            return;
        };
        match hint_name {
            Some("application-ref") => {}
            _ if hint.is_none() => issues.push(
                issue(
                    &filter_at,
                    UI_FILTER_KEYWORD,
                    format!("`{UI_FILTER_KEYWORD}` without `{UI_HINT_KEYWORD}: application-ref`"),
                )
                .help(format!(
                    "add `{UI_HINT_KEYWORD}: application-ref`, or remove the filter"
                )),
            ),
            Some(other) => issues.push(issue(
                &filter_at,
                UI_FILTER_KEYWORD,
                format!(
                    "`{UI_FILTER_KEYWORD}` only applies to `application-ref`, not to `{other}`"
                ),
            )),
            None => {} // the hint itself is already reported
        }
        let Value::Object(members) = filter else {
            issues.push(issue(
                &filter_at,
                UI_FILTER_KEYWORD,
                format!(
                    "`{UI_FILTER_KEYWORD}` must be an object with `blueprint` and/or `environment`, found {}",
                    describe::type_name(filter)
                ),
            ));
            return;
        };
        for (key, value) in members {
            let member_at = format!("{filter_at}/{}", pointer_escape(key));
            if !UI_FILTER_MEMBERS.contains(&key.as_str()) {
                let help = match describe::closest(key, UI_FILTER_MEMBERS.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "the filter members are `blueprint` and `environment`".to_string(),
                };
                issues.push(
                    issue(
                        &member_at,
                        UI_FILTER_KEYWORD,
                        format!("unknown `{UI_FILTER_KEYWORD}` member `{key}`"),
                    )
                    .help(help),
                );
            } else if !value.is_string() {
                issues.push(issue(
                    &member_at,
                    UI_FILTER_KEYWORD,
                    format!(
                        "`{UI_FILTER_KEYWORD}.{key}` must be a string, found {}",
                        describe::type_name(value)
                    ),
                ));
            }
        }
    });
    issues
}

/// Whether a `type` keyword value allows strings (an absent or malformed one does not
/// restrict anything here; the meta-schema check reports the malformed ones).
fn allows_strings(declared: Option<&Value>) -> bool {
    match declared {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests;
