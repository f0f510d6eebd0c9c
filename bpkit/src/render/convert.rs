//! JSON values to minijinja values and back, and Go's `%v` text form of a value.

use std::fmt::Write as _;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, ObjectExt, ObjectRepr, Value, ValueKind};

/// How deeply nested a value may be to be converted or printed.
pub(crate) const MAX_VALUE_DEPTH: usize = 128;

/// A JSON object seen from a template: keys keep their order.
#[derive(Debug)]
struct OrderedMap(IndexMap<String, Value>);

impl Object for OrderedMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.get(key.as_str()?).cloned()
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.0.get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| Box::new(this.0.keys().map(|k| Value::from(k.as_str()))))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}

/// Converts JSON for a template. `None` when it nests deeper than [`MAX_VALUE_DEPTH`].
pub(crate) fn json_to_value(v: &serde_json::Value) -> Option<Value> {
    fn go(v: &serde_json::Value, depth: usize) -> Option<Value> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        Some(match v {
            serde_json::Value::Null => Value::from(()),
            serde_json::Value::Bool(b) => Value::from(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::from(i)
                } else if let Some(u) = n.as_u64() {
                    Value::from(u)
                } else {
                    Value::from(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(items) => Value::from(
                items
                    .iter()
                    .map(|i| go(i, depth + 1))
                    .collect::<Option<Vec<_>>>()?,
            ),
            serde_json::Value::Object(map) => Value::from_object(OrderedMap(
                map.iter()
                    .map(|(k, v)| Some((k.clone(), go(v, depth + 1)?)))
                    .collect::<Option<IndexMap<_, _>>>()?,
            )),
        })
    }
    go(v, 0)
}

/// Why a value could not become JSON.
#[derive(Debug, PartialEq)]
pub(crate) enum ToJsonError {
    Undefined,
    NotFinite,
    TooDeep,
    Unsupported(ValueKind),
}

/// Converts a template result to JSON.
pub(crate) fn value_to_json(v: &Value) -> Result<serde_json::Value, ToJsonError> {
    fn go(v: &Value, depth: usize) -> Result<serde_json::Value, ToJsonError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(ToJsonError::TooDeep);
        }
        Ok(match v.kind() {
            ValueKind::Undefined => return Err(ToJsonError::Undefined),
            ValueKind::None => serde_json::Value::Null,
            ValueKind::Bool => serde_json::Value::Bool(v.is_true()),
            ValueKind::Number => number_to_json(v)?,
            ValueKind::String | ValueKind::Bytes => {
                serde_json::Value::String(v.as_str().unwrap_or_default().to_string())
            }
            ValueKind::Seq | ValueKind::Iterable => {
                let iter = v
                    .try_iter()
                    .map_err(|_| ToJsonError::Unsupported(v.kind()))?;
                serde_json::Value::Array(iter.map(|i| go(&i, depth + 1)).collect::<Result<_, _>>()?)
            }
            ValueKind::Map => {
                let iter = v
                    .try_iter()
                    .map_err(|_| ToJsonError::Unsupported(v.kind()))?;
                let mut map = serde_json::Map::new();
                for key in iter {
                    let item = v
                        .get_item(&key)
                        .map_err(|_| ToJsonError::Unsupported(v.kind()))?;
                    let key = match key.as_str() {
                        Some(s) => s.to_string(),
                        None => key.to_string(),
                    };
                    map.insert(key, go(&item, depth + 1)?);
                }
                serde_json::Value::Object(map)
            }
            kind => return Err(ToJsonError::Unsupported(kind)),
        })
    }
    go(v, 0)
}

fn number_to_json(v: &Value) -> Result<serde_json::Value, ToJsonError> {
    if v.is_integer() {
        if let Ok(i) = i64::try_from(v.clone()) {
            return Ok(i.into());
        }
        if let Ok(u) = u64::try_from(v.clone()) {
            return Ok(u.into());
        }
    }
    let f = f64::try_from(v.clone()).map_err(|_| ToJsonError::NotFinite)?;
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .ok_or(ToJsonError::NotFinite)
}

/// Why a value could not be printed.
#[derive(Debug, PartialEq)]
pub(crate) enum FormatError {
    /// The text would pass the limit.
    TooLong,
    TooDeep,
    Undefined,
}

/// A string that refuses to grow past a limit.
pub(crate) struct Bounded {
    pub out: String,
    limit: usize,
}

impl Bounded {
    pub(crate) fn new(limit: usize) -> Self {
        Bounded {
            out: String::new(),
            limit,
        }
    }

    pub(crate) fn push_str(&mut self, s: &str) -> Result<(), FormatError> {
        if self.out.len().saturating_add(s.len()) > self.limit {
            return Err(FormatError::TooLong);
        }
        self.out.push_str(s);
        Ok(())
    }

    pub(crate) fn push(&mut self, c: char) -> Result<(), FormatError> {
        let mut buf = [0u8; 4];
        self.push_str(c.encode_utf8(&mut buf))
    }
}

/// Writes `v` the way Go's `%v` does, except that nil is written as nothing: strings as they
/// are, lists as `[a b]`, maps as `map[k:v]` with sorted keys, floats in shortest form.
pub(crate) fn format_go(v: &Value, out: &mut Bounded) -> Result<(), FormatError> {
    fn go(v: &Value, out: &mut Bounded, depth: usize) -> Result<(), FormatError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(FormatError::TooDeep);
        }
        match v.kind() {
            ValueKind::Undefined => Err(FormatError::Undefined),
            ValueKind::None => Ok(()),
            ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => out.push_str(&format_number(v)),
            ValueKind::String | ValueKind::Bytes => out.push_str(v.as_str().unwrap_or_default()),
            ValueKind::Seq | ValueKind::Iterable => {
                out.push('[')?;
                if let Ok(iter) = v.try_iter() {
                    for (i, item) in iter.enumerate() {
                        if i > 0 {
                            out.push(' ')?;
                        }
                        go(&item, out, depth + 1)?;
                    }
                }
                out.push(']')
            }
            ValueKind::Map => {
                out.push_str("map[")?;
                let mut keys: Vec<Value> = v.try_iter().map(Iterator::collect).unwrap_or_default();
                keys.sort_by(|a, b| match (a.as_str(), b.as_str()) {
                    (Some(x), Some(y)) => x.cmp(y),
                    _ => a.cmp(b),
                });
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(' ')?;
                    }
                    go(key, out, depth + 1)?;
                    out.push(':')?;
                    let item = v.get_item(key).unwrap_or_default();
                    go(&item, out, depth + 1)?;
                }
                out.push(']')
            }
            _ => out.push_str(&v.to_string()),
        }
    }
    go(v, out, 0)
}

/// A number as Go's `%v` writes it.
pub(crate) fn format_number(v: &Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    match f64::try_from(v.clone()) {
        Ok(f) => format_float(f),
        Err(_) => v.to_string(),
    }
}

/// A float as Go's `%v` (`strconv.FormatFloat(f, 'g', -1, 64)`) writes it: the shortest
/// digits that read back to the same float, with an exponent when the decimal exponent is
/// below -4 or at least 6: `1.5`, `3`, `123456`, `1e+06`, `1e-05`.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` and `{}` both write the shortest round-trip digits.
    let s = format!("{f:e}");
    let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    if (-4..6).contains(&e) {
        return format!("{f}");
    }
    let sign = if e < 0 { '-' } else { '+' };
    let mut out = String::new();
    let _ = write!(out, "{mantissa}e{sign}{:02}", e.abs());
    out
}

/// Go's `strconv.Quote`: double quotes, with `\"`, `\\`, `\n`-style escapes and `\x`, `\u`,
/// `\U` escapes for other non-printable characters.
pub(crate) fn go_quote(s: &str, out: &mut Bounded) -> Result<(), FormatError> {
    out.push('"')?;
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\"")?,
            '\\' => out.push_str("\\\\")?,
            '\u{7}' => out.push_str("\\a")?,
            '\u{8}' => out.push_str("\\b")?,
            '\u{c}' => out.push_str("\\f")?,
            '\n' => out.push_str("\\n")?,
            '\r' => out.push_str("\\r")?,
            '\t' => out.push_str("\\t")?,
            '\u{b}' => out.push_str("\\v")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))?;
            }
            c if c.is_control() || is_invisible(c) => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32))?;
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))?;
                }
            }
            c => out.push(c)?,
        }
    }
    out.push('"')
}

/// Format characters Go does not print as they are (a small, stable subset).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
    )
}

/// Go truthiness: false, 0, nil, "" and empty lists and maps are false.
pub(crate) fn json_truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        serde_json::Value::String(s) => !s.is_empty(),
        serde_json::Value::Array(a) => !a.is_empty(),
        serde_json::Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(v: &Value) -> String {
        let mut b = Bounded::new(1000);
        format_go(v, &mut b).unwrap();
        b.out
    }

    #[test]
    fn json_round_trip_keeps_types_and_order() {
        let j = json!({"z": 1, "a": [true, null, 1.5, "s", u64::MAX], "m": {"b": {}, "a": []}});
        let v = json_to_value(&j).unwrap();
        let back = value_to_json(&v).unwrap();
        assert_eq!(back, j);
        assert_eq!(
            back.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["z", "a", "m"]
        );
    }

    #[test]
    fn deep_values_are_refused() {
        let mut j = json!(1);
        for _ in 0..=MAX_VALUE_DEPTH + 1 {
            j = json!([j]);
        }
        assert!(json_to_value(&j).is_none());
        assert_eq!(
            value_to_json(&Value::UNDEFINED),
            Err(ToJsonError::Undefined)
        );
    }

    #[test]
    fn go_formatting() {
        let v = json_to_value(&json!({"b": [1, "x", null], "a": {"k": false}})).unwrap();
        assert_eq!(text(&v), "map[a:map[k:false] b:[1 x ]]");
        assert_eq!(text(&Value::from(3.0)), "3");
        assert_eq!(text(&Value::from(1.5)), "1.5");
        assert_eq!(text(&Value::from(1e21)), "1e+21");
        assert_eq!(text(&Value::from(1e6)), "1e+06");
        assert_eq!(text(&Value::from(123456.0)), "123456");
        assert_eq!(text(&Value::from(1234567.5)), "1.2345675e+06");
        assert_eq!(text(&Value::from(0.00001)), "1e-05");
        assert_eq!(text(&Value::from(0.0001)), "0.0001");
        assert_eq!(text(&Value::from(-2.5e-7)), "-2.5e-07");
        assert_eq!(text(&Value::from(())), "");
        let mut small = Bounded::new(3);
        assert_eq!(
            format_go(&Value::from("abcd"), &mut small),
            Err(FormatError::TooLong)
        );
    }

    #[test]
    fn quoting_follows_go() {
        let mut b = Bounded::new(100);
        go_quote("a\"b\\c\n\u{1}é\u{200b}😀", &mut b).unwrap();
        assert_eq!(b.out, r#""a\"b\\c\n\x01é\u200b😀""#);
    }

    #[test]
    fn truthiness() {
        for v in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!json_truthy(&v), "{v}");
        }
        for v in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("false"),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(json_truthy(&v), "{v}");
        }
    }
}
