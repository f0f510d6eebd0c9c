//! Tests of the whole pipeline: parse, translate, evaluate.

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn ctx() -> Context {
    let mut outputs = BTreeMap::new();
    outputs.insert(
        "db".to_string(),
        json!({"host": "db.svc", "port": 5432, "hosts": ["h0", "h1"]}),
    );
    outputs.insert("my-db".to_string(), json!({"host": "x"}));
    Context {
        application: Application {
            name: "blog".into(),
            namespace: "team-a".into(),
            org: "acme".into(),
            environment: "prod".into(),
        },
        blueprint: BlueprintRef {
            name: "bp-wordpress".into(),
            version: "1.3.0".into(),
        },
        config: json!({
            "postgres": {"mode": "embedded", "size": "medium"},
            "mode": "embedded",
            "replicas": 3,
            "ratio": 0.5,
            "big": 1_000_000.0,
            "external": false,
            "enabled": true,
            "empty": "",
            "zero": 0,
            "none": null,
            "list": ["a", "b", "c"],
            "nolist": [],
            "map": {"b": 2, "a": 1},
            "nomap": {},
            "name": "MiXed",
            "quoted": "say \"hi\"",
            "flag": "false",
            "word": "no",
            "my-key": "dash",
            "true": "kw",
        }),
        outputs,
    }
}

fn render(text: &str) -> Result<serde_json::Value, RenderError> {
    Renderer::new().render(&Template::parse(text)?, &ctx())
}

fn ok(text: &str) -> serde_json::Value {
    match render(text) {
        Ok(v) => v,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn err(text: &str) -> RenderError {
    match render(text) {
        Ok(v) => panic!("{text}: expected an error, got {v}"),
        Err(e) => e,
    }
}

fn cond(text: &str) -> Result<bool, RenderError> {
    Renderer::new().eval_condition(&Template::parse(text)?, &ctx())
}

// --- the examples from the authoring guide ------------------------------------------------

#[test]
fn authoring_guide_examples() {
    let r = Renderer::new();
    let when = Template::parse("{{ .config.postgres.mode == 'embedded' }}").unwrap();
    assert!(r.eval_condition(&when, &ctx()).unwrap());
    let mut external = ctx();
    external.config = json!({"postgres": {"mode": "external", "ref": "shared-pg"}});
    assert!(!r.eval_condition(&when, &external).unwrap());

    let values = json!({"databases": ["{{ .application.name }}"], "size": "medium"});
    assert_eq!(
        r.render_value(&values, &ctx()).unwrap(),
        json!({"databases": ["blog"], "size": "medium"})
    );
}

// --- one test per row of the mapping table ------------------------------------------------

#[test]
fn paths() {
    assert_eq!(ok("{{ .config.postgres.mode }}"), json!("embedded"));
    assert_eq!(ok("{{ $.config.postgres.size }}"), json!("medium"));
    assert_eq!(ok("{{ .application.name }}"), json!("blog"));
    assert_eq!(ok("{{ .application.namespace }}"), json!("team-a"));
    assert_eq!(ok("{{ .application.org }}"), json!("acme"));
    assert_eq!(ok("{{ .application.environment }}"), json!("prod"));
    assert_eq!(
        ok("{{ .blueprint.name }}@{{ .blueprint.version }}"),
        json!("bp-wordpress@1.3.0")
    );
    assert_eq!(ok("{{ .outputs.db.host }}"), json!("db.svc"));
    assert_eq!(ok("{{ .config.true }}"), json!("kw"));
    assert_eq!(ok("{{ (.config.postgres).size }}"), json!("medium"));
    // A path to a map keeps the map, in its order.
    assert_eq!(ok("{{ .config.map }}"), json!({"b": 2, "a": 1}));
    let root = ok("{{ . }}");
    assert_eq!(root, ctx().to_json());
    assert_eq!(ok("{{ $ }}"), root);
    assert_eq!(ok("{{ len . }}"), json!(4));
}

#[test]
fn literals() {
    assert_eq!(ok(r#"{{ "a\tb" }}"#), json!("a\tb"));
    assert_eq!(ok(r"{{ 'it\'s' }}"), json!("it's"));
    assert_eq!(ok("{{ `raw\\n` }}"), json!("raw\\n"));
    assert_eq!(ok("{{ `two\nlines` }}"), json!("two\nlines"));
    assert_eq!(ok("{{ 42 }}"), json!(42));
    assert_eq!(ok("{{ -3 }}"), json!(-3));
    assert_eq!(ok("{{ 0x1F }}"), json!(31));
    assert_eq!(ok("{{ 0o17 }}"), json!(15));
    assert_eq!(ok("{{ 017 }}"), json!(15));
    assert_eq!(ok("{{ 1_000 }}"), json!(1000));
    assert_eq!(ok("{{ 1.5 }}"), json!(1.5));
    assert_eq!(ok("{{ 2e3 }}"), json!(2000.0));
    assert_eq!(ok("{{ 18446744073709551615 }}"), json!(u64::MAX));
    assert_eq!(ok("{{ -9223372036854775808 }}"), json!(i64::MIN));
    assert_eq!(ok("{{ true }}"), json!(true));
    assert_eq!(ok("{{ false }}"), json!(false));
    assert_eq!(ok("{{ nil }}"), json!(null));
}

#[test]
fn equality() {
    assert_eq!(ok(r#"{{ eq .config.mode "embedded" }}"#), json!(true));
    assert_eq!(ok(r#"{{ .config.mode == "external" }}"#), json!(false));
    assert_eq!(ok("{{ eq .config.replicas 3 }}"), json!(true));
    assert_eq!(ok("{{ eq .config.replicas 3.0 }}"), json!(true));
    // Different types are unequal.
    assert_eq!(ok(r#"{{ eq .config.replicas "3" }}"#), json!(false));
    assert_eq!(ok("{{ eq .config.none nil }}"), json!(true));
    assert_eq!(
        ok(r#"{{ eq .config.mode "a" "b" "embedded" }}"#),
        json!(true)
    );
    assert_eq!(ok(r#"{{ eq .config.mode "a" "b" }}"#), json!(false));
    assert_eq!(ok(r#"{{ ne .config.mode "y" }}"#), json!(true));
    assert_eq!(ok(r#"{{ .config.mode != "embedded" }}"#), json!(false));
    assert_eq!(ok("{{ eq .config.map .config.map }}"), json!(true));
}

#[test]
fn ordering() {
    assert_eq!(ok("{{ .config.replicas > 2 }}"), json!(true));
    assert_eq!(ok("{{ gt .config.replicas 3 }}"), json!(false));
    assert_eq!(ok("{{ .config.replicas >= 3 }}"), json!(true));
    assert_eq!(ok("{{ ge .config.replicas 4 }}"), json!(false));
    assert_eq!(ok("{{ .config.ratio < 1 }}"), json!(true));
    assert_eq!(ok("{{ lt .config.ratio 0.5 }}"), json!(false));
    assert_eq!(ok("{{ .config.ratio <= 0.5 }}"), json!(true));
    assert_eq!(ok("{{ le .config.replicas -1 }}"), json!(false));
    assert_eq!(ok(r#"{{ lt "apple" "banana" }}"#), json!(true));
    let e = err(r#"{{ .config.replicas > "2" }}"#);
    assert_eq!(e.kind(), RenderErrorKind::Evaluation);
    assert!(
        e.message().contains("compares two numbers or two strings"),
        "{e}"
    );
    let e = err("{{ lt true false }}");
    assert!(
        e.message()
            .contains("got the bool `true` and the bool `false`"),
        "{e}"
    );
}

#[test]
fn logic() {
    assert_eq!(
        ok("{{ and .config.enabled (not .config.external) }}"),
        json!(true)
    );
    assert_eq!(
        ok("{{ .config.enabled && !.config.external }}"),
        json!(true)
    );
    assert_eq!(ok("{{ or .config.external .config.enabled }}"), json!(true));
    assert_eq!(ok("{{ .config.external || .config.zero }}"), json!(0));
    // Go semantics: the first false operand, or the last one.
    assert_eq!(
        ok("{{ and .config.replicas .config.empty .config.mode }}"),
        json!("")
    );
    assert_eq!(
        ok("{{ and .config.replicas .config.mode }}"),
        json!("embedded")
    );
    assert_eq!(
        ok("{{ or .config.empty .config.zero .config.mode }}"),
        json!("embedded")
    );
    assert_eq!(ok("{{ or .config.empty .config.zero }}"), json!(0));
    assert_eq!(ok("{{ and .config.mode }}"), json!("embedded"));
    // Short-circuit: the missing path is never evaluated.
    assert_eq!(
        ok("{{ and .config.external .config.missing }}"),
        json!(false)
    );
    assert_eq!(ok("{{ or .config.enabled .config.missing }}"), json!(true));
    assert_eq!(
        ok("{{ .config.external && .config.missing.deep }}"),
        json!(false)
    );
    // Long chains are fine.
    let chain = vec![".config.enabled"; 200].join(" && ");
    assert_eq!(ok(&format!("{{{{ {chain} }}}}")), json!(true));
    let args = vec![".config.zero"; 200].join(" ");
    assert_eq!(
        ok(&format!("{{{{ or {args} .config.mode }}}}")),
        json!("embedded")
    );
    assert_eq!(ok("{{ not .config.external }}"), json!(true));
    assert_eq!(ok("{{ not .config.list }}"), json!(false));
    assert_eq!(ok("{{ !.config.nolist }}"), json!(true));
    assert_eq!(ok("{{ !!.config.replicas }}"), json!(true));
    // Precedence.
    assert_eq!(
        ok(r#"{{ eq .config.mode "x" && not .config.enabled }}"#),
        json!(false)
    );
    assert_eq!(ok(r#"{{ eq .config.mode "x" | not }}"#), json!(true));
    assert_eq!(
        ok("{{ .config.external || .config.enabled && .config.replicas > 2 }}"),
        json!(true)
    );
    assert_eq!(
        ok("{{ (.config.external || .config.enabled) && .config.replicas > 5 }}"),
        json!(false)
    );
}

#[test]
fn default_and_empty() {
    assert_eq!(
        ok(r#"{{ .config.size | default "small" }}"#),
        json!("small")
    );
    assert_eq!(ok(r#"{{ default "small" .config.size }}"#), json!("small"));
    assert_eq!(
        ok(r#"{{ .config.mode | default "small" }}"#),
        json!("embedded")
    );
    // Go's `default` treats empty values as unset.
    for empty in ["empty", "zero", "none", "external", "nolist", "nomap"] {
        assert_eq!(
            ok(&format!("{{{{ .config.{empty} | default 7 }}}}")),
            json!(7),
            "{empty}"
        );
    }
    assert_eq!(
        ok("{{ .outputs.cache | default .outputs.db }}").get("port"),
        Some(&json!(5432))
    );
    assert_eq!(ok("{{ empty .config.missing }}"), json!(true));
    assert_eq!(ok("{{ empty .config.zero }}"), json!(true));
    assert_eq!(ok("{{ empty .config.mode }}"), json!(false));
    // Only the last key may be missing.
    let e = err(r#"{{ .config.missing.deeper | default "x" }}"#);
    assert_eq!(e.kind(), RenderErrorKind::Undefined);
    assert!(
        e.message().starts_with("`.config.missing` is not defined"),
        "{e}"
    );
    // The fallback itself must exist.
    assert_eq!(
        err(r#"{{ default .config.nope "x" }}"#).kind(),
        RenderErrorKind::Undefined
    );
    assert_eq!(
        ok(r#"{{ (.config.size | default "small") == "small" }}"#),
        json!(true)
    );
}

#[test]
fn has_key() {
    assert_eq!(ok(r#"{{ hasKey .config "mode" }}"#), json!(true));
    assert_eq!(ok(r#"{{ hasKey .config "size" }}"#), json!(false));
    assert_eq!(
        ok(r#"{{ and (hasKey .config "size") .config.size.x }}"#),
        json!(false)
    );
    assert!(
        err(r#"{{ hasKey .config.list "a" }}"#)
            .message()
            .contains("needs a map")
    );
    assert!(
        err("{{ hasKey .config 1 }}")
            .message()
            .contains("string key")
    );
}

#[test]
fn index() {
    assert_eq!(ok(r#"{{ index .outputs.db "host" }}"#), json!("db.svc"));
    assert_eq!(ok(r#"{{ index .outputs "my-db" "host" }}"#), json!("x"));
    assert_eq!(ok(r#"{{ index .config "my-key" }}"#), json!("dash"));
    assert_eq!(ok("{{ index .config.list 1 }}"), json!("b"));
    assert_eq!(ok("{{ index .config.list -1 }}"), json!("c"));
    assert_eq!(ok(r#"{{ index .outputs.db "hosts" 1 }}"#), json!("h1"));
    assert_eq!(ok("{{ index .config.list }}"), json!(["a", "b", "c"]));
    assert_eq!(ok(r#"{{ (index .outputs "my-db").host }}"#), json!("x"));
    let e = err(r#"{{ index .outputs.db "user" }}"#);
    assert_eq!(e.kind(), RenderErrorKind::Undefined);
    assert!(
        e.message().starts_with(r#"`index .outputs.db "user"` is not defined at column 4: `.outputs.db` has no key `user`"#),
        "{e}"
    );
    assert_eq!(
        e.help(),
        Some(
            r#"`.outputs.db` has `host`, `port`, `hosts`; to allow it to be missing write `index .outputs.db "user" | default …`"#
        )
    );
    let e = err("{{ index .config.list 7 }}");
    assert!(
        e.message()
            .contains("`.config.list` is a list of 3 elements"),
        "{e}"
    );
    assert_eq!(
        ok(r#"{{ index .outputs.db "user" | default "postgres" }}"#),
        json!("postgres")
    );
}

#[test]
fn printf() {
    assert_eq!(
        ok(r#"{{ printf "%s-db" .application.name }}"#),
        json!("blog-db")
    );
    assert_eq!(
        ok(r#"{{ printf "%d replicas" .config.replicas }}"#),
        json!("3 replicas")
    );
    assert_eq!(
        ok(r#"{{ printf "%v|%v|%v" .config.list .config.map .config.big }}"#),
        json!("[a b c]|map[a:1 b:2]|1e+06")
    );
    assert_eq!(
        ok(r#"{{ printf "%q" .config.quoted }}"#),
        json!(r#""say \"hi\"""#)
    );
    assert_eq!(ok(r#"{{ printf "100%%" }}"#), json!("100%"));
    assert!(
        err(r#"{{ printf "%d" .config.mode }}"#)
            .message()
            .contains("needs an integer")
    );
    assert!(
        err(r#"{{ printf "%08.3f" .config.ratio }}"#)
            .message()
            .contains("`%08.3f`")
    );
}

#[test]
fn string_functions() {
    assert_eq!(ok("{{ len .config.list }}"), json!(3));
    assert_eq!(ok("{{ len .config.map }}"), json!(2));
    assert_eq!(ok("{{ len .config.name }}"), json!(5));
    assert_eq!(ok(r#"{{ len "é" }}"#), json!(2));
    assert!(
        err("{{ len .config.replicas }}")
            .message()
            .contains("`len` needs a string, list or map")
    );
    assert_eq!(ok("{{ lower .config.name }}"), json!("mixed"));
    assert_eq!(ok("{{ upper .config.name }}"), json!("MIXED"));
    assert_eq!(ok("{{ .config.name | lower | upper }}"), json!("MIXED"));
    assert!(
        err("{{ lower .config.replicas }}")
            .message()
            .contains("convert it with `toString`")
    );
    assert_eq!(ok("{{ quote .config.quoted }}"), json!(r#""say \"hi\"""#));
    assert_eq!(
        ok("{{ quote .config.replicas .config.none .application.name }}"),
        json!(r#""3" "blog""#)
    );
    assert_eq!(ok("{{ toString .config.replicas }}"), json!("3"));
    assert_eq!(ok("{{ toString .config.list }}"), json!("[a b c]"));
    assert_eq!(
        ok("{{ .config.replicas | toString | quote }}"),
        json!("\"3\"")
    );
}

#[test]
fn pipelines_append_the_value_last() {
    assert_eq!(
        ok(r#"{{ .application.name | printf "%s-%s" "db" }}"#),
        json!("db-blog")
    );
    assert_eq!(ok(r#"{{ "host" | index .outputs.db }}"#), json!("db.svc"));
    let e = err(r#"{{ .config.size | default "small" == "small" }}"#);
    assert_eq!(e.kind(), RenderErrorKind::Syntax);
    assert!(e.message().contains("needs parentheses"), "{e}");
    assert!(
        e.help()
            .unwrap_or_default()
            .contains("(.config.size | default …) == …"),
        "{e:?}"
    );
}

#[test]
fn text_and_trim_markers() {
    assert_eq!(ok("db-{{ .application.name }}"), json!("db-blog"));
    assert_eq!(ok("{{ .config.replicas }} "), json!("3 "));
    assert_eq!(ok("a  {{- .config.replicas -}}  b"), json!("a3b"));
    assert_eq!(
        ok("{{ .config.ratio }}/{{ .config.none }}/{{ .config.enabled }}"),
        json!("0.5//true")
    );
    assert_eq!(ok("x{{/* a comment */}}y"), json!("xy"));
    assert_eq!(ok("plain text"), json!("plain text"));
    // Jinja syntax is plain text here: nothing is included.
    assert_eq!(
        ok("{% include 'secret' %}"),
        json!("{% include 'secret' %}")
    );
    assert_eq!(ok("}} alone"), json!("}} alone"));
}

// --- errors -------------------------------------------------------------------------------

#[test]
fn unsupported_actions_are_refused() {
    for (text, word) in [
        ("{{ if .config.enabled }}x{{ end }}", "if"),
        ("{{ range .config.list }}{{ . }}{{ end }}", "range"),
        ("{{ with .config.postgres }}{{ .mode }}{{ end }}", "with"),
        (r#"{{ define "x" }}y{{ end }}"#, "define"),
        (r#"{{ template "x" . }}"#, "template"),
        (r#"{{ block "x" . }}y{{ end }}"#, "block"),
        ("{{ else }}", "else"),
        ("{{ end }}", "end"),
    ] {
        let e = Template::parse(text).unwrap_err();
        assert_eq!(e.kind(), RenderErrorKind::Unsupported, "{text}");
        assert!(
            e.message()
                .starts_with(&format!("Go template action `{word}` is not supported")),
            "{text}: {e}"
        );
        assert!(e.message().contains("column 4"), "{e}");
        assert_eq!(e.span_in_template(), Some(Span::new(3, 3 + word.len())));
    }
    let e = Template::parse("{{ $x := .config.a }}").unwrap_err();
    assert!(
        e.message()
            .contains("variable declarations are not supported"),
        "{e}"
    );
    let e = Template::parse("{{ $x }}").unwrap_err();
    assert!(
        e.message().contains("variable `$x` is not supported"),
        "{e}"
    );
}

#[test]
fn unknown_functions_name_what_exists() {
    let e = Template::parse("name: {{ .config.x | toYaml }}").unwrap_err();
    assert_eq!(e.kind(), RenderErrorKind::Unsupported);
    assert_eq!(
        e.message(),
        "unknown function `toYaml`; supported functions are `and`, `default`, `empty`, `eq`, `ge`, `gt`, `hasKey`, `index`, `le`, `len`, `lower`, `lt`, `ne`, `not`, `or`, `printf`, `quote`, `toString`, `upper` at column 22"
    );
    assert_eq!(e.span_in_template(), Some(Span::new(21, 27)));
    for (text, hint) in [
        (r#"{{ include "x" . }}"#, "cannot include"),
        (r#"{{ env "HOME" }}"#, "cannot read the environment"),
        (r#"{{ tpl "x" . }}"#, "cannot include"),
    ] {
        let e = Template::parse(text).unwrap_err();
        assert!(e.help().unwrap_or_default().contains(hint), "{text}: {e:?}");
    }
}

#[test]
fn syntax_errors_point_at_the_column() {
    for (text, at, needle) in [
        ("{{ .config.a ", 0, "unclosed action"),
        ("{{ }}", 0, "empty action"),
        ("{{ (.config.a }}", 14, "expected `)`"),
        ("{{ .config.a) }}", 12, "unmatched `)`"),
        ("{{ 'x' * 1000000000 }}", 7, "arithmetic is not supported"),
        ("{{ .config.a + 1 }}", 13, "arithmetic is not supported"),
        ("{{ .config.list[0] }}", 15, "brackets"),
        ("{{ .config.a .config.b }}", 13, "which is not a function"),
        (
            "{{ eq .config.a }}",
            3,
            "`eq` takes at least 2 arguments, got 1",
        ),
        ("{{ not .a .b }}", 7, "unknown field `.a`"),
        ("{{ not }}", 3, "`not` takes 1 argument, got 0"),
        (
            "{{ .config.a | }}",
            15,
            "expected a function name after `|`",
        ),
        (
            "{{ eq .config.a lower }}",
            16,
            "must be wrapped in parentheses",
        ),
        ("{{ 1 < 2 < 3 }}", 9, "cannot be chained"),
        ("{{ .config.a = 1 }}", 13, "assignment"),
        (r#"{{ "abc }}"#, 3, "unterminated string"),
        (r#"{{ "\q" }}"#, 4, "bad escape"),
        ("{{ 08 }}", 3, "bad number"),
        ("{{ 3abc }}", 3, "bad number"),
        ("{{ .config..a }}", 10, "unexpected `..`"),
        ("{{ \"x\".a }}", 6, "a literal has no fields"),
        ("{{ # }}", 3, "unexpected character"),
        ("{{/* open }}", 2, "unclosed comment"),
        ("{{ , }}", 3, "unexpected `,`"),
    ] {
        let e = match Template::parse(text) {
            Ok(_) => panic!("{text}: expected an error"),
            Err(e) => e,
        };
        assert!(e.message().contains(needle), "{text}: {e}");
        assert_eq!(
            e.span_in_template().map(|s| s.start),
            Some(at),
            "{text}: {e}"
        );
        assert!(
            e.message().contains(&format!("column {}", at + 1)),
            "{text}: {e}"
        );
    }
}

#[test]
fn multi_line_templates_report_line_and_column() {
    let e = Template::parse("first {{ .config.a }}\nsecond {{ .nope }}").unwrap_err();
    assert!(e.message().contains("at line 2, column 11"), "{e}");
}

#[test]
fn helm_roots_get_hints() {
    let e = Template::parse("{{ .Values.postgres.mode }}").unwrap_err();
    assert_eq!(e.kind(), RenderErrorKind::Undefined);
    assert!(e.message().starts_with("unknown field `.Values`"), "{e}");
    assert!(e.help().unwrap_or_default().contains("`.config`"));
    let e = Template::parse("{{ .Release.Name }}").unwrap_err();
    assert!(e.help().unwrap_or_default().contains("`.application.name`"));
    let e = Template::parse("{{ .Config.x }}").unwrap_err();
    assert!(e.help().unwrap_or_default().contains("case-sensitive"));
    let e = Template::parse("{{ $.Chart.Name }}").unwrap_err();
    assert!(e.help().unwrap_or_default().contains("`.blueprint`"));
}

#[test]
fn undefined_paths_name_the_path() {
    let e = err("{{ .config.postgres.version == '16' }}");
    assert_eq!(e.kind(), RenderErrorKind::Undefined);
    assert_eq!(
        e.message(),
        "`.config.postgres.version` is not defined at column 4: `.config.postgres` has no key `version`"
    );
    assert_eq!(e.span_in_template(), Some(Span::new(3, 27)));
    assert_eq!(
        e.help(),
        Some(
            "`.config.postgres` has `mode`, `size`; to allow it to be missing write `.config.postgres.version | default …`"
        )
    );
    let e = err("{{ .config.nope.deeper }}");
    assert!(
        e.message().starts_with("`.config.nope` is not defined"),
        "{e}"
    );
    let e = err("{{ .config.replicas.count }}");
    assert!(
        e.message()
            .contains("`.config.replicas` is the number `3`, not a map"),
        "{e}"
    );
    let e = err("{{ .config.nomap.x }}");
    assert!(
        e.message().contains("`.config.nomap` is an empty map"),
        "{e}"
    );
    let e = err("{{ .config.none.x }}");
    assert!(e.message().contains("`.config.none` is nil"), "{e}");
    let e = err("x-{{ not .outputs.cache.host }}");
    assert!(
        e.message()
            .starts_with("`.outputs.cache` is not defined at column 10"),
        "{e}"
    );
    // In functions and operators too.
    for text in [
        "{{ lower .config.nope }}",
        "{{ eq .config.nope 1 2 }}",
        "{{ .config.nope > 1 }}",
        "{{ printf \"%s\" .config.nope }}",
        "{{ and .config.enabled .config.nope }}",
        "{{ or .config.zero .config.nope }}",
        "{{ .config.nope | quote }}",
        "{{ hasKey .config.nope \"x\" }}",
        "{{ index .config.nope \"x\" }}",
    ] {
        let e = err(text);
        assert_eq!(e.kind(), RenderErrorKind::Undefined, "{text}");
        assert!(
            e.message().starts_with("`.config.nope` is not defined"),
            "{text}: {e}"
        );
    }
}

// --- hostile templates --------------------------------------------------------------------

#[test]
fn deep_nesting_is_refused() {
    let deep = format!(
        "{{{{ {}.config.a{} }}}}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert_eq!(
        Template::parse(&deep).unwrap_err().kind(),
        RenderErrorKind::TooComplex
    );
    let bangs = format!("{{{{ {}.config.a }}}}", "!".repeat(100_000));
    assert_eq!(
        Template::parse(&bangs).unwrap_err().kind(),
        RenderErrorKind::TooComplex
    );
    let pipes = format!("{{{{ .config.name{} }}}}", " | lower".repeat(1000));
    assert_eq!(
        Template::parse(&pipes).unwrap_err().kind(),
        RenderErrorKind::TooComplex
    );
    let fields = format!("{{{{ .config{} }}}}", ".a".repeat(1000));
    assert_eq!(
        Template::parse(&fields).unwrap_err().kind(),
        RenderErrorKind::TooComplex
    );
    let nots = format!(
        "{{{{ {}.config.a{} }}}}",
        "not (".repeat(1000),
        ")".repeat(1000)
    );
    assert_eq!(
        Template::parse(&nots).unwrap_err().kind(),
        RenderErrorKind::TooComplex
    );
    // Just inside the limit still works.
    let ok_deep = format!(
        "{{{{ {}.config.enabled{} }}}}",
        "(".repeat(syntax::MAX_DEPTH - 2),
        ")".repeat(syntax::MAX_DEPTH - 2)
    );
    assert_eq!(ok(&ok_deep), json!(true));
    let ok_nots = format!(
        "{{{{ {}.config.enabled }}}}",
        "!".repeat(syntax::MAX_DEPTH - 4)
    );
    assert_eq!(ok(&ok_nots), json!(true));
}

#[test]
fn huge_repetition_is_bounded() {
    let many = "{{ .application.name }}".repeat(10_000);
    assert_eq!(
        Template::parse(&many).unwrap_err().kind(),
        RenderErrorKind::TooComplex
    );
    let wide = format!("{{{{ and {} }}}}", ".config.enabled ".repeat(5000));
    assert_eq!(
        Template::parse(&wide).unwrap_err().kind(),
        RenderErrorKind::TooComplex
    );
    let long = "x".repeat(syntax::MAX_TEMPLATE_BYTES + 1);
    assert_eq!(
        Template::parse(&long).unwrap_err().kind(),
        RenderErrorKind::TooComplex
    );
}

#[test]
fn string_blow_up_is_bounded() {
    let mut c = ctx();
    c.config = json!({"big": "x".repeat(40 * 1024)});
    let r = Renderer::new();
    let t = Template::parse(r#"{{ printf "%s%s" .config.big .config.big }}"#).unwrap();
    let e = r.render(&t, &c).unwrap_err();
    assert_eq!(e.kind(), RenderErrorKind::OutputTooLarge);
    assert!(e.message().contains("longer than 65536 bytes"), "{e}");
    assert_eq!(e.span_in_template(), Some(Span::new(3, 40)));
    // Text around actions counts too.
    let t = Template::parse("{{ .config.big }}{{ .config.big }}").unwrap();
    assert_eq!(
        r.render(&t, &c).unwrap_err().kind(),
        RenderErrorKind::OutputTooLarge
    );
    let t = Template::parse("{{ .config.big | quote | quote }}").unwrap();
    assert_eq!(
        r.render(&t, &c).map(|v| v.as_str().map(str::len)).ok(),
        Some(Some(40 * 1024 + 6))
    );
    // A single value longer than the limit is refused too.
    let small = Renderer::with_limits(Limits {
        max_output_bytes: 100,
        ..Limits::default()
    });
    let t = Template::parse("{{ .config.big }}").unwrap();
    assert_eq!(
        small.render(&t, &c).unwrap_err().kind(),
        RenderErrorKind::OutputTooLarge
    );
    let t = Template::parse("{{ toString .config }}").unwrap();
    assert_eq!(
        small.render(&t, &c).unwrap_err().kind(),
        RenderErrorKind::OutputTooLarge
    );
}

#[test]
fn fuel_runs_out() {
    let r = Renderer::with_limits(Limits {
        fuel: 20,
        ..Limits::default()
    });
    let t = Template::parse(&vec!["{{ .config.replicas > 1 }}"; 30].join(" ")).unwrap();
    let e = r.render(&t, &ctx()).unwrap_err();
    assert_eq!(e.kind(), RenderErrorKind::FuelExhausted);
    assert_eq!(e.message(), "template used more than 20 steps; simplify it");
    // Building long strings costs fuel as well: 100 strings of 40 KiB pass 50 000 steps.
    let mut c = ctx();
    c.config = json!({"big": "x".repeat(40 * 1024)});
    let t = Template::parse(&format!(
        "{{{{ or {} }}}}",
        "(eq (toString .config.big) \"\") ".repeat(100)
    ))
    .unwrap();
    let e = Renderer::new().render(&t, &c).unwrap_err();
    assert_eq!(e.kind(), RenderErrorKind::FuelExhausted);
    // The default budget is ample for real templates.
    let text = ok(&vec!["{{ .config.replicas > 1 }}"; 30].join(" "));
    assert_eq!(text, json!(vec!["true"; 30].join(" ")));
}

#[test]
fn sandbox_has_no_loader_globals_or_environment() {
    let r = Renderer::new();
    for source in [
        "{% include 'x' %}",
        "{% import 'x' as y %}",
        "{% extends 'x' %}",
        "{% from 'x' import y %}",
    ] {
        // Without minijinja's `multi_template` feature these are not even syntax; with it,
        // there would be no loader to find the template.
        let e = r.env.render_str(source, ()).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                minijinja::ErrorKind::SyntaxError | minijinja::ErrorKind::TemplateNotFound
            ),
            "{source}: {e}"
        );
    }
    // The only globals are the documented functions.
    let mut globals: Vec<&str> = r.env.globals().map(|(name, _)| name).collect();
    globals.sort_unstable();
    let mut documented: Vec<&str> = syntax::FUNCS
        .iter()
        .map(|f| f.name())
        .filter(|n| !matches!(*n, "and" | "or" | "not" | "ne" | "index"))
        .collect();
    documented.sort_unstable();
    assert_eq!(globals, documented);
    assert!(r.env.get_template("x").is_err());
    for expr in [
        "range(3)",
        "namespace()",
        "debug()",
        "env('HOME')",
        "'x' | upper",
        "cycler(1)",
    ] {
        let result = r.env.compile_expression(expr).and_then(|e| e.eval(()));
        assert!(result.is_err(), "{expr}");
    }
    // The only callables are the documented functions.
    let t = Template::parse(r#"{{ printf "%v" . }}"#).unwrap();
    let text = r.render(&t, &ctx()).unwrap();
    assert!(text.as_str().is_some_and(|s| !s.contains("HOME")));
}

// --- conditions -----------------------------------------------------------------------------

#[test]
fn conditions_follow_go_truthiness() {
    assert_eq!(cond("{{ .config.enabled }}").ok(), Some(true));
    assert_eq!(cond("{{ .config.external }}").ok(), Some(false));
    assert_eq!(cond("{{ .config.replicas }}").ok(), Some(true));
    assert_eq!(cond("{{ .config.zero }}").ok(), Some(false));
    assert_eq!(cond("{{ .config.empty }}").ok(), Some(false));
    assert_eq!(cond("{{ .config.none }}").ok(), Some(false));
    assert_eq!(cond("{{ .config.list }}").ok(), Some(true));
    assert_eq!(cond("{{ .config.nolist }}").ok(), Some(false));
    assert_eq!(cond("{{ .config.nomap }}").ok(), Some(false));
    assert_eq!(cond("{{ .config.word }}").ok(), Some(true));
    // A string reading `false` is false: the whole text renders to `false`.
    assert_eq!(cond("{{ .config.flag }}").ok(), Some(false));
    assert_eq!(cond("  {{ .config.flag }}\n").ok(), Some(false));
    assert_eq!(cond(r#"{{ "TRUE" }}"#).ok(), Some(true));
    assert_eq!(cond(r#"{{ " False " }}"#).ok(), Some(false));
    // Text around actions: the rendered text must be a boolean word.
    assert_eq!(
        cond("{{ .config.enabled }}{{ .config.empty }}").ok(),
        Some(true)
    );
    assert_eq!(cond("true").ok(), Some(true));
    assert_eq!(cond(" false ").ok(), Some(false));
    assert_eq!(cond("").ok(), Some(false));
    let e = cond("enabled-{{ .config.replicas }}").unwrap_err();
    assert_eq!(e.kind(), RenderErrorKind::NotABoolean);
    assert_eq!(
        e.message(),
        "condition rendered to `enabled-3`, which is neither `true` nor `false`"
    );
    assert_eq!(
        cond("yes").unwrap_err().kind(),
        RenderErrorKind::NotABoolean
    );
    assert_eq!(
        cond("{{ .config.nope }}").unwrap_err().kind(),
        RenderErrorKind::Undefined
    );
}

// --- values trees -------------------------------------------------------------------------

#[test]
fn values_keep_types_and_render_keys() {
    let r = Renderer::new();
    let values = json!({
        "replicas": "{{ .config.replicas }}",
        "ratio": "{{ .config.ratio }}",
        "enabled": "{{ .config.enabled }}",
        "list": "{{ .config.list }}",
        "nothing": "{{ .config.none }}",
        "label": "{{ .config.replicas }} replicas",
        "spaced": " {{ .config.replicas }}",
        "{{ .application.name }}-key": "{{ printf \"%s.%s\" .application.name .application.namespace }}",
        "{{ .config.replicas }}": "n",
        "nested": [{"deep": ["{{ .outputs.db.port }}", 1, null, true]}],
        "untouched": "no braces } here",
    });
    let out = r.render_value(&values, &ctx()).unwrap();
    assert_eq!(
        out,
        json!({
            "replicas": 3,
            "ratio": 0.5,
            "enabled": true,
            "list": ["a", "b", "c"],
            "nothing": null,
            "label": "3 replicas",
            "spaced": " 3",
            "blog-key": "blog.team-a",
            "3": "n",
            "nested": [{"deep": [5432, 1, null, true]}],
            "untouched": "no braces } here",
        })
    );
    // Keys keep their order.
    let keys: Vec<_> = out
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(keys[..3], ["replicas", "ratio", "enabled"]);
}

#[test]
fn values_errors_carry_the_pointer() {
    let r = Renderer::new();
    let values = json!({"a": {"b/c": ["ok", "{{ .config.nope }}"]}});
    let e = r.render_value(&values, &ctx()).unwrap_err();
    assert_eq!(e.pointer(), Some("/a/b~1c/1"));
    assert!(
        e.to_string()
            .starts_with("in values at `/a/b~1c/1`: `.config.nope` is not defined"),
        "{e}"
    );
    assert_eq!(e.span_in_template(), Some(Span::new(3, 15)));

    let values = json!({"x": {"{{ if .config.a }}": 1}});
    let e = r.render_value(&values, &ctx()).unwrap_err();
    assert_eq!(e.pointer(), Some("/x/{{ if .config.a }}"));
    assert_eq!(e.kind(), RenderErrorKind::Unsupported);

    let values = json!({"blog": 1, "{{ .application.name }}": 2});
    let e = r.render_value(&values, &ctx()).unwrap_err();
    assert_eq!(e.kind(), RenderErrorKind::DuplicateKey);
    assert_eq!(e.pointer(), Some("/{{ .application.name }}"));

    let mut deep = json!("{{ .application.name }}");
    for _ in 0..200 {
        deep = json!([deep]);
    }
    assert_eq!(
        r.render_value(&deep, &ctx()).unwrap_err().kind(),
        RenderErrorKind::TooDeep
    );
}

#[test]
fn deep_context_is_refused() {
    let mut c = ctx();
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!({ "a": deep });
    }
    c.config = deep;
    let e = Renderer::new()
        .render(&Template::parse("{{ .application.name }}").unwrap(), &c)
        .unwrap_err();
    assert_eq!(e.kind(), RenderErrorKind::TooDeep);
}

#[test]
fn template_accessors() {
    let t = Template::parse("{{ .config.a }}").unwrap();
    assert!(t.is_single_expression());
    assert!(!t.is_literal());
    assert_eq!(t.text(), "{{ .config.a }}");
    assert_eq!(t.translated(), "config.a");
    let t = Template::parse(" {{ .config.a }}").unwrap();
    assert!(!t.is_single_expression());
    let t = Template::parse("{{- /* c */ -}} x").unwrap();
    assert!(t.is_literal());
    assert_eq!(Renderer::new().render(&t, &ctx()).unwrap(), json!("x"));
}

#[test]
fn errors_are_diagnostics() {
    use miette::Diagnostic;
    let e = Template::parse("{{ .config.a | toYaml }}").unwrap_err();
    assert_eq!(
        e.code().map(|c| c.to_string()),
        Some("bpkit::render::unsupported".to_string())
    );
    assert!(e.source_code().is_some());
    let labels: Vec<_> = e.labels().map(Iterator::collect).unwrap_or_default();
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].offset(), 15);
    assert!(e.help().is_some());
}

// --- properties -----------------------------------------------------------------------------

/// Tokens of the expression language, and a few whole expressions.
fn token() -> impl Strategy<Value = String> {
    let words = [
        ".config.replicas",
        ".config.list",
        ".config.map",
        ".config.map.a",
        ".config.nope",
        ".config.name",
        ".config.enabled",
        ".config.none",
        ".application.name",
        ".outputs.db",
        ".a",
        "$",
        "$.config",
        ".",
        "(",
        ")",
        "|",
        "!",
        "==",
        "!=",
        "<",
        ">=",
        "&&",
        "||",
        "\"s\"",
        "'x'",
        "`r`",
        "\"%s-%d\"",
        "3",
        "-1",
        "1.5",
        "nil",
        "true",
        "(eq .config.replicas 3)",
        "(index .outputs.db \"host\")",
        "(.config.name | lower)",
    ];
    prop_oneof![
        4 => prop::sample::select(words.to_vec()).prop_map(str::to_string),
        2 => prop::sample::select(syntax::FUNCS.iter().map(|f| f.name().to_string()).collect::<Vec<_>>()),
        1 => "[ -~]{0,2}",
    ]
}

/// Expressions built by the grammar, often well-formed, with any function and arity.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        ".config.replicas",
        ".config.list",
        ".config.map",
        ".config.map.a",
        ".config.nope",
        ".config.name",
        ".config.enabled",
        ".config.none",
        ".config.ratio",
        ".application.name",
        ".outputs.db",
        "$.config.empty",
        ".",
        "\"s\"",
        "'%s-%v'",
        "`r`",
        "3",
        "-1",
        "1.5",
        "nil",
        "true",
    ])
    .prop_map(str::to_string);
    let funcs: Vec<String> = syntax::FUNCS.iter().map(|f| f.name().to_string()).collect();
    let ops = vec!["==", "!=", "<", "<=", ">", ">=", "&&", "||"];
    leaf.prop_recursive(4, 24, 3, move |inner| {
        prop_oneof![
            (
                prop::sample::select(funcs.clone()),
                prop::collection::vec(inner.clone(), 1..4)
            )
                .prop_map(|(f, args)| format!("({f} {})", args.join(" "))),
            (
                inner.clone(),
                prop::sample::select(ops.clone()),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            (inner, prop::sample::select(funcs.clone())).prop_map(|(a, f)| format!("({a} | {f})")),
        ]
    })
}

/// Strings that look like templates: text, actions, and stray delimiters.
fn template_text() -> impl Strategy<Value = String> {
    let soup =
        prop::collection::vec(token(), 1..7).prop_map(|t| format!("{{{{ {} }}}}", t.join(" ")));
    let action = expression().prop_map(|e| format!("{{{{ {e} }}}}"));
    let piece = prop_oneof![
        4 => action,
        2 => soup,
        2 => "[a-z -]{0,4}",
        1 => prop::sample::select(vec!["{{", "}}", "{{- ", " -}}", "{{/* c */}}", "/*"]).prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(text in "\\PC*") {
        let _ = Template::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_braces(text in "[{}a-z .$|()!=<>&\"'`\\\\-]{0,40}") {
        let _ = Template::parse(&text);
    }

    /// Whatever parses translates to an expression minijinja compiles, and rendering it
    /// either succeeds or fails with an error, never a panic.
    #[test]
    fn parsed_templates_compile_and_render(text in template_text()) {
        if let Ok(t) = Template::parse(&text) {
            let r = Renderer::new();
            if !t.translated().is_empty() {
                prop_assert!(
                    r.env.compile_expression_owned(t.translated().to_string()).is_ok(),
                    "{} -> {}", text, t.translated()
                );
            }
            let result = r.render(&t, &ctx());
            if let Err(e) = &result {
                // Errors found at run time point into the template.
                if let Some(span) = e.span_in_template() {
                    prop_assert!(span.end <= text.len());
                }
                prop_assert!(!e.message().is_empty());
            }
            let _ = r.eval_condition(&t, &ctx());
        }
    }

    /// Rendering a string literal gives the string back.
    #[test]
    fn string_literals_round_trip(s in "[^`]{0,30}") {
        let t = Template::parse(&format!("{{{{ `{s}` }}}}")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(Renderer::new().render(&t, &ctx()).ok(), Some(json!(s)));
    }

    /// `printf "%s"` and `toString` agree, and `quote` wraps the same text.
    #[test]
    fn format_functions_agree(s in "[ -~]{0,20}") {
        let mut c = ctx();
        c.config = json!({"s": s});
        let r = Renderer::new();
        let a = r.render(&Template::parse(r#"{{ printf "%s" .config.s }}"#).map_err(|e| TestCaseError::fail(e.to_string()))?, &c);
        let b = r.render(&Template::parse("{{ toString .config.s }}").map_err(|e| TestCaseError::fail(e.to_string()))?, &c);
        prop_assert_eq!(a.ok(), b.ok());
    }
}
