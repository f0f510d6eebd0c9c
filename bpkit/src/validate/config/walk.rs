//! Walking a schema document: which keywords hold subschemas, the keyword a JSON Pointer lands
//! in, nesting depth, and the `default` collection behind [`super::ConfigSchema::defaults`].

use serde_json::{Map, Value};

use crate::diag::{pointer_escape, pointer_tokens};

/// How a keyword's value holds subschemas (the union over every supported draft).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Holds {
    /// Data or a plain value (`type`, `enum`, `default`, `required`, unknown keywords...).
    Nothing,
    /// One subschema (`not`, `additionalProperties`...).
    One,
    /// An object whose member values are subschemas (`properties`, `$defs`...).
    Map,
    /// An array of subschemas (`allOf`, `prefixItems`...).
    List,
    /// `items`: one subschema, or an array of them before 2020-12.
    OneOrList,
}

/// What `keyword` holds.
pub(super) fn holds(keyword: &str) -> Holds {
    match keyword {
        "not"
        | "if"
        | "then"
        | "else"
        | "additionalItems"
        | "additionalProperties"
        | "contains"
        | "propertyNames"
        | "unevaluatedItems"
        | "unevaluatedProperties"
        | "contentSchema" => Holds::One,
        // `dependencies` values are subschemas or (draft-07 and older) arrays of names; the
        // walkers skip the arrays.
        "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas"
        | "dependencies" => Holds::Map,
        "allOf" | "anyOf" | "oneOf" | "prefixItems" => Holds::List,
        "items" => Holds::OneOrList,
        _ => Holds::Nothing,
    }
}

/// Calls `visit` for every subschema object of `schema` (the root included) with its JSON
/// Pointer, without recursion, never descending past `max_depth` levels of subschemas.
pub(super) fn for_each_subschema<'a>(
    schema: &'a Value,
    max_depth: usize,
    mut visit: impl FnMut(&'a Map<String, Value>, &str),
) {
    let mut stack: Vec<(&'a Value, String, usize)> = vec![(schema, String::new(), 0)];
    while let Some((value, pointer, depth)) = stack.pop() {
        let Value::Object(map) = value else { continue };
        visit(map, &pointer);
        if depth >= max_depth {
            continue;
        }
        // Pushed in reverse so that subschemas are visited in document order.
        let mut children = Vec::new();
        for (keyword, held) in map {
            let base = format!("{pointer}/{}", pointer_escape(keyword));
            match (holds(keyword), held) {
                (Holds::One, _) | (Holds::OneOrList, Value::Object(_) | Value::Bool(_)) => {
                    children.push((held, base));
                }
                (Holds::Map, Value::Object(members)) => {
                    for (name, sub) in members {
                        children.push((sub, format!("{base}/{}", pointer_escape(name))));
                    }
                }
                (Holds::List | Holds::OneOrList, Value::Array(items)) => {
                    for (i, sub) in items.iter().enumerate() {
                        children.push((sub, format!("{base}/{i}")));
                    }
                }
                _ => {}
            }
        }
        stack.extend(children.into_iter().rev().map(|(v, p)| (v, p, depth + 1)));
    }
}

/// The schema keyword a JSON Pointer into a schema document lands in: the last keyword on the
/// path (`/properties/port/minimum` gives `minimum`, `/required/0` gives `required`,
/// `/properties/port` gives `properties`). `None` for the root.
pub(super) fn keyword_at(pointer: &str) -> Option<String> {
    let tokens = pointer_tokens(pointer);
    let mut keyword: Option<String> = None;
    let mut i = 0;
    while let Some(token) = tokens.get(i) {
        keyword = Some(token.clone());
        let skip = match holds(token) {
            Holds::Nothing => break,
            Holds::One => 1,
            Holds::Map | Holds::List => 2,
            Holds::OneOrList => {
                if tokens
                    .get(i + 1)
                    .is_some_and(|t| t.parse::<usize>().is_ok())
                {
                    2
                } else {
                    1
                }
            }
        };
        i += skip;
    }
    keyword
}

/// Whether `value` nests deeper than `limit` arrays/objects (checked without recursion).
pub(super) fn deeper_than(value: &Value, limit: usize) -> bool {
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth >= limit {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
}

/// The value at a JSON Pointer, or `None`.
pub(super) fn lookup<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut current = root;
    for token in pointer_tokens(pointer) {
        current = match current {
            Value::Object(map) => map.get(&token)?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Decodes `%XX` escapes in a URI fragment (JSON Pointers in `$ref` are percent-encoded).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The JSON Pointer a local `$ref` (`#`, `#/...`) names; `None` for anchors and other
/// documents.
fn local_ref_pointer(reference: &str) -> Option<String> {
    let fragment = reference.strip_prefix('#')?;
    if !(fragment.is_empty() || fragment.starts_with('/')) {
        return None;
    }
    percent_decode(fragment)
}

/// The schema a local `$ref` names within `root`.
pub(super) fn resolve_local_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    lookup(root, &local_ref_pointer(reference)?)
}

/// Objects merge member by member, anything else in `top` replaces `base`.
pub(super) fn deep_merge(base: Value, top: Value) -> Value {
    match (base, top) {
        (Value::Object(mut b), Value::Object(t)) => {
            for (k, v) in t {
                let merged = match b.remove(&k) {
                    Some(old) => deep_merge(old, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Object(b)
        }
        (_, top) => top,
    }
}

/// Collects defaults; see [`super::ConfigSchema::defaults`] for the rules.
pub(super) struct Defaults<'a> {
    root: &'a Value,
    /// Local `$ref` targets being expanded (cycle guard).
    expanding: Vec<String>,
}

/// Subschema levels the default collector descends at most.
const DEFAULTS_MAX_DEPTH: usize = 128;

impl<'a> Defaults<'a> {
    pub(super) fn new(root: &'a Value) -> Self {
        // The root counts as being expanded: a `$ref: "#"` inside it is a recursive structure
        // whose defaults would only repeat the root's.
        Defaults {
            root,
            expanding: vec![String::new()],
        }
    }

    /// The default value `schema` implies, if any.
    pub(super) fn of(&mut self, schema: &'a Value, depth: usize) -> Option<Value> {
        let Value::Object(map) = schema else {
            return None;
        };
        if depth > DEFAULTS_MAX_DEPTH {
            return None;
        }
        let mut collected: Option<Value> = None;
        let mut add = |found: Option<Value>| {
            if let Some(found) = found {
                collected = Some(match collected.take() {
                    Some(prev) => deep_merge(prev, found),
                    None => found,
                });
            }
        };
        // Lowest precedence first: what `$ref` and `allOf` imply...
        if let Some(Value::String(reference)) = map.get("$ref") {
            add(self.of_local_ref(reference, depth));
        }
        if let Some(Value::Array(branches)) = map.get("allOf") {
            for branch in branches {
                add(self.of(branch, depth + 1));
            }
        }
        // ...then the properties' own defaults...
        if let Some(Value::Object(properties)) = map.get("properties") {
            let mut members = Map::new();
            for (name, sub) in properties {
                if let Some(d) = self.of(sub, depth + 1) {
                    members.insert(name.clone(), d);
                }
            }
            if !members.is_empty() {
                add(Some(Value::Object(members)));
            }
        }
        // ...and the schema's own `default` wins over both.
        if let Some(own) = map.get("default") {
            add(Some(own.clone()));
        }
        collected
    }

    fn of_local_ref(&mut self, reference: &str, depth: usize) -> Option<Value> {
        let pointer = local_ref_pointer(reference)?;
        if self.expanding.contains(&pointer) {
            return None;
        }
        let target = lookup(self.root, &pointer)?;
        self.expanding.push(pointer);
        let found = self.of(target, depth + 1);
        self.expanding.pop();
        found
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyword_at_walks_schema_positions() {
        assert_eq!(keyword_at(""), None);
        assert_eq!(keyword_at("/type").as_deref(), Some("type"));
        assert_eq!(
            keyword_at("/properties/port/minimum").as_deref(),
            Some("minimum")
        );
        assert_eq!(
            keyword_at("/properties/port").as_deref(),
            Some("properties")
        );
        assert_eq!(keyword_at("/required/0").as_deref(), Some("required"));
        assert_eq!(
            keyword_at("/allOf/1/properties/type/enum/2").as_deref(),
            Some("enum")
        );
        assert_eq!(keyword_at("/items/0/type").as_deref(), Some("type"));
        assert_eq!(keyword_at("/items/type").as_deref(), Some("type"));
        // A property called `properties` is a name, not a keyword.
        assert_eq!(
            keyword_at("/properties/properties/default").as_deref(),
            Some("default")
        );
    }

    #[test]
    fn subschemas_are_visited_in_document_order() {
        let schema = json!({
            "properties": {"a": {"type": "string"}, "b": {"items": [{"type": "integer"}]}},
            "enum": [{"properties": {}}],
            "not": true
        });
        let mut seen = Vec::new();
        for_each_subschema(&schema, 64, |_, p| seen.push(p.to_string()));
        assert_eq!(
            seen,
            [
                "",
                "/properties/a",
                "/properties/b",
                "/properties/b/items/0"
            ]
        );
    }

    #[test]
    fn depth_is_measured_without_recursion() {
        let mut deep = json!(1);
        for _ in 0..10_000 {
            deep = Value::Array(vec![deep]);
        }
        assert!(deeper_than(&deep, 100));
        assert!(!deeper_than(&json!({"a": [1, {"b": 2}]}), 3));
        assert!(deeper_than(&json!({"a": [1, {"b": [3]}]}), 3));
        // Dropping a deeply nested value recurses inside serde_json: take it apart by hand.
        let mut v = deep;
        while let Value::Array(mut items) = v {
            v = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn lookup_and_percent_decoding() {
        let doc = json!({"$defs": {"a b": {"x": [10, 20]}}});
        assert_eq!(lookup(&doc, "/$defs/a b/x/1"), Some(&json!(20)));
        assert_eq!(lookup(&doc, "/$defs/missing"), None);
        assert_eq!(
            percent_decode("/$defs/a%20b").as_deref(),
            Some("/$defs/a b")
        );
        assert_eq!(percent_decode("%zz"), None);
    }
}
