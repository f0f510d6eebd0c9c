use super::*;
use crate::diag::Severity;

const CANONICAL: &str = r#"apiVersion: catalyst.openova.io/v1alpha1
kind: Blueprint
metadata:
  name: bp-demo
  version: 1.2.3
spec:
  card:
    title: Demo
  visibility: listed
  depends:
    - blueprint: bp-postgres
      version: ^1.4
      alias: db
      when: "{{ .config.db == 'embedded' }}"
      values:
        databases: ["{{ .application.name }}"]
  manifests:
    source:
      kind: HelmChart
      ref: ./chart
"#;

fn load_text(t: &str) -> Loaded {
    load_str("blueprint.yaml", t, &LoadOptions::default())
}

#[test]
fn canonical_loads_without_findings() {
    let l = load_text(CANONICAL);
    assert!(l.findings.is_empty(), "{:?}", l.findings);
    let bp = l.blueprint.expect("blueprint");
    assert_eq!(bp.name(), "bp-demo");
    assert_eq!(bp.spec.depends[0].local_name(), "db");
    assert_eq!(bp.source().map(|s| s.kind), Some(SourceKind::HelmChart));
}

#[test]
fn corpus_variants_become_canonical_with_warnings() {
    let t = "apiVersion: catalyst.openova.io/v1\nkind: Blueprint\nmetadata:\n  name: harbor\nspec:\n  version: 1.0.0\n  card:\n    title: Harbor\n    docs: https://x\n    family: foundation\n  manifests:\n    chart: ./chart\n  depends:\n    - bp-cnpg\n";
    let l = load_text(t);
    let rules: Vec<_> = l.findings.iter().map(|f| f.rule).collect();
    assert!(
        l.findings.iter().all(|f| f.severity == Severity::Warning),
        "{:?}",
        l.findings
    );
    for r in [
        RULE_API_VERSION,
        RULE_NAME_PREFIX,
        RULE_VERSION_LOCATION,
        RULE_CARD_DOCS,
        RULE_UNKNOWN_FIELD,
        RULE_MANIFESTS_CHART,
        RULE_DEPENDS_SHORT,
        RULE_MISSING_VISIBILITY,
    ] {
        assert!(rules.contains(&r), "missing {r} in {rules:?}");
    }
    let bp = l.blueprint.expect("blueprint");
    assert_eq!(bp.name(), "bp-harbor");
    assert_eq!(bp.version(), "1.0.0");
    assert_eq!(bp.spec.card.documentation.as_deref(), Some("https://x"));
    assert_eq!(bp.spec.depends[0].blueprint, "bp-cnpg");
    // Positions: `family` is on line 10, column 5.
    let fam = l
        .findings
        .iter()
        .find(|f| f.rule == RULE_UNKNOWN_FIELD)
        .expect("unknown");
    let p = fam.position().expect("pos");
    assert_eq!((p.line, p.column), (10, 5));
    assert!(fam.message.contains("`family`"), "{}", fam.message);
}

#[test]
fn unknown_field_suggests_the_close_name() {
    let t = CANONICAL.replace("  visibility: listed\n", "  visibilty: listed\n");
    let l = load_text(&t);
    let f = l
        .findings
        .iter()
        .find(|f| f.rule == RULE_UNKNOWN_FIELD)
        .expect("unknown");
    assert!(
        f.help
            .as_deref()
            .unwrap_or("")
            .contains("did you mean `visibility`"),
        "{:?}",
        f.help
    );
}

#[test]
fn schema_errors_point_at_the_value() {
    let t = CANONICAL.replace("version: 1.2.3", "version: one");
    let l = load_text(&t);
    assert!(l.blueprint.is_none());
    let f = l
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
        .expect("error");
    assert_eq!(f.rule, RULE_SCHEMA);
    let p = f.position().expect("pos");
    assert_eq!((p.line, p.column), (5, 12));
    assert_eq!(f.pointer.as_deref(), Some("/metadata/version"));
    assert!(
        f.help
            .as_deref()
            .unwrap_or("")
            .contains("MAJOR.MINOR.PATCH")
    );
}

#[test]
fn wrong_type_says_what_was_expected() {
    let t = CANONICAL.replace(
        "  visibility: listed\n",
        "  visibility: listed\n  rotation: yes\n",
    );
    let l = load_text(&t);
    let f = l
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
        .expect("error");
    assert!(
        f.message
            .contains("`spec.rotation` must be a list, found a string"),
        "{}",
        f.message
    );
}

#[test]
fn not_a_mapping() {
    let l = load_text("- a\n- b\n");
    assert!(l.has_errors());
    assert!(
        l.findings[0]
            .message
            .contains("expected a Blueprint mapping")
    );
}

/// Every field of the model is in the schema and every schema property is in the model.
#[test]
fn schema_and_model_agree() {
    let full = Blueprint {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        metadata: Metadata {
            name: "bp-x".into(),
            version: "1.0.0".into(),
            labels: [("a".to_string(), "b".to_string())].into(),
            annotations: [("a".to_string(), "b".to_string())].into(),
        },
        spec: Spec {
            card: Card {
                title: "t".into(),
                tagline: Some("t".into()),
                summary: Some("s".into()),
                description: Some("d".into()),
                icon: Some("i".into()),
                category: Some("c".into()),
                tags: vec!["t".into()],
                screenshots: vec!["s".into()],
                license: Some("MIT".into()),
                documentation: Some("https://d".into()),
            },
            visibility: Some(Visibility::Listed),
            owner: Some(Owner {
                team: Some("t".into()),
                contact: Some("c".into()),
            }),
            config_schema: Some(serde_json::json!({"type":"object"})),
            placement_schema: Some(PlacementSchema {
                modes: vec![PlacementMode::SingleRegion],
                default: Some(PlacementMode::SingleRegion),
                min_regions: Some(1),
                max_regions: Some(2),
            }),
            depends: vec![Depend {
                blueprint: "bp-y".into(),
                version: Some("^1".into()),
                alias: Some("y".into()),
                when: Some("{{ true }}".into()),
                shared: true,
                values: Some(serde_json::json!({"a": 1})),
            }],
            manifests: Some(Manifests {
                source: ManifestSource {
                    kind: SourceKind::HelmChart,
                    reference: "./chart".into(),
                },
                overlays: [("small".to_string(), serde_json::json!({"a":1}))]
                    .into_iter()
                    .collect(),
            }),
            upgrades: Some(Upgrades {
                from: vec!["1.x".into()],
                blocks: vec!["0.x".into()],
            }),
            rotation: vec![Rotation {
                kind: "k".into(),
                name: "n".into(),
                ttl: Some("90d".into()),
            }],
            observability: Some(Observability {
                metrics: Some("prometheus".into()),
                logs: Some("stdout".into()),
                traces: Some("otlp".into()),
            }),
            outputs: [("k".to_string(), serde_json::json!("v"))]
                .into_iter()
                .collect(),
        },
    };
    let value = serde_json::to_value(&full).expect("serialise");
    // Every model field validates (the schema forbids unknown properties everywhere).
    let schema: serde_json::Value = serde_json::from_str(BLUEPRINT_SCHEMA).expect("schema json");
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("schema compiles");
    let errs: Vec<String> = v
        .iter_errors(&value)
        .map(|e| format!("{} {}", e.instance_path(), e))
        .collect();
    assert!(errs.is_empty(), "{errs:?}");
    // Every schema property path appears in the fully populated model.
    let mut schema_paths = Vec::new();
    collect_schema_paths(&schema, &schema, "", &mut schema_paths);
    for p in schema_paths {
        assert!(
            value.pointer(&p).is_some(),
            "schema property {p} is not in the model"
        );
    }
}

fn collect_schema_paths(
    root: &serde_json::Value,
    node: &serde_json::Value,
    at: &str,
    out: &mut Vec<String>,
) {
    let node = match node.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => root.pointer(&r[1..]).unwrap_or(node),
        None => node,
    };
    // Free-form objects (configSchema, outputs, values…) stop here.
    if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
        for (k, sub) in props {
            let p = format!("{at}/{k}");
            out.push(p.clone());
            collect_schema_paths(root, sub, &p, out);
        }
    }
    if let Some(items) = node.get("items") {
        collect_schema_paths(root, items, &format!("{at}/0"), out);
    }
}

#[test]
fn every_corpus_blueprint_loads_with_warnings_only() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/openova/platform");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: ../shared is absent ({})", dir.display());
        return;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let f = e.path().join("blueprint.yaml");
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let l = load(&f.display().to_string(), &bytes, &LoadOptions::default());
        let errs: Vec<String> = l
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.to_string())
            .collect();
        assert!(errs.is_empty(), "{errs:?}");
        assert!(l.blueprint.is_some());
        assert!(
            l.findings.iter().all(|f| f.position().is_some()),
            "{:?}",
            l.findings
        );
        n += 1;
    }
    assert_eq!(n, 32);
}

proptest::proptest! {
    /// Loading never panics, whatever the text: random lines made of Blueprint-ish pieces.
    #[test]
    fn loading_never_panics(lines in proptest::collection::vec(
        proptest::sample::select(vec![
            "apiVersion: catalyst.openova.io/v1", "kind: Blueprint", "metadata:", "  name: x", "  version: 1.0.0",
            "spec:", "  version: 2", "  card:", "    title: t", "    docs: d", "  depends:", "    - bp-a", "    - blueprint: bp-b",
            "      version: ^1", "  manifests:", "    chart: ./chart", "    source: {kind: HelmChart, ref: ./c}", "  depends: null",
            "- a", "&x [1]", "*x", "<<: *x", "? [a]", ": b", "\t", "'", "\"", "{", "}", "---",
        ]),
        0..24,
    )) {
        let text = lines.join("\n");
        let l = load_str("fuzz.yaml", &text, &LoadOptions::default());
        for f in &l.findings {
            let _ = f.to_string();
            let _ = f.record();
        }
        if let Some(bp) = l.blueprint {
            let _ = migrate::migrate("fuzz.yaml", &text);
            proptest::prop_assert!(bp.name().starts_with("bp-"));
        }
    }
}
