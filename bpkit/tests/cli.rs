//! The `bpkit` binary end to end: exit codes, output modes, and the commands of the foundation.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bpkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bpkit"));
    c.env_remove("NO_COLOR");
    c
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus() -> Option<PathBuf> {
    let p = repo().join("../shared/corpus/openova/platform");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED: ../shared is absent");
        None
    }
}

fn run(c: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn validate_corpus_exits_zero_and_lists_deviations_as_json() {
    let Some(corpus) = corpus() else { return };
    let (code, out, err) = run(bpkit()
        .arg("validate")
        .arg(&corpus)
        .args(["--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["summary"]["blueprints"], 32);
    assert_eq!(v["summary"]["errors"], 0);
    let findings = v["findings"].as_array().expect("findings");
    assert!(findings.len() > 32);
    for f in findings {
        assert_eq!(f["severity"], "warning");
        for k in ["file", "line", "column", "rule", "message"] {
            assert!(!f[k].is_null(), "{k} missing in {f}");
        }
    }
    // One known deviation, exactly placed: harbor uses apiVersion v1 on line 1.
    assert!(findings.iter().any(|f| {
        f["rule"] == "canonical-api-version"
            && f["file"]
                .as_str()
                .is_some_and(|s| s.ends_with("harbor/blueprint.yaml"))
            && f["line"] == 1
            && f["column"] == 13
    }));
}

#[test]
fn validate_human_output_points_at_the_line() {
    let f = repo().join("testdata/invalid/yaml-duplicate-key.yaml");
    let (code, _out, err) = run(bpkit().arg("validate").arg(&f).args(["--color", "never"]));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "yaml-duplicate-key.yaml:10:3: error[yaml-duplicate-key]: duplicate key `visibility`"
        ),
        "{err}"
    );
    assert!(err.contains("(first defined at 9:3)"), "{err}");
    assert!(!err.contains('\x1b'), "no colors when asked");
}

#[test]
fn invalid_corpus_fails_without_panicking() {
    let (code, _out, err) = run(bpkit().arg("validate").arg(repo().join("testdata/invalid")));
    // The folder holds loose files, not blueprint.yaml folders: name them.
    assert_eq!(code, 2, "{err}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("testdata/invalid"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let (code, _out, err) = run(bpkit().arg("validate").args(&files));
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(&format!("validated {} Blueprints", files.len())),
        "{err}"
    );
}

#[test]
fn exit_codes() {
    let (code, _, err) = run(bpkit().args(["validate", "--no-such-flag"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(bpkit().args(["validate", "/no/such/path"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read `/no/such/path`"), "{err}");
    let (code, _, _) = run(bpkit().args(["lint", "--explain", "no-such-rule"]));
    assert_eq!(code, 2);
    let (code, out, _) = run(bpkit().arg("--version"));
    assert_eq!(code, 0);
    assert!(out.starts_with("bpkit "));
}

#[test]
fn github_format_writes_workflow_commands() {
    let Some(corpus) = corpus() else { return };
    let (code, _out, err) = run(bpkit()
        .arg("validate")
        .arg(corpus.join("harbor"))
        .args(["--format", "github"]));
    assert_eq!(code, 0);
    let first = err.lines().next().expect("a line");
    assert!(first.starts_with("::warning file="), "{first}");
    assert!(
        first.contains(",line=1,col=13,title=canonical-api-version::"),
        "{first}"
    );
}

#[test]
fn colors_only_when_asked_and_never_with_no_color() {
    let f = repo().join("testdata/invalid/yaml-duplicate-key.yaml");
    let (_, _, err) = run(bpkit().arg("validate").arg(&f).args(["--color", "always"]));
    assert!(err.contains('\x1b'));
    let (_, _, err) = run(bpkit().arg("validate").arg(&f).env("NO_COLOR", "1"));
    assert!(!err.contains('\x1b'));
}

#[test]
fn schema_is_printed_and_is_json_schema_2020_12() {
    let (code, out, _) = run(bpkit().arg("schema"));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let on_disk: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schema/blueprint.schema.json")).expect("file"),
    )
    .expect("json");
    assert_eq!(v, on_disk);
}

#[test]
fn completions_and_man_pages() {
    let (code, out, _) = run(bpkit().args(["completions", "bash"]));
    assert_eq!(code, 0);
    assert!(out.contains("_bpkit()"), "bash completion function");
    let d = tempfile::tempdir().expect("tmp");
    let (code, _, err) = run(bpkit().arg("man").arg(d.path()));
    assert_eq!(code, 0, "{err}");
    assert!(d.path().join("bpkit.1").is_file());
    assert!(d.path().join("bpkit-validate.1").is_file());
}

#[test]
fn init_scaffolds_pass_validate_and_lint_deny_warnings() {
    let d = tempfile::tempdir().expect("tmp");
    for (name, extra) in [("demo", None), ("shop", Some("--kustomize"))] {
        let mut c = bpkit();
        c.current_dir(d.path()).args(["init", name]);
        if let Some(e) = extra {
            c.arg(e);
        }
        let (code, _, err) = run(&mut c);
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = run(bpkit()
        .current_dir(d.path())
        .args(["lint", "--deny", "warnings", "."]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("linted 2 Blueprints: 0 errors, 0 warnings"),
        "{err}"
    );
    // A second init into the same place is refused and changes nothing.
    let (code, _, err) = run(bpkit().current_dir(d.path()).args(["init", "demo"]));
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run(bpkit().current_dir(d.path()).args(["init", "Bad_Name"]));
    assert_eq!(code, 2);
    assert!(err.contains("not a valid Blueprint name"), "{err}");
}

#[test]
fn migrate_check_and_write() {
    let Some(corpus) = corpus() else { return };
    let d = tempfile::tempdir().expect("tmp");
    let f = d.path().join("blueprint.yaml");
    std::fs::copy(corpus.join("harbor/blueprint.yaml"), &f).expect("copy");
    let (code, _, _) = run(bpkit().args(["migrate", "--check"]).arg(&f));
    assert_eq!(code, 1);
    let (code, _, err) = run(bpkit().args(["migrate", "--write"]).arg(&f));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("apiVersion: catalyst.openova.io/v1 -> catalyst.openova.io/v1alpha1"),
        "{err}"
    );
    let (code, _, _) = run(bpkit().args(["migrate", "--check"]).arg(&f));
    assert_eq!(code, 0);
    let (_, out, _) = run(bpkit().arg("validate").arg(&f).args(["-o", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .expect("arr")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(
        !rules
            .iter()
            .any(|r| *r == "canonical-api-version" || *r == "canonical-version-location"),
        "{rules:?}"
    );
}

#[test]
fn lint_finds_planted_violations_and_explains_rules() {
    let (code, _, err) = run(bpkit()
        .arg("lint")
        .arg(repo().join("testdata/lint/hollow-chart"))
        .args(["--color", "never"]));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "error[hollow-chart]: dependency `upstream` 2.1.0 is not vendored under `charts/`"
        ),
        "{err}"
    );
    let (code, out, _) = run(bpkit().args(["lint", "--explain", "observability-default"]));
    assert_eq!(code, 0);
    assert!(out.contains("issue #182"), "{out}");
    let (code, _, _) = run(bpkit()
        .arg("lint")
        .arg(repo().join("testdata/lint/hardcoded-host")));
    assert_eq!(code, 0, "a warning alone passes");
    let (code, _, _) = run(bpkit()
        .arg("lint")
        .arg(repo().join("testdata/lint/hardcoded-host"))
        .args(["--deny", "warnings"]));
    assert_eq!(code, 1, "--deny warnings fails on it");
}

#[test]
fn validate_config_points_at_the_values_file_line() {
    let d = tempfile::tempdir().expect("tmp");
    let good = d.path().join("good.yaml");
    std::fs::write(
        &good,
        "domain: blog.example.org\nadminEmail: ops@example.org\n",
    )
    .expect("write");
    let bad = d.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "domain: blog.example.org\nadminEmail: ops@example.org\nreplicas: two\n",
    )
    .expect("write");
    let bp = repo().join("blueprints/wordpress");
    let (code, out, err) = run(bpkit()
        .arg("validate-config")
        .arg(&bp)
        .arg("--values")
        .arg(&good)
        .args(["--set", "replicas=3", "--print"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replicas: 3"), "{out}");
    let (code, _, err) = run(bpkit()
        .arg("validate-config")
        .arg(&bp)
        .arg("-f")
        .arg(&good)
        .arg("-f")
        .arg(&bad)
        .args(["--color", "never"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("bad.yaml:3:11: error[config]:"), "{err}");
    assert!(err.contains("keyword `type`"), "{err}");
    // A value from --set names the argument.
    let (code, _, err) = run(bpkit()
        .arg("validate-config")
        .arg(&bp)
        .arg("-f")
        .arg(&good)
        .args(["--set-string", "replicas=3"]));
    assert_eq!(code, 1);
    assert!(err.contains("--set-string replicas=3"), "{err}");
    // A missing required field with only defaults.
    let (code, _, err) = run(bpkit().arg("validate-config").arg(&bp));
    assert_eq!(code, 1);
    assert!(err.contains("domain"), "{err}");
    // Each file on its own, against a plain schema.
    let schema = d.path().join("schema.json");
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"replicas":{"type":"integer"}}}"#,
    )
    .expect("write");
    let (code, _, err) = run(bpkit()
        .arg("validate-config")
        .arg("--schema")
        .arg(&schema)
        .arg("--each")
        .arg(&good)
        .arg(&bad));
    assert_eq!(code, 1);
    assert!(
        err.contains("2 configs checked: 1 valid, 1 invalid"),
        "{err}"
    );
    // An unknown overlay is a usage error.
    let (code, _, err) = run(bpkit()
        .arg("validate-config")
        .arg(&bp)
        .args(["--overlay", "huge"]));
    assert_eq!(code, 2);
    assert!(err.contains("has no overlay `huge`"), "{err}");
}

#[test]
fn plan_graph_and_lock() {
    let d = tempfile::tempdir().expect("tmp");
    let cat = repo().join("blueprints");
    let base = |c: &mut Command| {
        c.current_dir(d.path()).arg("--catalog").arg(&cat).args([
            "--set",
            "domain=example.org",
            "--set",
            "adminEmail=ops@example.org",
        ]);
    };
    let mut c = bpkit();
    c.args(["plan", "bp-wordpress", "-o", "json"]);
    base(&mut c);
    let (code, out, err) = run(&mut c);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let apps = v["applications"].as_array().expect("apps");
    assert_eq!(
        apps.last().map(|a| a["name"].clone()),
        Some(serde_json::json!("wordpress"))
    );
    assert!(d.path().join("bpkit.lock").is_file());
    // --locked passes while nothing changed.
    let mut c = bpkit();
    c.args(["plan", "bp-wordpress", "--locked"]);
    base(&mut c);
    assert_eq!(run(&mut c).0, 0);
    // A lock pinned elsewhere makes --locked fail with the difference.
    let lock = std::fs::read_to_string(d.path().join("bpkit.lock")).expect("lock");
    std::fs::write(
        d.path().join("bpkit.lock"),
        lock.replace("version = \"1.6.1\"", "version = \"1.6.0\""),
    )
    .expect("write");
    let mut c = bpkit();
    c.args(["plan", "bp-wordpress", "--locked"]);
    base(&mut c);
    let (code, _, err) = run(&mut c);
    assert_eq!(code, 1);
    assert!(
        err.contains("would change from bp-postgres 1.6.0 to bp-postgres 1.6.1"),
        "{err}"
    );
    let mut c = bpkit();
    c.args(["update"]).arg("bp-wordpress");
    base(&mut c);
    assert_eq!(run(&mut c).0, 0);
    let mut c = bpkit();
    c.args(["graph", "bp-wordpress", "--format", "dot", "--no-lock"]);
    base(&mut c);
    let (code, out, _) = run(&mut c);
    assert_eq!(code, 0);
    assert!(out.starts_with("digraph plan {"), "{out}");
    // Unknown Blueprint: exit 1 with the name.
    let mut c = bpkit();
    c.args(["plan", "bp-nope", "--no-lock"]);
    base(&mut c);
    let (code, _, err) = run(&mut c);
    assert_eq!(code, 1);
    assert!(err.contains("`bp-nope` is not in the catalog"), "{err}");
}

#[test]
fn progress_bars_stay_off_a_pipe() {
    let tmp = tempfile::tempdir().expect("tmp");
    let layout = tmp.path().join("out");
    let bp = repo().join("blueprints/postgres");
    let target = format!("oci:{}", layout.display());
    let pulled = tmp.path().join("pulled");
    let published = format!("oci:{}", tmp.path().join("dist").display());
    let commands: Vec<Vec<String>> = vec![
        vec!["push".into(), bp.display().to_string(), target.clone()],
        vec![
            "pull".into(),
            format!("{target}:1.6.1"),
            "--dir".into(),
            pulled.display().to_string(),
        ],
        vec![
            "publish".into(),
            repo().join("blueprints/tls-issuer").display().to_string(),
            "--to".into(),
            published,
            "--no-sign".into(),
        ],
    ];
    for args in commands {
        let (code, _, err) = run(bpkit().args(&args).current_dir(tmp.path()));
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(
            !err.contains('\x1b') && !err.contains('\r'),
            "{args:?}: terminal codes on a pipe: {err:?}"
        );
    }
}
