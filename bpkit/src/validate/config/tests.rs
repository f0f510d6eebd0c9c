use super::*;
use serde_json::json;

fn compile(schema: Value) -> ConfigSchema {
    match ConfigSchema::compile(&schema, &SchemaOptions::default()) {
        Ok(c) => c,
        Err(issues) => panic!("schema should compile: {issues:#?}"),
    }
}

fn issues(schema: Value) -> Vec<SchemaIssue> {
    issues_with(schema, &SchemaOptions::default())
}

fn issues_with(schema: Value, opts: &SchemaOptions) -> Vec<SchemaIssue> {
    match ConfigSchema::compile(&schema, opts) {
        Ok(_) => panic!("schema should not compile"),
        Err(issues) => issues,
    }
}

fn realistic() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["domain"],
        "properties": {
            "replicas": {"type": "integer", "minimum": 1, "maximum": 16, "default": 1},
            "domain": {"type": "string", "format": "hostname", "x-catalyst-ui-hint": "domain-picker"},
            "adminPassword": {"type": "string", "minLength": 12, "x-catalyst-ui-hint": "password"},
            "authMode": {"type": "string", "enum": ["oauth", "subscription"], "default": "oauth"},
            "hosts": {"type": "array", "items": {"type": "string", "format": "hostname"}},
            "postgres": {
                "type": "object",
                "default": {"mode": "embedded"},
                "properties": {
                    "mode": {"type": "string", "enum": ["embedded", "external"], "default": "external"},
                    "size": {"type": "string", "default": "small"},
                    "ref": {
                        "type": "string",
                        "x-catalyst-ui-hint": "application-ref",
                        "x-catalyst-ui-filter": {"blueprint": "bp-postgres", "environment": "current"}
                    }
                },
                "oneOf": [
                    {"properties": {"mode": {"const": "embedded"}}},
                    {"properties": {"mode": {"const": "external"}}, "required": ["ref"]}
                ]
            },
            "backups": {"$ref": "#/$defs/backups"}
        },
        "$defs": {
            "backups": {
                "type": "object",
                "properties": {"schedule": {"type": "string", "enum": ["daily", "weekly"], "default": "daily"}}
            }
        }
    })
}

#[test]
fn valid_config_has_no_violations() {
    let schema = compile(realistic());
    let config = json!({"domain": "example.com", "replicas": 3, "hosts": ["a.example.com"]});
    assert!(schema.validate(&config).is_empty());
    assert!(schema.is_valid(&config));
    assert_eq!(schema.draft(), Draft::Draft202012);
}

#[test]
fn violations_say_where_what_and_why() {
    let schema = compile(realistic());
    let config = json!({
        "replicas": "3",
        "authMode": "oauht",
        "replica": 2,
        "hosts": ["ok.example.com", "not a host"],
    });
    let violations = schema.validate(&config);
    let summary: Vec<(&str, &str, &str)> = violations
        .iter()
        .map(|v| {
            (
                v.instance_pointer.as_str(),
                v.keyword.as_str(),
                v.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("", "required", "missing required property `domain`"),
            (
                "/authMode",
                "enum",
                "`\"oauht\"` is not one of `\"oauth\"`, `\"subscription\"`"
            ),
            (
                "/hosts/1",
                "format",
                "`\"not a host\"` is not a valid `hostname`"
            ),
            (
                "/replica",
                "additionalProperties",
                "property `replica` is not allowed here"
            ),
            (
                "/replicas",
                "type",
                "expected type `integer`, found string `\"3\"`"
            ),
        ]
    );
    let by_pointer = |p: &str| violations.iter().find(|v| v.instance_pointer == p).unwrap();
    assert_eq!(
        by_pointer("/authMode").help.as_deref(),
        Some("did you mean `oauth`?")
    );
    assert_eq!(
        by_pointer("/replica").help.as_deref(),
        Some("did you mean `replicas`?")
    );
    let replicas = by_pointer("/replicas");
    assert_eq!(replicas.schema_pointer, "/properties/replicas/type");
    assert_eq!(replicas.expected, "type `integer`");
    assert_eq!(replicas.found, "string `\"3\"`");
    assert_eq!(by_pointer("").schema_pointer, "/required");
}

#[test]
fn bounds_and_lengths() {
    let schema = compile(realistic());
    let v = schema.validate(&json!({"domain": "example.com", "replicas": 40}));
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].message,
        "expected a number at most `16`, found integer `40`"
    );
    assert_eq!(v[0].expected, "a number at most `16`");
}

#[test]
fn passwords_are_not_echoed() {
    let schema = compile(realistic());
    let v = schema.validate(&json!({"domain": "example.com", "adminPassword": "hunter2"}));
    assert_eq!(v.len(), 1);
    assert!(!v[0].message.contains("hunter2"), "{}", v[0].message);
    assert!(!v[0].found.contains("hunter2"), "{}", v[0].found);
    assert_eq!(v[0].expected, "at least 12 characters");
    let schema = compile(json!({"properties": {"token": {"type": "integer", "writeOnly": true}}}));
    let v = schema.validate(&json!({"token": "s3cret"}));
    assert!(!format!("{v:?}").contains("s3cret"));
    // Also when the check sits behind a `$ref` or inside a branch.
    let schema = compile(json!({
        "properties": {
            "a": {"x-catalyst-ui-hint": "password", "$ref": "#/$defs/long"},
            "b": {"type": "string", "x-catalyst-ui-hint": "password", "anyOf": [{"minLength": 20}, {"pattern": "^x"}]},
            "c": {"type": "string", "x-catalyst-ui-hint": "password", "oneOf": [{"type": "string", "pattern": "^x"}, {"type": "integer"}]}
        },
        "$defs": {"long": {"type": "string", "pattern": "^[0-9]+$"}}
    }));
    let v = schema.validate(&json!({"a": "s3cret-a", "b": "s3cret-b", "c": "s3cret-c"}));
    assert_eq!(v.len(), 3, "{v:#?}");
    assert!(!format!("{v:?}").contains("s3cret"), "{v:#?}");
}

#[test]
fn one_of_explains_the_plausible_branch() {
    let schema = compile(realistic());
    let v = schema.validate(&json!({"domain": "example.com", "postgres": {"mode": "external"}}));
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].keyword, "oneOf");
    assert_eq!(v[0].instance_pointer, "/postgres");
    assert!(
        v[0].message
            .contains("matches none of the 2 `oneOf` schemas"),
        "{}",
        v[0].message
    );
    assert!(
        v[0].expected.contains("property `ref`"),
        "{}",
        v[0].expected
    );

    let typed =
        compile(json!({"oneOf": [{"type": "string", "minLength": 3}, {"type": "integer"}]}));
    let v = typed.validate(&json!("ab"));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].keyword, "minLength");
    assert_eq!(v[0].schema_pointer, "/oneOf/0/minLength");
    let v = typed.validate(&json!(true));
    assert_eq!(v[0].keyword, "oneOf");
    assert_eq!(
        v[0].expected,
        "one of: (1) type `string`; (2) type `integer`"
    );
}

#[test]
fn violations_are_sorted_with_numeric_indexes() {
    let schema = compile(json!({"items": {"type": "integer"}}));
    let config = json!(["a", 1, "b", 3, 4, 5, 6, 7, 8, 9, "c"]);
    let pointers: Vec<String> = schema
        .validate(&config)
        .into_iter()
        .map(|v| v.instance_pointer)
        .collect();
    assert_eq!(pointers, ["/0", "/2", "/10"]);
    assert_eq!(compare_pointers("/a/2", "/a/10"), std::cmp::Ordering::Less);
    assert_eq!(compare_pointers("/a", "/a/0"), std::cmp::Ordering::Less);
}

#[test]
fn meta_schema_problems_are_all_reported_with_pointers() {
    let found = issues(json!({
        "type": "strin",
        "properties": {"a": {"minimum": "x"}, "b": {"type": "integer"}},
        "required": [1]
    }));
    let summary: Vec<(&str, &str)> = found
        .iter()
        .map(|i| (i.pointer.as_str(), i.keyword.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("/properties/a/minimum", "minimum"),
            ("/required/0", "required"),
            ("/type", "type")
        ]
    );
    assert!(found.iter().all(|i| i.kind == SchemaIssueKind::MetaSchema));
    let type_issue = &found[2];
    assert!(
        type_issue.message.contains("is not one of"),
        "{}",
        type_issue.message
    );
}

#[test]
fn drafts_follow_schema_keyword() {
    let draft7 = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "items": [{"type": "integer"}],
        "additionalItems": false
    });
    let compiled = compile(draft7.clone());
    assert_eq!(compiled.draft(), Draft::Draft7);
    assert!(!compiled.validate(&json!([1, 2])).is_empty());
    // The same keywords are invalid in 2020-12, where `items` must be one schema.
    let mut as_2020 = draft7;
    as_2020["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    let found = issues(as_2020);
    assert!(found.iter().any(|i| i.pointer == "/items"), "{found:#?}");
    // Without `$schema`, the default draft applies.
    let opts = SchemaOptions::default().with_default_draft(Draft::Draft7);
    let c = ConfigSchema::compile(&json!({"items": [{"type": "string"}]}), &opts).unwrap();
    assert_eq!(c.draft(), Draft::Draft7);
    for draft in Draft::ALL {
        assert_eq!(Draft::from_schema_uri(draft.schema_uri()), Some(draft));
        let c = compile(json!({"$schema": draft.schema_uri(), "type": "integer"}));
        assert_eq!(c.draft(), draft);
    }
}

#[test]
fn unknown_schema_uri_is_reported() {
    let found = issues(json!({"$schema": "https://example.com/my-meta", "type": "object"}));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, SchemaIssueKind::UnknownDraft);
    assert_eq!(found[0].pointer, "/$schema");
    let found = issues(json!({"$schema": 7}));
    assert_eq!(found[0].pointer, "/$schema");
}

#[test]
fn custom_meta_schema_through_resources() {
    let opts = SchemaOptions::default().with_resource(
        "https://example.com/meta",
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://example.com/meta",
            "$dynamicAnchor": "meta",
            "allOf": [{"$ref": "https://json-schema.org/draft/2020-12/schema"}]
        }),
    );
    let c = ConfigSchema::compile(
        &json!({"$schema": "https://example.com/meta", "type": "integer"}),
        &opts,
    )
    .unwrap();
    assert!(c.is_valid(&json!(3)));
    assert!(!c.is_valid(&json!("x")));
    assert_eq!(c.draft(), Draft::Draft202012);
}

#[test]
fn remote_refs_resolve_only_through_resources() {
    let schema = json!({"properties": {"port": {"$ref": "https://example.com/port.json"}}});
    let found = issues(schema.clone());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].kind, SchemaIssueKind::Reference);
    assert_eq!(found[0].pointer, "/properties/port/$ref");
    assert!(
        found[0].message.contains("https://example.com/port.json"),
        "{}",
        found[0].message
    );
    assert!(found[0].help.is_some());

    let opts = SchemaOptions::default().with_resource(
        "https://example.com/port.json#",
        json!({"type": "integer", "maximum": 65535}),
    );
    let c = ConfigSchema::compile(&schema, &opts).unwrap();
    let v = c.validate(&json!({"port": 70000}));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].instance_pointer, "/port");
    assert_eq!(v[0].keyword, "maximum");
}

#[test]
fn dangling_local_ref() {
    let found = issues(json!({"properties": {"a": {"$ref": "#/$defs/missing"}}}));
    assert_eq!(found[0].kind, SchemaIssueKind::Reference);
    assert_eq!(found[0].pointer, "/properties/a/$ref");
}

#[test]
fn reference_problems_point_at_the_ref() {
    let found = issues(json!({"properties": {"a": {"$ref": "other.json"}}}));
    assert_eq!(found[0].pointer, "/properties/a/$ref");
    assert!(
        found[0].message.contains("relative reference `other.json`"),
        "{}",
        found[0].message
    );
    let found = issues(json!({"properties": {"b": {"$ref": "http://[bad"}}}));
    assert_eq!(found[0].pointer, "/properties/b/$ref");
    assert!(
        found[0]
            .message
            .starts_with("cannot resolve a reference: invalid"),
        "{}",
        found[0].message
    );
    assert_eq!(lower_first("URI is bad"), "URI is bad");
    assert_eq!(lower_first("Invalid"), "invalid");
}

#[test]
fn invalid_pattern_is_reported() {
    let found = issues(json!({"properties": {"a": {"type": "string", "pattern": "[unclosed"}}}));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].pointer, "/properties/a/pattern");
    assert_eq!(found[0].keyword, "pattern");
}

#[test]
fn ui_hints_are_checked() {
    let found = issues(json!({
        "properties": {
            "a": {"type": "string", "x-catalyst-ui-hint": "pasword"},
            "b": {"type": "integer", "x-catalyst-ui-hint": "password"},
            "c": {"type": "string", "x-catalyst-ui-hint": "textarea", "x-catalyst-ui-filter": {"blueprint": "x"}},
            "d": {"type": "string", "x-catalyst-ui-hint": "application-ref",
                  "x-catalyst-ui-filter": {"blueprnt": "x", "environment": 3}},
            "e": {"x-catalyst-ui-filter": []},
            "f": {"x-catalyst-ui-hint": 1},
            "g": {"enum": [{"x-catalyst-ui-hint": "data, not a schema"}]}
        }
    }));
    let summary: Vec<(&str, &str)> = found
        .iter()
        .map(|i| (i.pointer.as_str(), i.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "/properties/a/x-catalyst-ui-hint",
                "unknown UI hint `pasword`"
            ),
            (
                "/properties/b/x-catalyst-ui-hint",
                "the UI hint `\"password\"` renders a text input but the schema's `type` does not allow strings"
            ),
            (
                "/properties/c/x-catalyst-ui-filter",
                "`x-catalyst-ui-filter` only applies to `application-ref`, not to `textarea`"
            ),
            (
                "/properties/d/x-catalyst-ui-filter/blueprnt",
                "unknown `x-catalyst-ui-filter` member `blueprnt`"
            ),
            (
                "/properties/d/x-catalyst-ui-filter/environment",
                "`x-catalyst-ui-filter.environment` must be a string, found integer"
            ),
            (
                "/properties/e/x-catalyst-ui-filter",
                "`x-catalyst-ui-filter` must be an object with `blueprint` and/or `environment`, found array"
            ),
            (
                "/properties/e/x-catalyst-ui-filter",
                "`x-catalyst-ui-filter` without `x-catalyst-ui-hint: application-ref`"
            ),
            (
                "/properties/f/x-catalyst-ui-hint",
                "`x-catalyst-ui-hint` must be a string, found integer"
            ),
        ]
    );
    assert_eq!(found[0].help.as_deref(), Some("did you mean `password`?"));
    assert_eq!(found[3].help.as_deref(), Some("did you mean `blueprint`?"));
    assert!(found.iter().all(|i| i.kind == SchemaIssueKind::UiHint));
    // Every documented hint compiles on a string schema.
    for hint in UI_HINTS {
        compile(json!({"type": "string", "x-catalyst-ui-hint": hint.name}));
    }
}

#[test]
fn ui_hint_issues_come_with_meta_schema_issues() {
    let found = issues(json!({"type": 5, "properties": {"a": {"x-catalyst-ui-hint": "nope"}}}));
    let kinds: Vec<SchemaIssueKind> = found.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [SchemaIssueKind::UiHint, SchemaIssueKind::MetaSchema]
    );
}

#[test]
fn defaults_are_collected() {
    let schema = compile(realistic());
    assert_eq!(
        schema.defaults(),
        json!({
            "replicas": 1,
            "authMode": "oauth",
            // The object's own default wins over its property's, member by member.
            "postgres": {"mode": "embedded", "size": "small"},
            "backups": {"schedule": "daily"}
        })
    );
    let schema = compile(json!({
        "allOf": [{"properties": {"a": {"default": 1}, "b": {"default": 1}}}],
        "properties": {
            "b": {"default": 2},
            "c": {"oneOf": [{"properties": {"x": {"default": 1}}}]},
            "d": {"type": "array", "items": {"properties": {"x": {"default": 1}}}},
            "e": {"default": null, "properties": {"x": {"default": 1}}},
            "loop": {"$ref": "#/properties/loop"},
            "self": {"$ref": "#"}
        }
    }));
    assert_eq!(schema.defaults(), json!({"a": 1, "b": 2, "e": null}));
    assert_eq!(compile(json!({"type": "string"})).defaults(), Value::Null);
}

#[test]
fn deep_inputs_are_refused_not_crashed() {
    let mut schema = json!({"type": "integer"});
    for _ in 0..MAX_NESTING {
        schema = json!({"properties": {"a": schema}});
    }
    let found = issues(schema);
    assert_eq!(found[0].kind, SchemaIssueKind::Compile);

    let c = compile(json!({"type": "array"}));
    let mut deep = json!(1);
    for _ in 0..MAX_NESTING + 1 {
        deep = json!([deep]);
    }
    let v = c.validate(&deep);
    assert_eq!(v.len(), 1);
    assert!(v[0].message.contains("nests more than"));
    assert!(!c.is_valid(&deep));
}

#[test]
fn moderately_deep_inputs_validate() {
    // Just under the limit must work on a test thread's stack.
    let mut schema = json!({"type": "integer"});
    let mut config = json!("x");
    for _ in 0..(MAX_NESTING / 2 - 2) {
        schema = json!({"type": "object", "properties": {"a": schema}});
        config = json!({"a": config});
    }
    let c = compile(schema);
    let v = c.validate(&config);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].keyword, "type");
}

#[test]
fn formats_are_asserted_unless_turned_off() {
    let schema = json!({"format": "ipv4"});
    assert!(!compile(schema.clone()).is_valid(&json!("1.2.3")));
    let opts = SchemaOptions {
        assert_formats: false,
        ..SchemaOptions::default()
    };
    assert!(
        ConfigSchema::compile(&schema, &opts)
            .unwrap()
            .is_valid(&json!("1.2.3"))
    );
}

#[test]
fn boolean_schemas() {
    assert!(compile(json!(true)).is_valid(&json!({"x": 1})));
    let v = compile(json!(false)).validate(&json!(1));
    assert_eq!(
        v[0].message,
        "no value is allowed here (the schema is `false`)"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            "[a-z$ -]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("type".to_string()),
                        Just("properties".to_string()),
                        Just("items".to_string()),
                        Just("enum".to_string()),
                        Just("minimum".to_string()),
                        Just("required".to_string()),
                        Just("pattern".to_string()),
                        Just("$ref".to_string()),
                        Just("oneOf".to_string()),
                        Just("default".to_string()),
                        Just("x-catalyst-ui-hint".to_string()),
                        "[a-z]{1,3}",
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn compile_and_validate_never_panic(schema in any_json(), instance in any_json()) {
            match ConfigSchema::compile(&schema, &SchemaOptions::default()) {
                Ok(compiled) => {
                    let violations = compiled.validate(&instance);
                    prop_assert_eq!(violations.is_empty(), compiled.is_valid(&instance));
                    let _ = compiled.defaults();
                }
                Err(found) => prop_assert!(!found.is_empty()),
            }
        }
    }
}

#[test]
fn compiled_schemas_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ConfigSchema>();
    assert_send_sync::<SchemaOptions>();
}
