//! The `--set` syntax, as Helm's `strvals` reads it.
//!
//! An argument is a comma-separated list of `KEY=VALUE` assignments:
//!
//! | written | gives |
//! |---|---|
//! | `a=1,b=two` | `{a: 1, b: "two"}` |
//! | `a.b.c=x` | `{a: {b: {c: "x"}}}` |
//! | `a={x,y}` | `{a: ["x", "y"]}` (and `a={}` gives `[""]`, as in Helm) |
//! | `a[1]=x` | `{a: [null, "x"]}` (into an existing list: element 1 replaced) |
//! | `a[0].b=x`, `a[0][1]=x` | a map, a list inside the list |
//! | `a=one\,two`, `a\.b=c`, `a=x\=y` | a backslash makes the next character literal |
//! | `a=`, `a[0]` | `{a: ""}`, `{a: []}` |
//!
//! Values are typed as Helm types them with `--set`: `true`/`false` (any case) are booleans,
//! `null` (any case) is null, `0` and decimal integers that fit 64 bits and do not start with
//! `0` are integers, anything else is a string (`1.5`, `007` and `"quoted"` included: quotes
//! are kept as characters). With `--set-string` every value is a string.
//!
//! Differences from Helm, all on input Helm either rejects or mishandles: an empty key
//! (`=x`, `a..b=x`) is an error rather than silently dropped, and a path through a value of
//! the wrong kind (`a.b=1` when `a` is a string) replaces that value instead of crashing.

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::diag::pointer_escape;

/// The largest list index `--set` accepts (Helm's limit).
pub const MAX_INDEX: usize = 65_536;
/// The deepest `a.b.c...` nesting `--set` accepts (Helm's limit).
pub const MAX_NAME_NESTING: usize = 30;

/// How values of a `--set` argument are typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetKind {
    /// `--set`: booleans, null and integers are recognised.
    Set,
    /// `--set-string`: every value is a string.
    SetString,
}

impl SetKind {
    /// The command-line flag (`--set` or `--set-string`).
    pub fn flag(self) -> &'static str {
        match self {
            SetKind::Set => "--set",
            SetKind::SetString => "--set-string",
        }
    }
}

/// A `--set` argument that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{flag}` argument at column {column}: {message}", flag = kind.flag())]
pub struct SetError {
    /// Which flag the argument was given to.
    pub kind: SetKind,
    /// The whole argument.
    pub argument: String,
    /// The 1-based column (in characters) of the problem.
    pub column: usize,
    /// The byte offset of the problem in `argument`.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl miette::Diagnostic for SetError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("values::set_syntax"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.argument)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let len = self
            .argument
            .get(self.offset..)
            .and_then(|rest| rest.chars().next())
            .map_or(0, char::len_utf8);
        Some(Box::new(std::iter::once(miette::LabeledSpan::new(
            Some("here".to_string()),
            self.offset,
            len,
        ))))
    }
}

/// One step of a path: a map key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// One `KEY=VALUE` of an argument. `value` is `None` for `a[0]` with nothing after it, which
/// only makes sure the list exists.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Assignment {
    pub path: Vec<Step>,
    pub value: Option<Value>,
}

/// Reads a `--set` (or `--set-string`) argument into assignments, in order.
pub(super) fn parse_assignments(
    argument: &str,
    kind: SetKind,
) -> Result<Vec<Assignment>, SetError> {
    let mut parser = Parser {
        argument,
        chars: argument.char_indices().collect(),
        pos: 0,
        kind,
        out: Vec::new(),
    };
    while parser.pos < parser.chars.len() {
        parser.key(Vec::new(), 0)?;
    }
    Ok(parser.out)
}

/// Applies assignments to `target`, calling `wrote(pointer, value)` for each value written
/// and `cleared(pointer)` for each place whose previous content is dropped.
pub(super) fn apply(target: &mut Value, assignments: &[Assignment], sink: &mut dyn WriteSink) {
    for assignment in assignments {
        let mut pointer = String::new();
        set_in(
            target,
            &assignment.path,
            assignment.value.as_ref(),
            &mut pointer,
            sink,
        );
    }
}

/// Told about every change `apply` makes (the provenance tracker listens).
pub(super) trait WriteSink {
    /// Whatever was at `pointer` (and below) is gone.
    fn cleared(&mut self, pointer: &str);
    /// `value` now sits at `pointer`, replacing whatever was there.
    fn wrote(&mut self, pointer: &str, value: &Value);
    /// The container at `pointer` received a child, so it is no longer an empty leaf.
    fn filled(&mut self, pointer: &str);
}

fn set_in(
    slot: &mut Value,
    path: &[Step],
    value: Option<&Value>,
    pointer: &mut String,
    sink: &mut dyn WriteSink,
) {
    let Some((step, rest)) = path.split_first() else {
        if let Some(v) = value {
            *slot = v.clone();
            sink.wrote(pointer, v);
        }
        return;
    };
    let mark = pointer.len();
    match step {
        Step::Key(key) => {
            if rest.is_empty() && value.is_none() {
                return;
            }
            if !slot.is_object() {
                sink.cleared(pointer);
                *slot = Value::Object(Map::new());
            }
            let Value::Object(map) = slot else { return };
            sink.filled(pointer);
            pointer.push('/');
            pointer.push_str(&pointer_escape(key));
            let child = map.entry(key.clone()).or_insert(Value::Null);
            set_in(child, rest, value, pointer, sink);
        }
        Step::Index(index) => {
            if !slot.is_array() {
                sink.cleared(pointer);
                *slot = Value::Array(Vec::new());
                if rest.is_empty() && value.is_none() {
                    sink.wrote(pointer, slot);
                    return;
                }
            }
            if rest.is_empty() && value.is_none() {
                return;
            }
            let Value::Array(items) = slot else { return };
            sink.filled(pointer);
            while items.len() <= *index {
                let padded = items.len();
                items.push(Value::Null);
                if padded != *index {
                    sink.wrote(&format!("{pointer}/{padded}"), &Value::Null);
                }
            }
            pointer.push('/');
            pointer.push_str(&index.to_string());
            if let Some(child) = items.get_mut(*index) {
                set_in(child, rest, value, pointer, sink);
            }
        }
    }
    pointer.truncate(mark);
}

struct Parser<'a> {
    argument: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
    kind: SetKind,
    out: Vec<Assignment>,
}

/// A run of characters read up to a stop character.
struct Run {
    text: String,
    /// The stop character met, `None` at the end of the argument.
    stop: Option<char>,
    /// Where the run started (character index).
    start: usize,
    /// Where the stop character is (character index; the length at the end).
    at: usize,
}

impl Parser<'_> {
    fn error(&self, at: usize, message: String, help: Option<&str>) -> SetError {
        let offset = self
            .chars
            .get(at)
            .map_or(self.argument.len(), |(byte, _)| *byte);
        SetError {
            kind: self.kind,
            argument: self.argument.to_string(),
            column: at + 1,
            offset,
            message,
            help: help.map(str::to_string),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|(_, c)| *c)
    }

    /// Reads up to one of `stops` (consumed) or the end; a backslash makes the next character
    /// literal (a backslash at the very end is dropped, as Helm does).
    fn run_until(&mut self, stops: &[char]) -> Run {
        let start = self.pos;
        let mut text = String::new();
        while let Some(&(_, c)) = self.chars.get(self.pos) {
            if stops.contains(&c) {
                let at = self.pos;
                self.pos += 1;
                return Run {
                    text,
                    stop: Some(c),
                    start,
                    at,
                };
            }
            self.pos += 1;
            if c == '\\' {
                if let Some(&(_, next)) = self.chars.get(self.pos) {
                    text.push(next);
                    self.pos += 1;
                }
            } else {
                text.push(c);
            }
        }
        Run {
            text,
            stop: None,
            start,
            at: self.pos,
        }
    }

    fn shown_path(path: &[Step], last: &str) -> String {
        let mut out = String::new();
        for step in path {
            match step {
                Step::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if !last.is_empty() {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(last);
        }
        out
    }

    /// Reads a key (and what follows it) under `path`.
    fn key(&mut self, mut path: Vec<Step>, nesting: usize) -> Result<(), SetError> {
        let run = self.run_until(&['=', '[', ',', '.']);
        let shown = Self::shown_path(&path, &run.text);
        let empty_key = |p: &Self, at: usize| {
            p.error(
                at,
                "empty key".to_string(),
                Some("write `KEY=VALUE`; escape a literal `.`, `,`, `=` or `[` in a key with `\\`"),
            )
        };
        match run.stop {
            None => {
                if run.text.is_empty() && path.is_empty() {
                    return Ok(());
                }
                if run.text.is_empty() {
                    return Err(empty_key(self, run.at));
                }
                Err(self.error(
                    run.at,
                    format!("key `{shown}` has no value"),
                    Some(&format!("write `{shown}=VALUE`")),
                ))
            }
            Some(',') => {
                if run.text.is_empty() && path.is_empty() {
                    return Err(self.error(
                        run.at,
                        "nothing between two `,`".to_string(),
                        Some("separate assignments with a single `,`"),
                    ));
                }
                if run.text.is_empty() {
                    return Err(empty_key(self, run.at));
                }
                Err(self.error(
                    run.at,
                    format!("key `{shown}` has no value before `,`"),
                    Some(&format!(
                        "write `{shown}=VALUE`, or escape the `,` as `\\,` if it belongs to the key"
                    )),
                ))
            }
            Some('=') => {
                if run.text.is_empty() {
                    return Err(empty_key(self, run.at));
                }
                path.push(Step::Key(run.text));
                let value = self.value()?;
                self.out.push(Assignment {
                    path,
                    value: Some(value),
                });
                Ok(())
            }
            Some('.') => {
                if run.text.is_empty() {
                    return Err(empty_key(self, run.at));
                }
                if nesting + 1 > MAX_NAME_NESTING {
                    return Err(self.error(
                        run.at,
                        format!("keys nest deeper than {MAX_NAME_NESTING} levels"),
                        None,
                    ));
                }
                path.push(Step::Key(run.text));
                self.key(path, nesting + 1)
            }
            Some(_) => {
                // `[`: a list index.
                if run.text.is_empty() {
                    return Err(empty_key(self, run.at));
                }
                path.push(Step::Key(run.text));
                let index = self.index(run.at)?;
                path.push(Step::Index(index));
                self.list_item(path, nesting)
            }
        }
    }

    /// Reads `N]` after a `[` found at `open`.
    fn index(&mut self, open: usize) -> Result<usize, SetError> {
        let run = self.run_until(&[']']);
        if run.stop.is_none() {
            return Err(self.error(
                open,
                "`[` is not closed with `]`".to_string(),
                Some("write a list index as `KEY[N]`"),
            ));
        }
        let text = run.text.trim();
        match text.parse::<i64>() {
            Ok(n) if n < 0 => {
                Err(self.error(run.start, format!("list index `{n}` is negative"), None))
            }
            Ok(n) => match usize::try_from(n) {
                Ok(i) if i <= MAX_INDEX => Ok(i),
                _ => Err(self.error(
                    run.start,
                    format!("list index `{n}` is larger than the maximum {MAX_INDEX}"),
                    None,
                )),
            },
            Err(_) => Err(self.error(
                run.start,
                format!("list index `{}` is not a number", run.text),
                Some("write a list index as `KEY[N]`"),
            )),
        }
    }

    /// What follows `[N]`: `=VALUE`, `.key`, another `[M]`, or the end.
    fn list_item(&mut self, mut path: Vec<Step>, nesting: usize) -> Result<(), SetError> {
        let run = self.run_until(&['[', '.', '=']);
        if !run.text.is_empty() {
            return Err(self.error(
                run.start,
                format!("unexpected `{}` after a list index", run.text),
                Some("a list index is followed by `=`, `.` or another `[N]`"),
            ));
        }
        match run.stop {
            None => {
                self.out.push(Assignment { path, value: None });
                Ok(())
            }
            Some('=') => {
                let value = self.value()?;
                self.out.push(Assignment {
                    path,
                    value: Some(value),
                });
                Ok(())
            }
            Some('[') => {
                let index = self.index(run.at)?;
                path.push(Step::Index(index));
                self.list_item(path, nesting)
            }
            Some(_) => self.key(path, nesting),
        }
    }

    /// A value after `=`: a `{a,b}` list or a plain value up to the next `,`.
    fn value(&mut self) -> Result<Value, SetError> {
        if self.peek() != Some('{') {
            let run = self.run_until(&[',']);
            return Ok(self.typed(run.text));
        }
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            let run = self.run_until(&[',', '}']);
            match run.stop {
                None => {
                    return Err(self.error(
                        open,
                        "list is not closed with `}`".to_string(),
                        Some("write a list as `KEY={a,b}`; escape a literal `{` as `\\{`"),
                    ));
                }
                Some('}') => {
                    items.push(self.typed(run.text));
                    if self.peek() == Some(',') {
                        self.pos += 1;
                    }
                    return Ok(Value::Array(items));
                }
                Some(_) => items.push(self.typed(run.text)),
            }
        }
    }

    fn typed(&self, text: String) -> Value {
        match self.kind {
            SetKind::SetString => Value::String(text),
            SetKind::Set => typed_value(text),
        }
    }
}

/// Types a `--set` value as Helm does.
pub(super) fn typed_value(text: String) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::Number(Number::from(0));
    }
    if !text.is_empty()
        && !text.starts_with('0')
        && is_go_int(&text)
        && let Ok(n) = text.parse::<i64>()
    {
        return Value::Number(Number::from(n));
    }
    Value::String(text)
}

/// Whether `text` is what Go's `strconv.ParseInt(text, 10, 64)` accepts syntactically: an
/// optional sign, then ASCII digits (Rust's parser also allows a leading `+`, so only the
/// digits need checking).
fn is_go_int(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use serde_json::json;

    struct Ignore;
    impl WriteSink for Ignore {
        fn cleared(&mut self, _: &str) {}
        fn wrote(&mut self, _: &str, _: &Value) {}
        fn filled(&mut self, _: &str) {}
    }

    fn parse(arg: &str) -> Result<Value, SetError> {
        parse_kind(arg, SetKind::Set)
    }

    fn parse_kind(arg: &str, kind: SetKind) -> Result<Value, SetError> {
        let assignments = parse_assignments(arg, kind)?;
        let mut out = json!({});
        apply(&mut out, &assignments, &mut Ignore);
        Ok(out)
    }

    fn parse_into(arg: &str, mut target: Value) -> Value {
        let assignments = parse_assignments(arg, SetKind::Set).unwrap();
        apply(&mut target, &assignments, &mut Ignore);
        target
    }

    #[test]
    fn helm_table() {
        let cases = [
            (
                "name1=null,f=false,t=true",
                json!({"name1": null, "f": false, "t": true}),
            ),
            ("name1=value1", json!({"name1": "value1"})),
            (
                "name1=value1,name2=value2",
                json!({"name1": "value1", "name2": "value2"}),
            ),
            (
                "name1=value1,name2=value2,",
                json!({"name1": "value1", "name2": "value2"}),
            ),
            (
                "name1=,name2=value2",
                json!({"name1": "", "name2": "value2"}),
            ),
            ("leading_zeros=00009", json!({"leading_zeros": "00009"})),
            ("zero_int=0", json!({"zero_int": 0})),
            ("long_int=1234567890", json!({"long_int": 1_234_567_890})),
            ("boolean=true", json!({"boolean": true})),
            ("is_null=null", json!({"is_null": null})),
            (
                "name1=one\\,two,name2=three\\,four",
                json!({"name1": "one,two", "name2": "three,four"}),
            ),
            (
                "name1=one\\=two,name2=three\\=four",
                json!({"name1": "one=two", "name2": "three=four"}),
            ),
            ("name1=one two three", json!({"name1": "one two three"})),
            ("outer.inner=value", json!({"outer": {"inner": "value"}})),
            (
                "outer.middle.inner=value",
                json!({"outer": {"middle": {"inner": "value"}}}),
            ),
            (
                "outer.inner1=value,outer.middle.inner=value",
                json!({"outer": {"inner1": "value", "middle": {"inner": "value"}}}),
            ),
            ("name1.name2=", json!({"name1": {"name2": ""}})),
            (
                "name1={value1,value2}",
                json!({"name1": ["value1", "value2"]}),
            ),
            (
                "name1={value1,value2},name2={value1,value2}",
                json!({"name1": ["value1", "value2"], "name2": ["value1", "value2"]}),
            ),
            ("name1={1021,902}", json!({"name1": [1021, 902]})),
            (
                "name1.name2={value1,value2}",
                json!({"name1": {"name2": ["value1", "value2"]}}),
            ),
            ("list[0]=foo", json!({"list": ["foo"]})),
            ("list[0].foo=bar", json!({"list": [{"foo": "bar"}]})),
            (
                "list[0].foo=bar,list[0].hello=world",
                json!({"list": [{"foo": "bar", "hello": "world"}]}),
            ),
            ("list[0]=foo,list[1]=bar", json!({"list": ["foo", "bar"]})),
            ("list[0]=foo,list[1]=bar,", json!({"list": ["foo", "bar"]})),
            (
                "list[0]=foo,list[3]=bar",
                json!({"list": ["foo", null, null, "bar"]}),
            ),
            ("noval[0]", json!({"noval": []})),
            ("noval[0]=", json!({"noval": [""]})),
            ("nested[0][0]=1", json!({"nested": [[1]]})),
            ("nested[1][1]=1", json!({"nested": [null, [null, 1]]})),
            (
                "name1.name2[0].foo=bar,name1.name2[1].foo=bar",
                json!({"name1": {"name2": [{"foo": "bar"}, {"foo": "bar"}]}}),
            ),
            (
                "name1.name2[1].foo=bar,name1.name2[0].foo=bar",
                json!({"name1": {"name2": [{"foo": "bar"}, {"foo": "bar"}]}}),
            ),
            (
                "name1.name2[1].foo=bar",
                json!({"name1": {"name2": [null, {"foo": "bar"}]}}),
            ),
            ("a\\.b=c", json!({"a.b": "c"})),
            ("a={}", json!({"a": [""]})),
            ("a={x}y=1", json!({"a": ["x"], "y": 1})),
            ("a=\"quoted\"", json!({"a": "\"quoted\""})),
            (
                "a=1.5,b=-3,c=+4,d=TRUE,e=Null",
                json!({"a": "1.5", "b": -3, "c": 4, "d": true, "e": null}),
            ),
            (
                "big=99999999999999999999",
                json!({"big": "99999999999999999999"}),
            ),
            ("a=b\\", json!({"a": "b"})),
            ("ünï=cödé", json!({"ünï": "cödé"})),
        ];
        for (arg, expected) in cases {
            assert_eq!(parse(arg).unwrap(), expected, "{arg}");
        }
    }

    #[test]
    fn helm_errors() {
        for arg in [
            "name1=value1,,,,name2=value2,",
            "name1,name2=",
            "name1,name2=value2",
            "name1,name2=value2\\",
            "name1,name2",
            "name1.name2",
            "name1.name2,name1.name3",
            "name1.=name2",
            "name1.,name2",
            "name1={1021,902",
            "list[0].foo=bar,list[-30].hello=world",
            "list[0]=foo,list[-20]=bar",
            "illegal[0]name.foo=bar",
            "]={}].",
            "=x",
            "a..b=c",
            "a[x]=1",
            "a[1",
            "a[70000]=1",
        ] {
            assert!(parse(arg).is_err(), "{arg} should fail");
        }
    }

    #[test]
    fn errors_name_the_column() {
        let e = parse("a=1,bad,c=2").unwrap_err();
        assert_eq!(e.column, 8);
        assert_eq!(e.message, "key `bad` has no value before `,`");
        assert_eq!(
            e.to_string(),
            "invalid `--set` argument at column 8: key `bad` has no value before `,`"
        );
        let e = parse("x.y").unwrap_err();
        assert_eq!(
            (e.column, e.message.as_str()),
            (4, "key `x.y` has no value")
        );
        let e = parse("list={a,b").unwrap_err();
        assert_eq!(e.column, 6);
        let e = parse("a[-1]=x").unwrap_err();
        assert_eq!(
            (e.column, e.message.as_str()),
            (3, "list index `-1` is negative")
        );
        let e = parse("é.=x").unwrap_err();
        assert_eq!((e.column, e.offset), (3, 3));
        let e = parse_kind("a=1,,b", SetKind::SetString).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid `--set-string` argument at column 5")
        );
    }

    #[test]
    fn set_string_keeps_strings() {
        assert_eq!(
            parse_kind("a=1,b=true,c=null,d={1,false}", SetKind::SetString).unwrap(),
            json!({"a": "1", "b": "true", "c": "null", "d": ["1", "false"]})
        );
    }

    #[test]
    fn parse_into_existing_values() {
        let got = parse_into(
            "outer.inner1=value1,outer.inner3=value3,outer.inner4=4",
            json!({"outer": {"inner1": "overwrite", "inner2": "value2"}}),
        );
        assert_eq!(
            got,
            json!({"outer": {"inner1": "value1", "inner2": "value2", "inner3": "value3", "inner4": 4}})
        );
        let got = parse_into("listOuter[0][0].type=listValue", json!({}));
        let got = parse_into("listOuter[0][0].status=alive", got);
        assert_eq!(
            got,
            json!({"listOuter": [[{"type": "listValue", "status": "alive"}]]})
        );
        let got = parse_into(
            "listOuter[0][1][0].type=listValue,listOuter[0][0][1].status=alive",
            json!({"listOuter": [[[{"exited": "old"}]]]}),
        );
        assert_eq!(
            got,
            json!({"listOuter": [[[{"exited": "old"}, {"status": "alive"}], [{"type": "listValue"}]]]})
        );
        // An index into an existing list keeps the other elements.
        assert_eq!(
            parse_into("a[1]=x", json!({"a": [1, 2, 3]})),
            json!({"a": [1, "x", 3]})
        );
        // A path through a scalar replaces it.
        assert_eq!(
            parse_into("a.b=1", json!({"a": "s"})),
            json!({"a": {"b": 1}})
        );
        assert_eq!(
            parse_into("a[0]=1", json!({"a": {"k": 1}})),
            json!({"a": [1]})
        );
        assert_eq!(parse_into("a[0]", json!({"a": [5]})), json!({"a": [5]}));
    }

    #[test]
    fn nesting_limit() {
        let deep = format!("{}=1", vec!["k"; MAX_NAME_NESTING + 1].join("."));
        assert!(parse(&deep).is_ok());
        let too_deep = format!("{}=1", vec!["k"; MAX_NAME_NESTING + 2].join("."));
        assert!(parse(&too_deep).is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics(arg in "[a-c.,=\\[\\]{}\\\\0-9 -]{0,24}") {
                let _ = parse(&arg);
                let _ = parse_kind(&arg, SetKind::SetString);
            }

            #[test]
            fn escaped_values_round_trip(value in "[ -~]{0,20}") {
                let escaped: String = value
                    .chars()
                    .flat_map(|c| {
                        let esc = matches!(c, ',' | '\\' | '{');
                        esc.then_some('\\').into_iter().chain(std::iter::once(c))
                    })
                    .collect();
                let got = parse_kind(&format!("k={escaped}"), SetKind::SetString).unwrap();
                prop_assert_eq!(got, json!({"k": value}));
            }

            #[test]
            fn integers_are_typed(n in any::<i64>()) {
                let got = parse(&format!("n={n}")).unwrap();
                prop_assert_eq!(got, json!({"n": n}));
            }
        }
    }
}
