//! `bpkit publish` end to end: the reference catalog into OCI layouts and onto a real registry
//! (CNCF Distribution with basic auth), read back by skopeo, Helm, ORAS and sigstore-rs;
//! `--changed-since`; interrupted and concurrent runs; immutable versions.
//!
//! The interop parts need the shared folder (`CARGO_MANIFEST_DIR/../../shared`, or
//! `BPKIT_SHARED`); without it they print `SKIPPED` and the layout-only checks still run.

#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use interop::{Reg, copy_tree, shared};
use serde_json::Value;

#[path = "support/interop.rs"]
mod interop;

fn catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints")
}

/// A project folder holding a copy of the reference catalog under `blueprints/`.
fn project() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    copy_tree(&catalog(), &d.path().join("blueprints"));
    d
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// Runs bpkit in `dir` with a private Docker config and no key in the environment.
fn bpkit(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bpkit_cmd(dir, args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn bpkit_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("timeout");
    c.arg("600")
        .arg(env!("CARGO_BIN_EXE_bpkit"))
        .args(args)
        .current_dir(dir)
        .env("DOCKER_CONFIG", dir.join(".docker"))
        .env("NO_COLOR", "1")
        .env_remove("BPKIT_KEY")
        .env_remove("BPKIT_KEY_PASSWORD")
        .env_remove("COSIGN_PASSWORD")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn ok(r: (i32, String, String), what: &str) -> (String, String) {
    assert_eq!(
        r.0, 0,
        "{what}: exit {}\nstdout: {}\nstderr: {}",
        r.0, r.1, r.2
    );
    (r.1, r.2)
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn rows(report: &Value) -> Vec<Value> {
    report["blueprints"].as_array().unwrap().clone()
}

fn names(report: &Value) -> BTreeSet<String> {
    rows(report)
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

/// Every Blueprint of the catalog, `(name, version)`.
fn blueprints() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(catalog()).unwrap() {
        let f = e.unwrap().path().join("blueprint.yaml");
        if !f.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(k).map(|v| v.trim().to_string()))
                .unwrap()
        };
        out.push((field("name:"), field("version:")));
    }
    out.sort();
    out
}

/// Checks, as a consumer would, the signature and the three attestations of every Blueprint
/// published to `dir/dist/oci`.
fn verify_all(dir: &Path) {
    for (name, version) in blueprints() {
        let r = format!("oci:dist/oci/{name}:{version}");
        verify_signed(dir, &r, &["slsaprovenance", "cyclonedx", "spdx"]);
    }
}

/// Checks the signature of `r` and its attestations of these predicate types with the
/// project's development key.
fn verify_signed(dir: &Path, r: &str, types: &[&str]) {
    let key = ".bpkit/cosign.pub";
    ok(
        bpkit(dir, &["verify", r, "--key", key]),
        &format!("verify {r}"),
    );
    for t in types {
        ok(
            bpkit(dir, &["verify-attestation", r, "--key", key, "--type", t]),
            &format!("verify-attestation {t} {r}"),
        );
    }
}

/// The manifest digest `bpkit inspect` reports for `r`.
fn digest_of(dir: &Path, r: &str) -> Value {
    json(&ok(bpkit(dir, &["inspect", r, "-o", "json"]), r).0)["digest"].clone()
}

#[test]
fn layouts_twice_second_uploads_nothing_and_everything_verifies() {
    let d = project();
    git(d.path(), &["init", "-q"]);
    let (out, err) = ok(bpkit(d.path(), &["publish", "blueprints"]), "publish");
    assert!(err.contains("DEVELOPMENT key"), "{err}");
    assert!(d.path().join(".bpkit/cosign.key").is_file());
    assert!(d.path().join(".bpkit/cosign.pub").is_file());
    let ignore = std::fs::read_to_string(d.path().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/.bpkit/"), "{ignore}");
    assert!(ignore.lines().any(|l| l == "/dist/"), "{ignore}");
    let all = blueprints();
    assert_eq!(all.len(), 11);
    for (name, _) in &all {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap();
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[3..], ["yes", "yes", "published"], "{line}");
    }

    let second = json(
        &ok(
            bpkit(d.path(), &["publish", "blueprints", "-o", "json"]),
            "second publish",
        )
        .0,
    );
    assert_eq!(second["summary"]["uploaded"], 0, "{second:#}");
    for r in rows(&second) {
        assert_eq!(r["status"], "unchanged", "{r}");
        assert_eq!(r["signed"], true);
    }

    verify_all(d.path());

    let Some(shared) = shared() else {
        eprintln!("SKIPPED: skopeo part: ../shared is absent (set BPKIT_SHARED)");
        return;
    };
    let out = Command::new("timeout")
        .arg("1200")
        .arg(shared.join("interop/skopeo-copy.sh"))
        .arg("oci:dist/oci/bp-postgres:1.6.1")
        .arg("oci:copied:1.6.1")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {out:?}");
    let copied = json(
        &ok(
            bpkit(d.path(), &["inspect", "oci:copied:1.6.1", "-o", "json"]),
            "inspect copy",
        )
        .0,
    );
    let pg = rows(&second)
        .into_iter()
        .find(|r| r["name"] == "bp-postgres")
        .unwrap();
    assert_eq!(copied["digest"], pg["digest"]);
}

#[test]
fn version_with_other_content_is_refused() {
    let d = project();
    ok(
        bpkit(d.path(), &["publish", "blueprints", "--no-sign", "-j", "1"]),
        "publish",
    );
    let values = d.path().join("blueprints/valkey/chart/values.yaml");
    let mut text = std::fs::read_to_string(&values).unwrap();
    text.push_str("\n# a change without a version bump\n");
    std::fs::write(&values, text).unwrap();
    let (code, out, err) = bpkit(d.path(), &["publish", "blueprints", "--no-sign"]);
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(out.contains("bump `metadata.version`"), "{out}");
    assert!(out.contains("blueprints/valkey/blueprint.yaml"), "{out}");
    let line = out.lines().find(|l| l.starts_with("bp-valkey ")).unwrap();
    assert!(line.ends_with("failed"), "{line}");
}

#[test]
fn errors_stop_before_any_upload_and_print_annotations_on_github() {
    let d = project();
    let f = d.path().join("blueprints/sso/blueprint.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replacen("version: 2.2.0", "version: two", 1)).unwrap();
    let summary = d.path().join("summary.md");
    let out = bpkit_cmd(d.path(), &["publish", "blueprints", "--no-sign"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("::error file=") && l.contains("sso") && l.contains(",line=")),
        "{err}"
    );
    assert!(err.contains("nothing was published"), "{err}");
    assert!(!d.path().join("dist").exists());
}

#[test]
fn github_step_summary_gets_the_table() {
    let d = project();
    let summary = d.path().join("summary.md");
    let out = bpkit_cmd(d.path(), &["publish", "blueprints", "--no-sign"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| `bp-platform` | 1.0.0 |"), "{md}");
    assert_eq!(md.matches("| published |").count(), 11, "{md}");
}

#[test]
fn changed_since_publishes_the_change_and_its_dependents() {
    let d = project();
    git(d.path(), &["init", "-q"]);
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "catalog"]);
    ok(bpkit(d.path(), &["publish", "blueprints"]), "first publish");
    for f in ["blueprint.yaml", "chart/Chart.yaml"] {
        let p = d.path().join("blueprints/tls-issuer").join(f);
        let t = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, t.replacen("version: 1.2.0", "version: 1.2.1", 1)).unwrap();
    }
    git(d.path(), &["commit", "-q", "-am", "tls-issuer 1.2.1"]);
    let r = json(
        &ok(
            bpkit(
                d.path(),
                &[
                    "publish",
                    "blueprints",
                    "--changed-since",
                    "HEAD~1",
                    "-o",
                    "json",
                ],
            ),
            "publish --changed-since",
        )
        .0,
    );
    // The locks come from the resolver with default settings: `bp-ingress` uses
    // `bp-tls-issuer` only `when` its default certificate is enabled (off by default), so
    // neither it nor what depends on it through it pins the new version; `bp-platform` (which
    // cannot be planned without settings that have no default) keeps the conservative lock.
    let expected: BTreeSet<String> = ["bp-tls-issuer", "bp-platform"].map(String::from).into();
    assert_eq!(names(&r), expected, "{r:#}");
    let tls = rows(&r)
        .into_iter()
        .find(|x| x["name"] == "bp-tls-issuer")
        .unwrap();
    assert_eq!(tls["status"], "published");
    assert_eq!(tls["version"], "1.2.1");
    // Dependency order: the changed Blueprint first.
    assert_eq!(rows(&r)[0]["name"], "bp-tls-issuer");
    // The dependents' artifacts are the same, but their locks now pin tls-issuer 1.2.1: new
    // SBOM and provenance attestations are attached.
    for x in rows(&r).iter().filter(|x| x["name"] != "bp-tls-issuer") {
        assert_eq!(x["status"], "completed", "{x}");
        assert!(x["uploaded"].as_u64().unwrap() > 0, "{x}");
    }
    // Nothing changed since HEAD: nothing to publish.
    let none = json(
        &ok(
            bpkit(
                d.path(),
                &[
                    "publish",
                    "blueprints",
                    "--no-sign",
                    "--changed-since",
                    "HEAD",
                    "-o",
                    "json",
                ],
            ),
            "publish --changed-since HEAD",
        )
        .0,
    );
    assert!(rows(&none).is_empty(), "{none:#}");
}

#[test]
fn killed_run_resumes_and_concurrent_runs_agree() {
    let d = project();
    // Two runs at once on the same target.
    let a = bpkit_cmd(d.path(), &["publish", "blueprints", "-o", "json"])
        .spawn()
        .unwrap();
    let b = bpkit_cmd(d.path(), &["publish", "blueprints", "-o", "json"])
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = json(&String::from_utf8_lossy(&o.stdout));
        assert_eq!(rows(&r).len(), 11);
        assert!(rows(&r).iter().all(|x| x["signed"] == true), "{r:#}");
    }
    let ra = json(&String::from_utf8_lossy(&a.stdout));
    let rb = json(&String::from_utf8_lossy(&b.stdout));
    let digests = |r: &Value| -> Vec<(String, String)> {
        rows(r)
            .iter()
            .map(|x| (x["name"].to_string(), x["digest"].to_string()))
            .collect()
    };
    assert_eq!(digests(&ra), digests(&rb));
    let again = json(
        &ok(
            bpkit(d.path(), &["publish", "blueprints", "-o", "json"]),
            "third",
        )
        .0,
    );
    assert_eq!(again["summary"]["uploaded"], 0, "{again:#}");
    verify_all(d.path());

    // A run killed part-way (here: after the first Blueprint reported done) is completed by
    // the next one, which reports nothing it did not check.
    let e = project();
    let mut child = bpkit_cmd(e.path(), &["publish", "blueprints", "-j", "1", "--verbose"])
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let err = std::io::BufReader::new(child.stderr.take().unwrap());
        for line in err.lines() {
            let line = line.unwrap();
            if line.ends_with("uploads)") {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let r = json(
        &ok(
            bpkit(e.path(), &["publish", "blueprints", "-o", "json"]),
            "resume",
        )
        .0,
    );
    assert_eq!(r["summary"]["ok"], true);
    let statuses: BTreeSet<String> = rows(&r)
        .iter()
        .map(|x| x["status"].as_str().unwrap().to_string())
        .collect();
    assert!(statuses.contains("unchanged"), "{r:#}");
    verify_all(e.path());
}

fn login(reg: &Reg, dir: &Path) {
    let mut c = bpkit_cmd(
        dir,
        &[
            "login",
            reg.host(),
            "--username",
            &reg.env["REGISTRY_USER"],
            "--password-stdin",
        ],
    );
    c.stdin(Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(reg.env["REGISTRY_PASSWORD"].as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "login: {out:?}");
}

#[test]
fn registry_with_auth_then_helm_oras_and_cosign_read_every_blueprint() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: ../shared is absent (set BPKIT_SHARED)");
        return;
    };
    let interop = shared.join("interop");
    let Some(reg) = Reg::start(&interop, &["--auth"]) else {
        return;
    };
    let d = project();
    login(&reg, d.path());
    let to = format!("{}/catalog", reg.host());
    let (out, _) = ok(
        bpkit(
            d.path(),
            &["publish", "blueprints", "--to", &to, "-o", "json"],
        ),
        "publish to the registry",
    );
    let r = json(&out);
    assert_eq!(rows(&r).len(), 11, "{r:#}");
    let again = json(
        &ok(
            bpkit(
                d.path(),
                &["publish", "blueprints", "--to", &to, "-o", "json"],
            ),
            "publish again",
        )
        .0,
    );
    assert_eq!(again["summary"]["uploaded"], 0, "{again:#}");
    let kustomize: BTreeSet<&str> = ["bp-status-page"].into();
    for (name, version) in blueprints() {
        let r = format!("{to}/{name}:{version}");
        let pulled = d.path().join("pulled").join(&name);
        if !kustomize.contains(name.as_str()) {
            reg.script_ok_in(
                "helm-pull.sh",
                &[&format!("oci://{r}"), pulled.join("helm").to_str().unwrap()],
                Some(d.path()),
            );
        }
        reg.script_ok_in(
            "oras-pull.sh",
            &[&r, pulled.join("oras").to_str().unwrap()],
            Some(d.path()),
        );
        reg.script_ok_in(
            "cosign-verify.sh",
            &[&r, ".bpkit/cosign.pub"],
            Some(d.path()),
        );
    }
}

#[test]
fn registry_stopped_mid_publish_reports_no_false_success() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: ../shared is absent (set BPKIT_SHARED)");
        return;
    };
    let interop = shared.join("interop");
    let Some(reg) = Reg::start(&interop, &[]) else {
        return;
    };
    let d = project();
    let to = format!("{}/catalog", reg.host());
    let mut child = bpkit_cmd(
        d.path(),
        &[
            "publish",
            "blueprints",
            "--to",
            &to,
            "-j",
            "1",
            "-o",
            "json",
            "--verbose",
        ],
    )
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        let mut stopped = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            // Stop the registry once two Blueprints are done.
            if !stopped
                && lines
                    .iter()
                    .filter(|l: &&String| l.ends_with("uploads)"))
                    .count()
                    == 1
                && line.ends_with("uploads)")
            {
                stopped = true;
                let _ = reg.script("registry.sh", &["stop"]);
            }
            lines.push(line);
        }
        (lines, reg)
    });
    let out = child.wait_with_output().unwrap();
    let (lines, reg) = reader.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stdout}\n{}", lines.join("\n"));
    let r = json(&stdout);
    let done: Vec<Value> = rows(&r)
        .into_iter()
        .filter(|x| x["status"] == "published")
        .collect();
    assert!(done.len() < 11, "{r:#}");
    assert!(
        rows(&r)
            .iter()
            .any(|x| x["status"] == "failed" || x["status"] == "skipped"),
        "{r:#}"
    );
    // Every Blueprint reported published was verified before the registry went away: each
    // appears in the step log with `verifying` before its `published` line.
    for x in &done {
        let name = x["name"].as_str().unwrap();
        let v = lines
            .iter()
            .position(|l| l == &format!("{name}: verifying"))
            .unwrap();
        let p = lines
            .iter()
            .position(|l| l.starts_with(&format!("{name}: published")))
            .unwrap();
        assert!(v < p, "{}", lines.join("\n"));
    }
    drop(reg);

    // A new registry: the next run completes.
    let Some(reg) = Reg::start(&interop, &[]) else {
        return;
    };
    let to = format!("{}/catalog", reg.host());
    let r = json(
        &ok(
            bpkit(
                d.path(),
                &["publish", "blueprints", "--to", &to, "-o", "json"],
            ),
            "publish after the outage",
        )
        .0,
    );
    assert_eq!(r["summary"]["ok"], true, "{r:#}");
}

/// Two plain registries (`None`, and SKIPPED, without the shared folder or the registry).
fn two_registries() -> Option<(Reg, Reg)> {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: ../shared is absent (set BPKIT_SHARED)");
        return None;
    };
    let interop = shared.join("interop");
    Some((Reg::start(&interop, &[])?, Reg::start(&interop, &[])?))
}

#[test]
fn mirror_with_dependencies_keeps_digests_signatures_and_attestations() {
    let Some((a, b)) = two_registries() else {
        return;
    };
    let d = project();
    let from = format!("{}/catalog", a.host());
    let to = format!("{}/mirror", b.host());
    ok(
        bpkit(d.path(), &["publish", "blueprints", "--to", &from]),
        "publish",
    );
    let src = format!("{from}/bp-wordpress:1.4.0");
    ok(
        bpkit(
            d.path(),
            &["mirror", &src, "--to", &to, "--with-dependencies"],
        ),
        "mirror",
    );
    let all: HashMap<String, String> = blueprints().into_iter().collect();
    let closure = [
        "bp-wordpress",
        "bp-postgres",
        "bp-valkey",
        "bp-db-backup",
        "bp-ingress",
        "bp-tls-issuer",
    ];
    for name in closure {
        let v = &all[name];
        let (s, t) = (format!("{from}/{name}:{v}"), format!("{to}/{name}:{v}"));
        assert_eq!(digest_of(d.path(), &s), digest_of(d.path(), &t), "{name}");
        let tags = |repo: &str| ok(bpkit(d.path(), &["tags", repo]), repo).0;
        assert_eq!(
            tags(&format!("{from}/{name}")),
            tags(&format!("{to}/{name}"))
        );
        verify_signed(d.path(), &t, &["spdx"]);
    }
    // Blueprints outside the closure stay behind.
    let (code, _, _) = bpkit(d.path(), &["inspect", &format!("{to}/bp-platform:1.0.0")]);
    assert_ne!(code, 0);
}

#[test]
fn bundle_export_then_import_keeps_digests_and_verifies() {
    let d = project();
    ok(bpkit(d.path(), &["publish", "blueprints"]), "publish");
    ok(
        bpkit(
            d.path(),
            &[
                "bundle",
                "export",
                "oci:dist/oci/bp-sso:2.2.0",
                "--out",
                "bundle.tar",
            ],
        ),
        "bundle export",
    );
    let (_, err) = ok(
        bpkit(
            d.path(),
            &[
                "bundle",
                "import",
                "bundle.tar",
                "--to",
                "oci:imported",
                "--key",
                ".bpkit/cosign.pub",
            ],
        ),
        "bundle import",
    );
    assert!(!err.contains("do not verify"), "{err}");
    let all: HashMap<String, String> = blueprints().into_iter().collect();
    for name in ["bp-sso", "bp-postgres"] {
        let v = &all[name];
        let t = format!("oci:imported/{name}:{v}");
        assert_eq!(
            digest_of(d.path(), &format!("oci:dist/oci/{name}:{v}")),
            digest_of(d.path(), &t),
            "{name}"
        );
        verify_signed(d.path(), &t, &["cyclonedx"]);
    }
    // Another key: the import fails.
    let e = project();
    ok(
        bpkit(e.path(), &["publish", "blueprints"]),
        "publish elsewhere",
    );
    let other = e.path().join(".bpkit/cosign.pub");
    let (code, _, err) = bpkit(
        d.path(),
        &[
            "bundle",
            "import",
            "bundle.tar",
            "--to",
            "oci:imported2",
            "--key",
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("do not verify"), "{err}");
}

/// Pushes a two-platform image index to `host/imgs/app:1.0` (config and one layer per
/// platform, written with whitespace of its own as other tools do) with a referrer; returns
/// `(index digest, [index, child manifests, referrer] bytes by digest)`.
fn push_test_image(host: &str) -> (String, Vec<(String, Vec<u8>)>) {
    use bpkit::oci::registry::{Reference, Registry, RegistryOptions, RegistryStore};
    use bpkit::oci::store::write_image;
    use bpkit::oci::{Descriptor, Image, Manifest, Store, media_type};
    let reg = Registry::new(RegistryOptions {
        plain_http: true,
        ..RegistryOptions::default()
    })
    .unwrap();
    let store = RegistryStore::new(
        &reg,
        &Reference::parse_repo(&format!("{host}/imgs/app")).unwrap(),
    );
    let platform = |arch: &str, subject: Option<Descriptor>| {
        let cfg = format!("{{\"architecture\":\"{arch}\",\"os\":\"linux\"}}").into_bytes();
        let layer = format!("layer for {arch}").repeat(1000).into_bytes();
        let mut m = Manifest::new(
            Descriptor::of("application/vnd.oci.image.config.v1+json", &cfg),
            vec![Descriptor::of(
                "application/vnd.oci.image.layer.v1.tar",
                &layer,
            )],
        );
        if subject.is_some() {
            m.artifact_type = Some("application/vnd.example.signature".into());
        }
        m.subject = subject;
        write_image(&store, &Image::new(m, vec![cfg, layer]).unwrap(), None).unwrap()
    };
    let amd = platform("amd64", None);
    let arm = platform("arm64", None);
    let entry = |d: &Descriptor, arch: &str| {
        format!(
            "    {{ \"mediaType\": \"{}\", \"digest\": \"{}\", \"size\": {}, \"platform\": {{ \"architecture\": \"{arch}\", \"os\": \"linux\" }} }}",
            d.media_type, d.digest, d.size
        )
    };
    let index = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{}\",\n  \"manifests\": [\n{},\n{}\n  ]\n}}\n",
        media_type::IMAGE_INDEX,
        entry(&amd, "amd64"),
        entry(&arm, "arm64")
    );
    let idx = store
        .put_manifest(index.as_bytes(), media_type::IMAGE_INDEX, Some("1.0"))
        .unwrap();
    let sig = platform("signature", Some(idx.clone()));
    store.add_referrer(&idx.digest, &sig).unwrap();
    let mut all = Vec::new();
    for d in [&idx, &amd, &arm, &sig] {
        all.push((d.digest.to_string(), store.get_manifest(&d.digest).unwrap()));
    }
    (idx.digest.to_string(), all)
}

#[test]
fn mirror_with_images_copies_indexes_byte_for_byte_and_reports_missing_images() {
    use bpkit::oci::registry::{Reference, Registry, RegistryOptions, RegistryStore};
    use bpkit::oci::{Digest, Layout, Store};
    let Some((a, b)) = two_registries() else {
        return;
    };
    let (index_digest, manifests) = push_test_image(a.host());
    // A Blueprint whose chart deploys that image, and one that does not exist.
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("bp/imgtest");
    ok(
        bpkit(
            d.path(),
            &["init", "bp-imgtest", "--dir", dir.to_str().unwrap()],
        ),
        "init",
    );
    let host = a.host();
    let edit = |file: &str, from: &str, to: &str| {
        let p = dir.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file}: {text}");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    };
    edit(
        "chart/values.yaml",
        "registry: docker.io",
        &format!("registry: {host}"),
    );
    edit(
        "chart/values.yaml",
        "repository: library/nginx",
        "repository: imgs/app",
    );
    edit("chart/values.yaml", "tag: \"1.27.2\"", "tag: \"1.0\"");
    edit(
        "chart/Chart.yaml",
        "      image: docker.io/library/nginx:1.27.2\n",
        &format!(
            "      image: {host}/imgs/app:1.0\n    - name: gone\n      image: {host}/imgs/gone:2.0\n"
        ),
    );
    let from = format!("{host}/cat");
    let r = json(
        &ok(
            bpkit(
                d.path(),
                &["publish", "bp", "--to", &from, "--no-sign", "-o", "json"],
            ),
            "publish",
        )
        .0,
    );
    let version = rows(&r)[0]["version"].as_str().unwrap().to_string();
    let src = format!("{from}/bp-imgtest:{version}");
    let to = format!("{}/mirror", b.host());

    // The missing image fails the run, by name and with the reason; the others are copied.
    let (code, out, err) = bpkit(
        d.path(),
        &["mirror", &src, "--to", &to, "--with-images", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        !err.contains('\x1b'),
        "no progress escapes on a pipe: {err:?}"
    );
    let report = json(&out);
    let failed = report["imagesFailed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["image"], format!("{host}/imgs/gone:2.0"));
    assert!(
        failed[0]["reason"].as_str().unwrap().contains("2.0"),
        "{report:#}"
    );
    assert_eq!(failed[0]["neededBy"][0], src);
    assert!(
        err.contains(&format!("cannot mirror the image `{host}/imgs/gone:2.0`")),
        "{err}"
    );
    let copied = report["images"].as_array().unwrap();
    assert_eq!(copied.len(), 1, "{report:#}");
    assert_eq!(copied[0]["digest"], index_digest);
    assert_eq!(copied[0]["target"], format!("{to}/imgs/app:1.0"));

    // Byte for byte: the index, both platform manifests, the referrer, every blob.
    let reg = Registry::new(RegistryOptions {
        plain_http: true,
        ..RegistryOptions::default()
    })
    .unwrap();
    let mirrored = RegistryStore::new(
        &reg,
        &Reference::parse_repo(&format!("{to}/imgs/app")).unwrap(),
    );
    let check = |store: &dyn Store| {
        assert_eq!(
            store.resolve("1.0").unwrap().unwrap().digest.to_string(),
            index_digest
        );
        for (digest, bytes) in &manifests {
            let d = Digest::parse(digest).unwrap();
            assert_eq!(&store.get_manifest(&d).unwrap(), bytes, "{digest}");
            if d.to_string() != index_digest {
                let img = bpkit::oci::store::read_image(store, &d).unwrap();
                assert_eq!(img.digest(), &d);
            }
        }
        let refs = store
            .referrers(&Digest::parse(&index_digest).unwrap())
            .unwrap();
        assert_eq!(refs.len(), 1, "{refs:?}");
        assert_eq!(refs[0].digest.to_string(), manifests[3].0);
    };
    check(&mirrored);
    // And the Blueprint itself, as before.
    assert_eq!(
        digest_of(d.path(), &src),
        digest_of(d.path(), &format!("{to}/bp-imgtest:{version}"))
    );

    // Allowed: a warning, exit 0; into layouts, one per repository.
    let (code, _, err) = bpkit(
        d.path(),
        &[
            "mirror",
            &src,
            "--to",
            "oci:air",
            "--with-images",
            "--allow-missing-images",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: cannot mirror the image"), "{err}");
    assert!(
        err.contains("1 of 2 images (1 could not be copied"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "{err:?}");
    let layout = Layout::open(&d.path().join("air/imgs/app")).unwrap();
    check(&layout);
}
