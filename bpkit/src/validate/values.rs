//! Merging configuration layers the way Helm does, remembering where every value came from.
//!
//! The layers, lowest precedence first:
//!
//! 0. the schema's defaults ([`ConfigSchema::defaults`](super::config::ConfigSchema::defaults));
//! 1. the overlay chosen for the install (a Blueprint `overlays` entry), if any;
//! 2. each `--values` file, in the order given;
//! 3. each `--set` argument, in the order given, then each `--set-string` argument (Helm
//!    applies all `--set` before all `--set-string`, whatever the order on the command line).
//!
//! The rules are Helm's:
//! - between the overlay and `--values` files, maps merge key by key and anything else
//!   (scalars, lists, `null`) replaces what was there;
//! - a `--set` writes into the result so far: `a.b=1` adds `b` to an existing map `a`, and
//!   `a[1]=x` replaces element 1 of an existing list and keeps the others;
//! - the defaults come last, underneath: a key missing from the layers above takes its
//!   default, maps merge with default maps, and a `null` above a default deletes that key
//!   (so `--set resources=null` removes a default). A `null` with no default under it stays
//!   `null`, as in Helm, where it then deletes the chart's own `values.yaml` entry.
//!
//! ```
//! use bpkit::validate::values::ValuesMerge;
//! use serde_json::json;
//!
//! let merged = ValuesMerge::new(json!({"replicas": 1, "image": {"tag": "1.0", "pull": "IfNotPresent"}}))
//!     .values_file("prod.yaml", json!({"image": {"tag": "1.2"}}))
//!     .set("replicas=3,image.pull=null")
//!     .merge()
//!     .unwrap();
//! assert_eq!(merged.values, json!({"replicas": 3, "image": {"tag": "1.2"}}));
//! assert_eq!(merged.origin("/image/tag").map(|l| l.name.as_str()), Some("prod.yaml"));
//! assert_eq!(merged.origin("/replicas").map(|l| l.name.as_str()), Some("replicas=3,image.pull=null"));
//! ```

mod strvals;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::diag::pointer_escape;

pub use self::strvals::{MAX_INDEX, MAX_NAME_NESTING, SetError, SetKind};

/// Reads a `--set` argument into the map it describes, as Helm's `strvals.Parse` does.
///
/// An argument is a comma-separated list of `KEY=VALUE` assignments:
///
/// | written | gives |
/// |---|---|
/// | `a=1,b=two` | `{a: 1, b: "two"}` |
/// | `a.b.c=x` | `{a: {b: {c: "x"}}}` |
/// | `a={x,y}` | `{a: ["x", "y"]}` (and `a={}` gives `[""]`, as in Helm) |
/// | `a[1]=x` | `{a: [null, "x"]}` (into an existing list: element 1 replaced) |
/// | `a[0].b=x`, `a[0][1]=x` | a map, a list inside the list |
/// | `a=one\,two`, `a\.b=c`, `a=x\=y` | a backslash makes the next character literal |
/// | `a=`, `a[0]` | `{a: ""}`, `{a: []}` |
///
/// Values are typed as Helm types them: `true`/`false` (any case) are booleans, `null` (any
/// case) is null, `0` and decimal integers that fit 64 bits and do not start with `0` are
/// integers, anything else is a string (`1.5`, `007` and `"quoted"` included: quotes are kept
/// as characters; use [`parse_set_string`] to keep every value a string).
///
/// Differences from Helm, all on input Helm rejects or mishandles: an empty key (`=x`,
/// `a..b=x`) is an error rather than silently dropped, and a path through a value of the
/// wrong kind (`a.b=1` when `a` is a string) replaces that value instead of crashing.
///
/// # Errors
///
/// A [`SetError`] naming the column of the first problem.
pub fn parse_set(argument: &str) -> Result<Value, SetError> {
    parse_kind(argument, SetKind::Set)
}

/// Reads a `--set-string` argument: the same syntax as [`parse_set`], every value a string.
///
/// # Errors
///
/// A [`SetError`] naming the column of the first problem.
pub fn parse_set_string(argument: &str) -> Result<Value, SetError> {
    parse_kind(argument, SetKind::SetString)
}

fn parse_kind(argument: &str, kind: SetKind) -> Result<Value, SetError> {
    let assignments = strvals::parse_assignments(argument, kind)?;
    let mut out = Value::Object(Map::new());
    strvals::apply(&mut out, &assignments, &mut NoSink);
    Ok(out)
}

struct NoSink;

impl strvals::WriteSink for NoSink {
    fn cleared(&mut self, _: &str) {}
    fn wrote(&mut self, _: &str, _: &Value) {}
    fn filled(&mut self, _: &str) {}
}

/// What a layer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerKind {
    /// The schema's defaults (always layer 0).
    Defaults,
    /// A Blueprint overlay.
    Overlay,
    /// A `--values` file.
    ValuesFile,
    /// A `--set` argument.
    Set,
    /// A `--set-string` argument.
    SetString,
}

/// One layer of a merge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// What it is.
    pub kind: LayerKind,
    /// Its name: the file name, the overlay name, the `--set` argument, or `schema defaults`.
    pub name: String,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            LayerKind::Defaults => write!(f, "the schema defaults"),
            LayerKind::Overlay => write!(f, "overlay `{}`", self.name),
            LayerKind::ValuesFile => write!(f, "values file `{}`", self.name),
            LayerKind::Set => write!(f, "`--set {}`", self.name),
            LayerKind::SetString => write!(f, "`--set-string {}`", self.name),
        }
    }
}

/// A layer that cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ValuesError {
    /// A layer that is not a map at the top level.
    #[error("{layer} must be a map at the top level, found {found}")]
    #[diagnostic(
        code(values::not_a_map),
        help("write the values as `key: value` lines (an empty file is fine)")
    )]
    NotAMap {
        /// The layer, as displayed (``values file `prod.yaml` ``).
        layer: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// A `--set` or `--set-string` argument that cannot be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Set(#[from] SetError),
}

/// Where each leaf of a merged result came from: JSON Pointer → layer index.
///
/// A leaf is a scalar, a `null`, an empty map or an empty list; list elements are leaves of
/// their own (`/hosts/0`), since `--set hosts[1]=x` can mix layers inside one list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    leaves: BTreeMap<String, usize>,
}

impl Provenance {
    /// The layer of the leaf at exactly `pointer`.
    pub fn get(&self, pointer: &str) -> Option<usize> {
        self.leaves.get(pointer).copied()
    }

    /// The layer that best explains the value at `pointer`, for mapping a validation error
    /// back to its source: the leaf's own layer; for a map or list, the highest layer among
    /// the leaves inside it (the last one to touch it); for a place that does not exist (a
    /// missing property), the layer of the nearest enclosing leaf or map.
    pub fn layer_for(&self, pointer: &str) -> Option<usize> {
        if let Some(layer) = self.get(pointer) {
            return Some(layer);
        }
        let inside = self.below(pointer).map(|(_, l)| l).max();
        if inside.is_some() {
            return inside;
        }
        let mut current = pointer;
        while let Some((parent, _)) = current.rsplit_once('/') {
            if let Some(layer) = self.get(parent) {
                return Some(layer);
            }
            if let Some(layer) = self.below(parent).map(|(_, l)| l).max() {
                return Some(layer);
            }
            current = parent;
        }
        None
    }

    /// Every leaf and its layer, in pointer order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, usize)> {
        self.leaves.iter().map(|(p, l)| (p.as_str(), *l))
    }

    /// How many leaves are recorded.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The leaves strictly inside `pointer`.
    fn below<'a>(&'a self, pointer: &'a str) -> impl Iterator<Item = (&'a str, usize)> + 'a {
        let prefix = format!("{pointer}/");
        self.leaves
            .range(prefix.clone()..)
            .take_while(move |(p, _)| p.starts_with(&prefix))
            .map(|(p, l)| (p.as_str(), *l))
    }

    /// Forgets `pointer` and everything inside it.
    fn clear(&mut self, pointer: &str) {
        self.leaves.remove(pointer);
        let inside: Vec<String> = self.below(pointer).map(|(p, _)| p.to_string()).collect();
        for p in inside {
            self.leaves.remove(&p);
        }
    }

    /// Records every leaf of `value`, placed at `pointer`, as coming from `layer`.
    fn record(&mut self, pointer: &str, value: &Value, layer: usize) {
        let mut stack = vec![(pointer.to_string(), value)];
        while let Some((at, v)) = stack.pop() {
            match v {
                Value::Object(map) if !map.is_empty() => {
                    for (k, child) in map {
                        stack.push((format!("{at}/{}", pointer_escape(k)), child));
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    for (i, child) in items.iter().enumerate() {
                        stack.push((format!("{at}/{i}"), child));
                    }
                }
                _ => {
                    self.leaves.insert(at, layer);
                }
            }
        }
    }
}

/// Feeds `--set` writes into a [`Provenance`].
struct Recorder<'a> {
    provenance: &'a mut Provenance,
    layer: usize,
}

impl strvals::WriteSink for Recorder<'_> {
    fn cleared(&mut self, pointer: &str) {
        self.provenance.clear(pointer);
    }

    fn wrote(&mut self, pointer: &str, value: &Value) {
        self.provenance.clear(pointer);
        self.provenance.record(pointer, value, self.layer);
    }

    fn filled(&mut self, pointer: &str) {
        self.provenance.leaves.remove(pointer);
    }
}

/// The result of a merge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Merged {
    /// The merged values (always a map).
    pub values: Value,
    /// Where each leaf came from (indexes into `layers`).
    pub provenance: Provenance,
    /// The layers in precedence order, lowest first; layer 0 is the schema defaults.
    pub layers: Vec<Layer>,
}

impl Merged {
    /// The layer that supplied the value at `pointer` (see [`Provenance::layer_for`]).
    pub fn origin(&self, pointer: &str) -> Option<&Layer> {
        self.layers.get(self.provenance.layer_for(pointer)?)
    }
}

/// The layers of one merge, gathered in any order and merged in Helm's.
#[derive(Clone, Debug, Default)]
pub struct ValuesMerge {
    defaults: Value,
    overlay: Option<(String, Value)>,
    files: Vec<(String, Value)>,
    sets: Vec<(SetKind, String)>,
}

impl ValuesMerge {
    /// A merge over `defaults` (a map, or `null` for none).
    pub fn new(defaults: Value) -> Self {
        ValuesMerge {
            defaults,
            ..ValuesMerge::default()
        }
    }

    /// Sets the overlay (a map, or `null`); a second call replaces the first.
    pub fn overlay(mut self, name: impl Into<String>, values: Value) -> Self {
        self.overlay = Some((name.into(), values));
        self
    }

    /// Adds a `--values` file's content (a map, or `null` for an empty file).
    pub fn values_file(mut self, name: impl Into<String>, values: Value) -> Self {
        self.files.push((name.into(), values));
        self
    }

    /// Adds a `--set` argument.
    pub fn set(mut self, argument: impl Into<String>) -> Self {
        self.sets.push((SetKind::Set, argument.into()));
        self
    }

    /// Adds a `--set-string` argument.
    pub fn set_string(mut self, argument: impl Into<String>) -> Self {
        self.sets.push((SetKind::SetString, argument.into()));
        self
    }

    /// Merges the layers.
    ///
    /// # Errors
    ///
    /// A layer that is not a map, or a `--set` argument that cannot be read.
    pub fn merge(&self) -> Result<Merged, ValuesError> {
        let mut layers = vec![Layer {
            kind: LayerKind::Defaults,
            name: "schema defaults".to_string(),
        }];
        let defaults = as_map(&self.defaults, &layers[0])?;
        let mut provenance = Provenance::default();
        let mut user = Value::Object(Map::new());

        let maps = self
            .overlay
            .iter()
            .map(|o| (LayerKind::Overlay, o))
            .chain(self.files.iter().map(|f| (LayerKind::ValuesFile, f)));
        for (kind, (name, values)) in maps {
            let layer = Layer {
                kind,
                name: name.clone(),
            };
            let map = as_map(values, &layer)?;
            let index = layers.len();
            layers.push(layer);
            if let Value::Object(target) = &mut user {
                merge_maps(target, &map, "", &mut provenance, index);
            }
        }

        let sets = self
            .sets
            .iter()
            .filter(|(k, _)| *k == SetKind::Set)
            .chain(self.sets.iter().filter(|(k, _)| *k == SetKind::SetString));
        for (kind, argument) in sets {
            let assignments = strvals::parse_assignments(argument, *kind)?;
            let index = layers.len();
            layers.push(Layer {
                kind: match kind {
                    SetKind::Set => LayerKind::Set,
                    SetKind::SetString => LayerKind::SetString,
                },
                name: argument.clone(),
            });
            let mut recorder = Recorder {
                provenance: &mut provenance,
                layer: index,
            };
            strvals::apply(&mut user, &assignments, &mut recorder);
        }

        let user = match user {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let values = coalesce(user, &defaults, "", &mut provenance);
        Ok(Merged {
            values: Value::Object(values),
            provenance,
            layers,
        })
    }
}

/// A layer's map (`null` counts as empty).
fn as_map(value: &Value, layer: &Layer) -> Result<Map<String, Value>, ValuesError> {
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::Null => Ok(Map::new()),
        other => Err(ValuesError::NotAMap {
            layer: layer.to_string(),
            found: type_name(other),
        }),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Helm's `mergeMaps`: maps merge, anything else replaces.
fn merge_maps(
    target: &mut Map<String, Value>,
    top: &Map<String, Value>,
    pointer: &str,
    provenance: &mut Provenance,
    layer: usize,
) {
    if !top.is_empty() {
        provenance.leaves.remove(pointer);
    }
    for (key, value) in top {
        let at = format!("{pointer}/{}", pointer_escape(key));
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                merge_maps(existing, incoming, &at, provenance, layer);
            }
            _ => {
                provenance.clear(&at);
                provenance.record(&at, value, layer);
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Helm's coalescing of user values over chart defaults: defaults fill what is missing, maps
/// merge, a user `null` deletes the default. Keys come in the defaults' order, then the
/// user-only keys in theirs.
fn coalesce(
    mut user: Map<String, Value>,
    defaults: &Map<String, Value>,
    pointer: &str,
    provenance: &mut Provenance,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, default) in defaults {
        let at = format!("{pointer}/{}", pointer_escape(key));
        match user.remove(key) {
            Some(Value::Null) => provenance.clear(&at),
            Some(Value::Object(mine)) => {
                let merged = match default {
                    Value::Object(d) => {
                        let origin = provenance.layer_for(&at);
                        let merged = coalesce(mine, d, &at, provenance);
                        if merged.is_empty() {
                            // Everything inside was deleted by nulls: an empty map is left,
                            // supplied by the layer that supplied the map.
                            provenance.leaves.insert(at.clone(), origin.unwrap_or(0));
                        } else {
                            provenance.leaves.remove(&at);
                        }
                        merged
                    }
                    _ => mine,
                };
                out.insert(key.clone(), Value::Object(merged));
            }
            Some(mine) => {
                out.insert(key.clone(), mine);
            }
            None => {
                provenance.record(&at, default, 0);
                out.insert(key.clone(), default.clone());
            }
        }
    }
    for (key, mine) in user {
        out.insert(key, mine);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests;
