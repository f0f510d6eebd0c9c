//! YAML with positions.
//!
//! Every document bpkit reads (Blueprints, values files, lockfiles written as YAML) goes through
//! [`load`]: it parses with `saphyr-parser`, keeps the byte [`Span`] of every key and value,
//! and refuses what a strict reader should refuse, each with a line:column:
//!
//! - duplicate keys in one mapping (YAML forbids them; most parsers keep the last one silently);
//! - more than one document where one is expected;
//! - text that is not UTF-8, or larger than [`Limits::max_bytes`];
//! - nesting deeper than [`Limits::max_depth`];
//! - alias expansion ("billion laughs") past [`Limits::max_nodes`] nodes in total;
//! - keys that are not scalars.
//!
//! Scalars are resolved with the YAML 1.2 core schema (`true`, `null`, `0x1f`, `1e3`, …); quoted
//! scalars are strings. Merge keys (`<<: *base`) are applied, as Kubernetes tooling does.
//! [`Node::to_json`] gives the `serde_json::Value` the rest of bpkit works on, and
//! [`Node::find`] maps a JSON Pointer back to its [`Span`] for error messages.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan, Tag};
use serde_json::{Map, Number, Value};

use crate::diag::{Position, Source, Span};

/// Size limits applied while loading.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest accepted text, in bytes.
    pub max_bytes: usize,
    /// The deepest accepted nesting of sequences and mappings.
    pub max_depth: usize,
    /// The most nodes a document may hold after aliases are expanded.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_depth: 128,
            max_nodes: 1_000_000,
        }
    }
}

/// A YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: NodeKind,
    /// Where the value stands in the source.
    pub span: Span,
}

/// The kinds of YAML values, after scalar resolution.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer or a float.
    Number(Number),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key, as text (numbers and booleans used as keys are kept as written).
    pub key: String,
    /// Where the key stands.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

impl Node {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Number(n) => Value::Number(n.clone()),
            NodeKind::String(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for e in entries {
                    m.insert(e.key.clone(), e.value.to_json());
                }
                Value::Object(m)
            }
        }
    }

    /// The value as JSON, consuming the node (no copies of strings).
    pub fn into_json(self) -> Value {
        match self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(b),
            NodeKind::Number(n) => Value::Number(n),
            NodeKind::String(s) => Value::String(s),
            NodeKind::Seq(items) => Value::Array(items.into_iter().map(Node::into_json).collect()),
            NodeKind::Map(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for e in entries {
                    m.insert(e.key, e.value.into_json());
                }
                Value::Object(m)
            }
        }
    }

    /// The entry `key` of a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The value at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The string value, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping entries, if this is a mapping.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(i) => Some(i),
            _ => None,
        }
    }

    /// A short name of the kind, for messages: `mapping`, `sequence`, `string`, …
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Number(n) if n.is_f64() => "number",
            NodeKind::Number(_) => "integer",
            NodeKind::String(_) => "string",
            NodeKind::Seq(_) => "sequence",
            NodeKind::Map(_) => "mapping",
        }
    }

    /// The node a JSON Pointer names, or `None` when the path does not exist.
    pub fn find(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for token in crate::diag::pointer_tokens(pointer) {
            node = match &node.kind {
                NodeKind::Map(entries) => &entries.iter().find(|e| e.key == token)?.value,
                NodeKind::Seq(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The best span for a JSON Pointer: the value's span if the path exists, otherwise the
    /// span of the deepest existing ancestor (so "missing property" errors point at the parent).
    pub fn span_for(&self, pointer: &str) -> Span {
        let mut node = self;
        for token in crate::diag::pointer_tokens(pointer) {
            let next = match &node.kind {
                NodeKind::Map(entries) => entries.iter().find(|e| e.key == token).map(|e| &e.value),
                NodeKind::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.span
    }

    /// The span of the key that names the value at `pointer` (or the value's span for
    /// sequence items and the root).
    pub fn key_span_for(&self, pointer: &str) -> Option<Span> {
        let tokens = crate::diag::pointer_tokens(pointer);
        let (last, parents) = tokens.split_last()?;
        let mut node = self;
        for token in parents {
            node = match &node.kind {
                NodeKind::Map(entries) => &entries.iter().find(|e| &e.key == token)?.value,
                NodeKind::Seq(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        match &node.kind {
            NodeKind::Map(entries) => entries.iter().find(|e| &e.key == last).map(|e| e.key_span),
            NodeKind::Seq(items) => items.get(last.parse::<usize>().ok()?).map(|n| n.span),
            _ => None,
        }
    }
}

/// A loaded YAML document: its source text and its root node.
#[derive(Clone, Debug)]
pub struct Document {
    /// The text the document was read from.
    pub source: Source,
    /// The root value (`Null` for an empty document).
    pub root: Node,
}

impl Document {
    /// The line:column of a span's start.
    pub fn position(&self, span: Span) -> Position {
        self.source.position(span.start)
    }
}

/// Why a YAML text could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// What kind of problem it is.
    pub kind: YamlErrorKind,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The text.
    pub src: Source,
    /// Where.
    pub span: Span,
    /// A second place that matters (the first occurrence of a duplicate key).
    pub related: Option<Span>,
}

/// The kinds of [`YamlError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The text is not valid YAML.
    Syntax,
    /// The bytes are not UTF-8.
    NotUtf8,
    /// A key appears twice in one mapping.
    DuplicateKey,
    /// The text is larger than the limit.
    TooLarge,
    /// The nesting is deeper than the limit.
    TooDeep,
    /// Alias expansion makes the document larger than the limit.
    TooManyNodes,
    /// An alias names an anchor that was not defined before it.
    UnknownAnchor,
    /// A key is a sequence or a mapping.
    ComplexKey,
    /// More than one document where one was expected.
    MultipleDocuments,
    /// A tag that is not part of the core schema, or a value that does not fit its tag.
    BadTag,
    /// A merge key (`<<`) whose value is not a mapping or a list of mappings.
    BadMerge,
}

impl YamlError {
    /// The rule id of size limits.
    pub const LIMIT_RULE: &'static str = "yaml-limit";

    /// The stable rule id used in findings.
    pub fn rule(&self) -> &'static str {
        match self.kind {
            YamlErrorKind::Syntax => "yaml-syntax",
            YamlErrorKind::NotUtf8 => "yaml-encoding",
            YamlErrorKind::DuplicateKey => "yaml-duplicate-key",
            YamlErrorKind::TooLarge | YamlErrorKind::TooDeep | YamlErrorKind::TooManyNodes => {
                "yaml-limit"
            }
            YamlErrorKind::UnknownAnchor => "yaml-anchor",
            YamlErrorKind::ComplexKey => "yaml-complex-key",
            YamlErrorKind::MultipleDocuments => "yaml-multiple-documents",
            YamlErrorKind::BadTag => "yaml-tag",
            YamlErrorKind::BadMerge => "yaml-merge",
        }
    }

    /// The line:column where the problem is.
    pub fn position(&self) -> Position {
        self.src.position(self.span.start)
    }

    /// The error as a [`crate::diag::Finding`].
    pub fn to_finding(&self) -> crate::diag::Finding {
        let mut f =
            crate::diag::Finding::error(self.rule(), self.message.clone()).at(&self.src, self.span);
        if let Some(h) = &self.help {
            f = f.with_help(h.clone());
        }
        if let Some(r) = self.related {
            let at = self.src.position(r.start);
            f.message = format!("{} (first defined at {at})", f.message);
            f = f.with_related(r, "first defined here");
        }
        f
    }
}

impl miette::Diagnostic for YamlError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.rule()))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.src.text_code())
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let mut labels = vec![miette::LabeledSpan::new_with_span(
            Some("here".into()),
            self.span,
        )];
        if let Some(r) = self.related {
            labels.push(miette::LabeledSpan::new_with_span(
                Some("first defined here".into()),
                r,
            ));
        }
        Some(Box::new(labels.into_iter()))
    }
}

/// Loads exactly one YAML document from bytes (checked to be UTF-8) named `name`.
pub fn load_bytes(name: &str, bytes: &[u8], limits: &Limits) -> Result<Document, Box<YamlError>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => load(Source::new(name, text), limits),
        Err(e) => {
            let good = e.valid_up_to();
            // Keep the valid prefix as the source so the position can be shown.
            let prefix = String::from_utf8_lossy(bytes.get(..good).unwrap_or(&[])).into_owned();
            let source = Source::new(name, prefix);
            Err(Box::new(YamlError {
                kind: YamlErrorKind::NotUtf8,
                message: format!("the file is not UTF-8: invalid byte at offset {good}"),
                help: Some("save the file as UTF-8".into()),
                span: Span::at(good),
                src: source,
                related: None,
            }))
        }
    }
}

/// Loads exactly one YAML document from `source`. An empty text gives a `Null` root.
pub fn load(source: Source, limits: &Limits) -> Result<Document, Box<YamlError>> {
    let mut docs = load_all_inner(&source, limits, true)?;
    let root = docs.pop().unwrap_or(Node {
        kind: NodeKind::Null,
        span: Span::at(0),
    });
    Ok(Document { source, root })
}

/// Loads every document of a multi-document YAML text.
pub fn load_all(source: Source, limits: &Limits) -> Result<Vec<Document>, Box<YamlError>> {
    let docs = load_all_inner(&source, limits, false)?;
    Ok(docs
        .into_iter()
        .map(|root| Document {
            source: source.clone(),
            root,
        })
        .collect())
}

fn load_all_inner(
    source: &Source,
    limits: &Limits,
    single: bool,
) -> Result<Vec<Node>, Box<YamlError>> {
    let text = source.text();
    if text.len() > limits.max_bytes {
        return Err(Box::new(YamlError {
            kind: YamlErrorKind::TooLarge,
            message: format!(
                "the file is {} bytes, more than the limit of {} bytes",
                text.len(),
                limits.max_bytes
            ),
            help: Some("split the document or remove generated content".into()),
            src: source.clone(),
            span: Span::at(0),
            related: None,
        }));
    }
    let mut b = Builder {
        source,
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        docs: Vec::new(),
        single,
    };
    let parser = Parser::new_from_str(text);
    for item in parser {
        match item {
            Ok((ev, span)) => b.event(ev, span)?,
            Err(e) => {
                let m = e.marker();
                let off = source.offset_of(m.line(), m.col());
                let mut off = off;
                if e.info().contains("tab")
                    && off > 0
                    && source.text().as_bytes().get(off - 1) == Some(&b'\t')
                {
                    off -= 1;
                }
                if e.info().contains("unknown anchor") {
                    return Err(Box::new(YamlError {
                        kind: YamlErrorKind::UnknownAnchor,
                        message: "alias refers to an anchor that is not defined before it".into(),
                        help: Some("define `&name` before using `*name`".into()),
                        src: source.clone(),
                        span: Span::at(off),
                        related: None,
                    }));
                }
                if e.info().contains("recursion limit") {
                    return Err(Box::new(YamlError {
                        kind: YamlErrorKind::TooDeep,
                        message: "nesting is deeper than the YAML reader allows".into(),
                        help: Some("flatten the structure".into()),
                        src: source.clone(),
                        span: Span::at(off),
                        related: None,
                    }));
                }
                return Err(Box::new(YamlError {
                    kind: YamlErrorKind::Syntax,
                    message: syntax_message(e.info()),
                    help: syntax_help(e.info()),
                    src: source.clone(),
                    span: Span::at(off),
                    related: None,
                }));
            }
        }
    }
    Ok(b.docs)
}

fn syntax_message(info: &str) -> String {
    format!("invalid YAML: {info}")
}

fn syntax_help(info: &str) -> Option<String> {
    let i = info.to_ascii_lowercase();
    if i.contains("tab") {
        Some("YAML indentation must use spaces, not tabs".into())
    } else if i.contains("mapping values are not allowed") {
        Some("quote values that contain `: `, or check the indentation of this line".into())
    } else if i.contains("did not find expected key") || i.contains("block") {
        Some("check the indentation: siblings must start in the same column".into())
    } else {
        None
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        start: usize,
        anchor: usize,
        /// A key read, waiting for its value.
        pending: Option<(String, Span, bool)>,
        /// Entries that came from merge keys; explicit keys win over them.
        merged: Vec<Entry>,
    },
}

struct Builder<'a> {
    source: &'a Source,
    limits: &'a Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    docs: Vec<Node>,
    single: bool,
}

impl Builder<'_> {
    fn err(
        &self,
        kind: YamlErrorKind,
        span: Span,
        message: String,
        help: Option<&str>,
    ) -> Box<YamlError> {
        Box::new(YamlError {
            kind,
            message,
            help: help.map(str::to_string),
            src: self.source.clone(),
            span,
            related: None,
        })
    }

    fn span(&self, s: &YSpan) -> Span {
        let a = self.source.offset_of(s.start.line(), s.start.col());
        let b = self.source.offset_of(s.end.line(), s.end.col());
        Span::new(a, b)
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), Box<YamlError>> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(self.err(
                YamlErrorKind::TooManyNodes,
                span,
                format!(
                    "the document expands to more than {} values (aliases are expanded)",
                    self.limits.max_nodes
                ),
                Some("this looks like an alias bomb; remove the nested aliases"),
            ));
        }
        Ok(())
    }

    fn event(&mut self, ev: Event<'_>, yspan: YSpan) -> Result<(), Box<YamlError>> {
        let span = self.span(&yspan);
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                if self.single && !self.docs.is_empty() {
                    return Err(self.err(
                        YamlErrorKind::MultipleDocuments,
                        span,
                        "expected one YAML document, found a second one".into(),
                        Some("remove the `---` separator and what follows, or split the file"),
                    ));
                }
                Ok(())
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).cloned() else {
                    return Err(self.err(
                        YamlErrorKind::UnknownAnchor,
                        span,
                        "alias refers to an anchor that is not defined before it".into(),
                        Some("define `&name` before using `*name`"),
                    ));
                };
                let size = node_size(&node);
                self.count(size, span)?;
                // The alias takes the position of its use, the content its anchor's.
                self.push_value(
                    Node {
                        kind: node.kind,
                        span,
                    },
                    false,
                )
            }
            Event::Scalar(value, style, anchor, tag) => {
                self.count(1, span)?;
                let kind = resolve_scalar(&value, style, tag.as_deref()).map_err(|m| {
                    self.err(
                        YamlErrorKind::BadTag,
                        span,
                        m,
                        Some("use a core tag such as `!!str`, or remove the tag"),
                    )
                })?;
                let node = Node { kind, span };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                let is_merge_key = style == ScalarStyle::Plain && value == "<<" && tag.is_none();
                self.push_value(node, is_merge_key)
            }
            Event::SequenceStart(anchor, _tag) => {
                self.count(1, span)?;
                self.check_depth(span)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: span.start,
                    anchor,
                });
                Ok(())
            }
            Event::MappingStart(anchor, _tag) => {
                self.count(1, span)?;
                self.check_depth(span)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    start: span.start,
                    anchor,
                    pending: None,
                    merged: Vec::new(),
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    start,
                    anchor,
                }) => {
                    let end = items
                        .last()
                        .map_or(span.end, |n| n.span.end.max(span.start));
                    let node = Node {
                        kind: NodeKind::Seq(items),
                        span: Span::new(start, end.max(start)),
                    };
                    self.close(node, anchor)
                }
                _ => Err(self.err(
                    YamlErrorKind::Syntax,
                    span,
                    "invalid YAML: unbalanced sequence".into(),
                    None,
                )),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    mut entries,
                    start,
                    anchor,
                    merged,
                    ..
                }) => {
                    for m in merged {
                        if !entries.iter().any(|e| e.key == m.key) {
                            entries.push(m);
                        }
                    }
                    let end = entries
                        .iter()
                        .map(|e| e.value.span.end)
                        .max()
                        .unwrap_or(span.end)
                        .max(start);
                    let node = Node {
                        kind: NodeKind::Map(entries),
                        span: Span::new(start, end),
                    };
                    self.close(node, anchor)
                }
                _ => Err(self.err(
                    YamlErrorKind::Syntax,
                    span,
                    "invalid YAML: unbalanced mapping".into(),
                    None,
                )),
            },
        }
    }

    /// Registers a finished sequence or mapping under its anchor (if any) and places it.
    fn close(&mut self, node: Node, anchor: usize) -> Result<(), Box<YamlError>> {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.push_value(node, false)
    }

    fn check_depth(&self, span: Span) -> Result<(), Box<YamlError>> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.err(
                YamlErrorKind::TooDeep,
                span,
                format!("nesting is deeper than {} levels", self.limits.max_depth),
                Some("flatten the structure"),
            ));
        }
        Ok(())
    }

    fn push_value(&mut self, node: Node, is_merge_key: bool) -> Result<(), Box<YamlError>> {
        let source = self.source;
        match self.stack.last_mut() {
            None => {
                self.docs.push(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                pending,
                merged,
                ..
            }) => match pending.take() {
                None => {
                    let key = match &node.kind {
                        NodeKind::String(s) => s.clone(),
                        NodeKind::Null => "null".to_string(),
                        NodeKind::Bool(b) => b.to_string(),
                        NodeKind::Number(n) => n.to_string(),
                        NodeKind::Seq(_) | NodeKind::Map(_) => {
                            return Err(Box::new(YamlError {
                                kind: YamlErrorKind::ComplexKey,
                                message:
                                    "a mapping key must be a scalar, not a sequence or mapping"
                                        .into(),
                                help: Some("use a string key".into()),
                                src: source.clone(),
                                span: node.span,
                                related: None,
                            }));
                        }
                    };
                    if !is_merge_key && let Some(first) = entries.iter().find(|e| e.key == key) {
                        return Err(Box::new(YamlError {
                            kind: YamlErrorKind::DuplicateKey,
                            message: format!("duplicate key `{key}` in this mapping"),
                            help: Some(
                                "YAML keys must be unique in a mapping; remove or rename one"
                                    .into(),
                            ),
                            src: source.clone(),
                            span: node.span,
                            related: Some(first.key_span),
                        }));
                    }
                    *pending = Some((key, node.span, is_merge_key));
                    Ok(())
                }
                Some((key, key_span, true)) => {
                    // `<<: mapping` or `<<: [mappings]`
                    let sources: Vec<&Node> = match &node.kind {
                        NodeKind::Map(_) => vec![&node],
                        NodeKind::Seq(items)
                            if items.iter().all(|i| matches!(i.kind, NodeKind::Map(_))) =>
                        {
                            items.iter().collect()
                        }
                        _ => {
                            return Err(Box::new(YamlError {
                                kind: YamlErrorKind::BadMerge,
                                message: format!(
                                    "a merge key `{key}` needs a mapping or a list of mappings, found a {}",
                                    node.kind_name()
                                ),
                                help: Some(
                                    "write `<<: *anchor` where the anchor is a mapping".into(),
                                ),
                                src: source.clone(),
                                span: key_span,
                                related: None,
                            }));
                        }
                    };
                    for src in sources {
                        if let NodeKind::Map(es) = &src.kind {
                            for e in es {
                                if !merged.iter().any(|m| m.key == e.key) {
                                    merged.push(e.clone());
                                }
                            }
                        }
                    }
                    Ok(())
                }
                Some((key, key_span, false)) => {
                    entries.push(Entry {
                        key,
                        key_span,
                        value: node,
                    });
                    Ok(())
                }
            },
        }
    }
}

fn node_size(n: &Node) -> usize {
    // Iterative, so deep aliases cannot overflow the stack.
    let mut count = 0usize;
    let mut todo = vec![n];
    while let Some(n) = todo.pop() {
        count += 1;
        match &n.kind {
            NodeKind::Seq(items) => todo.extend(items.iter()),
            NodeKind::Map(entries) => todo.extend(entries.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    count
}

fn resolve_scalar(v: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<NodeKind, String> {
    if let Some(tag) = tag {
        if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
            return match tag.suffix.as_str() {
                "str" => Ok(NodeKind::String(v.to_string())),
                "null" => Ok(NodeKind::Null),
                "bool" => match plain_scalar(v) {
                    k @ NodeKind::Bool(_) => Ok(k),
                    _ => Err(format!("`{v}` is not a boolean (tagged `!!bool`)")),
                },
                "int" => match plain_scalar(v) {
                    NodeKind::Number(n) if !n.is_f64() => Ok(NodeKind::Number(n)),
                    _ => Err(format!("`{v}` is not an integer (tagged `!!int`)")),
                },
                "float" => match plain_scalar(v) {
                    NodeKind::Number(n) => Ok(NodeKind::Number(
                        n.as_f64().and_then(Number::from_f64).unwrap_or(n),
                    )),
                    _ => Err(format!("`{v}` is not a number (tagged `!!float`)")),
                },
                "binary" | "timestamp" => Ok(NodeKind::String(v.to_string())),
                other => Err(format!("unsupported tag `!!{other}`")),
            };
        }
        if tag.handle == "!" && tag.suffix.is_empty() {
            return Ok(NodeKind::String(v.to_string()));
        }
        return Err(format!("unsupported tag `{}{}`", tag.handle, tag.suffix));
    }
    if style != ScalarStyle::Plain {
        return Ok(NodeKind::String(v.to_string()));
    }
    Ok(plain_scalar(v))
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
pub fn plain_scalar(v: &str) -> NodeKind {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            // JSON has no infinities or NaN: keep the text.
            return NodeKind::String(v.to_string());
        }
        _ => {}
    }
    let bytes = v.as_bytes();
    let first = bytes.first().copied().unwrap_or(b' ');
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return NodeKind::String(v.to_string());
    }
    if let Some(hex) = v.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return NodeKind::Number(i.into());
    }
    if let Some(oct) = v.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return NodeKind::Number(i.into());
    }
    if is_core_int(v) {
        if let Ok(i) = v.parse::<i64>() {
            return NodeKind::Number(i.into());
        }
        if let Ok(u) = v.parse::<u64>() {
            return NodeKind::Number(u.into());
        }
    }
    if is_core_float(v)
        && let Ok(f) = v.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return NodeKind::Number(n);
    }
    NodeKind::String(v.to_string())
}

fn is_core_int(v: &str) -> bool {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_core_float(v: &str) -> bool {
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let s = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mant_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
                && !(a.is_empty() && b.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let d = e.strip_prefix(['-', '+']).unwrap_or(e);
            !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit())
        }
    };
    mant_ok && exp_ok
}

/// Writes JSON as block-style YAML (2-space indent) that [`load`] reads back to the same value.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    emit(v, 0, &mut out);
    out
}

fn emit(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, val) in m {
                out.push_str(&format!("{pad}{}:", scalar_text(&Value::String(k.clone()))));
                emit_child(val, indent, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        let mut first = true;
                        for (k, val) in m {
                            let lead = if first {
                                format!("{pad}- ")
                            } else {
                                format!("{pad}  ")
                            };
                            first = false;
                            out.push_str(&format!(
                                "{lead}{}:",
                                scalar_text(&Value::String(k.clone()))
                            ));
                            emit_child(val, indent + 2, out);
                        }
                    }
                    Value::Array(x) if !x.is_empty() => {
                        out.push_str(&format!("{pad}-\n"));
                        emit(item, indent + 2, out);
                    }
                    other => out.push_str(&format!("{pad}- {}\n", scalar_text(other))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar_text(other))),
    }
}

fn emit_child(val: &Value, indent: usize, out: &mut String) {
    match val {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit(val, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit(val, indent + 2, out);
        }
        other => out.push_str(&format!(" {}\n", scalar_text(other))),
    }
}

/// A scalar (or empty collection) as YAML text, quoted when a plain scalar would read back
/// as something else.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        Value::String(s) => {
            let safe = !s.is_empty()
                && plain_scalar(s) == NodeKind::String(s.clone())
                && !s.starts_with(|c: char| {
                    c.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`~".contains(c)
                })
                && !s.ends_with(char::is_whitespace)
                && !s.contains(": ")
                && !s.contains(" #")
                && !s.ends_with(':')
                && !s.chars().any(|c| {
                    c.is_control() || matches!(c, '\u{85}' | '\u{feff}' | '\u{2028}' | '\u{2029}')
                })
                && !matches!(
                    s.as_str(),
                    "yes"
                        | "no"
                        | "on"
                        | "off"
                        | "y"
                        | "n"
                        | "Yes"
                        | "No"
                        | "On"
                        | "Off"
                        | "YES"
                        | "NO"
                        | "ON"
                        | "OFF"
                );
            if safe {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ld(t: &str) -> Result<Document, Box<YamlError>> {
        load(Source::new("t.yaml", t), &Limits::default())
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let d =
            ld("a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\nf: yes\ng: 0x10\nh: 1e3\ni: v1.2\nj: -7\n")
                .unwrap();
        assert_eq!(
            d.root.to_json(),
            json!({"a":1,"b":1.5,"c":true,"d":null,"e":"1","f":"yes","g":16,"h":1000.0,"i":"v1.2","j":-7})
        );
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let d = ld("spec:\n  depends:\n    - blueprint: bp-x\n      version: ^1\n").unwrap();
        let n = d.root.find("/spec/depends/0/version").unwrap();
        assert_eq!(
            d.position(n.span),
            Position {
                line: 4,
                column: 16
            }
        );
        let k = d.root.key_span_for("/spec/depends/0/version").unwrap();
        assert_eq!(d.position(k), Position { line: 4, column: 7 });
        // Missing leaf: the parent.
        let s = d.root.span_for("/spec/depends/0/alias");
        assert_eq!(d.position(s).line, 3);
    }

    #[test]
    fn duplicate_keys_are_refused_with_both_places() {
        let e = ld("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::DuplicateKey);
        assert_eq!(e.position(), Position { line: 3, column: 1 });
        let r = e.related.unwrap();
        assert_eq!(e.src.position(r.start), Position { line: 1, column: 1 });
        assert!(e.message.contains("`a`"));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = ld("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::Syntax);
        assert!(e.position().line >= 1);
        let e = ld("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::Syntax);
        assert_eq!(e.position().line, 2);
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            t.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = ld(&t).unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::TooManyNodes);
    }

    #[test]
    fn depth_is_bounded() {
        let t = "[".repeat(1000) + &"]".repeat(1000);
        let e = ld(&t).unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::TooDeep);
    }

    #[test]
    fn merge_keys_apply_and_explicit_keys_win() {
        let d = ld("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n").unwrap();
        assert_eq!(d.root.to_json()["c"], json!({"y":3,"x":1}));
    }

    #[test]
    fn one_document_only() {
        let e = ld("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::MultipleDocuments);
        assert_eq!(e.position().line, 2);
        let all = load_all(Source::new("m", "a: 1\n---\nb: 2\n"), &Limits::default()).unwrap();
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn non_utf8_is_refused_with_offset() {
        let e = load_bytes("x", b"a: 1\nb: \xff\n", &Limits::default()).unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::NotUtf8);
        assert_eq!(e.position(), Position { line: 2, column: 4 });
    }

    #[test]
    fn emitted_yaml_reads_back() {
        let v = json!({"a": [1, "two", {"b": null, "c": [true, "yes", "x: y"]}], "d": {}, "e": "", "f": "# no", "g": [[1, 2], []], "h": "line\nbreak", "i": "-1", "j": "0x10"});
        let text = to_yaml(&v);
        assert_eq!(ld(&text).unwrap().root.to_json(), v, "{text}");
    }

    proptest::proptest! {
        #[test]
        fn emitted_strings_read_back(s in ".{0,30}") {
            let v = json!({"k": s, "l": [s]});
            let text = to_yaml(&v);
            proptest::prop_assert_eq!(ld(&text).map(|d| d.root.to_json()).ok(), Some(v));
        }
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(ld("").unwrap().root.kind, NodeKind::Null);
        assert_eq!(ld("# only a comment\n").unwrap().root.kind, NodeKind::Null);
    }

    #[test]
    fn unknown_tags_are_refused() {
        let e = ld("a: !python/object x\n").unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::BadTag);
        assert_eq!(
            ld("a: !!str 12\n").unwrap().root.to_json(),
            json!({"a":"12"})
        );
    }

    #[test]
    fn complex_keys_are_refused() {
        let e = ld("? [a, b]\n: 1\n").unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::ComplexKey);
    }

    #[test]
    fn size_is_bounded() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let e = load(Source::new("t", "a: 0123456789"), &limits).unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::TooLarge);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = ld(&s);
        }
    }
}
