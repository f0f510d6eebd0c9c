//! Turns parsed actions into one minijinja expression, and keeps a map from the generated
//! text back to the template so evaluation errors point at what the author wrote.

use std::fmt::Write as _;
use std::ops::Range;

use super::syntax::{Action, Func, Lit, Node, NodeKind, ROOTS};
use crate::diag::Span;

/// The context variable that holds the whole root (`.` and `$`).
pub(crate) const ROOT_VAR: &str = "_root";

/// The generated expression with its source map.
#[derive(Clone, Debug, Default)]
pub(crate) struct Compiled {
    /// The minijinja expression: the single action's expression, or a list with one element
    /// per action. Empty when the template has no action.
    pub source: String,
    /// One entry per emitted node, in pre-order.
    pub nodes: Vec<NodeInfo>,
    /// Paths whose value can be looked up without evaluating anything (`.a.b`,
    /// `index .a "k" 0`), in pre-order.
    pub paths: Vec<StaticPath>,
    /// The id of each action's top node.
    pub actions: Vec<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct NodeInfo {
    /// Where the node's code is in [`Compiled::source`].
    pub generated: Range<usize>,
    /// Where the node is in the template.
    pub span: Span,
    /// The ids (indexes into [`Compiled::nodes`]) of this node's subtree: itself and its
    /// descendants.
    pub subtree: Range<usize>,
}

/// A key of a [`StaticPath`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Key {
    Str(String),
    Int(i128),
}

#[derive(Clone, Debug)]
pub(crate) struct StaticPath {
    /// The id of the node the path is.
    pub node: usize,
    pub span: Span,
    /// Keys from the root.
    pub keys: Vec<Key>,
    /// Whether the path is the value tested by `default` or `empty`, which accept a missing
    /// last key.
    pub tolerated: bool,
}

/// Translates the actions of a template.
pub(crate) fn compile(actions: &[&Action]) -> Compiled {
    let mut g = Gen::default();
    let mut tops = Vec::with_capacity(actions.len());
    match actions {
        [] => {}
        [one] => {
            tops.push(g.nodes.len());
            g.emit(&one.node, false, false);
        }
        many => {
            g.out.push('[');
            for (i, a) in many.iter().enumerate() {
                if i > 0 {
                    g.out.push_str(", ");
                }
                tops.push(g.nodes.len());
                g.emit(&a.node, false, false);
            }
            g.out.push(']');
        }
    }
    Compiled {
        source: g.out,
        nodes: g.nodes,
        paths: g.paths,
        actions: tops,
    }
}

#[derive(Default)]
struct Gen {
    out: String,
    nodes: Vec<NodeInfo>,
    paths: Vec<StaticPath>,
}

/// Whether a field name can follow a `.` in minijinja (otherwise it is written `["name"]`).
fn plain_attribute(name: &str) -> bool {
    const RESERVED: [&str; 16] = [
        "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
        "else", "loop", "self", "super",
    ];
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name)
}

fn string_literal(s: &str) -> String {
    // JSON string syntax is a subset of minijinja's.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The keys of `node` when it is a static path.
pub(crate) fn static_keys(node: &Node) -> Option<Vec<Key>> {
    match &node.kind {
        NodeKind::Root => Some(Vec::new()),
        NodeKind::Field { base, name } => {
            let mut keys = static_keys(base)?;
            keys.push(Key::Str(name.clone()));
            Some(keys)
        }
        NodeKind::Call {
            func: Func::Index,
            args,
        } => {
            let (base, rest) = args.split_first()?;
            let mut keys = static_keys(base)?;
            for k in rest {
                match &k.kind {
                    NodeKind::Lit(Lit::Str(s)) => keys.push(Key::Str(s.clone())),
                    NodeKind::Lit(Lit::Int(i)) => keys.push(Key::Int(*i)),
                    _ => return None,
                }
            }
            Some(keys)
        }
        _ => None,
    }
}

impl Gen {
    /// Emits `node`. `in_path`: the node is the base of a static path already recorded;
    /// `tolerated`: the node is the value `default`/`empty` test.
    fn emit(&mut self, node: &Node, in_path: bool, tolerated: bool) {
        let id = self.nodes.len();
        self.nodes.push(NodeInfo {
            generated: 0..0,
            span: node.span,
            subtree: id..id,
        });
        let start = self.out.len();
        let mut in_path = in_path;
        if !in_path
            && !matches!(node.kind, NodeKind::Root)
            && let Some(keys) = static_keys(node)
        {
            self.paths.push(StaticPath {
                node: id,
                span: node.span,
                keys,
                tolerated,
            });
            in_path = true;
        }
        match &node.kind {
            NodeKind::Root => self.out.push_str(ROOT_VAR),
            NodeKind::Field { base, name } => {
                if matches!(base.kind, NodeKind::Root) && ROOTS.contains(&name.as_str()) {
                    // The node for the root itself, so ids stay in step with the tree.
                    self.leaf(base);
                    self.out.push_str(name);
                } else {
                    let wrap = !matches!(base.kind, NodeKind::Root | NodeKind::Field { .. });
                    self.wrapped(base, wrap, in_path, false);
                    if plain_attribute(name) {
                        self.out.push('.');
                        self.out.push_str(name);
                    } else {
                        let _ = write!(self.out, "[{}]", string_literal(name));
                    }
                }
            }
            NodeKind::Lit(lit) => self.literal(lit),
            NodeKind::Call { func, args } => self.call(*func, args, in_path),
        }
        let end_id = self.nodes.len();
        if let Some(info) = self.nodes.get_mut(id) {
            info.generated = start..self.out.len();
            info.subtree = id..end_id;
        }
    }

    /// Records a node that produces no code of its own.
    fn leaf(&mut self, node: &Node) {
        let id = self.nodes.len();
        let at = self.out.len();
        self.nodes.push(NodeInfo {
            generated: at..at,
            span: node.span,
            subtree: id..id + 1,
        });
    }

    fn wrapped(&mut self, node: &Node, wrap: bool, in_path: bool, tolerated: bool) {
        if wrap {
            self.out.push('(');
        }
        self.emit(node, in_path, tolerated);
        if wrap {
            self.out.push(')');
        }
    }

    fn literal(&mut self, lit: &Lit) {
        match lit {
            Lit::Str(s) => self.out.push_str(&string_literal(s)),
            Lit::Int(i) if *i < 0 => {
                let _ = write!(self.out, "({i})");
            }
            Lit::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            Lit::Float(f) if *f < 0.0 => {
                let _ = write!(self.out, "({f:?})");
            }
            Lit::Float(f) => {
                let _ = write!(self.out, "{f:?}");
            }
            Lit::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Lit::Nil => self.out.push_str("none"),
        }
    }

    fn call(&mut self, func: Func, args: &[Node], in_path: bool) {
        match (func, args) {
            (Func::Eq, [a, b]) => self.infix(a, "==", b),
            (Func::Ne, [a, b]) => self.infix(a, "!=", b),
            (Func::And, _) => self.balanced(args, "and"),
            (Func::Or, _) => self.balanced(args, "or"),
            (Func::Not, [a]) => {
                self.out.push_str("(not ");
                self.emit(a, false, false);
                self.out.push(')');
            }
            (Func::Index, [base, keys @ ..]) => {
                self.wrapped(base, true, in_path, false);
                for k in keys {
                    self.out.push('[');
                    self.emit(k, false, false);
                    self.out.push(']');
                }
            }
            (Func::Default, [fallback, value]) => {
                self.out.push_str("default(");
                self.emit(fallback, false, false);
                self.out.push_str(", ");
                self.emit(value, false, true);
                self.out.push(')');
            }
            (Func::Empty, [value]) => {
                self.out.push_str("empty(");
                self.emit(value, false, true);
                self.out.push(')');
            }
            _ => {
                self.out.push_str(func.name());
                self.out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.emit(a, false, false);
                }
                self.out.push(')');
            }
        }
    }

    fn infix(&mut self, a: &Node, op: &str, b: &Node) {
        self.out.push('(');
        self.emit(a, false, false);
        let _ = write!(self.out, " {op} ");
        self.emit(b, false, false);
        self.out.push(')');
    }

    /// `and`/`or` over many operands, as a balanced tree so long chains nest shallowly. Both
    /// operators are associative, short-circuit and return an operand, so grouping does not
    /// change the result.
    fn balanced(&mut self, args: &[Node], op: &str) {
        match args {
            [] => self.out.push_str("none"),
            [one] => {
                self.out.push('(');
                self.emit(one, false, false);
                self.out.push(')');
            }
            _ => {
                let (left, right) = args.split_at(args.len() / 2);
                self.out.push('(');
                self.balanced(left, op);
                let _ = write!(self.out, " {op} ");
                self.balanced(right, op);
                self.out.push(')');
            }
        }
    }
}

/// How a path reads in Go-template syntax, e.g. `.config.db`, `index .outputs "my-db"`.
pub(crate) fn display_path(keys: &[Key]) -> String {
    let mut s = String::new();
    let mut is_index = false;
    for key in keys {
        match key {
            Key::Str(name)
                if name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_alphanumeric() || c == '_') =>
            {
                if is_index {
                    s = format!("({s})");
                }
                s.push('.');
                s.push_str(name);
                is_index = false;
            }
            _ => {
                let base = if s.is_empty() {
                    ".".to_string()
                } else if is_index {
                    format!("({s})")
                } else {
                    s
                };
                let k = match key {
                    Key::Str(name) => string_literal(name),
                    Key::Int(i) => i.to_string(),
                };
                s = format!("index {base} {k}");
                is_index = true;
            }
        }
    }
    if s.is_empty() { ".".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::syntax::{Piece, parse_template};
    use super::*;

    fn gen_source(text: &str) -> String {
        let pieces = parse_template(&Arc::from(text)).unwrap();
        let actions: Vec<&Action> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Action(a) => Some(a),
                Piece::Text(_) => None,
            })
            .collect();
        compile(&actions).source
    }

    #[test]
    fn translations() {
        let cases = [
            (
                "{{ .config.postgres.mode == 'embedded' }}",
                r#"(config.postgres.mode == "embedded")"#,
            ),
            ("{{ .application.name }}", "application.name"),
            ("{{ $.config.a }}", "config.a"),
            ("{{ . }}", "_root"),
            ("{{ $ }}", "_root"),
            (
                "{{ eq .config.mode \"embedded\" }}",
                r#"(config.mode == "embedded")"#,
            ),
            ("{{ eq .config.a 1 2 }}", "eq(config.a, 1, 2)"),
            ("{{ ne .x.y \"y\" }}", r#"(config.y != "y")"#),
            (
                "{{ and .config.a (not .config.b) }}",
                "((config.a) and ((not config.b)))",
            ),
            (
                "{{ or .config.a .config.b .config.c }}",
                "((config.a) or ((config.b) or (config.c)))",
            ),
            (
                "{{ .config.a && .config.b || !.config.c }}",
                "((((config.a) and (config.b))) or ((not config.c)))",
            ),
            (
                "{{ .config.size | default \"small\" }}",
                r#"default("small", config.size)"#,
            ),
            (
                "{{ default \"small\" .config.size }}",
                r#"default("small", config.size)"#,
            ),
            (
                "{{ index .outputs.db \"host\" }}",
                r#"(outputs.db)["host"]"#,
            ),
            (
                "{{ index .outputs \"my-db\" 0 }}",
                r#"(outputs)["my-db"][0]"#,
            ),
            (
                "{{ (index .outputs \"db\").host }}",
                r#"((outputs)["db"]).host"#,
            ),
            (
                "{{ printf \"%s-db\" .application.name }}",
                r#"printf("%s-db", application.name)"#,
            ),
            ("{{ .config.replicas > 2 }}", "gt(config.replicas, 2)"),
            ("{{ lt .config.r -1 }}", "lt(config.r, (-1))"),
            ("{{ .config.ratio >= 0.5 }}", "ge(config.ratio, 0.5)"),
            ("{{ not .config.external }}", "(not config.external)"),
            ("{{ len .config.list }}", "len(config.list)"),
            ("{{ .config.n | lower | upper }}", "upper(lower(config.n))"),
            ("{{ quote .config.n }}", "quote(config.n)"),
            ("{{ toString .config.n }}", "toString(config.n)"),
            ("{{ hasKey .config \"n\" }}", r#"hasKey(config, "n")"#),
            ("{{ empty .config.n }}", "empty(config.n)"),
            ("{{ .config.true.none }}", r#"config["true"]["none"]"#),
            ("{{ nil }}{{ true }}{{ 3 }}", "[none, true, 3]"),
            (
                "{{ eq .config.a \"x\" | not }}",
                r#"(not (config.a == "x"))"#,
            ),
        ];
        for (go, jinja) in cases {
            // `.x.y` is rejected; the `ne` row uses `.config.y`.
            let go = go.replace(".x.y", ".config.y");
            assert_eq!(gen_source(&go), jinja, "{go}");
        }
    }

    #[test]
    fn static_paths_and_display() {
        let pieces = parse_template(&Arc::from(
            "{{ eq (index .outputs.db \"host\") (.config.size | default \"s\") }}",
        ))
        .unwrap();
        let Piece::Action(a) = &pieces[0] else {
            panic!("expected an action")
        };
        let c = compile(&[a]);
        let shown: Vec<_> = c
            .paths
            .iter()
            .map(|p| (display_path(&p.keys), p.tolerated))
            .collect();
        assert_eq!(
            shown,
            [
                (".outputs.db.host".to_string(), false),
                (".config.size".to_string(), true)
            ]
        );
        assert_eq!(
            display_path(&[
                Key::Str("outputs".into()),
                Key::Str("my-db".into()),
                Key::Str("host".into()),
                Key::Int(0)
            ]),
            "index (index .outputs \"my-db\").host 0"
        );
        // Every node's generated range lies inside its parent's.
        for n in &c.nodes {
            for child in n.subtree.clone() {
                let g = &c.nodes[child].generated;
                assert!(g.start >= n.generated.start && g.end <= n.generated.end);
            }
        }
    }
}
