//! Every lint rule finds its planted violation in `testdata/lint/<rule>/`, at the expected
//! file, line and column, and nothing else; `testdata/lint/clean` gives no finding.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bpkit::lint::{LintOptions, Target, lint};
use bpkit::model::LoadOptions;
use bpkit::validate::blueprint::check_file;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/lint")
}

/// `(rule, file relative to the case, line, column)` for every finding of a case folder.
fn run_case(dir: &Path) -> Vec<(String, String, String, String)> {
    let (files, errs) = bpkit::catalog::discover(&[dir.to_path_buf()]);
    assert!(errs.is_empty());
    let checked: Vec<_> = files
        .iter()
        .map(|f| check_file(f, &LoadOptions::default()))
        .collect();
    let catalog: BTreeSet<String> = checked
        .iter()
        .filter_map(|c| c.blueprint().map(|b| b.name().to_string()))
        .collect();
    let mut out = Vec::new();
    for c in &checked {
        assert!(
            c.findings().is_empty(),
            "{}: {:?}",
            dir.display(),
            c.findings()
        );
        let bp = c.blueprint().expect("loads");
        for f in lint(
            &Target {
                blueprint: bp,
                checked: c,
                dir: &c.dir,
                catalog: &catalog,
            },
            &LintOptions::default(),
        ) {
            let file = f.file_name().unwrap_or("?").to_string();
            let rel = Path::new(&file)
                .strip_prefix(dir)
                .map_or(file.clone(), |p| p.display().to_string());
            let (l, col) = f.position().map_or(("-".into(), "-".into()), |p| {
                (p.line.to_string(), p.column.to_string())
            });
            out.push((f.rule.to_string(), rel, l, col));
        }
    }
    out.sort();
    out
}

#[test]
fn every_rule_finds_its_planted_violation() {
    let mut cases = 0;
    for rule in bpkit::lint::RULES.iter().map(|r| r.id).chain(["clean"]) {
        let dir = testdata().join(rule);
        let expect = std::fs::read_to_string(dir.join("expect.txt"))
            .unwrap_or_else(|e| panic!("{rule}: {e}"));
        let mut want: Vec<(String, String, String, String)> = expect
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[0].into(), f[1].into(), f[2].into(), f[3].into())
            })
            .collect();
        want.sort();
        assert_eq!(run_case(&dir), want, "case {rule}");
        cases += 1;
    }
    assert_eq!(cases, bpkit::lint::RULES.len() + 1);
}

#[test]
fn severity_overrides_apply() {
    let dir = testdata().join("hardcoded-host");
    let (files, _) = bpkit::catalog::discover(&[dir]);
    let c = check_file(&files[0], &LoadOptions::default());
    let bp = c.blueprint().expect("loads");
    let catalog: BTreeSet<String> = [bp.name().to_string()].into();
    let t = Target {
        blueprint: bp,
        checked: &c,
        dir: &c.dir,
        catalog: &catalog,
    };
    let mut opts = LintOptions::default();
    opts.set("hardcoded-host=error").expect("valid");
    let f = lint(&t, &opts);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, bpkit::diag::Severity::Error);
    opts.set("hardcoded-host=off").expect("valid");
    assert!(lint(&t, &opts).is_empty());
    assert!(
        opts.set("no-such-rule=off")
            .unwrap_err()
            .contains("unknown lint rule")
    );
    assert!(
        opts.set("hardcoded-host=loud")
            .unwrap_err()
            .contains("unknown level")
    );
}

#[test]
fn every_rule_has_an_explanation() {
    for r in bpkit::lint::RULES {
        assert!(
            r.explain.contains("Fix") || r.explain.contains("fix"),
            "{}",
            r.id
        );
        assert!(r.explain.len() > 150, "{}", r.id);
    }
}
