//! The functions registered in the minijinja environment, with Go / Sprig semantics.

use std::fmt;

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::convert::{Bounded, FormatError, format_go, go_quote};
use super::error::snippet;

/// Marks a minijinja error caused by a result longer than the output limit.
#[derive(Debug)]
pub(crate) struct OutputLimit;

impl fmt::Display for OutputLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("output limit reached")
    }
}

impl std::error::Error for OutputLimit {}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn undefined(func: &str) -> Error {
    Error::new(
        ErrorKind::UndefinedError,
        format!("`{func}` got an undefined value"),
    )
}

fn format_error(func: &str, e: FormatError) -> Error {
    match e {
        FormatError::TooLong => {
            invalid(format!("`{func}` output is too long")).with_source(OutputLimit)
        }
        FormatError::TooDeep => invalid(format!("`{func}` got a value nested too deeply")),
        FormatError::Undefined => undefined(func),
    }
}

/// How a value reads in a message: `the number 3`, `the string "abc"`, `a map`.
pub(crate) fn describe(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => "an undefined value".to_string(),
        ValueKind::None => "nil".to_string(),
        ValueKind::Bool => format!("the bool `{}`", v.is_true()),
        ValueKind::Number => format!("the number `{}`", super::convert::format_number(v)),
        ValueKind::String => format!(
            "the string `{}`",
            snippet(&serde_json::to_string(v.as_str().unwrap_or_default()).unwrap_or_default())
        ),
        ValueKind::Seq | ValueKind::Iterable => "a list".to_string(),
        ValueKind::Map => "a map".to_string(),
        _ => format!("a {} value", v.kind()),
    }
}

fn check_defined(func: &str, args: &[Value]) -> Result<(), Error> {
    if args.iter().any(Value::is_undefined) {
        Err(undefined(func))
    } else {
        Ok(())
    }
}

fn charge(state: &State, bytes: usize) -> Result<(), Error> {
    state.consume_fuel((bytes / 64) as u64)
}

/// Registers every function templates can reach. `max_output` bounds the strings they build.
pub(crate) fn register(env: &mut Environment<'static>, max_output: usize) {
    env.add_function("eq", |args: Rest<Value>| -> Result<Value, Error> {
        check_defined("eq", &args)?;
        let (first, rest) = args
            .split_first()
            .ok_or_else(|| invalid("`eq` needs arguments"))?;
        Ok(Value::from(rest.iter().any(|v| v == first)))
    });
    for (name, accept) in [
        ("lt", (|o| o.is_lt()) as fn(std::cmp::Ordering) -> bool),
        ("le", |o| o.is_le()),
        ("gt", |o| o.is_gt()),
        ("ge", |o| o.is_ge()),
    ] {
        env.add_function(name, move |a: Value, b: Value| -> Result<Value, Error> {
            compare(name, &a, &b).map(|o| Value::from(accept(o)))
        });
    }
    env.add_function(
        "default",
        |fallback: Value, value: Value| -> Result<Value, Error> {
            if fallback.is_undefined() {
                return Err(undefined("default"));
            }
            Ok(if value.is_undefined() || !value.is_true() {
                fallback
            } else {
                value
            })
        },
    );
    env.add_function("empty", |value: Value| -> Value {
        Value::from(value.is_undefined() || !value.is_true())
    });
    env.add_function("hasKey", |map: Value, key: Value| -> Result<Value, Error> {
        check_defined("hasKey", &[map.clone(), key.clone()])?;
        if map.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "`hasKey` needs a map as its first argument, got {}",
                describe(&map)
            )));
        }
        if key.kind() != ValueKind::String {
            return Err(invalid(format!(
                "`hasKey` needs a string key, got {}",
                describe(&key)
            )));
        }
        Ok(Value::from(
            map.get_item(&key).is_ok_and(|v| !v.is_undefined()),
        ))
    });
    env.add_function("len", |value: Value| -> Result<Value, Error> {
        match value.kind() {
            ValueKind::Undefined => Err(undefined("len")),
            // Go counts the bytes of a string.
            ValueKind::String => Ok(Value::from(value.as_str().map_or(0, str::len))),
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
                Ok(Value::from(value.len().unwrap_or(0)))
            }
            _ => Err(invalid(format!(
                "`len` needs a string, list or map, got {}",
                describe(&value)
            ))),
        }
    });
    for (name, f) in [
        ("lower", str::to_lowercase as fn(&str) -> String),
        ("upper", str::to_uppercase),
    ] {
        env.add_function(name, move |value: Value| -> Result<Value, Error> {
            match value.kind() {
                ValueKind::Undefined => Err(undefined(name)),
                ValueKind::String => Ok(Value::from(f(value.as_str().unwrap_or_default()))),
                _ => Err(invalid(format!(
                    "`{name}` needs a string, got {}; convert it with `toString` first",
                    describe(&value)
                ))),
            }
        });
    }
    env.add_function(
        "toString",
        move |state: &State, value: Value| -> Result<Value, Error> {
            let mut out = Bounded::new(max_output);
            format_go(&value, &mut out).map_err(|e| format_error("toString", e))?;
            charge(state, out.out.len())?;
            Ok(Value::from(out.out))
        },
    );
    env.add_function(
        "quote",
        move |state: &State, args: Rest<Value>| -> Result<Value, Error> {
            check_defined("quote", &args)?;
            let mut out = Bounded::new(max_output);
            let mut first = true;
            for v in args.iter().filter(|v| !v.is_none()) {
                if !first {
                    out.push(' ').map_err(|e| format_error("quote", e))?;
                }
                first = false;
                quote_value(v, &mut out, max_output).map_err(|e| format_error("quote", e))?;
            }
            charge(state, out.out.len())?;
            Ok(Value::from(out.out))
        },
    );
    env.add_function(
        "printf",
        move |state: &State, args: Rest<Value>| -> Result<Value, Error> {
            let out = printf(&args, max_output)?;
            charge(state, out.len())?;
            Ok(Value::from(out))
        },
    );
}

fn quote_value(v: &Value, out: &mut Bounded, max_output: usize) -> Result<(), FormatError> {
    match v.as_str() {
        Some(s) if v.kind() == ValueKind::String => go_quote(s, out),
        _ => {
            let mut text = Bounded::new(max_output);
            format_go(v, &mut text)?;
            go_quote(&text.out, out)
        }
    }
}

/// Go's ordering for `lt`, `le`, `gt`, `ge`: two numbers or two strings.
fn compare(name: &str, a: &Value, b: &Value) -> Result<std::cmp::Ordering, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined(name));
    }
    match (a.kind(), b.kind()) {
        (ValueKind::Number, ValueKind::Number) | (ValueKind::String, ValueKind::String) => a
            .partial_cmp(b)
            .ok_or_else(|| invalid(format!("`{name}` cannot order these values"))),
        _ => Err(invalid(format!(
            "`{name}` compares two numbers or two strings, got {} and {}",
            describe(a),
            describe(b)
        ))),
    }
}

/// Go's `fmt.Sprintf` for the verbs `%s`, `%v`, `%d`, `%q` and `%%`.
fn printf(args: &[Value], max_output: usize) -> Result<String, Error> {
    check_defined("printf", args)?;
    let Some((format, values)) = args.split_first() else {
        return Err(invalid("`printf` needs a format string"));
    };
    let Some(format) = format
        .as_str()
        .filter(|_| format.kind() == ValueKind::String)
    else {
        return Err(invalid(format!(
            "`printf` needs a format string as its first argument, got {}",
            describe(format)
        )));
    };
    let mut out = Bounded::new(max_output);
    let fail = |e| format_error("printf", e);
    let mut values = values.iter();
    let mut verbs = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '%' {
            out.push(c).map_err(fail)?;
            continue;
        }
        let Some((_, verb)) = chars.next() else {
            return Err(invalid(
                "`printf` format ends with a lone `%`; write `%%` for a percent sign",
            ));
        };
        if verb == '%' {
            out.push('%').map_err(fail)?;
            continue;
        }
        if !matches!(verb, 's' | 'v' | 'd' | 'q') {
            // Show the whole directive: flags, width and precision up to the verb letter.
            let mut end = i + 1 + verb.len_utf8();
            if !verb.is_alphabetic() {
                while let Some(&(j, c)) = chars.peek() {
                    chars.next();
                    end = j + c.len_utf8();
                    if c.is_alphabetic() {
                        break;
                    }
                }
            }
            return Err(invalid(format!(
                "unsupported directive `{}` in the `printf` format; supported are `%s`, `%v`, `%d`, `%q` and `%%`, without flags or widths",
                format.get(i..end).unwrap_or("%")
            )));
        }
        verbs += 1;
        let Some(value) = values.next() else {
            return Err(invalid(format!(
                "the `printf` format has more directives than the {} argument{} given",
                args.len() - 1,
                if args.len() == 2 { "" } else { "s" }
            )));
        };
        match verb {
            'd' => {
                if !value.is_integer() {
                    return Err(invalid(format!(
                        "`%d` in the `printf` format needs an integer, got {}",
                        describe(value)
                    )));
                }
                out.push_str(&value.to_string()).map_err(fail)?;
            }
            'q' => quote_value(value, &mut out, max_output).map_err(fail)?,
            _ => format_go(value, &mut out).map_err(fail)?,
        }
    }
    let extra = values.count();
    if extra > 0 {
        return Err(invalid(format!(
            "`printf` got {} argument{} after the format but the format has {verbs} directive{}",
            verbs + extra,
            if verbs + extra == 1 { "" } else { "s" },
            if verbs == 1 { "" } else { "s" }
        )));
    }
    Ok(out.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[Value]) -> Result<String, String> {
        printf(args, 100).map_err(|e| e.detail().unwrap_or_default().to_string())
    }

    #[test]
    fn printf_verbs() {
        let v = |s: &str| Value::from(s);
        assert_eq!(p(&[v("%s-db"), v("app")]), Ok("app-db".into()));
        assert_eq!(
            p(&[
                v("%d/%v/%q/%%"),
                Value::from(3),
                Value::from(1.5),
                v("a\"b")
            ]),
            Ok(r#"3/1.5/"a\"b"/%"#.into())
        );
        assert_eq!(p(&[v("%q"), Value::from(3)]), Ok("\"3\"".into()));
        assert_eq!(p(&[v("%v"), Value::from(())]), Ok(String::new()));
        assert!(
            p(&[v("%d"), v("x")])
                .unwrap_err()
                .contains("needs an integer")
        );
        assert!(
            p(&[v("%d"), Value::from(1.5)])
                .unwrap_err()
                .contains("needs an integer")
        );
        assert!(
            p(&[v("%5d"), Value::from(1)])
                .unwrap_err()
                .contains("`%5d`")
        );
        assert!(p(&[v("%x"), Value::from(1)]).unwrap_err().contains("`%x`"));
        assert!(
            p(&[v("%s %s"), v("a")])
                .unwrap_err()
                .contains("more directives")
        );
        assert!(
            p(&[v("%s"), v("a"), v("b")])
                .unwrap_err()
                .contains("2 arguments")
        );
        assert!(p(&[v("50%")]).unwrap_err().contains("lone `%`"));
        assert!(p(&[Value::from(1)]).unwrap_err().contains("format string"));
        let long = printf(&[v("%s%s"), v(&"x".repeat(60)), v(&"y".repeat(60))], 100).unwrap_err();
        assert!(std::error::Error::source(&long).is_some_and(|s| s.is::<OutputLimit>()));
    }

    #[test]
    fn ordering_needs_like_kinds() {
        use std::cmp::Ordering;
        assert_eq!(
            compare("lt", &Value::from(1), &Value::from(2.5)).ok(),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare("lt", &Value::from("b"), &Value::from("a")).ok(),
            Some(Ordering::Greater)
        );
        assert!(compare("lt", &Value::from(1), &Value::from("2")).is_err());
        assert!(compare("lt", &Value::from(true), &Value::from(false)).is_err());
        assert_eq!(
            compare("lt", &Value::UNDEFINED, &Value::from(1)).map_err(|e| e.kind()),
            Err(ErrorKind::UndefinedError)
        );
    }
}
