//! Hostile inputs of every kind the library parses (`testdata/hostile/inputs/<kind>/`): each is
//! refused with the message that `testdata/hostile/inputs/EXPECT.tsv` names, and none panics.
//! The signing crate checks the key, DSSE and bundle kinds from the same table
//! (`signing/tests/hostile_files.rs`).

use std::path::{Path, PathBuf};

use bpkit::oci::Manifest;
use bpkit::render::{Context, Renderer, Template};
use bpkit::resolve::Lock;
use bpkit::validate::config::{ConfigSchema, SchemaOptions};
use bpkit::validate::values::parse_set;
use bpkit::version::Constraint;

fn inputs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/hostile/inputs")
}

/// Kinds this crate checks; the others belong to `bpkit-signing`.
const KINDS: &[&str] = &[
    "constraint",
    "template",
    "configschema",
    "lock",
    "manifest",
    "set",
];

/// Feeds one input to its parser; `Err` carries the message a user would read.
fn outcome(kind: &str, bytes: &[u8]) -> Result<String, String> {
    let text = || String::from_utf8(bytes.to_vec()).map_err(|e| format!("not UTF-8: {e}"));
    match kind {
        "constraint" => {
            let c = Constraint::parse(&text()?).map_err(|e| e.to_string())?;
            Ok(format!("parsed `{}`", c.canonical()))
        }
        "template" => {
            let t = Template::parse(&text()?).map_err(|e| e.to_string())?;
            let mut ctx = Context::default();
            ctx.application.name = "app".into();
            let v = Renderer::new()
                .render(&t, &ctx)
                .map_err(|e| e.to_string())?;
            Ok(v.to_string())
        }
        "configschema" => {
            let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            let s = ConfigSchema::compile(&v, &SchemaOptions::default()).map_err(|issues| {
                issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            let errors = s.validate(&serde_json::json!({}));
            Ok(format!("compiled; {{}} gives {} errors", errors.len()))
        }
        "lock" => Lock::parse(&text()?)
            .map(|l| format!("{} pins", l.pins().len()))
            .map_err(|e| e.to_string()),
        "manifest" => Manifest::from_json("manifest", bytes)
            .map(|m| format!("{} layers", m.layers.len()))
            .map_err(|e| e.to_string()),
        "set" => parse_set(text()?.trim_end())
            .map(|v| format!("parsed {} bytes", v.to_string().len()))
            .map_err(|e| e.to_string()),
        other => Err(format!("unknown kind `{other}`")),
    }
}

/// `(kind, file, expected message fragment)` rows of `EXPECT.tsv`.
fn expectations() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(inputs().join("EXPECT.tsv")).expect("EXPECT.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(
                cols.len(),
                3,
                "EXPECT.tsv row needs 3 tab-separated columns: {l}"
            );
            (cols[0].into(), cols[1].into(), cols[2].into())
        })
        .collect()
}

#[test]
fn every_hostile_input_is_refused_with_its_message() {
    let rows = expectations();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (kind, file, expect) in rows.iter().filter(|r| KINDS.contains(&r.0.as_str())) {
        let bytes = std::fs::read(inputs().join(kind).join(file)).unwrap();
        let got = std::panic::catch_unwind(|| outcome(kind, &bytes));
        checked += 1;
        match (got, expect.strip_prefix("ok:")) {
            (Err(_), _) => failures.push(format!("{kind}/{file}: PANICKED")),
            // Accepted on purpose (e.g. Jinja syntax is plain text to a Go-style template).
            (Ok(Ok(ok)), Some(want)) if ok.contains(want) => {}
            (Ok(Ok(ok)), _) => failures.push(format!("{kind}/{file}: accepted ({ok})")),
            (Ok(Err(msg)), Some(_)) => failures.push(format!("{kind}/{file}: refused: {msg}")),
            (Ok(Err(msg)), None) if !msg.contains(expect.as_str()) => failures.push(format!(
                "{kind}/{file}: message does not contain `{expect}`:\n    {msg}"
            )),
            (Ok(Err(_)), None) => {}
        }
    }
    eprintln!("hostile inputs checked: {checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every file is listed, and every listed file exists: nothing is silently unchecked.
#[test]
fn the_table_covers_every_file() {
    let rows = expectations();
    let mut listed: Vec<String> = rows.iter().map(|(k, f, _)| format!("{k}/{f}")).collect();
    listed.sort();
    let mut on_disk = Vec::new();
    for kind in std::fs::read_dir(inputs()).unwrap() {
        let kind = kind.unwrap();
        if !kind.file_type().unwrap().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(kind.path()).unwrap() {
            let f = f.unwrap();
            on_disk.push(format!(
                "{}/{}",
                kind.file_name().to_string_lossy(),
                f.file_name().to_string_lossy()
            ));
        }
    }
    on_disk.sort();
    assert_eq!(listed, on_disk);
    // With the 14 hostile OCI layouts beside them, the corpus holds well over 50 inputs.
    assert!(rows.len() >= 40, "only {} hostile inputs", rows.len());
}
