//! The JSON-Schema Test Suite (draft7 and draft2020-12, with `optional/` and
//! `optional/format/`), run through `bpkit::validate::config`: each case's schema goes through
//! [`ConfigSchema::compile`] and each test's data through [`ConfigSchema::validate`].
//!
//! The suite lives in the shared conformance data at `../shared/conformance/` beside the
//! repository (set `BPKIT_SHARED` to use another place); without it the test says so loudly
//! and passes. The suite's `remotes/` are served as `http://localhost:1234/...` and the
//! meta-schemas under their `$id`s, through [`SchemaOptions::with_resource`]: nothing is
//! fetched from the network.
//!
//! Every failing test must be listed in `testdata/jsonschema-known-failures.txt`, one line per
//! test: `draft/file.json :: case description :: test description — reason`. The test fails on
//! a failure that is not listed, and on a listed line that now passes or names no test, so
//! the list stays exact.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bpkit::validate::config::{ConfigSchema, Draft, SchemaOptions};
use serde_json::Value;

const DRAFTS: [(&str, Draft); 2] = [
    ("draft7", Draft::Draft7),
    ("draft2020-12", Draft::Draft202012),
];

/// Where the shared conformance data is, if present.
fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("BPKIT_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    dir.is_dir().then_some(dir)
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every `.json` file under `dir`, as paths relative to `dir`, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| e.path().strip_prefix(dir).ok().map(Path::to_path_buf))
        .collect();
    out.sort();
    out
}

/// The suite's remotes and the meta-schemas, as a retriever map.
fn options(conformance: &Path) -> SchemaOptions {
    let mut opts = SchemaOptions::default();
    let remotes = conformance.join("json-schema-test-suite/remotes");
    for rel in json_files(&remotes) {
        let url = format!("http://localhost:1234/{}", slash_path(&rel));
        opts = opts.with_resource(&url, read_json(&remotes.join(&rel)));
    }
    let metas = conformance.join("json-schema-metaschemas");
    for rel in json_files(&metas) {
        let document = read_json(&metas.join(&rel));
        if let Some(id) = document.get("$id").and_then(Value::as_str) {
            let id = id.to_string();
            opts = opts.with_resource(&id, document);
        }
    }
    opts
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// One line per test, without line breaks.
fn test_id(file: &str, case: &str, test: &str) -> String {
    let flat = |s: &str| s.replace('\n', "\\n");
    format!("{file} :: {} :: {}", flat(case), flat(test))
}

/// Runs one draft's tests; returns (ids that passed, failures with what went wrong).
fn run_draft(
    suite: &Path,
    dir: &str,
    draft: Draft,
    base: &SchemaOptions,
) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let opts = base.clone().with_default_draft(draft);
    let root = suite.join("tests").join(dir);
    let mut passed = BTreeSet::new();
    let mut failed = BTreeMap::new();
    for rel in json_files(&root) {
        let file = format!("{dir}/{}", slash_path(&rel));
        let cases = read_json(&root.join(&rel));
        for case in cases.as_array().into_iter().flatten() {
            let description = case["description"].as_str().unwrap_or("?");
            let compiled = ConfigSchema::compile(&case["schema"], &opts);
            for test in case["tests"].as_array().into_iter().flatten() {
                let id = test_id(
                    &file,
                    description,
                    test["description"].as_str().unwrap_or("?"),
                );
                let expected_valid = test["valid"].as_bool().unwrap_or(true);
                let outcome = match &compiled {
                    Err(issues) => Err(format!(
                        "schema rejected: {}",
                        issues.first().map(ToString::to_string).unwrap_or_default()
                    )),
                    Ok(schema) => {
                        let violations = schema.validate(&test["data"]);
                        if violations.is_empty() != schema.is_valid(&test["data"]) {
                            Err("`validate` and `is_valid` disagree".to_string())
                        } else if violations.is_empty() == expected_valid {
                            Ok(())
                        } else if expected_valid {
                            Err(format!("expected valid, got: {}", violations[0]))
                        } else {
                            Err("expected invalid, got no violation".to_string())
                        }
                    }
                };
                match outcome {
                    Ok(()) => {
                        passed.insert(id);
                    }
                    Err(detail) => {
                        failed.insert(id, detail);
                    }
                }
            }
        }
    }
    (passed, failed)
}

/// The known-failures list: id → reason.
fn known_failures() -> BTreeMap<String, String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/jsonschema-known-failures.txt");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut known = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((id, reason)) = line.split_once(" — ") else {
            panic!(
                "{}:{}: expected `id — reason`, found `{line}`",
                path.display(),
                n + 1
            );
        };
        assert!(
            !reason.trim().is_empty(),
            "{}:{}: the reason is empty",
            path.display(),
            n + 1
        );
        let previous = known.insert(id.to_string(), reason.to_string());
        assert!(
            previous.is_none(),
            "{}:{}: `{id}` is listed twice",
            path.display(),
            n + 1
        );
    }
    known
}

#[test]
fn json_schema_test_suite() {
    let Some(shared) = shared_dir() else {
        eprintln!(
            "SKIPPED: ../shared is absent (set BPKIT_SHARED to the shared folder to run the JSON-Schema Test Suite)"
        );
        return;
    };
    let conformance = shared.join("conformance");
    let suite = conformance.join("json-schema-test-suite");
    let base = options(&conformance);
    let mut known = known_failures();

    let mut problems = Vec::new();
    for (dir, draft) in DRAFTS {
        let (passed, failed) = run_draft(&suite, dir, draft, &base);
        let mut known_here = 0;
        for (id, detail) in &failed {
            if known.remove(id).is_some() {
                known_here += 1;
            } else {
                problems.push(format!("unlisted failure: {id} — {detail}"));
            }
        }
        let prefix = format!("{dir}/");
        let listed: Vec<String> = known
            .keys()
            .filter(|id| id.starts_with(&prefix))
            .cloned()
            .collect();
        for id in listed {
            known.remove(&id);
            if passed.contains(&id) {
                problems.push(format!("listed but now passes (remove it): {id}"));
            } else {
                problems.push(format!("listed but no such test: {id}"));
            }
        }
        // Straight to the process's stderr, so the count shows even when the harness
        // captures the test's output.
        let _ = writeln!(
            std::io::stderr(),
            "json-schema-test-suite {dir}: {} passed, {known_here} known failures",
            passed.len()
        );
    }
    for id in known.keys() {
        problems.push(format!("listed for a draft that is not run: {id}"));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) with testdata/jsonschema-known-failures.txt:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
