//! Rewriting a Blueprint into the canonical form while keeping the author's comments.
//!
//! The rewrite edits the text in place at the positions the YAML reader recorded, so comments,
//! key order, quoting and blank lines stay as they were. Afterwards the result is loaded again
//! and must give the very same canonical model; if it does not, or if a part of the document is
//! written in a style the edits cannot keep (flow mappings such as `metadata: {name: x}`),
//! [`migrate`] refuses and says why, and nothing is written.

use super::load::{LoadOptions, load_str};
use super::{API_VERSION, NAME_PREFIX};
use crate::diag::Span;
use crate::yaml::{Node, NodeKind};

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The canonical text.
    pub text: String,
    /// One line per change, for people.
    pub changes: Vec<String>,
    /// Deviations that need a person's decision (e.g. a missing `visibility`).
    pub left: Vec<String>,
}

/// Why a Blueprint could not be migrated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrateError {
    /// The document has errors; fix them first.
    #[error("the Blueprint has errors; fix them before migrating (run `bpkit validate`)")]
    Invalid,
    /// A part is written in a style the rewrite cannot keep.
    #[error("cannot migrate without losing the layout: {0}")]
    Layout(String),
    /// The rewritten text did not load back to the same Blueprint.
    #[error(
        "the rewritten document does not load back to the same Blueprint ({0}); nothing was changed"
    )]
    Mismatch(String),
}

struct Edit {
    span: Span,
    text: String,
}

/// Rewrites `text` (the file `name`) into canonical form.
pub fn migrate(name: &str, text: &str) -> Result<Migration, MigrateError> {
    let opts = LoadOptions::default();
    let before = load_str(name, text, &opts);
    if before.has_errors() {
        return Err(MigrateError::Invalid);
    }
    let (Some(doc), Some(bp)) = (before.document.as_ref(), before.blueprint.as_ref()) else {
        return Err(MigrateError::Invalid);
    };
    let root = &doc.root;
    let mut edits: Vec<Edit> = Vec::new();
    let mut changes = Vec::new();
    let mut left = Vec::new();

    if let Some(v) = root.get("apiVersion")
        && v.as_str() == Some("catalyst.openova.io/v1")
    {
        edits.push(Edit {
            span: v.span,
            text: API_VERSION.into(),
        });
        changes.push(format!(
            "apiVersion: catalyst.openova.io/v1 -> {API_VERSION}"
        ));
    }
    let meta = root.get("metadata");
    let spec = root.get("spec");
    for (what, node) in [("metadata", meta), ("spec", spec)] {
        if let Some(n) = node
            && is_flow(text, n)
        {
            return Err(MigrateError::Layout(format!(
                "`{what}` is written in flow style (`{{…}}`); write it as a block mapping first"
            )));
        }
    }
    if let Some(n) = meta.and_then(|m| m.get("name"))
        && let Some(s) = n.as_str()
        && !s.starts_with(NAME_PREFIX)
    {
        edits.push(Edit {
            span: n.span,
            text: format!("{NAME_PREFIX}{s}"),
        });
        changes.push(format!("metadata.name: {s} -> {NAME_PREFIX}{s}"));
    }
    // spec.version -> metadata.version: move the whole line, with its comment.
    if let (Some(m), Some(sv)) = (meta, spec.and_then(|s| s.entry("version"))) {
        let (line_start, line_end) = line_bounds(text, sv.key_span.start);
        let line = &text[line_start..line_end];
        if sv.value.span.end > line_end {
            return Err(MigrateError::Layout(
                "`spec.version` spans several lines".into(),
            ));
        }
        let had_meta_version = m.entry("version").is_some();
        edits.push(Edit {
            span: Span::new(line_start, line_end),
            text: String::new(),
        });
        if !had_meta_version {
            let Some(first) = m.entries().and_then(|e| e.first()) else {
                return Err(MigrateError::Layout("`metadata` is empty".into()));
            };
            let indent = column_of(text, first.key_span.start);
            let name_entry = m.entry("name").unwrap_or(first);
            let (_, after_name) = line_bounds(
                text,
                name_entry.value.span.end.max(name_entry.key_span.start),
            );
            let moved = format!("{}{}", " ".repeat(indent), line.trim_start());
            edits.push(Edit {
                span: Span::at(after_name),
                text: moved,
            });
            changes.push("spec.version -> metadata.version".into());
        } else {
            changes.push("removed spec.version (same as metadata.version)".into());
        }
    }
    if let Some(spec) = spec {
        migrate_spec(text, spec, &mut edits, &mut changes, &mut left)?;
    }
    if bp.spec.visibility.is_none() {
        left.push("`spec.visibility` is not set: choose `listed`, `unlisted` or `private`".into());
    }

    if edits.is_empty() {
        return Ok(Migration {
            text: text.to_string(),
            changes,
            left,
        });
    }
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    for w in edits.windows(2) {
        if w[0].span.end > w[1].span.start {
            return Err(MigrateError::Layout("two changes overlap".into()));
        }
    }
    let mut out = text.to_string();
    for e in edits.iter().rev() {
        out.replace_range(e.span.start..e.span.end, &e.text);
    }
    // Check: the result loads to the same canonical Blueprint.
    let after = load_str(name, &out, &opts);
    match after.blueprint {
        Some(b) if &b == bp => Ok(Migration {
            text: out,
            changes,
            left,
        }),
        Some(_) => Err(MigrateError::Mismatch("the content differs".into())),
        None => {
            Err(MigrateError::Mismatch(after.findings.first().map_or_else(
                || "it does not load".into(),
                |f| f.to_string(),
            )))
        }
    }
}

fn migrate_spec(
    text: &str,
    spec: &Node,
    edits: &mut Vec<Edit>,
    changes: &mut Vec<String>,
    left: &mut Vec<String>,
) -> Result<(), MigrateError> {
    if let Some(dep) = spec.entry("depends") {
        match &dep.value.kind {
            NodeKind::Null => {
                // `depends:` followed by nothing: make it an explicit empty list.
                let colon = text[dep.key_span.end..]
                    .find(':')
                    .map(|i| dep.key_span.end + i + 1);
                if let Some(c) = colon {
                    edits.push(Edit {
                        span: Span::at(c),
                        text: " []".into(),
                    });
                    changes.push("depends: (empty) -> depends: []".into());
                }
            }
            NodeKind::Seq(items) => {
                let flow = is_flow(text, &dep.value);
                for item in items {
                    if let NodeKind::String(s) = &item.kind {
                        let repl = if flow {
                            format!("{{blueprint: {s}}}")
                        } else {
                            format!("blueprint: {s}")
                        };
                        edits.push(Edit {
                            span: item.span,
                            text: repl,
                        });
                        changes.push(format!("depends: `{s}` -> `blueprint: {s}`"));
                        left.push(format!(
                            "dependency `{s}` has no `version` constraint: add one such as `^1`"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(m) = spec.get("manifests") {
        if let Some(chart) = m.entry("chart") {
            if is_flow(text, m) {
                return Err(MigrateError::Layout(
                    "`manifests` is written in flow style".into(),
                ));
            }
            let Some(path) = chart.value.as_str() else {
                return Ok(());
            };
            let indent = column_of(text, chart.key_span.start);
            let pad = " ".repeat(indent + 2);
            edits.push(Edit {
                span: Span::new(chart.key_span.start, chart.value.span.end),
                text: format!("source:\n{pad}kind: HelmChart\n{pad}ref: {path}"),
            });
            changes.push(format!(
                "manifests.chart: {path} -> manifests.source {{kind: HelmChart, ref: {path}}}"
            ));
        }
    } else {
        left.push("`spec.manifests` is missing: add `manifests.source` (`kind: HelmChart`, `ref: ./chart`)".into());
    }
    if let Some(card) = spec.get("card") {
        if let Some(docs) = card.entry("docs") {
            if card.entry("documentation").is_none() {
                edits.push(Edit {
                    span: docs.key_span,
                    text: "documentation".into(),
                });
                changes.push("card.docs -> card.documentation".into());
            } else {
                left.push("`card.docs` duplicates `card.documentation`: remove one".into());
            }
        }
        if let Some(entries) = card.entries() {
            for e in entries {
                if !KNOWN_CARD.contains(&e.key.as_str()) && e.key != "docs" {
                    left.push(format!("unknown field `card.{}` is kept as written", e.key));
                }
            }
        }
    }
    Ok(())
}

const KNOWN_CARD: &[&str] = &[
    "title",
    "tagline",
    "summary",
    "description",
    "icon",
    "category",
    "tags",
    "screenshots",
    "license",
    "documentation",
];

fn is_flow(text: &str, n: &Node) -> bool {
    matches!(n.kind, NodeKind::Map(_) | NodeKind::Seq(_))
        && text
            .get(n.span.start..)
            .is_some_and(|t| t.starts_with('{') || t.starts_with('['))
}

/// The byte range of the line holding `offset`, including its line break.
fn line_bounds(text: &str, offset: usize) -> (usize, usize) {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = text[offset.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1);
    (start, end)
}

fn column_of(text: &str, offset: usize) -> usize {
    let (start, _) = line_bounds(text, offset);
    text[start..offset].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "apiVersion: catalyst.openova.io/v1\nkind: Blueprint\nmetadata:\n  name: harbor   # the registry\n  labels:\n    a: b\nspec:\n  version: 1.0.0    # bumped by CI\n  card:\n    title: Harbor\n    docs: https://goharbor.io\n  visibility: unlisted\n  manifests:\n    chart: ./chart  # umbrella\n  depends:\n    # needs the operator first\n    - bp-cnpg\n    - blueprint: bp-seaweedfs\n      version: ^1\n";

    #[test]
    fn migrates_and_keeps_comments() {
        let m = migrate("b.yaml", OLD).expect("migrates");
        let t = &m.text;
        for kept in [
            "# the registry",
            "# bumped by CI",
            "# umbrella",
            "# needs the operator first",
        ] {
            assert!(t.contains(kept), "lost {kept:?} in\n{t}");
        }
        assert!(t.contains("apiVersion: catalyst.openova.io/v1alpha1\n"));
        assert!(
            t.contains("  name: bp-harbor   # the registry\n  version: 1.0.0    # bumped by CI\n"),
            "{t}"
        );
        assert!(
            t.contains("    source:\n      kind: HelmChart\n      ref: ./chart  # umbrella\n"),
            "{t}"
        );
        assert!(t.contains("    - blueprint: bp-cnpg\n"));
        assert!(t.contains("    documentation: https://goharbor.io\n"));
        let again = load_str("b.yaml", t, &LoadOptions::default());
        assert!(again.findings.is_empty(), "{:?}", again.findings);
        assert!(m.left.iter().any(|l| l.contains("bp-cnpg")));
    }

    #[test]
    fn canonical_is_unchanged() {
        let m = migrate("b.yaml", OLD).expect("migrates");
        let m2 = migrate("b.yaml", &m.text).expect("migrates");
        assert_eq!(m2.text, m.text);
        assert!(m2.changes.is_empty());
    }

    #[test]
    fn refuses_flow_style() {
        let t = "apiVersion: catalyst.openova.io/v1\nkind: Blueprint\nmetadata: {name: x}\nspec:\n  version: 1.0.0\n  card: {title: X}\n";
        assert!(matches!(migrate("b.yaml", t), Err(MigrateError::Layout(_))));
    }

    #[test]
    fn refuses_broken_documents() {
        assert_eq!(migrate("b.yaml", "a: [\n"), Err(MigrateError::Invalid));
    }

    #[test]
    fn migrates_every_corpus_blueprint() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus/openova/platform");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("SKIPPED: ../shared is absent");
            return;
        };
        let mut n = 0;
        for e in entries.flatten() {
            let f = e.path().join("blueprint.yaml");
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let m = migrate("b.yaml", &text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let comments_before = text.matches('#').count();
            assert_eq!(
                m.text.matches('#').count(),
                comments_before,
                "{}",
                f.display()
            );
            let again = load_str("b.yaml", &m.text, &LoadOptions::default());
            let rules: Vec<_> = again
                .findings
                .iter()
                .map(|f| f.rule)
                .filter(|r| {
                    r.starts_with("canonical-")
                        && *r != "canonical-missing-visibility"
                        && *r != "canonical-missing-manifests"
                })
                .collect();
            assert!(rules.is_empty(), "{}: {rules:?}", f.display());
            n += 1;
        }
        assert_eq!(n, 32);
    }
}
