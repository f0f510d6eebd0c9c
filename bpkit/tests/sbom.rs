//! SBOMs (CycloneDX 1.6, SPDX 2.3) of real Blueprints, checked three ways: against the
//! formats' JSON schemas in-process (`jsonschema`, draft-07), with the format owners' own
//! validators (`../shared/interop/validate-sbom.sh`: cyclonedx-python-lib's strict validator,
//! pyspdxtools and check-jsonschema), and against hand-checked expectations.
//!
//! The shared folder is `CARGO_MANIFEST_DIR/../../shared`, or `BPKIT_SHARED`; without it the
//! schema and corpus parts say so loudly and are skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bpkit::package::{self, Artifact, PackageOptions};
use bpkit::resolve::{Lock, LockNode};
use bpkit::sbom::{self, Format, SbomOptions};
use interop::copy_tree;
use serde_json::Value;

#[path = "support/interop.rs"]
mod interop;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shared() -> Option<PathBuf> {
    let dir = match std::env::var_os("BPKIT_SHARED") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: ../shared is absent ({} not found; set BPKIT_SHARED)",
            dir.display()
        );
        None
    }
}

/// Ten corpus Blueprints: umbrella charts with declared sub-charts and images under
/// sub-chart keys (cert-manager, harbor, keycloak, kyverno, gitea), scratch charts with
/// templated images (anthropic-adapter, powerdns, librechat), and values-only charts.
const CORPUS: [&str; 10] = [
    "alloy",
    "anthropic-adapter",
    "cert-manager",
    "gitea",
    "harbor",
    "keycloak",
    "kyverno",
    "librechat",
    "powerdns",
    "trivy",
];

fn catalog_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("blueprints"))
        .expect("blueprints/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("blueprint.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "expected the catalog in blueprints/");
    dirs
}

fn all_dirs() -> Vec<PathBuf> {
    let mut dirs = catalog_dirs();
    if let Some(s) = shared() {
        let corpus = s.join("corpus/openova/platform");
        for name in CORPUS {
            dirs.push(corpus.join(name));
        }
    }
    dirs
}

fn pkg(dir: &Path) -> Artifact {
    package::package(dir, &PackageOptions::default())
        .unwrap_or_else(|e| panic!("{} does not package: {e}", dir.display()))
}

fn opts() -> SbomOptions {
    SbomOptions {
        epoch: 1_700_000_000,
        ..SbomOptions::default()
    }
}

fn generate(a: &Artifact, lock: Option<&Lock>, f: Format) -> Vec<u8> {
    sbom::generate(a, lock, f, &opts()).expect("sbom")
}

struct Local(BTreeMap<String, Value>);

impl jsonschema::Retrieve for Local {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let s = uri.as_str();
        let key = s.split('#').next().unwrap_or(s);
        self.0
            .get(key)
            .cloned()
            .ok_or_else(|| format!("no local schema for `{s}`").into())
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The CycloneDX 1.6 and SPDX 2.3 validators, with the CycloneDX schema's references
/// (`spdx.schema.json`, `jsf-0.82.schema.json`) registered by their `$id`.
fn validators(shared: &Path) -> (jsonschema::Validator, jsonschema::Validator) {
    let cdx = shared.join("conformance/cyclonedx");
    let mut resources = BTreeMap::new();
    for f in ["spdx.schema.json", "jsf-0.82.schema.json"] {
        let v = read_json(&cdx.join(f));
        let id = v["$id"].as_str().expect("$id").to_string();
        resources.insert(id, v);
    }
    let bom = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .with_retriever(Local(resources))
        .build(&read_json(&cdx.join("bom-1.6.schema.json")))
        .expect("bom-1.6 compiles");
    let spdx = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&read_json(
            &shared.join("conformance/spdx/spdx-schema.json"),
        ))
        .expect("spdx schema compiles");
    (bom, spdx)
}

fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// A lock for a Blueprint's dependencies: each at version 9.9.9 with a made-up digest.
fn fake_lock(a: &Artifact) -> Lock {
    let mut nodes = vec![LockNode {
        name: "shop".into(),
        blueprint: a.blueprint.name().into(),
        version: a.blueprint.version().into(),
        source: "x".into(),
        digest: None,
    }];
    for (i, d) in a.blueprint.spec.depends.iter().enumerate() {
        nodes.push(LockNode {
            name: format!("shop-{}", d.local_name()),
            blueprint: d.blueprint.clone(),
            version: "9.9.9".into(),
            source: "x".into(),
            digest: Some(format!("sha256:{i:064x}")),
        });
    }
    nodes.push(LockNode {
        name: "deep".into(),
        blueprint: "bp-deep".into(),
        version: "1.0.0".into(),
        source: "x".into(),
        digest: None,
    });
    Lock {
        version: 1,
        application: "shop".into(),
        blueprint: a.blueprint.name().into(),
        nodes,
    }
}

#[test]
fn every_sbom_validates_against_the_json_schemas() {
    let Some(shared) = shared() else { return };
    let (bom, spdx) = validators(&shared);
    let mut checked = 0;
    for dir in all_dirs() {
        let a = pkg(&dir);
        let lock = fake_lock(&a);
        for lock in [None, Some(&lock)] {
            let c: Value = serde_json::from_slice(&generate(&a, lock, Format::CycloneDx))
                .expect("cyclonedx json");
            let errs = schema_errors(&bom, &c);
            assert!(errs.is_empty(), "{}: CycloneDX: {errs:#?}", dir.display());
            let s: Value =
                serde_json::from_slice(&generate(&a, lock, Format::Spdx)).expect("spdx json");
            let errs = schema_errors(&spdx, &s);
            assert!(errs.is_empty(), "{}: SPDX: {errs:#?}", dir.display());
            checked += 2;
        }
    }
    assert!(checked >= 4 * 21, "only {checked} documents checked");
    eprintln!("{checked} SBOMs valid against bom-1.6.schema.json / spdx-schema.json");
}

#[test]
fn schema_check_is_not_vacuous() {
    let Some(shared) = shared() else { return };
    let (bom, spdx) = validators(&shared);
    let a = pkg(&repo().join("blueprints/wordpress"));
    let mut c: Value =
        serde_json::from_slice(&generate(&a, None, Format::CycloneDx)).expect("json");
    c["components"][0]["type"] = "helm-chart".into();
    assert!(!schema_errors(&bom, &c).is_empty());
    let mut c: Value =
        serde_json::from_slice(&generate(&a, None, Format::CycloneDx)).expect("json");
    c["metadata"]["component"]["licenses"] = serde_json::json!([{"license": {"id": "Nope-1.0"}}]);
    assert!(
        !schema_errors(&bom, &c).is_empty(),
        "spdx.schema.json ids are enforced"
    );
    let mut s: Value = serde_json::from_slice(&generate(&a, None, Format::Spdx)).expect("json");
    s["packages"][0]["primaryPackagePurpose"] = "HELM".into();
    assert!(!schema_errors(&spdx, &s).is_empty());
}

/// Runs `validate-sbom.sh` on each file; `None` when the tool cannot run here.
fn real_validator(shared: &Path, files: &[PathBuf]) -> Option<Vec<(PathBuf, bool, String)>> {
    let script = shared.join("interop/validate-sbom.sh");
    if !script.is_file() {
        eprintln!(
            "SKIPPED (LOUDLY): {} is absent; SBOMs NOT checked by the CycloneDX/SPDX tools",
            script.display()
        );
        return None;
    }
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let started = Instant::now();
        // The first call may install the tools into a venv: allow it 20 minutes.
        let limit = if i == 0 { 1200 } else { 300 };
        let child = Command::new("timeout")
            .arg(limit.to_string())
            .arg(&script)
            .arg(f)
            .output();
        let o = match child {
            Ok(o) => o,
            Err(e) => {
                eprintln!("SKIPPED (LOUDLY): cannot run {}: {e}", script.display());
                return None;
            }
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        match o.status.code() {
            Some(0) => out.push((f.clone(), true, text)),
            Some(1) => out.push((f.clone(), false, text)),
            code => {
                eprintln!(
                    "SKIPPED (LOUDLY): validate-sbom.sh could not run (exit {code:?} after {:?}): {text}",
                    started.elapsed()
                );
                return None;
            }
        }
        if started.elapsed() > Duration::from_secs(limit) {
            eprintln!(
                "validate-sbom.sh took {:?} for {}",
                started.elapsed(),
                f.display()
            );
        }
    }
    Some(out)
}

#[test]
fn every_sbom_passes_the_format_owners_validators() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    let mut dirs = all_dirs();
    dirs.push(vendored_fixture(&tmp.path().join("fixture")).0);
    for dir in dirs {
        let a = pkg(&dir);
        let lock = fake_lock(&a);
        let name = format!("{}-{}", a.blueprint.name(), files.len());
        // Each tool run costs seconds: the locked variant only where there is something to pin.
        let variants: &[(&str, Option<&Lock>)] = if a.blueprint.spec.depends.is_empty() {
            &[("", None)]
        } else {
            &[("", None), ("-locked", Some(&lock))]
        };
        for &(suffix, lock) in variants {
            for (ext, f) in [("cdx.json", Format::CycloneDx), ("spdx.json", Format::Spdx)] {
                let p = tmp.path().join(format!("{name}{suffix}.{ext}"));
                std::fs::write(&p, generate(&a, lock, f)).expect("write");
                files.push(p);
            }
        }
    }
    let Some(results) = real_validator(&shared, &files) else {
        return;
    };
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.1)
        .map(|r| format!("{}:\n{}", r.0.display(), r.2))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(
        results
            .iter()
            .all(|r| r.2.contains("VALID") && !r.2.contains("INVALID")),
        "every run reports VALID"
    );
    eprintln!(
        "{} SBOMs VALID with validate-sbom.sh (cyclonedx-python-lib JsonStrictValidator; pyspdxtools + check-jsonschema)",
        results.len()
    );
}

#[test]
fn the_real_validator_rejects_a_broken_sbom() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let a = pkg(&repo().join("blueprints/postgres"));
    let mut c: Value =
        serde_json::from_slice(&generate(&a, None, Format::CycloneDx)).expect("json");
    c["components"][0]["hashes"][0]["alg"] = "SHA-257".into();
    let mut s: Value = serde_json::from_slice(&generate(&a, None, Format::Spdx)).expect("json");
    s["relationships"][0]["relatedSpdxElement"] = "SPDXRef-missing".into();
    let files = [
        tmp.path().join("bad.cdx.json"),
        tmp.path().join("bad.spdx.json"),
    ];
    std::fs::write(&files[0], serde_json::to_vec(&c).expect("json")).expect("write");
    std::fs::write(&files[1], serde_json::to_vec(&s).expect("json")).expect("write");
    let Some(results) = real_validator(&shared, &files) else {
        return;
    };
    for (f, ok, text) in results {
        assert!(!ok, "{} should be invalid: {text}", f.display());
    }
}

fn images_of(c: &Value) -> Vec<String> {
    c["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|x| x["type"] == "container")
        .map(|x| x["purl"].as_str().expect("purl").to_string())
        .collect()
}

/// bp-wordpress: `values.yaml` has `image` (docker.io, library/wordpress,
/// 6.6.2-php8.3-apache) and `cli.image` (cli-2.11.0-php8.3); the templates only use
/// `include "bp-wordpress.image"`; the annotation names the same two images.
#[test]
fn wordpress_images_are_the_hand_checked_list() {
    let a = pkg(&repo().join("blueprints/wordpress"));
    let inv = sbom::inventory(&a, None).expect("inventory");
    let refs: Vec<String> = inv.images.iter().map(|i| i.reference.to_string()).collect();
    assert_eq!(
        refs,
        [
            "docker.io/library/wordpress:6.6.2-php8.3-apache",
            "docker.io/library/wordpress:cli-2.11.0-php8.3",
        ]
    );
    let c: Value = serde_json::from_slice(&generate(&a, None, Format::CycloneDx)).expect("json");
    assert_eq!(
        images_of(&c),
        [
            "pkg:oci/wordpress?repository_url=docker.io/library/wordpress&tag=6.6.2-php8.3-apache",
            "pkg:oci/wordpress?repository_url=docker.io/library/wordpress&tag=cli-2.11.0-php8.3",
        ]
    );
    let found = &inv.images[0].found_in;
    assert!(
        found.iter().any(|f| f.contains("values.yaml` at `/image`")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.contains("artifacthub.io/images")),
        "{found:?}"
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

/// bp-postgres: `image` (docker.io library/postgres 16.4) and `metrics.image` (quay.io
/// prometheuscommunity/postgres-exporter v0.15.0); templates only `include` them.
#[test]
fn postgres_images_license_and_chart() {
    let a = pkg(&repo().join("blueprints/postgres"));
    let c: Value = serde_json::from_slice(&generate(&a, None, Format::CycloneDx)).expect("json");
    assert_eq!(
        images_of(&c),
        [
            "pkg:oci/postgres?repository_url=docker.io/library/postgres&tag=16.4",
            "pkg:oci/postgres-exporter?repository_url=quay.io/prometheuscommunity/postgres-exporter&tag=v0.15.0",
        ]
    );
    let chart = &c["components"][0];
    assert_eq!(chart["purl"], "pkg:helm/bp-postgres@1.6.1");
    assert_eq!(chart["licenses"][0]["expression"], "PostgreSQL");
    let chart_sha = bpkit::oci::Digest::of(a.content()).hex().to_string();
    assert_eq!(chart["hashes"][0]["content"], chart_sha.as_str());
    let subject = &c["metadata"]["component"];
    assert_eq!(subject["name"], "bp-postgres");
    assert_eq!(
        subject["purl"],
        format!("pkg:oci/bp-postgres@{}?tag=1.6.1", a.digest()).as_str()
    );
    assert_eq!(c["metadata"]["tools"]["components"][0]["name"], "bpkit");
    assert_eq!(
        c["metadata"]["tools"]["components"][0]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(c["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    // chart -> its two images in the graph.
    let deps = c["dependencies"].as_array().expect("deps");
    let chart_node = deps
        .iter()
        .find(|d| d["ref"] == chart["bom-ref"])
        .expect("chart node");
    assert_eq!(chart_node["dependsOn"].as_array().expect("list").len(), 2);
}

#[test]
fn kustomize_blueprint_lists_its_literal_image() {
    let a = pkg(&repo().join("blueprints/status-page"));
    let inv = sbom::inventory(&a, None).expect("inventory");
    let refs: Vec<String> = inv.images.iter().map(|i| i.reference.to_string()).collect();
    assert_eq!(refs, ["docker.io/twinproduction/gatus:v5.13.1"]);
    assert!(inv.manifests.is_some());
    assert!(inv.charts.is_empty());
}

#[test]
fn dependencies_follow_spec_depends_and_the_lock() {
    let a = pkg(&repo().join("blueprints/wordpress"));
    let c: Value = serde_json::from_slice(&generate(&a, None, Format::CycloneDx)).expect("json");
    let deps: Vec<(&str, &str)> = c["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|x| {
            x["bom-ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("blueprint-dependency:"))
        })
        .map(|x| {
            (
                x["name"].as_str().expect("name"),
                x["scope"].as_str().expect("scope"),
            )
        })
        .collect();
    assert_eq!(
        deps,
        [
            ("bp-postgres", "optional"),
            ("bp-valkey", "optional"),
            ("bp-db-backup", "optional"),
            ("bp-ingress", "required"),
        ]
    );
    // With a lock: exact versions, digests as hashes and purl versions; an indirect node.
    let lock = fake_lock(&a);
    let c: Value =
        serde_json::from_slice(&generate(&a, Some(&lock), Format::CycloneDx)).expect("json");
    let comps = c["components"].as_array().expect("components");
    let pg = comps
        .iter()
        .find(|x| x["name"] == "bp-postgres")
        .expect("pg");
    assert_eq!(pg["version"], "9.9.9");
    assert_eq!(pg["scope"], "required");
    assert_eq!(pg["hashes"][0]["content"], format!("{:064x}", 0).as_str());
    assert_eq!(
        pg["purl"],
        format!("pkg:oci/bp-postgres@sha256:{:064x}?tag=9.9.9", 0).as_str()
    );
    let ingress = comps
        .iter()
        .find(|x| x["name"] == "bp-ingress")
        .expect("ingress");
    assert_eq!(
        ingress["version"], "9.9.9",
        "shared `ingress` matched by name"
    );
    assert!(comps.iter().any(|x| x["name"] == "bp-deep"));
    let root = &c["dependencies"][0];
    assert_eq!(root["ref"], c["metadata"]["component"]["bom-ref"]);
    let root_deps = root["dependsOn"].as_array().expect("list");
    assert_eq!(
        root_deps.len(),
        5,
        "chart + 4 direct dependencies: {root_deps:?}"
    );
    // SPDX: DESCRIBES, CONTAINS, DEPENDS_ON.
    let s: Value = serde_json::from_slice(&generate(&a, Some(&lock), Format::Spdx)).expect("json");
    let types: std::collections::BTreeSet<&str> = s["relationships"]
        .as_array()
        .expect("relationships")
        .iter()
        .map(|r| r["relationshipType"].as_str().expect("type"))
        .collect();
    for t in ["DESCRIBES", "CONTAINS", "DEPENDS_ON"] {
        assert!(types.contains(t), "{t} in {types:?}");
    }
}

#[test]
fn two_runs_give_identical_bytes_and_the_epoch_is_the_only_time() {
    for dir in all_dirs() {
        let a1 = pkg(&dir);
        let a2 = pkg(&dir);
        for f in [Format::CycloneDx, Format::Spdx] {
            let x = generate(&a1, None, f);
            assert_eq!(x, generate(&a2, None, f), "{}", dir.display());
            let other = sbom::generate(
                &a1,
                None,
                f,
                &SbomOptions {
                    epoch: 1_700_000_001,
                    ..SbomOptions::default()
                },
            )
            .expect("sbom");
            assert_ne!(x, other, "the epoch is recorded");
        }
    }
    let a = pkg(&repo().join("blueprints/valkey"));
    let c: Value = serde_json::from_slice(&generate(&a, None, Format::CycloneDx)).expect("json");
    let b: Value = serde_json::from_slice(&generate(
        &pkg(&repo().join("blueprints/postgres")),
        None,
        Format::CycloneDx,
    ))
    .expect("json");
    assert_ne!(
        c["serialNumber"], b["serialNumber"],
        "serials differ by content"
    );
    let s: Value = serde_json::from_slice(&generate(&a, None, Format::Spdx)).expect("json");
    let ns = s["documentNamespace"].as_str().expect("ns");
    assert!(
        ns.starts_with("https://openova.io/spdxdocs/bpkit/bp-valkey-2.1.0-"),
        "{ns}"
    );
}

#[test]
fn corpus_umbrella_charts_list_declared_subcharts_and_their_images() {
    let Some(s) = shared() else { return };
    let a = pkg(&s.join("corpus/openova/platform/harbor"));
    let inv = sbom::inventory(&a, None).expect("inventory");
    let sub = inv
        .charts
        .iter()
        .find(|c| c.name == "harbor")
        .expect("declared harbor sub-chart");
    assert!(!sub.vendored);
    assert_eq!(sub.version.as_deref(), Some("1.18.3"));
    assert_eq!(
        sub.purl().to_string(),
        "pkg:helm/harbor@1.18.3?repository_url=https://helm.goharbor.io"
    );
    let portal = inv
        .images
        .iter()
        .find(|i| i.reference.to_string() == "docker.io/goharbor/harbor-portal:v2.14.3")
        .expect("portal image");
    assert!(
        portal.users.contains(&sub.key),
        "attributed to the sub-chart"
    );
}

#[test]
fn cli_writes_the_same_bytes_as_the_library() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("wp.spdx.json");
    let st = Command::new(env!("CARGO_BIN_EXE_bpkit"))
        .arg("sbom")
        .arg(repo().join("blueprints/wordpress"))
        .args(["--format", "spdx", "--out"])
        .arg(&out)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("runs");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    // SOURCE_DATE_EPOCH is also the packaging epoch, hence part of the artifact digest.
    let a = package::package(
        &repo().join("blueprints/wordpress"),
        &PackageOptions {
            epoch: 1_700_000_000,
            ..PackageOptions::default()
        },
    )
    .expect("pkg");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    assert_eq!(
        text(std::fs::read(&out).expect("read")),
        text(generate(&a, None, Format::Spdx))
    );
    let st = Command::new(env!("CARGO_BIN_EXE_bpkit"))
        .arg("sbom")
        .arg(repo().join("blueprints/wordpress"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("runs");
    assert!(st.status.success());
    assert_eq!(text(st.stdout), text(generate(&a, None, Format::CycloneDx)));
}

/// bp-valkey with two vendored sub-charts: `charts/sub/` (a folder) and
/// `charts/packed-2.0.0.tgz` (an archive, aliased `pk` in `Chart.yaml`).
/// Returns the folder, the `.tgz` bytes and the packed image's digest.
fn vendored_fixture(under: &Path) -> (PathBuf, Vec<u8>, String) {
    use bpkit::package::archive::{Entry, tar_gz};
    let bp = under.join("valkey");
    copy_tree(&repo().join("blueprints/valkey"), &bp);
    let chart = bp.join("chart");
    let mut cy = std::fs::read_to_string(chart.join("Chart.yaml")).expect("Chart.yaml");
    cy.push_str(
        "dependencies:\n  - name: sub\n    version: 0.1.0\n    repository: https://charts.example.com\n  - name: packed\n    version: 2.0.0\n    repository: oci://registry.example.com/charts\n    alias: pk\n",
    );
    std::fs::write(chart.join("Chart.yaml"), cy).expect("write");
    let mut values = std::fs::read_to_string(chart.join("values.yaml")).expect("values");
    values.push_str("\npk:\n  image: nginx:1.27\n");
    std::fs::write(chart.join("values.yaml"), values).expect("write");
    let sub = chart.join("charts/sub");
    std::fs::create_dir_all(sub.join("templates")).expect("mkdir");
    std::fs::write(
        sub.join("Chart.yaml"),
        "apiVersion: v2\nname: sub\nversion: 0.1.0\nannotations:\n  artifacthub.io/license: MIT\n",
    )
    .expect("write");
    std::fs::write(
        sub.join("values.yaml"),
        "image:\n  repository: example/sub\n  tag: \"1.0\"\n",
    )
    .expect("write");
    std::fs::write(
        sub.join("templates/deploy.yaml"),
        "spec:\n  containers:\n    - image: quay.io/example/sidecar:2.0\n    - image: \"{{ .Values.image.repository }}\"\n",
    )
    .expect("write");
    let digest = format!("sha256:{}", "ab".repeat(32));
    let tgz = tar_gz(
        &[
            Entry::dir("packed"),
            Entry::file(
                "packed/Chart.yaml",
                "apiVersion: v2\nname: packed\nversion: 2.0.0\n",
            ),
            Entry::file(
                "packed/values.yaml",
                format!("image: registry.example.com/packed@{digest}\n"),
            ),
        ],
        0,
    );
    std::fs::write(chart.join("charts/packed-2.0.0.tgz"), &tgz).expect("write");

    (bp, tgz, digest)
}

#[test]
fn vendored_subcharts_are_hashed_and_own_their_images() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (bp, tgz, digest) = vendored_fixture(tmp.path());
    let sub = bp.join("chart/charts/sub");
    let a = pkg(&bp);
    let inv = sbom::inventory(&a, None).expect("inventory");
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let names: Vec<&str> = inv.charts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["bp-valkey", "sub", "packed"]);
    let sub_c = &inv.charts[1];
    assert!(sub_c.vendored);
    assert_eq!(sub_c.parent, Some(0));
    assert_eq!(sub_c.license.as_deref(), Some("MIT"));
    assert_eq!(
        sub_c.repository.as_deref(),
        Some("https://charts.example.com")
    );
    assert_eq!(sub_c.sha256.as_ref().map(String::len), Some(64));
    let packed = &inv.charts[2];
    assert_eq!(
        packed.sha256.as_deref(),
        Some(bpkit::oci::Digest::of(&tgz).hex()),
        "an archived sub-chart is hashed as it is"
    );
    assert_eq!(
        packed.purl().to_string(),
        "pkg:helm/packed@2.0.0?repository_url=oci://registry.example.com/charts"
    );
    let user = |r: &str| -> Vec<&str> {
        inv.images
            .iter()
            .find(|i| i.reference.to_string() == r)
            .unwrap_or_else(|| panic!("{r} not listed"))
            .users
            .iter()
            .map(String::as_str)
            .collect()
    };
    assert_eq!(user("docker.io/example/sub:1.0"), [sub_c.key.as_str()]);
    assert_eq!(user("quay.io/example/sidecar:2.0"), [sub_c.key.as_str()]);
    assert_eq!(
        user(&format!("registry.example.com/packed@{digest}")),
        [packed.key.as_str()]
    );
    assert_eq!(
        user("docker.io/library/nginx:1.27"),
        [packed.key.as_str()],
        "values under the alias `pk` belong to the sub-chart"
    );
    assert!(user("docker.io/valkey/valkey:8.0.1").contains(&inv.charts[0].key.as_str()));
    // The folder hash does not depend on file times.
    std::thread::sleep(Duration::from_millis(10));
    std::fs::write(
        sub.join("values.yaml"),
        "image:\n  repository: example/sub\n  tag: \"1.0\"\n",
    )
    .expect("touch");
    let again = sbom::inventory(&pkg(&bp), None).expect("inventory");
    assert_eq!(again.charts[1].sha256, sub_c.sha256);

    // And the documents are valid.
    if let Some(shared) = shared() {
        let (bom, spdx) = validators(&shared);
        let c: Value =
            serde_json::from_slice(&generate(&a, None, Format::CycloneDx)).expect("json");
        assert!(schema_errors(&bom, &c).is_empty());
        let purls = images_of(&c);
        assert!(purls.contains(&format!(
            "pkg:oci/packed@{digest}?repository_url=registry.example.com/packed"
        )));
        let s: Value = serde_json::from_slice(&generate(&a, None, Format::Spdx)).expect("json");
        assert!(schema_errors(&spdx, &s).is_empty());
        let contains = s["relationships"]
            .as_array()
            .expect("rels")
            .iter()
            .filter(|r| r["relationshipType"] == "CONTAINS")
            .count();
        assert_eq!(contains, 3, "bp -> chart -> sub, packed");
    }
}
