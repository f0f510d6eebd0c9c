//! Templated `when` conditions and `depends[].values`, in Go-template syntax, evaluated in a
//! sandbox.
//!
//! Blueprint authors write Go-template (Helm) style: `"{{ .config.postgres.mode == 'embedded' }}"`,
//! `"{{ .application.name }}"`, `"{{ .config.size | default \"small\" }}"`. bpkit reads that
//! syntax with its own parser and translates each action into a [minijinja] expression, which
//! runs in an environment with nothing but the functions below: no template loader (so no
//! `include`, `import` or `extends`), no filesystem, no environment variables, strict undefined
//! values, a step budget ("fuel") and a size limit on every string built.
//!
//! The three principal types: a [`Template`] is parsed text; a [`Context`] is what templates
//! see; a [`Renderer`] evaluates templates against a context.
//!
//! ```
//! use bpkit::render::{Context, Renderer, Template};
//! use serde_json::json;
//!
//! let mut ctx = Context::default();
//! ctx.application.name = "blog".into();
//! ctx.config = json!({"postgres": {"mode": "embedded"}, "replicas": 3});
//!
//! let renderer = Renderer::new();
//! let when = Template::parse("{{ .config.postgres.mode == 'embedded' }}")?;
//! assert!(renderer.eval_condition(&when, &ctx)?);
//!
//! let values = json!({"databases": ["{{ .application.name }}"], "replicas": "{{ .config.replicas }}"});
//! let rendered = renderer.render_value(&values, &ctx)?;
//! assert_eq!(rendered, json!({"databases": ["blog"], "replicas": 3}));
//! # Ok::<(), bpkit::render::RenderError>(())
//! ```
//!
//! # What a template is
//!
//! Literal text with `{{ … }}` actions. Each action holds one expression; nothing else from Go
//! templates is available: `if`/`else`/`end`, `range`, `with`, `define`, `template`, `block`,
//! `break`, `continue` and variables (`$x := …`) are refused with an error naming the column.
//! Also supported: trim markers (`{{- ` removes the white space before the action, ` -}}` the
//! white space after it, as in Go) and comments (`{{/* … */}}`).
//!
//! The template root has four fields:
//!
//! | path | value |
//! |---|---|
//! | `.application` | `name`, `namespace`, `org`, `environment` of the Application being installed |
//! | `.config` | the Application's configuration (validated against the Blueprint's `configSchema`) |
//! | `.blueprint` | `name` and `version` of the Blueprint |
//! | `.outputs` | the outputs of installed dependencies, by alias: `.outputs.db.host` |
//!
//! `.` and `$` are the root itself. Any other first field (`.Values`, `.Release`) is an error,
//! with a hint for the Helm names.
//!
//! # Syntax and what it becomes
//!
//! Each row gives what an author writes, the minijinja expression it becomes, and what it
//! does. `A`, `B`, `C` stand for any operand: a path, a literal, or a parenthesised expression.
//!
//! | Go-template syntax | minijinja | meaning |
//! |---|---|---|
//! | `.config.a.b` | `config.a.b` | a path from the root; a key that is not an identifier (or is a keyword) becomes `config["true"]` |
//! | `$.config.a` | `config.a` | `$` is the root |
//! | `.` or `$` | `_root` | the whole root |
//! | `(A).b` | `(A).b` | a field of a computed value |
//! | `"text"`, `'text'`, `` `raw` `` | `"text"` | strings; double and single quotes take Go escapes (`\n`, `\t`, `\"`, `\'`, `\\`, `\xHH`, `\ooo`, `\uHHHH`, `\UHHHHHHHH`), back quotes take none and may span lines |
//! | `42`, `-3`, `0x1F`, `0o17`, `017`, `1_000`, `1.5`, `2e3` | `42`, `(-3)`, `31`, `15`, `15`, `1000`, `1.5`, `2000.0` | Go number literals |
//! | `true`, `false`, `nil` | `true`, `false`, `none` | |
//! | `eq A B` / `A == B` | `(A == B)` | equality; values of different types are unequal (Go would stop with an error) |
//! | `eq A B C…` | `eq(A, B, C…)` | `A` equals any of `B`, `C`, … |
//! | `ne A B` / `A != B` | `(A != B)` | inequality |
//! | `lt A B` / `A < B` | `lt(A, B)` | ordering of two numbers or two strings; other pairs are an error. Likewise `le` / `<=`, `gt` / `>`, `ge` / `>=` |
//! | `and A B…` / `A && B` | `((A) and (B))` | Go's `and`: the first false operand, or the last; stops at the first false one. Three or more operands are grouped as a balanced tree, which gives the same result |
//! | `or A B…` / `A \|\| B` | `((A) or (B))` | Go's `or`: the first true operand, or the last; stops at the first true one |
//! | `not A` / `!A` | `(not A)` | negation |
//! | `default D V` / `V \| default D` | `default(D, V)` | `V` unless it is missing or empty (false, 0, nil, `""`, empty list or map), else `D` (Sprig) |
//! | `empty V` | `empty(V)` | whether `V` is missing or empty (Sprig) |
//! | `hasKey M K` | `hasKey(M, K)` | whether map `M` has string key `K` (Sprig) |
//! | `index C K…` | `(C)[K]…` | element `K` of a list or map, then the next key, … (a negative index counts from the end) |
//! | `len V` | `len(V)` | the length of a list or map, or the bytes of a string |
//! | `lower S` / `upper S` | `lower(S)` / `upper(S)` | change the case of a string |
//! | `printf F A…` | `printf(F, A…)` | Go's `Sprintf` with the verbs `%s`, `%v`, `%d`, `%q` and `%%` (no flags or widths); the number of verbs and arguments must match |
//! | `quote A…` | `quote(A…)` | each non-nil argument as a Go-quoted string, separated by spaces (Sprig) |
//! | `toString V` | `toString(V)` | `V` as text, as Go's `%v` writes it |
//! | `A \| f B…` | `f(B…, A)` | a pipeline passes its value as the last argument of the next function |
//!
//! Precedence, loosest first: `|`, `||`, `&&`, comparisons (which do not chain), `!`, then a
//! function call, which takes the operands that follow it up to the next operator, `|` or `)`.
//! So `eq .a "x" && not .b` is `(eq .a "x") && (not .b)`, and `eq .a "x" | not` is
//! `not (eq .a "x")`. An operator cannot follow a pipeline stage: write
//! `(.config.size | default "small") == "small"`.
//!
//! Anything else is an error that names the column and lists what is supported: arithmetic
//! (`+`, `*`), brackets (`a[0]`), other functions (`include`, `toYaml`, `env`, …).
//!
//! # Values, missing values and limits
//!
//! * A path to something the context does not have is an error naming the path, the part that
//!   is missing and the keys that exist (`.config.postgres.mode` is not defined: `.config.postgres`
//!   has no key `mode`), except directly under `default` and `empty`, which exist to test it.
//! * Text output formats values as Go's `%v` does (`[a b]`, `map[k:v]`, `1e+06`), except that nil
//!   is written as nothing rather than `<no value>`.
//! * Every evaluation has a step budget ([`Limits::fuel`]); every string built by a template is
//!   limited in size ([`Limits::max_output_bytes`]). Expressions nest at most 32 levels deep, a
//!   template holds at most 2048 operands and operations, and its text is at most 1 MiB.
//!
//! # Conditions
//!
//! [`Renderer::eval_condition`] decides a `when` this way:
//!
//! 1. When the template is one action, with at most white space around it, the action's value
//!    decides, by Go truthiness: false, 0, nil, `""` and empty lists and maps are false,
//!    anything else is true. One exception: a string that reads `true` or `false` (also `True`,
//!    `TRUE`, `False`, `FALSE`, white space around ignored) counts as that boolean, because the
//!    template's whole text renders to that word. In Go alone the string `"false"` is true.
//! 2. Otherwise the rendered text decides: `true` or `false` (spelled as above, white space
//!    around ignored), or empty text, which is false. Any other text is an error.
//!
//! # Values trees
//!
//! [`Renderer::render_value`] walks a JSON tree and renders every string that contains `{{`,
//! map keys included. A string that is exactly one action keeps the type of the action's
//! value: `replicas: "{{ .config.replicas }}"` gives the integer 3, and a path to a map gives
//! the map. Other strings render to strings. An error names the JSON Pointer of the string.
//!
//! [minijinja]: https://docs.rs/minijinja

mod convert;
pub(crate) mod error;
mod funcs;
mod syntax;
mod translate;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;

pub use self::error::{RenderError, RenderErrorKind};

use self::convert::{
    Bounded, FormatError, MAX_VALUE_DEPTH, ToJsonError, format_go, json_to_value, json_truthy,
    value_to_json,
};
use self::error::snippet;
use self::syntax::{Action, Piece};
use self::translate::{Compiled, Key, ROOT_VAR, StaticPath, display_path};
use crate::diag::{Span, pointer_escape};

/// The Application being installed, as templates see it under `.application`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Application {
    /// The Application's name (`.application.name`).
    pub name: String,
    /// The Kubernetes namespace it is installed into (`.application.namespace`).
    pub namespace: String,
    /// The organisation that owns it (`.application.org`).
    pub org: String,
    /// The Environment it belongs to (`.application.environment`).
    pub environment: String,
}

/// The Blueprint being installed, as templates see it under `.blueprint`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BlueprintRef {
    /// The Blueprint's name, such as `bp-wordpress` (`.blueprint.name`).
    pub name: String,
    /// Its version (`.blueprint.version`).
    pub version: String,
}

/// Everything a template can see: the template root.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Context {
    /// `.application`.
    pub application: Application,
    /// `.config`: the Application's configuration.
    pub config: serde_json::Value,
    /// `.blueprint`.
    pub blueprint: BlueprintRef,
    /// `.outputs`: the outputs of dependencies, by alias.
    pub outputs: BTreeMap<String, serde_json::Value>,
}

impl Default for Context {
    /// Empty names, an empty `config` map and no outputs.
    fn default() -> Self {
        Context {
            application: Application::default(),
            config: serde_json::Value::Object(serde_json::Map::new()),
            blueprint: BlueprintRef::default(),
            outputs: BTreeMap::new(),
        }
    }
}

impl Context {
    /// The template root as JSON: `{"application": …, "config": …, "blueprint": …, "outputs": …}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut root = serde_json::Map::new();
        root.insert(
            "application".into(),
            serde_json::json!({
                "name": self.application.name,
                "namespace": self.application.namespace,
                "org": self.application.org,
                "environment": self.application.environment,
            }),
        );
        root.insert("config".into(), self.config.clone());
        root.insert(
            "blueprint".into(),
            serde_json::json!({"name": self.blueprint.name, "version": self.blueprint.version}),
        );
        root.insert(
            "outputs".into(),
            serde_json::Value::Object(
                self.outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        );
        serde_json::Value::Object(root)
    }
}

/// A parsed template: literal text and `{{ … }}` actions.
///
/// Parsing checks the syntax only; paths are checked against a context when the template is
/// rendered (except the root's first field, which must be one of the four the root has).
#[derive(Clone, Debug)]
pub struct Template {
    text: Arc<str>,
    pieces: Vec<Piece>,
    compiled: Compiled,
}

impl Template {
    /// Parses `text`. Errors carry the byte range of the problem inside `text`
    /// ([`RenderError::span_in_template`]).
    pub fn parse(text: &str) -> Result<Template, RenderError> {
        let text: Arc<str> = Arc::from(text);
        let pieces = syntax::parse_template(&text)?;
        let actions: Vec<&Action> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Action(a) => Some(a),
                Piece::Text(_) => None,
            })
            .collect();
        let compiled = translate::compile(&actions);
        Ok(Template {
            text,
            pieces,
            compiled,
        })
    }

    /// The template text as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the template has no action (it renders to its own text, minus comments).
    pub fn is_literal(&self) -> bool {
        self.compiled.actions.is_empty()
    }

    /// Whether the template is exactly one action with no text around it, so that rendering
    /// keeps the type of the action's value.
    pub fn is_single_expression(&self) -> bool {
        matches!(self.pieces.as_slice(), [Piece::Action(_)])
    }

    /// The minijinja expression the actions translate to (for diagnostics and tests).
    pub fn translated(&self) -> &str {
        &self.compiled.source
    }

    /// One action with nothing but white space around it.
    fn is_single_action_in_space(&self) -> bool {
        self.compiled.actions.len() == 1
            && self.pieces.iter().all(|p| match p {
                Piece::Text(t) => t.trim().is_empty(),
                Piece::Action(_) => true,
            })
    }
}

/// Limits that keep hostile or runaway templates in check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How many evaluation steps one template may take (minijinja fuel; roughly one per
    /// operation, plus one per 64 bytes of text a function builds).
    pub fuel: u64,
    /// The longest string, in bytes, a template may produce.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    /// 50 000 steps and 64 KiB per string.
    fn default() -> Self {
        Limits {
            fuel: 50_000,
            max_output_bytes: 64 * 1024,
        }
    }
}

/// Evaluates [`Template`]s against a [`Context`] in a sandboxed minijinja environment.
///
/// Build one and reuse it; it is `Send + Sync`.
pub struct Renderer {
    env: Environment<'static>,
    limits: Limits,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

/// A [`Context`] prepared once for many evaluations ([`Renderer::prepare_context`]): converting
/// the context is most of the cost of rendering a short template.
#[derive(Debug)]
pub struct PreparedContext(Root);

/// A context prepared for evaluation.
#[derive(Debug)]
struct Root {
    json: serde_json::Value,
    value: Value,
}

impl Renderer {
    /// A renderer with the default [`Limits`].
    pub fn new() -> Self {
        Renderer::with_limits(Limits::default())
    }

    /// A renderer with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        // `empty`: no filters, tests, globals, templates or loader.
        let mut env = Environment::empty();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(limits.fuel));
        env.set_recursion_limit(64);
        env.set_debug(false);
        funcs::register(&mut env, limits.max_output_bytes);
        Renderer { env, limits }
    }

    /// The limits this renderer applies.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Renders one template. A template that is exactly one action gives the action's value
    /// with its JSON type; any other template gives a string.
    pub fn render(
        &self,
        template: &Template,
        ctx: &Context,
    ) -> Result<serde_json::Value, RenderError> {
        let root = self.prepare(ctx)?;
        self.render_prepared(template, &root)
    }

    /// Prepares `ctx` once for several of the `*_prepared` calls.
    ///
    /// # Errors
    ///
    /// The context nests too deep (the same error the other calls give).
    pub fn prepare_context(&self, ctx: &Context) -> Result<PreparedContext, RenderError> {
        self.prepare(ctx).map(PreparedContext)
    }

    /// Decides a `when` condition; see the module documentation for the rule.
    pub fn eval_condition(&self, template: &Template, ctx: &Context) -> Result<bool, RenderError> {
        let root = self.prepare(ctx)?;
        self.eval_condition_in(template, &root)
    }

    /// [`eval_condition`](Self::eval_condition) with a prepared context.
    pub fn eval_condition_prepared(
        &self,
        template: &Template,
        ctx: &PreparedContext,
    ) -> Result<bool, RenderError> {
        self.eval_condition_in(template, &ctx.0)
    }

    fn eval_condition_in(&self, template: &Template, root: &Root) -> Result<bool, RenderError> {
        if template.is_single_action_in_space() {
            let values = self.eval(template, root)?;
            let value = values.first().map_or(Ok(serde_json::Value::Null), |v| {
                self.to_json(template, 0, v)
            })?;
            return Ok(match &value {
                serde_json::Value::String(s) => bool_word(s.trim()).unwrap_or(!s.is_empty()),
                other => json_truthy(other),
            });
        }
        let text = match self.render_prepared(template, root)? {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let word = text.trim();
        match bool_word(word) {
            Some(b) => Ok(b),
            None if word.is_empty() => Ok(false),
            None => Err(RenderError::new(
                RenderErrorKind::NotABoolean,
                format!(
                    "condition rendered to `{}`, which is neither `true` nor `false`",
                    snippet(word)
                ),
            )
            .with_template(&template.text)
            .with_help(
                "write the condition as one expression, as in `{{ eq .config.mode \"embedded\" }}`",
            )),
        }
    }

    /// Renders every string containing `{{` in a values tree, map keys included. Errors carry
    /// the JSON Pointer of the failing string ([`RenderError::pointer`]).
    pub fn render_value(
        &self,
        values: &serde_json::Value,
        ctx: &Context,
    ) -> Result<serde_json::Value, RenderError> {
        let root = self.prepare(ctx)?;
        let mut pointer = String::new();
        self.walk(values, &root, &mut pointer, 0)
    }

    /// [`render_value`](Self::render_value) with a prepared context.
    pub fn render_value_prepared(
        &self,
        values: &serde_json::Value,
        ctx: &PreparedContext,
    ) -> Result<serde_json::Value, RenderError> {
        let mut pointer = String::new();
        self.walk(values, &ctx.0, &mut pointer, 0)
    }

    fn walk(
        &self,
        value: &serde_json::Value,
        root: &Root,
        pointer: &mut String,
        depth: usize,
    ) -> Result<serde_json::Value, RenderError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(RenderError::new(
                RenderErrorKind::TooDeep,
                format!("values nest more than {MAX_VALUE_DEPTH} levels deep"),
            )
            .with_pointer(pointer.clone()));
        }
        Ok(match value {
            serde_json::Value::String(s) => self
                .render_str(s, root)
                .map_err(|e| e.with_pointer(pointer.clone()))?,
            serde_json::Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    out.push(self.walk(item, root, pointer, depth + 1)?);
                    pointer.truncate(len);
                }
                serde_json::Value::Array(out)
            }
            serde_json::Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                let mut origin: BTreeMap<String, &str> = BTreeMap::new();
                for (key, item) in map {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&pointer_escape(key));
                    let new_key = if key.contains("{{") {
                        self.render_key(key, root)
                            .map_err(|e| e.with_pointer(pointer.clone()))?
                    } else {
                        key.clone()
                    };
                    if let Some(first) = origin.get(new_key.as_str()) {
                        return Err(RenderError::new(
                            RenderErrorKind::DuplicateKey,
                            format!(
                                "keys `{}` and `{}` both render to `{}`",
                                snippet(first),
                                snippet(key),
                                snippet(&new_key)
                            ),
                        )
                        .with_help("rendered keys of one map must differ")
                        .with_pointer(pointer.clone()));
                    }
                    let rendered = self.walk(item, root, pointer, depth + 1)?;
                    pointer.truncate(len);
                    origin.insert(new_key.clone(), key);
                    out.insert(new_key, rendered);
                }
                serde_json::Value::Object(out)
            }
            other => other.clone(),
        })
    }

    fn render_str(&self, s: &str, root: &Root) -> Result<serde_json::Value, RenderError> {
        if !s.contains("{{") {
            return Ok(serde_json::Value::String(s.to_string()));
        }
        let template = Template::parse(s)?;
        self.render_prepared(&template, root)
    }

    fn render_key(&self, key: &str, root: &Root) -> Result<String, RenderError> {
        let template = Template::parse(key)?;
        if template.is_single_expression() {
            let values = self.eval(&template, root)?;
            let value = values.first().cloned().unwrap_or_default();
            return self.format_text(&template, &[value]);
        }
        match self.render_prepared(&template, root)? {
            serde_json::Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }

    fn prepare(&self, ctx: &Context) -> Result<Root, RenderError> {
        let json = ctx.to_json();
        let too_deep = || {
            RenderError::new(
                RenderErrorKind::TooDeep,
                format!("the template context nests more than {MAX_VALUE_DEPTH} levels deep"),
            )
        };
        let root = json_to_value(&json).ok_or_else(too_deep)?;
        let mut vars: BTreeMap<String, Value> = BTreeMap::new();
        if let serde_json::Value::Object(map) = &json {
            for key in map.keys() {
                vars.insert(key.clone(), root.get_attr(key).unwrap_or_default());
            }
        }
        vars.insert(ROOT_VAR.to_string(), root);
        Ok(Root {
            json,
            value: Value::from(vars),
        })
    }

    fn render_prepared(
        &self,
        template: &Template,
        root: &Root,
    ) -> Result<serde_json::Value, RenderError> {
        if template.is_literal() {
            let text: String = template
                .pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Text(t) => Some(t.as_str()),
                    Piece::Action(_) => None,
                })
                .collect();
            return Ok(serde_json::Value::String(text));
        }
        let values = self.eval(template, root)?;
        if template.is_single_expression() {
            let value = values.first().cloned().unwrap_or_default();
            let json = self.to_json(template, 0, &value)?;
            if let serde_json::Value::String(s) = &json
                && s.len() > self.limits.max_output_bytes
            {
                return Err(self.too_long(template));
            }
            return Ok(json);
        }
        self.format_text(template, &values)
            .map(serde_json::Value::String)
    }

    /// Writes the template's text with each action's value in Go's `%v` form.
    fn format_text(&self, template: &Template, values: &[Value]) -> Result<String, RenderError> {
        let mut out = Bounded::new(self.limits.max_output_bytes);
        let mut values = values.iter();
        for piece in &template.pieces {
            let r = match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Action(_) => match values.next() {
                    Some(v) => format_go(v, &mut out),
                    None => Ok(()),
                },
            };
            r.map_err(|e| match e {
                FormatError::TooLong => self.too_long(template),
                FormatError::TooDeep => RenderError::new(
                    RenderErrorKind::TooDeep,
                    format!("a value to print nests more than {MAX_VALUE_DEPTH} levels deep"),
                )
                .with_template(&template.text),
                FormatError::Undefined => RenderError::new(
                    RenderErrorKind::Undefined,
                    "an action produced an undefined value",
                )
                .with_template(&template.text),
            })?;
        }
        Ok(out.out)
    }

    fn too_long(&self, template: &Template) -> RenderError {
        RenderError::new(
            RenderErrorKind::OutputTooLarge,
            format!(
                "template output is longer than {} bytes",
                self.limits.max_output_bytes
            ),
        )
        .with_template(&template.text)
        .with_help(
            "templates build short strings such as names and flags; move long text into the chart",
        )
    }

    fn to_json(
        &self,
        template: &Template,
        action: usize,
        value: &Value,
    ) -> Result<serde_json::Value, RenderError> {
        value_to_json(value).map_err(|e| {
            let (kind, what) = match e {
                ToJsonError::Undefined => (RenderErrorKind::Undefined, "is undefined".to_string()),
                ToJsonError::NotFinite => (
                    RenderErrorKind::Evaluation,
                    "is not a finite number".to_string(),
                ),
                ToJsonError::TooDeep => (
                    RenderErrorKind::TooDeep,
                    format!("nests more than {MAX_VALUE_DEPTH} levels deep"),
                ),
                ToJsonError::Unsupported(k) => (
                    RenderErrorKind::Evaluation,
                    format!("is a {k}, which has no JSON form"),
                ),
            };
            match self.action_span(template, action) {
                Some(span) => RenderError::at(
                    kind,
                    &template.text,
                    span,
                    format_args!(
                        "the value of `{}` {what}",
                        snippet(span_text(template, span))
                    ),
                ),
                None => RenderError::new(kind, format!("the template's value {what}"))
                    .with_template(&template.text),
            }
        })
    }

    fn action_span(&self, template: &Template, action: usize) -> Option<Span> {
        let id = *template.compiled.actions.get(action)?;
        template.compiled.nodes.get(id).map(|n| n.span)
    }

    /// Evaluates the actions: one value per action.
    fn eval(&self, template: &Template, root: &Root) -> Result<Vec<Value>, RenderError> {
        let compiled = &template.compiled;
        if compiled.actions.is_empty() {
            return Ok(Vec::new());
        }
        let expr = self
            .env
            .compile_expression_owned(compiled.source.clone())
            .map_err(|e| {
                RenderError::new(
                    RenderErrorKind::Syntax,
                    format!(
                        "internal error: the translation `{}` did not compile: {e}",
                        snippet(&compiled.source)
                    ),
                )
                .with_template(&template.text)
                .with_help("this is a bug in bpkit; please report it with the template")
            })?;
        let value = expr
            .eval(root.value.clone())
            .map_err(|e| self.map_error(&e, template, root))?;
        let values: Vec<Value> = if compiled.actions.len() == 1 {
            vec![value]
        } else {
            value.try_iter().map(Iterator::collect).unwrap_or_default()
        };
        for (i, v) in values.iter().enumerate() {
            if v.is_undefined() {
                let id = compiled.actions.get(i).copied().unwrap_or(0);
                return Err(self.undefined_error(template, root, &[id]));
            }
        }
        Ok(values)
    }

    /// Turns a minijinja error into a [`RenderError`] about the template.
    fn map_error(&self, err: &minijinja::Error, template: &Template, root: &Root) -> RenderError {
        let compiled = &template.compiled;
        if err.kind() == ErrorKind::OutOfFuel {
            return RenderError::new(
                RenderErrorKind::FuelExhausted,
                format!(
                    "template used more than {} steps; simplify it",
                    self.limits.fuel
                ),
            )
            .with_template(&template.text)
            .with_help("templates are meant for short expressions over the context");
        }
        // The nodes whose code contains the failing code, innermost first.
        let mut containing: Vec<usize> = match err.range() {
            Some(r) => compiled
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.generated.start <= r.start && r.end <= n.generated.end)
                .map(|(i, _)| i)
                .collect(),
            None => Vec::new(),
        };
        containing.sort_by_key(|&i| {
            let g = &compiled.nodes[i].generated;
            (g.end - g.start, std::cmp::Reverse(i))
        });
        if err.kind() == ErrorKind::UndefinedError {
            containing.extend(compiled.actions.iter().copied());
            return self.undefined_error(template, root, &containing);
        }
        let detail = err
            .detail()
            .map_or_else(|| err.kind().to_string(), str::to_string);
        let span = containing
            .first()
            .and_then(|&i| compiled.nodes.get(i))
            .map(|n| n.span);
        let too_long = std::error::Error::source(err).is_some_and(|s| s.is::<funcs::OutputLimit>());
        if too_long {
            let e = self.too_long(template);
            return match span {
                Some(span) => RenderError::at(
                    RenderErrorKind::OutputTooLarge,
                    &template.text,
                    span,
                    format_args!(
                        "`{}` builds a string longer than {} bytes",
                        snippet(span_text(template, span)),
                        self.limits.max_output_bytes
                    ),
                )
                .with_help(e.help().unwrap_or_default().to_string()),
                None => e,
            };
        }
        match span {
            Some(span) => RenderError::at_detail(
                RenderErrorKind::Evaluation,
                &template.text,
                span,
                format_args!("cannot evaluate `{}`", snippet(span_text(template, span))),
                detail,
            ),
            None => RenderError::new(
                RenderErrorKind::Evaluation,
                format!("cannot evaluate the template: {detail}"),
            )
            .with_template(&template.text),
        }
    }

    /// Explains an undefined value: the first path under the `candidates` nodes (innermost
    /// first) that the context does not have.
    fn undefined_error(
        &self,
        template: &Template,
        root: &Root,
        candidates: &[usize],
    ) -> RenderError {
        let compiled = &template.compiled;
        for &id in candidates {
            let Some(node) = compiled.nodes.get(id) else {
                continue;
            };
            for path in compiled
                .paths
                .iter()
                .filter(|p| node.subtree.contains(&p.node))
            {
                if let Some(err) = missing_path(template, path, &root.json) {
                    return err;
                }
            }
        }
        match candidates.first().and_then(|&id| compiled.nodes.get(id)) {
            Some(node) => RenderError::at(
                RenderErrorKind::Undefined,
                &template.text,
                node.span,
                format_args!("`{}` is undefined", snippet(span_text(template, node.span))),
            )
            .with_help("check the paths against the context: `.application`, `.config`, `.blueprint`, `.outputs`"),
            None => RenderError::new(RenderErrorKind::Undefined, "the template uses an undefined value")
                .with_template(&template.text),
        }
    }
}

fn span_text(template: &Template, span: Span) -> &str {
    template.text.get(span.start..span.end).unwrap_or("")
}

fn bool_word(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// If `path` does not resolve in the context, the error that says so.
fn missing_path(
    template: &Template,
    path: &StaticPath,
    root: &serde_json::Value,
) -> Option<RenderError> {
    let mut cur = root;
    for (i, key) in path.keys.iter().enumerate() {
        let next = match (cur, key) {
            (serde_json::Value::Object(m), Key::Str(k)) => m.get(k),
            (serde_json::Value::Array(a), Key::Int(n)) => {
                let len = a.len() as i128;
                let idx = if *n < 0 { len + n } else { *n };
                usize::try_from(idx).ok().and_then(|i| a.get(i))
            }
            _ => None,
        };
        if let Some(next) = next {
            cur = next;
            continue;
        }
        let last = i + 1 == path.keys.len();
        // `default` and `empty` accept a missing last key.
        if last && path.tolerated {
            return None;
        }
        // The author's own words for the whole path; the canonical form for a prefix.
        let missing = if last {
            template
                .text
                .get(path.span.start..path.span.end)
                .map_or_else(|| display_path(&path.keys), str::to_string)
        } else {
            display_path(&path.keys[..=i])
        };
        let parent = display_path(&path.keys[..i]);
        let key_text = match key {
            Key::Str(k) => format!("`{k}`"),
            Key::Int(n) => format!("`{n}`"),
        };
        let (detail, help) = match cur {
            serde_json::Value::Object(m) if m.is_empty() => {
                (format!("`{parent}` is an empty map"), None)
            }
            serde_json::Value::Object(m) => {
                let mut keys: Vec<String> = m.keys().take(12).map(|k| format!("`{k}`")).collect();
                if m.len() > 12 {
                    keys.push("…".to_string());
                }
                (
                    format!("`{parent}` has no key {key_text}"),
                    Some(format!("`{parent}` has {}", keys.join(", "))),
                )
            }
            serde_json::Value::Array(a) => (
                format!(
                    "`{parent}` is a list of {} element{}",
                    a.len(),
                    if a.len() == 1 { "" } else { "s" }
                ),
                None,
            ),
            serde_json::Value::Null => (format!("`{parent}` is nil"), None),
            other => (
                format!(
                    "`{parent}` is {}, not a map",
                    funcs::describe(&json_to_value(other).unwrap_or_default())
                ),
                None,
            ),
        };
        let mut err = RenderError::at_detail(
            RenderErrorKind::Undefined,
            &template.text,
            path.span,
            format_args!("`{missing}` is not defined"),
            detail,
        );
        let tip = if last && matches!(cur, serde_json::Value::Object(_)) {
            Some(format!(
                "to allow it to be missing write `{missing} | default …`"
            ))
        } else {
            None
        };
        let help = match (help, tip) {
            (Some(h), Some(t)) => Some(format!("{h}; {t}")),
            (h, t) => h.or(t),
        };
        if let Some(h) = help {
            err = err.with_help(h);
        }
        return Some(err);
    }
    None
}

#[cfg(test)]
mod tests;
