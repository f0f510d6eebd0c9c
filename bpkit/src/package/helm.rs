//! Helm's chart config: `Chart.yaml` as the JSON that `helm push` stores in the manifest config.
//!
//! Helm loads `Chart.yaml` into its `Metadata` type, checks and cleans it (`Validate`), and
//! stores `json.Marshal(metadata)`. To produce the same bytes, [`chart_config`]:
//!
//! - keeps only the fields of `Metadata`, in its declaration order: `name`, `home`, `sources`,
//!   `version`, `description`, `keywords`, `maintainers` (`name`, `email`, `url`), `icon`,
//!   `apiVersion`, `condition`, `tags`, `appVersion`, `deprecated`, `annotations` (keys
//!   sorted), `kubeVersion`, `dependencies` (`name`, `version`, `repository`, `condition`,
//!   `tags`, `enabled`, `import-values`, `alias`), `type`; empty values are left out
//!   (`omitempty`), except a dependency's `name` and `repository`, which Go always writes;
//! - writes `apiVersion: v1` when the field is missing, as Helm's loader does; for such v1
//!   charts the dependencies of `requirements.yaml` (when packaged) replace those of
//!   `Chart.yaml`, as in Helm;
//! - cleans the fields Helm cleans (name, home, description, icon, condition, tags, appVersion,
//!   kubeVersion, sources, keywords, maintainers, and a dependency's name, version, repository,
//!   condition and tags): white space becomes a plain space (so a multi-line `description`
//!   becomes one line) and characters that are not printable are dropped. Printability follows
//!   Go's `unicode.IsPrint` for control, format, surrogate, private-use and non-character code
//!   points; code points unassigned in Unicode are kept (Go drops them);
//! - turns integers and booleans given for string fields into their text, as Helm's YAML
//!   reader does, but refuses floats (`appVersion: 1.10` would silently become `1.1` in Helm);
//! - escapes `<`, `>`, `&`, U+2028 and U+2029 as `\u003c`, `\u003e`, `\u0026`, `\u2028`,
//!   `\u2029`, as Go's encoder does, and writes no white space.
//!
//! It also refuses what Helm's `Validate` refuses (no name or version, a name with `/`, a
//! version that is not a semantic version, an unknown `type`, an empty maintainer or
//! dependency, a bad or duplicate alias), with the line and column.

use serde_json::{Map, Value};

use crate::diag::{Finding, Source};
use crate::yaml::{self, Document, Node, NodeKind};

/// The rule id of problems found in `Chart.yaml`.
pub const RULE_CHART: &str = "chart-metadata";

/// What packaging needs from `Chart.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartMeta {
    /// The chart name (after Helm's cleaning): the archive's top folder.
    pub name: String,
    /// The chart version.
    pub version: String,
    /// The config JSON, byte for byte what Helm would push.
    pub config: Vec<u8>,
}

struct Cx<'a> {
    src: &'a Source,
    findings: Vec<Finding>,
}

impl Cx<'_> {
    fn problem(&mut self, node: &Node, message: String, help: &str) {
        self.findings.push(
            Finding::error(RULE_CHART, message)
                .at(self.src, node.span)
                .with_help(help),
        );
    }

    /// A string field: strings as they are, integers and booleans as text.
    fn string(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.kind {
            NodeKind::String(s) => Some(s.clone()),
            NodeKind::Null => Some(String::new()),
            NodeKind::Bool(b) => Some(b.to_string()),
            NodeKind::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            NodeKind::Number(n) => {
                let written = node_text(self.src, node);
                let shown = if written.is_empty() {
                    n.to_string()
                } else {
                    written.to_string()
                };
                self.problem(
                    node,
                    format!("`{field}` is the number `{shown}`; Helm reads it as a 32-bit float and may change it"),
                    &format!("quote it: `{field}: \"{shown}\"`"),
                );
                None
            }
            _ => {
                self.problem(
                    node,
                    format!("`{field}` is a {}, expected a string", node.kind_name()),
                    "write a single value",
                );
                None
            }
        }
    }

    fn strings(&mut self, node: &Node, field: &str) -> Option<Vec<String>> {
        match &node.kind {
            NodeKind::Null => Some(Vec::new()),
            NodeKind::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| self.string(n, &format!("{field}[{i}]")))
                .collect(),
            _ => {
                self.problem(
                    node,
                    format!(
                        "`{field}` is a {}, expected a list of strings",
                        node.kind_name()
                    ),
                    "write a YAML list",
                );
                None
            }
        }
    }
}

fn node_text<'a>(src: &'a Source, node: &Node) -> &'a str {
    src.text().get(node.span.start..node.span.end).unwrap_or("")
}

/// Helm's `sanitizeString`: white space to a space, non-printable characters dropped.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if is_go_print(c) {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

/// Go's `unicode.IsPrint` for a character that is not white space, except that unassigned code
/// points count as printable.
fn is_go_print(c: char) -> bool {
    let u = u32::from(c);
    if c.is_control() {
        return false;
    }
    // Format characters (Cf).
    let format = matches!(u,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F);
    // Private use (Co) and non-characters.
    let private = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD);
    let nonchar = matches!(u, 0xFDD0..=0xFDEF) || (u & 0xFFFE) == 0xFFFE;
    !(format || private || nonchar)
}

/// Go's JSON string escaping on top of serde_json's: `<`, `>`, `&`, U+2028, U+2029.
pub fn go_json(value: &Value) -> Vec<u8> {
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

/// Whether `v` is a version Helm accepts (Masterminds `NewVersion`: an optional `v`, one to
/// three numbers, an optional pre-release and build metadata).
pub fn is_helm_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (v, build) = match v.split_once('+') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match v.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let ident_ok =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let nums: Vec<&str> = core.split('.').collect();
    let core_ok = (1..=3).contains(&nums.len())
        && nums
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let pre_ok = pre.is_none_or(|p| {
        p.split('.').all(|id| {
            ident_ok(id)
                && !(id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()))
        })
    });
    let build_ok = build.is_none_or(|b| b.split('.').all(ident_ok));
    core_ok && pre_ok && build_ok
}

fn alias_ok(a: &str) -> bool {
    !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Reads `Chart.yaml` (and, for v1 charts, the `requirements.yaml` that is packaged) into
/// Helm's config JSON. Problems come back as findings with positions.
pub fn chart_config(
    chart_yaml: &Document,
    requirements: Option<&Document>,
) -> Result<ChartMeta, Vec<Finding>> {
    let mut cx = Cx {
        src: &chart_yaml.source,
        findings: Vec::new(),
    };
    let root = &chart_yaml.root;
    let Some(entries) = root.entries() else {
        cx.problem(
            root,
            format!("`Chart.yaml` is a {}, expected a mapping", root.kind_name()),
            "see https://helm.sh/docs/topics/charts/#the-chartyaml-file",
        );
        return Err(cx.findings);
    };
    let get = |k: &str| entries.iter().find(|e| e.key == k).map(|e| &e.value);
    let text = |cx: &mut Cx, k: &str, clean: bool| -> String {
        get(k)
            .and_then(|n| cx.string(n, k))
            .map(|s| if clean { sanitize(&s) } else { s })
            .unwrap_or_default()
    };
    let list = |cx: &mut Cx, k: &str| -> Vec<String> {
        get(k)
            .and_then(|n| cx.strings(n, k))
            .unwrap_or_default()
            .iter()
            .map(|s| sanitize(s))
            .collect()
    };

    let name = text(&mut cx, "name", true);
    let home = text(&mut cx, "home", true);
    let sources = list(&mut cx, "sources");
    let version = text(&mut cx, "version", false);
    let description = text(&mut cx, "description", true);
    let keywords = list(&mut cx, "keywords");
    let mut api_version = text(&mut cx, "apiVersion", false);
    if api_version.is_empty() {
        api_version = "v1".to_string();
    }
    let icon = text(&mut cx, "icon", true);
    let condition = text(&mut cx, "condition", true);
    let tags = text(&mut cx, "tags", true);
    let app_version = text(&mut cx, "appVersion", true);
    let kube_version = text(&mut cx, "kubeVersion", true);
    let chart_type = text(&mut cx, "type", false);

    let mut deprecated = false;
    if let Some(n) = get("deprecated") {
        match n.kind {
            NodeKind::Bool(b) => deprecated = b,
            NodeKind::Null => {}
            _ => cx.problem(
                n,
                format!(
                    "`deprecated` is a {}, expected `true` or `false`",
                    n.kind_name()
                ),
                "write `deprecated: true`",
            ),
        }
    }

    let mut maintainers = Vec::new();
    if let Some(n) = get("maintainers") {
        match &n.kind {
            NodeKind::Null => {}
            NodeKind::Seq(items) => {
                for (i, m) in items.iter().enumerate() {
                    let Some(fields) = m.entries() else {
                        cx.problem(
                            m,
                            format!(
                                "`maintainers[{i}]` is a {}, expected a mapping",
                                m.kind_name()
                            ),
                            "write `- name: … email: …`; Helm refuses empty or null maintainers",
                        );
                        continue;
                    };
                    let mut obj = Map::new();
                    for key in ["name", "email", "url"] {
                        if let Some(v) = fields.iter().find(|e| e.key == key) {
                            let s = sanitize(
                                &cx.string(&v.value, &format!("maintainers[{i}].{key}"))
                                    .unwrap_or_default(),
                            );
                            if !s.is_empty() {
                                obj.insert(key.into(), Value::String(s));
                            }
                        }
                    }
                    maintainers.push(Value::Object(obj));
                }
            }
            _ => cx.problem(
                n,
                format!("`maintainers` is a {}, expected a list", n.kind_name()),
                "write a YAML list of `name`/`email`/`url` mappings",
            ),
        }
    }

    let mut annotations = std::collections::BTreeMap::new();
    if let Some(n) = get("annotations") {
        match &n.kind {
            NodeKind::Null => {}
            NodeKind::Map(es) => {
                for e in es {
                    if let Some(v) = cx.string(&e.value, &format!("annotations.{}", e.key)) {
                        annotations.insert(e.key.clone(), v);
                    }
                }
            }
            _ => cx.problem(
                n,
                format!(
                    "`annotations` is a {}, expected a mapping of strings",
                    n.kind_name()
                ),
                "write `annotations: {key: \"value\"}`",
            ),
        }
    }

    // Dependencies: from requirements.yaml for v1 charts when it is packaged, as Helm does.
    let mut dep_source: Option<(&Node, Cx)> = None;
    if api_version == "v1"
        && let Some(req) = requirements
        && let Some(n) = req.root.get("dependencies")
    {
        dep_source = Some((
            n,
            Cx {
                src: &req.source,
                findings: Vec::new(),
            },
        ));
    }
    let mut dependencies = Vec::new();
    {
        let (deps_node, dcx) = match &mut dep_source {
            Some((n, c)) => (Some(*n), c),
            None => (get("dependencies"), &mut cx),
        };
        let mut keys: Vec<String> = Vec::new();
        if let Some(n) = deps_node {
            match &n.kind {
                NodeKind::Null => {}
                NodeKind::Seq(items) => {
                    for (i, d) in items.iter().enumerate() {
                        let Some(fields) = d.entries() else {
                            dcx.problem(
                                d,
                                format!(
                                    "`dependencies[{i}]` is a {}, expected a mapping",
                                    d.kind_name()
                                ),
                                "Helm refuses empty or null dependencies",
                            );
                            continue;
                        };
                        let field = |k: &str| fields.iter().find(|e| e.key == k).map(|e| &e.value);
                        let s = |dcx: &mut Cx, k: &str, clean: bool| {
                            field(k)
                                .and_then(|v| dcx.string(v, &format!("dependencies[{i}].{k}")))
                                .map(|x| if clean { sanitize(&x) } else { x })
                                .unwrap_or_default()
                        };
                        let dname = s(dcx, "name", true);
                        let dversion = s(dcx, "version", true);
                        let repository = s(dcx, "repository", true);
                        let dcondition = s(dcx, "condition", true);
                        let alias = s(dcx, "alias", false);
                        let dtags: Vec<String> = field("tags")
                            .and_then(|v| dcx.strings(v, &format!("dependencies[{i}].tags")))
                            .unwrap_or_default()
                            .iter()
                            .map(|t| sanitize(t))
                            .collect();
                        let mut enabled = false;
                        if let Some(v) = field("enabled") {
                            match v.kind {
                                NodeKind::Bool(b) => enabled = b,
                                NodeKind::Null => {}
                                _ => dcx.problem(
                                    v,
                                    format!("`dependencies[{i}].enabled` is a {}, expected `true` or `false`", v.kind_name()),
                                    "write `enabled: true`",
                                ),
                            }
                        }
                        if !alias.is_empty() && !alias_ok(&alias) {
                            let at = field("alias").unwrap_or(d);
                            dcx.problem(
                                at,
                                format!("dependency `{dname}` has disallowed characters in its alias `{alias}`"),
                                "an alias is letters, digits, `_` and `-`",
                            );
                        }
                        let key = if alias.is_empty() {
                            dname.clone()
                        } else {
                            alias.clone()
                        };
                        if keys.contains(&key) {
                            dcx.problem(
                                d,
                                format!("more than one dependency with name or alias `{key}`"),
                                "give one of them an `alias`",
                            );
                        }
                        keys.push(key);
                        let mut obj = Map::new();
                        obj.insert("name".into(), Value::String(dname));
                        if !dversion.is_empty() {
                            obj.insert("version".into(), Value::String(dversion));
                        }
                        obj.insert("repository".into(), Value::String(repository));
                        if !dcondition.is_empty() {
                            obj.insert("condition".into(), Value::String(dcondition));
                        }
                        if !dtags.is_empty() {
                            obj.insert(
                                "tags".into(),
                                dtags.into_iter().map(Value::String).collect(),
                            );
                        }
                        if enabled {
                            obj.insert("enabled".into(), Value::Bool(true));
                        }
                        if let Some(iv) = field("import-values")
                            && iv.items().is_some_and(|items| !items.is_empty())
                        {
                            obj.insert("import-values".into(), sorted_json(&iv.to_json()));
                        }
                        if !alias.is_empty() {
                            obj.insert("alias".into(), Value::String(alias));
                        }
                        dependencies.push(Value::Object(obj));
                    }
                }
                _ => dcx.problem(
                    n,
                    format!("`dependencies` is a {}, expected a list", n.kind_name()),
                    "write a YAML list of dependencies",
                ),
            }
        }
    }
    if let Some((_, dcx)) = dep_source {
        cx.findings.extend(dcx.findings);
    }

    // Helm's checks.
    let at = |k: &str| get(k).unwrap_or(root);
    if name.is_empty() {
        cx.problem(
            at("name"),
            "`Chart.yaml` has no `name`".into(),
            "add `name: <chart name>`",
        );
    } else if name == "." || name == ".." || name.contains('/') {
        cx.problem(
            at("name"),
            format!("the chart name `{name}` is not allowed"),
            "a chart name is a single folder name",
        );
    }
    if version.is_empty() {
        cx.problem(
            at("version"),
            "`Chart.yaml` has no `version`".into(),
            "add `version: 1.0.0`",
        );
    } else if !is_helm_version(&version) {
        cx.problem(
            at("version"),
            format!("the chart version `{version}` is not a semantic version"),
            "write a version such as `1.2.3`",
        );
    }
    if !matches!(chart_type.as_str(), "" | "application" | "library") {
        cx.problem(
            at("type"),
            format!("the chart type `{chart_type}` is not `application` or `library`"),
            "remove `type` or set it to `application`",
        );
    }
    if !cx.findings.is_empty() {
        return Err(cx.findings);
    }

    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        let empty = match &v {
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Bool(b) => !b,
            _ => false,
        };
        if !empty {
            m.insert(k.to_string(), v);
        }
    };
    let strs = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
    put("name", Value::String(name.clone()));
    put("home", Value::String(home));
    put("sources", strs(sources));
    put("version", Value::String(version.clone()));
    put("description", Value::String(description));
    put("keywords", strs(keywords));
    put("maintainers", Value::Array(maintainers));
    put("icon", Value::String(icon));
    put("apiVersion", Value::String(api_version));
    put("condition", Value::String(condition));
    put("tags", Value::String(tags));
    put("appVersion", Value::String(app_version));
    put("deprecated", Value::Bool(deprecated));
    put(
        "annotations",
        Value::Object(
            annotations
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
    );
    put("kubeVersion", Value::String(kube_version));
    put("dependencies", Value::Array(dependencies));
    put("type", Value::String(chart_type));
    Ok(ChartMeta {
        name,
        version,
        config: go_json(&Value::Object(m)),
    })
}

/// A JSON value with every object's keys sorted (how Go marshals `map[string]any`).
fn sorted_json(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_json(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted_json).collect()),
        other => other.clone(),
    }
}

/// Parses YAML text for [`chart_config`].
pub fn load(name: &str, bytes: &[u8]) -> Result<Document, Box<Finding>> {
    yaml::load_bytes(name, bytes, &yaml::Limits::default()).map_err(|e| Box::new(e.to_finding()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<String, Vec<Finding>> {
        let doc = load("Chart.yaml", text.as_bytes()).map_err(|f| vec![*f])?;
        chart_config(&doc, None).map(|m| String::from_utf8(m.config).unwrap())
    }

    #[test]
    fn helm_field_order_and_cleaning() {
        let got = config(
            "apiVersion: v2\nname: demo\nversion: 1.2.3\ntype: application\nappVersion: 5\n\
             description: |\n  Two\n  lines <b> & more\nkeywords: [a, b]\nhome: https://x\n\
             maintainers:\n  - name: Ann\n    email: ann@x\n\
             annotations: {z: \"1\", a: b}\nkubeVersion: \">=1.27.0-0\"\n\
             dependencies:\n  - name: sub\n    version: 1.0.0\n    repository: \"\"\n    alias: s\n\
             unknownField: dropped\n",
        )
        .unwrap();
        assert_eq!(
            got,
            r#"{"name":"demo","home":"https://x","version":"1.2.3","description":"Two lines \u003cb\u003e \u0026 more ","keywords":["a","b"],"maintainers":[{"name":"Ann","email":"ann@x"}],"apiVersion":"v2","appVersion":"5","annotations":{"a":"b","z":"1"},"kubeVersion":"\u003e=1.27.0-0","dependencies":[{"name":"sub","version":"1.0.0","repository":"","alias":"s"}],"type":"application"}"#
        );
    }

    #[test]
    fn v1_defaults() {
        let got = config("name: old\nversion: 0.1.0\n").unwrap();
        assert_eq!(got, r#"{"name":"old","version":"0.1.0","apiVersion":"v1"}"#);
    }

    #[test]
    fn refusals_have_positions() {
        let e = config("apiVersion: v2\nname: a/b\nversion: one\nappVersion: 1.10\ntype: x\n")
            .unwrap_err();
        let msgs: Vec<String> = e
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f.position().map(|p| p.to_string()).unwrap_or_default(),
                    f.message
                )
            })
            .collect();
        assert_eq!(
            msgs,
            [
                "4:13: `appVersion` is the number `1.10`; Helm reads it as a 32-bit float and may change it",
                "2:7: the chart name `a/b` is not allowed",
                "3:10: the chart version `one` is not a semantic version",
                "5:7: the chart type `x` is not `application` or `library`",
            ]
        );
        let e = config("apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n  - name: x\n  - name: x\n  - null\n").unwrap_err();
        assert!(
            e[0].message
                .contains("more than one dependency with name or alias `x`"),
            "{}",
            e[0].message
        );
        assert!(
            e[1].message.contains("`dependencies[2]` is a null"),
            "{}",
            e[1].message
        );
    }

    #[test]
    fn sanitize_like_go() {
        assert_eq!(sanitize("a\tb\nc\u{a0}d"), "a b c d");
        assert_eq!(sanitize("x\u{200b}y\u{7}z\u{e000}"), "xyz");
        assert_eq!(sanitize("é✓日本"), "é✓日本");
    }

    #[test]
    fn helm_versions() {
        for ok in [
            "1",
            "1.2",
            "1.2.3",
            "v1.2.3",
            "1.2.3-rc.1",
            "1.2.3+b.7",
            "1.0.0-0a.1",
        ] {
            assert!(is_helm_version(ok), "{ok}");
        }
        for bad in [
            "", "x", "1.2.3.4", "1..2", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3_b",
        ] {
            assert!(!is_helm_version(bad), "{bad}");
        }
    }
}
