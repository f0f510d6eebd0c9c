//! The key, DSSE and bundle kinds of the shared hostile-input table
//! (`testdata/hostile/inputs/EXPECT.tsv`; bpkit's `tests/hostile.rs` checks the other kinds):
//! each is refused with its message, and none panics.

use std::path::{Path, PathBuf};

use bpkit_signing::bundle::Bundle;
use bpkit_signing::dsse::Envelope;
use bpkit_signing::{Signer, Verifier};

fn inputs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/hostile/inputs")
}

const KINDS: &[&str] = &["pem", "dsse", "bundle"];

/// Feeds one input to its reader; `Err` carries the message a user would read.
fn outcome(kind: &str, file: &str, bytes: &[u8]) -> Result<String, String> {
    match kind {
        "pem" if file.ends_with(".pub") => Verifier::from_pem(bytes)
            .map(|v| format!("public key {}", v.key_id()))
            .map_err(|e| e.to_string()),
        "pem" => Signer::from_encrypted_pem(bytes, b"password")
            .map(|_| "private key".to_string())
            .map_err(|e| e.to_string()),
        "dsse" => {
            let env = Envelope::from_json(bytes).map_err(|e| e.to_string())?;
            let v = Signer::generate().map_err(|e| e.to_string())?.verifier();
            env.verify(&v)
                .map(|p| format!("{} payload bytes", p.len()))
                .map_err(|e| e.to_string())
        }
        "bundle" => Bundle::from_json(bytes)
            .map(|_| "bundle".to_string())
            .map_err(|e| e.to_string()),
        other => Err(format!("unknown kind `{other}`")),
    }
}

#[test]
fn every_hostile_signing_input_is_refused_with_its_message() {
    let table = std::fs::read_to_string(inputs().join("EXPECT.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "EXPECT.tsv row needs 3 columns: {line}");
        let (kind, file, expect) = (cols[0], cols[1], cols[2]);
        if !KINDS.contains(&kind) {
            continue;
        }
        checked += 1;
        let bytes = std::fs::read(inputs().join(kind).join(file)).unwrap();
        match std::panic::catch_unwind(|| outcome(kind, file, &bytes)) {
            Err(_) => failures.push(format!("{kind}/{file}: PANICKED")),
            Ok(Ok(ok)) => failures.push(format!("{kind}/{file}: accepted ({ok})")),
            Ok(Err(msg)) if !msg.contains(expect) => failures.push(format!(
                "{kind}/{file}: message does not contain `{expect}`:\n    {msg}"
            )),
            Ok(Err(_)) => {}
        }
    }
    eprintln!("hostile signing inputs checked: {checked}");
    assert!(checked >= 10, "only {checked} signing inputs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
