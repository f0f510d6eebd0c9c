//! Trust interop: bpkit signs and attests on a real registry (CNCF Distribution), the
//! Sigstore project's Rust code (`cosign-verify.sh`, `cosign-sign.sh`) checks and writes
//! signatures, skopeo copies them; plus every failure case, asserted on its message, and the
//! OCI layout variants. One test function, so one registry per test process.
//!
//! Needs the shared folder (`CARGO_MANIFEST_DIR/../../shared`, or `BPKIT_SHARED`); without
//! it the test prints `SKIPPED` and passes.

#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};

use interop::{Reg, shared};
use serde_json::Value;

#[path = "support/interop.rs"]
mod interop;

const PASSWORD: &str = "bpkit-test-password";

fn blueprint(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../blueprints")
        .join(name)
        .display()
        .to_string()
}

/// Runs bpkit (detached from any terminal with `setsid`, so a missing password can never
/// turn into a prompt) with a private Docker config and these environment variables.
fn bpkit(docker: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new("timeout");
    c.arg("300")
        .arg("setsid")
        .arg(env!("CARGO_BIN_EXE_bpkit"))
        .args(args)
        .env("DOCKER_CONFIG", docker)
        .env("NO_COLOR", "1")
        .env_remove("BPKIT_KEY_PASSWORD")
        .env_remove("COSIGN_PASSWORD")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PW: &[(&str, &str)] = &[("BPKIT_KEY_PASSWORD", PASSWORD)];

fn ok(r: (i32, String, String), what: &str) -> String {
    assert_eq!(
        r.0, 0,
        "{what}: exit {}\nstdout: {}\nstderr: {}",
        r.0, r.1, r.2
    );
    r.1
}

/// Asserts a failure with exit code `code` whose standard error contains `want`.
fn fails(r: (i32, String, String), code: i32, want: &str, what: &str) {
    assert_eq!(
        r.0, code,
        "{what}: exit {}\nstdout: {}\nstderr: {}",
        r.0, r.1, r.2
    );
    assert!(r.2.contains(want), "{what}: expected `{want}` in:\n{}", r.2);
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Pushes a Blueprint folder to `repo`, returns (reference with tag, digest).
fn push(docker: &Path, dir: &str, repo: &str) -> (String, String) {
    let v = json(&ok(
        bpkit(docker, &["push", dir, repo, "-o", "json"], &[]),
        "push",
    ));
    (
        v["target"]["reference"].as_str().unwrap().to_string(),
        v["digest"].as_str().unwrap().to_string(),
    )
}

#[test]
fn signatures_and_attestations_with_real_tools() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: ../shared is absent (set BPKIT_SHARED)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let docker = w.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let Some(mut reg) = Reg::start(&shared.join("interop"), &[]) else {
        return;
    };
    reg.script_env
        .push(("COSIGN_PASSWORD".into(), PASSWORD.into()));
    let h = reg.host().to_string();

    // ---- keys ------------------------------------------------------------------------------
    let prefix = w.join("bpkit");
    let prefix_s = prefix.display().to_string();
    let key = format!("{prefix_s}.key");
    let pubkey = format!("{prefix_s}.pub");
    ok(
        bpkit(
            &docker,
            &["key", "generate", "--output-key-prefix", &prefix_s],
            PW,
        ),
        "key generate",
    );
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(key_text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));
    assert!(!key_text.contains(PASSWORD));
    let public = ok(
        bpkit(&docker, &["key", "public", "--key", &key], PW),
        "key public",
    );
    assert_eq!(public, std::fs::read_to_string(&pubkey).unwrap());
    fails(
        bpkit(
            &docker,
            &["key", "generate", "--output-key-prefix", &prefix_s],
            PW,
        ),
        2,
        "exists already",
        "generate over an existing key",
    );

    // ---- bpkit signs; sigstore-rs verifies ------------------------------------------------
    let (pg, pg_digest) = push(&docker, &blueprint("postgres"), &format!("{h}/bp/postgres"));
    let signed = json(&ok(
        bpkit(
            &docker,
            &["sign", &pg, "--key", &key, "-a", "team=data", "-o", "json"],
            PW,
        ),
        "sign",
    ));
    assert_eq!(signed["digest"], pg_digest.as_str());
    assert_eq!(signed["tagLayout"], "written");
    assert_eq!(signed["referrer"], "written");
    let (_, _, again) = bpkit(
        &docker,
        &["sign", &pg, "--key", &key, "-a", "team=data"],
        PW,
    );
    assert!(again.contains("already signed"), "{again}");
    reg.script_ok("cosign-verify.sh", &[&pg, &pubkey]);
    let v = json(&ok(
        bpkit(
            &docker,
            &[
                "verify",
                &pg,
                "--key",
                &pubkey,
                "--annotations",
                "team=data",
                "-o",
                "json",
            ],
            &[],
        ),
        "verify",
    ));
    assert_eq!(v["signatures"].as_array().unwrap().len(), 2, "{v}");
    fails(
        bpkit(
            &docker,
            &["verify", &pg, "--key", &pubkey, "--annotations", "team=web"],
            &[],
        ),
        1,
        "annotation `team` is `data`, expected `web`",
        "annotation mismatch",
    );

    // ---- sigstore-rs signs; bpkit verifies (its own key, and bpkit's key file) --------------
    let (sso, _) = push(&docker, &blueprint("sso"), &format!("{h}/bp/sso"));
    reg.script_ok("cosign-sign.sh", &[&sso]);
    let cosign_pub = reg.state.path().join("keys/cosign.pub");
    let cosign_pub = cosign_pub.to_str().unwrap();
    ok(
        bpkit(&docker, &["verify", &sso, "--key", cosign_pub], &[]),
        "verify a sigstore-rs signature",
    );
    let (valkey, _) = push(&docker, &blueprint("valkey"), &format!("{h}/bp/valkey"));
    reg.script_ok("cosign-sign.sh", &[&valkey, &key]);
    ok(
        bpkit(&docker, &["verify", &valkey, "--key", &pubkey], &[]),
        "verify a sigstore-rs signature made with bpkit's key file",
    );

    // ---- skopeo copies the signature to another repository; it still verifies ------------
    let copied = pg.replace("/bp/postgres:", "/mirror/postgres:");
    reg.script_ok("skopeo-copy.sh", &[&pg, &copied]);
    ok(
        bpkit(&docker, &["verify", &copied, "--key", &pubkey], &[]),
        "verify after skopeo copy",
    );
    reg.script_ok("cosign-verify.sh", &[&copied, &pubkey]);

    // ---- negative cases --------------------------------------------------------------------
    fails(
        bpkit(&docker, &["verify", &pg, "--key", cosign_pub], &[]),
        1,
        "made with another key",
        "other key",
    );
    let (unsigned, unsigned_digest) =
        push(&docker, &blueprint("secrets"), &format!("{h}/bp/secrets"));
    fails(
        bpkit(&docker, &["verify", &unsigned, "--key", &pubkey], &[]),
        1,
        "is not signed",
        "unsigned artifact",
    );
    // The signature of postgres moved onto the unsigned artifact.
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let pg_repo = pg[..pg.rfind(':').unwrap()].to_string();
    let sec_repo = unsigned[..unsigned.rfind(':').unwrap()].to_string();
    ok(
        bpkit(
            &docker,
            &[
                "copy",
                &format!("{pg_repo}:sha256-{}.sig", hex(&pg_digest)),
                &format!("{sec_repo}:sha256-{}.sig", hex(&unsigned_digest)),
                "--force",
            ],
            &[],
        ),
        "move a signature",
    );
    fails(
        bpkit(&docker, &["verify", &unsigned, "--key", &pubkey], &[]),
        1,
        "moved from another artifact",
        "signature moved to another digest",
    );
    fails(
        bpkit(
            &docker,
            &["sign", &pg, "--key", &key],
            &[("BPKIT_KEY_PASSWORD", "wrong")],
        ),
        1,
        "wrong password",
        "wrong password",
    );
    fails(
        bpkit(&docker, &["sign", &pg, "--key", &key], &[]),
        2,
        "no key password",
        "no password and no terminal",
    );
    let truncated = w.join("truncated.key");
    std::fs::write(&truncated, &key_text[..key_text.len() / 2]).unwrap();
    fails(
        bpkit(
            &docker,
            &["sign", &pg, "--key", truncated.to_str().unwrap()],
            PW,
        ),
        1,
        "looks truncated",
        "truncated key",
    );
    let not_pem = w.join("not-pem.key");
    std::fs::write(&not_pem, "just some text\n").unwrap();
    fails(
        bpkit(
            &docker,
            &["sign", &pg, "--key", not_pem.to_str().unwrap()],
            PW,
        ),
        1,
        "is not PEM",
        "non-PEM key",
    );
    fails(
        bpkit(&docker, &["verify", &pg, "--key", &key], &[]),
        1,
        "pass the public key",
        "private key given to verify",
    );

    // ---- layout variants: copy carries .sig and referrers; tampering is detected ---------
    let layout = w.join("layout");
    let tag = &pg[pg.rfind(':').unwrap() + 1..];
    let lref = format!("oci:{}:{tag}", layout.display());
    let c = json(&ok(
        bpkit(&docker, &["copy", &pg, &lref, "-o", "json"], &[]),
        "copy to a layout",
    ));
    assert_eq!(c["referrers"].as_array().unwrap().len(), 1, "{c}");
    let lv = json(&ok(
        bpkit(
            &docker,
            &["verify", &lref, "--key", &pubkey, "-o", "json"],
            &[],
        ),
        "verify in a layout",
    ));
    assert_eq!(lv["signatures"].as_array().unwrap().len(), 2, "{lv}");
    // Back to another repository: byte-exact, and sigstore-rs verifies.
    let back = format!("{h}/back/postgres:{tag}");
    ok(bpkit(&docker, &["copy", &lref, &back], &[]), "copy back");
    reg.script_ok("cosign-verify.sh", &[&back, &pubkey]);
    ok(
        bpkit(&docker, &["verify", &back, "--key", &pubkey], &[]),
        "verify after the round trip",
    );
    // Sign directly in a layout, then copy it to a registry: sigstore-rs verifies. (skopeo
    // copies sigstore attachments only between registries, not from a layout.)
    let l2 = w.join("layout2");
    let l2ref = format!("oci:{}:{tag}", l2.display());
    ok(
        bpkit(&docker, &["push", &blueprint("postgres"), &l2ref], &[]),
        "push to layout",
    );
    let other = w.join("other");
    let other_s = other.display().to_string();
    ok(
        bpkit(
            &docker,
            &["key", "generate", "--output-key-prefix", &other_s],
            PW,
        ),
        "second key",
    );
    ok(
        bpkit(
            &docker,
            &["sign", &l2ref, "--key", &format!("{other_s}.key")],
            PW,
        ),
        "sign in a layout",
    );
    let from_layout = format!("{h}/fromlayout/postgres:{tag}");
    ok(
        bpkit(&docker, &["copy", &l2ref, &from_layout], &[]),
        "copy a layout's signature",
    );
    reg.script_ok(
        "cosign-verify.sh",
        &[&from_layout, &format!("{other_s}.pub")],
    );
    // Tamper with every signature blob of the layout.
    let pg_hex = hex(&pg_digest);
    let sig_manifest = layout_manifest(&layout, &format!("sha256-{pg_hex}.sig"));
    for l in sig_manifest["layers"].as_array().unwrap() {
        overwrite_blob(&layout, l["digest"].as_str().unwrap());
    }
    let index = layout_manifest(&layout, &format!("sha256-{pg_hex}"));
    for r in index["manifests"].as_array().unwrap() {
        let m = blob_json(&layout, r["digest"].as_str().unwrap());
        overwrite_blob(&layout, m["layers"][0]["digest"].as_str().unwrap());
    }
    fails(
        bpkit(&docker, &["verify", &lref, "--key", &pubkey], &[]),
        1,
        "was tampered with",
        "tampered payload",
    );

    // ---- attestations: provenance round trip, SBOM ----------------------------------------
    let prov = bpkit::trust::predicate::provenance(
        &bpkit::trust::predicate::ProvenanceInput {
            source_repository: Some("https://git.example.test/catalog".into()),
            revision: Some("4f1c2d3e".into()),
            path: Some("blueprints/postgres".into()),
            dependencies: vec![(
                "oci://registry.example.test/bp/base:1.0.0".into(),
                bpkit::oci::Digest::of(b"base"),
            )],
            ..Default::default()
        },
        &|k| match k {
            "GITHUB_ACTIONS" => Some("true".into()),
            "GITHUB_REPOSITORY" => Some("openova-io/catalog".into()),
            "GITHUB_RUN_ID" => Some("77".into()),
            _ => None,
        },
    );
    let prov_file = w.join("provenance.json");
    std::fs::write(
        &prov_file,
        serde_json::to_vec(&bpkit::trust::predicate::provenance_predicate(&prov)).unwrap(),
    )
    .unwrap();
    let prov_s = prov_file.to_str().unwrap();
    let attest_provenance = |what: &str| {
        json(&ok(
            bpkit(
                &docker,
                &[
                    "attest",
                    &pg,
                    "--key",
                    &key,
                    "--predicate",
                    prov_s,
                    "--type",
                    "slsaprovenance",
                    "-o",
                    "json",
                ],
                PW,
            ),
            what,
        ))
    };
    let att = attest_provenance("attest provenance");
    assert_eq!(att["tagLayout"], "written", "{att}");
    let again = attest_provenance("attest again");
    assert_eq!(again["tagLayout"], "unchanged", "{again}");
    assert_eq!(again["referrer"], "unchanged", "{again}");
    let got = json(&ok(
        bpkit(
            &docker,
            &[
                "verify-attestation",
                &pg,
                "--key",
                &pubkey,
                "--type",
                "slsaprovenance",
            ],
            &[],
        ),
        "verify-attestation",
    ));
    assert_eq!(
        got["buildDefinition"]["buildType"],
        bpkit::trust::predicate::BUILD_TYPE
    );
    assert_eq!(
        got["buildDefinition"]["externalParameters"]["revision"],
        "4f1c2d3e"
    );
    assert_eq!(
        got["buildDefinition"]["externalParameters"]["path"],
        "blueprints/postgres"
    );
    assert_eq!(
        got["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
        "4f1c2d3e"
    );
    assert_eq!(
        got["buildDefinition"]["resolvedDependencies"][1]["digest"]["sha256"],
        bpkit::oci::Digest::of(b"base").hex()
    );
    assert_eq!(
        got["runDetails"]["metadata"]["invocationId"],
        "https://github.com/openova-io/catalog/actions/runs/77/attempts/1"
    );
    fails(
        bpkit(
            &docker,
            &[
                "verify-attestation",
                &pg,
                "--key",
                cosign_pub,
                "--type",
                "slsaprovenance",
            ],
            &[],
        ),
        1,
        "made with another key",
        "attestation by another key",
    );
    // An SBOM from `bpkit sbom` as a CycloneDX attestation.
    let sbom = w.join("sbom.cdx.json");
    ok(
        bpkit(
            &docker,
            &[
                "sbom",
                &blueprint("postgres"),
                "--format",
                "cyclonedx",
                "--out",
                sbom.to_str().unwrap(),
            ],
            &[],
        ),
        "sbom",
    );
    ok(
        bpkit(
            &docker,
            &[
                "attest",
                &pg,
                "--key",
                &key,
                "--predicate",
                sbom.to_str().unwrap(),
                "--type",
                "cyclonedx",
            ],
            PW,
        ),
        "attest sbom",
    );
    let bom = json(&ok(
        bpkit(
            &docker,
            &[
                "verify-attestation",
                &pg,
                "--key",
                &pubkey,
                "--type",
                "cyclonedx",
            ],
            &[],
        ),
        "verify sbom attestation",
    ));
    assert_eq!(bom["bomFormat"], "CycloneDX");
    fails(
        bpkit(
            &docker,
            &[
                "verify-attestation",
                &pg,
                "--key",
                &pubkey,
                "--type",
                "spdx",
            ],
            &[],
        ),
        1,
        "no attestation of type `https://spdx.dev/Document`",
        "missing attestation type",
    );
}

fn layout_manifest(layout: &Path, tag: &str) -> Value {
    let index = json(&std::fs::read_to_string(layout.join("index.json")).unwrap());
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no tag {tag} in {index}"))
        .clone();
    blob_json(layout, entry["digest"].as_str().unwrap())
}

fn blob_json(layout: &Path, digest: &str) -> Value {
    let hex = digest.trim_start_matches("sha256:");
    json(&std::fs::read_to_string(layout.join("blobs/sha256").join(hex)).unwrap())
}

fn overwrite_blob(layout: &Path, digest: &str) {
    let hex = digest.trim_start_matches("sha256:");
    let path = layout.join("blobs/sha256").join(hex);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(b' ');
    std::fs::write(path, bytes).unwrap();
}
