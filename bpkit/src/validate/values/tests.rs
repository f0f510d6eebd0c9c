use super::*;
use proptest::prelude::*;
use serde_json::json;

fn names(merged: &Merged) -> BTreeMap<String, String> {
    merged
        .provenance
        .iter()
        .map(|(p, l)| (p.to_string(), merged.layers[l].name.clone()))
        .collect()
}

#[test]
fn helm_order_and_provenance() {
    let merged = ValuesMerge::new(json!({
        "replicas": 1,
        "image": {"repo": "r", "tag": "1.0"},
        "resources": {"cpu": "100m"},
        "hosts": ["a"]
    }))
    .set("image.tag=2.0")
    .values_file("b.yaml", json!({"replicas": 3, "hosts": ["x", "y", "z"]}))
    .overlay("small", json!({"replicas": 2, "image": {"repo": "o"}}))
    .set_string("replicas=5")
    .set("hosts[1]=q,resources=null")
    .merge()
    .unwrap();
    assert_eq!(
        merged.values,
        json!({
            "replicas": "5",
            "image": {"repo": "o", "tag": "2.0"},
            "hosts": ["x", "q", "z"]
        })
    );
    let layer_names: Vec<&str> = merged.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        layer_names,
        [
            "schema defaults",
            "small",
            "b.yaml",
            "image.tag=2.0",
            "hosts[1]=q,resources=null",
            "replicas=5"
        ]
    );
    let expected: BTreeMap<String, String> = [
        ("/replicas", "replicas=5"),
        ("/image/repo", "small"),
        ("/image/tag", "image.tag=2.0"),
        ("/hosts/0", "b.yaml"),
        ("/hosts/1", "hosts[1]=q,resources=null"),
        ("/hosts/2", "b.yaml"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(names(&merged), expected);
    assert_eq!(
        merged.origin("/hosts").map(|l| l.kind),
        Some(LayerKind::Set)
    );
    assert_eq!(
        merged.origin("/image/missing").map(|l| l.name.as_str()),
        Some("image.tag=2.0")
    );
}

#[test]
fn null_deletes_defaults_only() {
    let merged = ValuesMerge::new(json!({"a": 1, "m": {"x": 1, "y": 2}}))
        .values_file("f.yaml", json!({"a": null, "m": {"x": null}, "n": null}))
        .merge()
        .unwrap();
    // Helm keeps a null with no default under it (it then deletes the chart's own value).
    assert_eq!(merged.values, json!({"m": {"y": 2}, "n": null}));
    assert_eq!(merged.provenance.get("/n"), Some(1));
    assert_eq!(merged.provenance.get("/a"), None);
    assert_eq!(merged.provenance.get("/m/y"), Some(0));
}

#[test]
fn nulls_can_empty_a_map() {
    let merged = ValuesMerge::new(json!({"a": {"a": null}}))
        .values_file("f.yaml", json!({"a": {"a": null}}))
        .merge()
        .unwrap();
    assert_eq!(merged.values, json!({"a": {}}));
    assert_eq!(merged.provenance.get("/a"), Some(1));
    assert_eq!(merged.provenance.len(), 1);
}

#[test]
fn later_files_replace_nulls_and_lists() {
    let merged = ValuesMerge::new(json!({"a": {"c": 2}, "l": [1, 2, 3]}))
        .values_file("1.yaml", json!({"a": null, "l": [9]}))
        .values_file("2.yaml", json!({"a": {"b": 1}}))
        .merge()
        .unwrap();
    // As in Helm, the user layers merge first, then the defaults fill in underneath.
    assert_eq!(merged.values, json!({"a": {"c": 2, "b": 1}, "l": [9]}));
    assert_eq!(merged.provenance.get("/a/b"), Some(2));
    assert_eq!(merged.provenance.get("/a/c"), Some(0));
    assert_eq!(merged.provenance.get("/l/0"), Some(1));
    assert_eq!(merged.provenance.len(), 3);
}

#[test]
fn empty_containers_are_leaves() {
    let merged = ValuesMerge::new(json!({"m": {}}))
        .values_file("f.yaml", json!({"e": {}, "l": []}))
        .set("m.k=1")
        .merge()
        .unwrap();
    assert_eq!(merged.values, json!({"m": {"k": 1}, "e": {}, "l": []}));
    assert_eq!(merged.provenance.get("/e"), Some(1));
    assert_eq!(merged.provenance.get("/l"), Some(1));
    assert_eq!(merged.provenance.get("/m"), None);
    assert_eq!(merged.provenance.get("/m/k"), Some(2));
}

#[test]
fn set_replaces_subtrees_and_pads_lists() {
    let merged = ValuesMerge::new(Value::Null)
        .values_file("f.yaml", json!({"a": {"deep": {"x": 1}}, "s": "text"}))
        .set("a=flat,s.k=v,l[2]=z")
        .merge()
        .unwrap();
    assert_eq!(
        merged.values,
        json!({"a": "flat", "s": {"k": "v"}, "l": [null, null, "z"]})
    );
    let all: Vec<(&str, usize)> = merged.provenance.iter().collect();
    assert_eq!(
        all,
        [
            ("/a", 2),
            ("/l/0", 2),
            ("/l/1", 2),
            ("/l/2", 2),
            ("/s/k", 2)
        ]
    );
}

#[test]
fn pointers_are_escaped() {
    let merged = ValuesMerge::new(json!({"a/b": {"c~d": 1}}))
        .set("x\\.y=1")
        .merge()
        .unwrap();
    assert_eq!(merged.provenance.get("/a~1b/c~0d"), Some(0));
    assert_eq!(merged.provenance.get("/x.y"), Some(1));
}

#[test]
fn errors() {
    let err = ValuesMerge::new(json!({}))
        .values_file("bad.yaml", json!([1]))
        .merge()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "values file `bad.yaml` must be a map at the top level, found a list"
    );
    let err = ValuesMerge::new(json!("x")).merge().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the schema defaults must be a map at the top level, found a string"
    );
    let err = ValuesMerge::new(json!({}))
        .set("a=1,b")
        .merge()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid `--set` argument at column 6: key `b` has no value"
    );
}

#[test]
fn parse_set_functions() {
    assert_eq!(
        parse_set("a.b=1,c={x,2}").unwrap(),
        json!({"a": {"b": 1}, "c": ["x", 2]})
    );
    assert_eq!(parse_set_string("a=1").unwrap(), json!({"a": "1"}));
    assert!(parse_set("a").is_err());
}

/// Small nested values for property tests.
fn small_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..5).prop_map(|n| json!(n)),
        "[ab]".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[abc]", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn small_map() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[abc]", small_value(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// Every leaf pointer of a value (same definition as [`Provenance`]).
fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                leaves(v, format!("{at}/{}", pointer_escape(k)), out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                leaves(v, format!("{at}/{i}"), out);
            }
        }
        _ => {
            if !at.is_empty() {
                out.push(at);
            }
        }
    }
}

proptest! {
    #[test]
    fn provenance_covers_exactly_the_leaves(
        defaults in small_map(),
        a in small_map(),
        b in small_map(),
        set in "[abc](\\[[0-2]\\])?(\\.[abc])?=(null|[0-9xy]|\\{x,y\\})(,[abc]=null)?",
    ) {
        let merged = ValuesMerge::new(defaults)
            .values_file("a", a)
            .values_file("b", b)
            .set(set)
            .merge()
            .unwrap();
        let mut expected = Vec::new();
        leaves(&merged.values, String::new(), &mut expected);
        expected.sort();
        let recorded: Vec<String> = merged.provenance.iter().map(|(p, _)| p.to_string()).collect();
        prop_assert_eq!(recorded, expected);
    }

    #[test]
    fn merging_nothing_gives_the_defaults(defaults in small_map()) {
        let merged = ValuesMerge::new(defaults.clone()).merge().unwrap();
        prop_assert_eq!(&merged.values, &defaults);
        prop_assert!(merged.provenance.iter().all(|(_, l)| l == 0));
    }

    #[test]
    fn the_last_file_wins_on_its_leaves(defaults in small_map(), a in small_map(), b in small_map()) {
        let merged = ValuesMerge::new(defaults)
            .values_file("a", a)
            .values_file("b", b.clone())
            .merge()
            .unwrap();
        let mut from_b = Vec::new();
        leaves(&b, String::new(), &mut from_b);
        for pointer in from_b {
            let in_b = merged.values.pointer(&pointer);
            let written = b.pointer(&pointer);
            // An empty map merges into nothing; a null may be deleted by the defaults.
            let plain = written.is_some_and(|w| !w.is_null() && w.as_object().is_none_or(|m| !m.is_empty()));
            if plain {
                // A non-null leaf of the last file survives unless an ancestor was a null.
                if let Some(v) = in_b {
                    prop_assert_eq!(Some(v), written);
                    prop_assert_eq!(merged.provenance.get(&pointer), Some(2));
                }
            }
        }
    }
}
