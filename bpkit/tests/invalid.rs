//! `testdata/invalid/`: every broken Blueprint gets a clear error with its rule, position and
//! message, and never a panic. `EXPECT.tsv` lists what each file must produce.

use std::path::{Path, PathBuf};

use bpkit::diag::Severity;
use bpkit::model::LoadOptions;
use bpkit::validate::blueprint::check_file;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/invalid")
}

fn check_case(file: &Path, rule: &str, pos: &str, msg: &str) -> Result<(), String> {
    let c = check_file(file, &LoadOptions::default());
    let errors: Vec<_> = c
        .findings()
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        return Err(format!(
            "{}: no error at all: {:?}",
            file.display(),
            c.findings()
        ));
    }
    if c.blueprint().is_some() && !errors.iter().any(|f| f.rule == "manifest-source") {
        return Err(format!("{}: loaded despite errors", file.display()));
    }
    let hit = errors.iter().find(|f| {
        f.rule == rule
            && f.message.contains(msg)
            && (pos == "*" || f.position().map(|p| p.to_string()).as_deref() == Some(pos))
    });
    if hit.is_none() {
        return Err(format!(
            "{}: expected {rule} at {pos} containing {msg:?}; got:\n{}",
            file.display(),
            errors
                .iter()
                .map(|f| format!(
                    "  {} at {:?}: {}",
                    f.rule,
                    f.position().map(|p| p.to_string()),
                    f.message
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    // Every error names the file.
    for f in &errors {
        if f.file_name().is_none() {
            return Err(format!("{f:?} names no file"));
        }
    }
    Ok(())
}

#[test]
fn every_invalid_blueprint_gets_its_error() {
    let expect = std::fs::read_to_string(dir().join("EXPECT.tsv")).expect("EXPECT.tsv");
    let mut n = 0;
    let mut failures = Vec::new();
    for line in expect
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "bad EXPECT line {line:?}");
        if let Err(e) = check_case(&dir().join(f[0]), f[1], f[2], f[3]) {
            failures.push(e);
        }
        n += 1;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every file in the folder is listed.
    let files = std::fs::read_dir(dir())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name() != "EXPECT.tsv")
        .count();
    assert_eq!(
        files, n,
        "every file in testdata/invalid must be listed in EXPECT.tsv"
    );
    assert!(n >= 30, "at least 30 cases, found {n}");
    eprintln!("testdata/invalid: {n} broken Blueprints, each with its asserted error");
}

#[test]
fn a_huge_file_is_refused_before_parsing() {
    let d = tempfile::tempdir().expect("tmp");
    let f = d.path().join("blueprint.yaml");
    let mut text = String::from("apiVersion: catalyst.openova.io/v1alpha1\n# ");
    text.push_str(&"x".repeat(17 * 1024 * 1024));
    std::fs::write(&f, text).expect("write");
    let c = check_file(&f, &LoadOptions::default());
    assert_eq!(c.findings().len(), 1);
    assert_eq!(c.findings()[0].rule, "yaml-limit");
    assert!(
        c.findings()[0].message.contains("more than the limit"),
        "{}",
        c.findings()[0].message
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let c = check_file(&dir().join("no-such-file.yaml"), &LoadOptions::default());
    assert_eq!(c.findings()[0].rule, "io");
    assert!(c.findings()[0].message.contains("cannot read"));
}
