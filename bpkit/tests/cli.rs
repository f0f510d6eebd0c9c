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
