//! Packaging and OCI layouts end to end: reproducible bytes, golden digests, OCI schema
//! conformance, `digest` = `push`, round trips, and hostile artifacts refused by `pull`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bpkit::oci::{Descriptor, Digest, Layout, Manifest, ReadLimits, annotation, media_type};
use bpkit::package::{self, PackageError, PackageOptions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn catalog() -> PathBuf {
    repo().join("blueprints")
}

fn bpkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bpkit"));
    c.env_remove("NO_COLOR").env_remove("SOURCE_DATE_EPOCH");
    c
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

/// The Blueprint folders of the reference catalog.
fn catalog_blueprints() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(catalog())
        .expect("catalog")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("blueprint.yaml").is_file())
        .collect();
    v.sort();
    v
}

/// Every path under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let e = e.expect("walk");
        out.push(
            e.path()
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/"),
        );
    }
    out
}

/// Copies a tree; `reverse` creates entries in the opposite order (so directory listings
/// come back in another order on file systems that keep creation order).
fn copy_tree(src: &Path, dst: &Path, reverse: bool) {
    std::fs::create_dir_all(dst).expect("mkdir");
    let mut entries: Vec<_> = std::fs::read_dir(src)
        .expect("read")
        .map(|e| e.expect("entry"))
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    if reverse {
        entries.reverse();
    }
    for e in entries {
        let to = dst.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &to, reverse);
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
}

/// Sets every file's and folder's mode and modification time (folders last, deepest first).
#[cfg(unix)]
fn scramble(dir: &Path, file_mode: u32, dir_mode: u32, mtime: u64) {
    use std::os::unix::fs::PermissionsExt;
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
    let all: Vec<_> = walkdir::WalkDir::new(dir)
        .contents_first(true)
        .into_iter()
        .map(|e| e.expect("walk"))
        .collect();
    for e in all {
        let is_dir = e.file_type().is_dir();
        let mode = if is_dir { dir_mode } else { file_mode };
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
        let f = std::fs::File::open(e.path()).expect("open");
        f.set_modified(when).expect("mtime");
    }
}

fn digest_of(dir: &Path, opts: &PackageOptions) -> String {
    package::package(dir, opts)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .digest()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Reproducibility.

#[cfg(unix)]
#[test]
fn same_digest_from_copies_with_other_mtimes_modes_and_order() {
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    for bp in catalog_blueprints() {
        let name = bp.file_name().expect("name");
        let (da, db) = (a.path().join("x").join(name), b.path().join("y").join(name));
        copy_tree(&bp, &da, false);
        copy_tree(&bp, &db, true);
        scramble(&da, 0o600, 0o700, 1_000_000);
        scramble(&db, 0o666, 0o777, 1_700_000_000);
        let pa = package::package(&da, &PackageOptions::default()).expect("package a");
        let pb = package::package(&db, &PackageOptions::default()).expect("package b");
        assert_eq!(pa.digest(), pb.digest(), "{}", bp.display());
        assert_eq!(pa.image, pb.image, "{}: every blob identical", bp.display());
        // And the copies give what the catalog itself gives.
        assert_eq!(
            pa.digest().to_string(),
            digest_of(&bp, &PackageOptions::default())
        );
    }
}

#[test]
fn epoch_source_and_revision_are_recorded_and_change_the_digest() {
    let dir = catalog().join("postgres");
    let base = package::package(&dir, &PackageOptions::default()).expect("package");
    let ann = &base.image.manifest().annotations;
    assert_eq!(ann[annotation::CREATED], "2000-01-01T00:00:00Z");
    assert!(!ann.contains_key(annotation::REVISION));
    let opts = PackageOptions {
        epoch: 1_700_000_000,
        source: Some("https://github.com/openova-io/catalog".into()),
        revision: Some("0123abcd".into()),
        ..PackageOptions::default()
    };
    let other = package::package(&dir, &opts).expect("package");
    let ann = &other.image.manifest().annotations;
    assert_eq!(ann[annotation::CREATED], "2023-11-14T22:13:20Z");
    assert_eq!(
        ann[annotation::SOURCE],
        "https://github.com/openova-io/catalog"
    );
    assert_eq!(ann[annotation::REVISION], "0123abcd");
    assert_ne!(base.digest(), other.digest());
    // The epoch is the mtime of every archive entry.
    let entries = tar_entries(other.content());
    assert!(entries.iter().all(|(_, _, mtime)| *mtime == 1_700_000_000));
    assert_eq!(
        package::package(&dir, &opts).expect("again").digest(),
        other.digest()
    );
}

/// `(path, mode, mtime)` of each entry of a tar+gzip.
fn tar_entries(tgz: &[u8]) -> Vec<(String, u32, u64)> {
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    a.entries()
        .expect("tar")
        .map(|e| {
            let e = e.expect("entry");
            let h = e.header();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                h.mode().expect("mode"),
                h.mtime().expect("mtime"),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Golden digests.

const BACKEND_HINT: &str = "\
If the Blueprint's files did not change, the archive bytes did: a new flate2 or zlib-rs \
version, another flate2 backend (cargo unifies features: any crate in the build enabling one of \
flate2's C zlib features, `zlib`, `zlib-ng`, `zlib-ng-compat`, replaces zlib-rs), another \
level, or a change to the tar/gzip writer or the manifest serialisation. That changes the digest of every published artifact: do it only on \
purpose, say so in the changelog, then update the golden values (docs/artifact-format.md, \
section Reproducibility).";

/// The digest of gzip alone over fixed input: fails first, and only, when compression changes.
#[test]
fn golden_gzip_bytes() {
    let mut input = Vec::new();
    for i in 0..2000u32 {
        input.extend_from_slice(format!("line {i}: the quick brown fox {}\n", i % 7).as_bytes());
    }
    let gz = package::archive::gzip(&input);
    assert_eq!(
        Digest::of(&gz).to_string(),
        "sha256:52435ce150b3c72736e6aa92d1068933cbebe672ce0c89acea46b4ac2ec50e6a",
        "the gzip output over fixed input changed. {BACKEND_HINT}"
    );
}

/// Writes a small Blueprint from literals (independent of the catalog).
fn write_fixture(dir: &Path, kustomize: bool) {
    let files: &[(&str, &str)] = if kustomize {
        &[
            (
                "blueprint.yaml",
                "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-golden-k\n  version: 0.1.0\nspec:\n  card:\n    title: Golden Kustomize\n    summary: A fixed Kustomize fixture.\n    license: MIT\n  visibility: unlisted\n  manifests:\n    source:\n      kind: Kustomize\n      ref: ./deploy/base\n",
            ),
            (
                "deploy/base/kustomization.yaml",
                "resources:\n  - cm.yaml\n",
            ),
            (
                "deploy/base/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: golden\n",
            ),
            (
                "deploy/overlays/small/kustomization.yaml",
                "resources:\n  - ../../base\n",
            ),
        ]
    } else {
        &[
            (
                "blueprint.yaml",
                "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-golden\n  version: 1.2.3\nspec:\n  card:\n    title: Golden\n    summary: A fixed Helm fixture <with> & \"quotes\".\n    license: Apache-2.0\n  visibility: unlisted\n  manifests:\n    source:\n      kind: HelmChart\n      ref: ./chart\n",
            ),
            (
                "chart/Chart.yaml",
                "apiVersion: v2\nname: bp-golden\nversion: 1.2.3\nappVersion: \"4.5\"\ndescription: |\n  Two lines\n  of description.\nmaintainers:\n  - name: Team\n    email: team@example.com\nannotations:\n  b: \"2\"\n  a: \"1\"\n",
            ),
            ("chart/values.yaml", "replicas: 1\n"),
            (
                "chart/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
            ),
            (
                "chart/templates/.hidden",
                "skipped by Helm's default rule\n",
            ),
            ("chart/.helmignore", "*.bak\nscratch/\n"),
            ("chart/notes.bak", "ignored\n"),
            ("chart/scratch/x.txt", "ignored\n"),
            (
                "chart/files/a-very-long-folder-name-to-force-the-ustar-prefix-field-to-be-used/and-another-long-one-beyond-one-hundred.txt",
                "long path\n",
            ),
            ("card/README.md", "# Golden\n"),
        ]
    };
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }
}

#[test]
fn golden_fixture_digests() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (h, k) = (tmp.path().join("h"), tmp.path().join("k"));
    write_fixture(&h, false);
    write_fixture(&k, true);
    let helm = package::package(&h, &PackageOptions::default()).expect("helm");
    let kust = package::package(&k, &PackageOptions::default()).expect("kustomize");
    // What the chart holds: `.helmignore` and Helm's default rule applied.
    let paths: Vec<String> = tar_entries(helm.content())
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        paths,
        [
            "bp-golden/",
            "bp-golden/.helmignore",
            "bp-golden/Chart.yaml",
            "bp-golden/files/",
            "bp-golden/files/a-very-long-folder-name-to-force-the-ustar-prefix-field-to-be-used/",
            "bp-golden/files/a-very-long-folder-name-to-force-the-ustar-prefix-field-to-be-used/and-another-long-one-beyond-one-hundred.txt",
            "bp-golden/templates/",
            "bp-golden/templates/cm.yaml",
            "bp-golden/values.yaml",
        ]
    );
    assert_eq!(
        String::from_utf8_lossy(helm.image.config()),
        r#"{"name":"bp-golden","version":"1.2.3","description":"Two lines of description. ","maintainers":[{"name":"Team","email":"team@example.com"}],"apiVersion":"v2","appVersion":"4.5","annotations":{"a":"1","b":"2"}}"#
    );
    assert_eq!(kust.kustomize_path.as_deref(), Some("base"));
    let kpaths: Vec<String> = tar_entries(kust.content())
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        kpaths,
        [
            "base/",
            "base/cm.yaml",
            "base/kustomization.yaml",
            "overlays/",
            "overlays/small/",
            "overlays/small/kustomization.yaml",
        ]
    );
    let got = [
        ("helm", helm.digest().to_string()),
        ("kustomize", kust.digest().to_string()),
    ];
    let want = [
        (
            "helm",
            "sha256:33ffe1ae7232166339117b2a5b406f4b236c57ed0e71e09c84c357a7946bfed5",
        ),
        (
            "kustomize",
            "sha256:656a052e73376b7a23668031dc4bc1dfd93be285b46378cfef08203e7a676ec1",
        ),
    ];
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert_eq!(
            g, w,
            "the digest of the fixed `{name}` fixture changed. {BACKEND_HINT}"
        );
    }
}

#[test]
fn golden_catalog_digests() {
    let want: &[(&str, &str)] = &[
        (
            "db-backup",
            "sha256:14f9e0593317c64114ab0122b702ec801bc7b8466e7068492fdc2be1a6ebc4d7",
        ),
        (
            "ingress",
            "sha256:a87105cb4a9788edaf5147d4468538e6a9c3160d75b66e2b36cfb5401c30b9d2",
        ),
        (
            "observability",
            "sha256:e6e8395a72d5a390498374507ad7f133214aa23150242a8f7d2c9e5b873f2c94",
        ),
        (
            "platform",
            "sha256:99ef7f99ab46d536d25e521a63fe2130c24fbf3a16d03df8c3f24f160c06b675",
        ),
        (
            "postgres",
            "sha256:1aa00a3e9bc7220f1b3b642daa19338867df0edb1fd6f2359f7a151376be0771",
        ),
        (
            "secrets",
            "sha256:4e9fdd62a319dd8cc79bfec71a381aa0816b4042a7954e105c6210e017fee74e",
        ),
        (
            "sso",
            "sha256:7beaccbdc9759b3aed7a8eaed03d776a636537c04c2307937af9ad07c38e8184",
        ),
        (
            "status-page",
            "sha256:d05681cdbf101a91132ea4c4d17ba29b9c8deb37424f640fd873ff7624271516",
        ),
        (
            "tls-issuer",
            "sha256:b0c009812733291665d0e5a2d8d5a2f43728ee2c80b373fcedc6fb0fa7406475",
        ),
        (
            "valkey",
            "sha256:979c7bfb9e83a7131fddd8bbe9c75f1e9213e1b241c46a9e667c5c9764491397",
        ),
        (
            "wordpress",
            "sha256:cf81e47d2b281438bd8cb2e78063f05b7b28cf3f242aa98ec5ee48c99a89f3cd",
        ),
    ];
    let got: Vec<(String, String)> = catalog_blueprints()
        .iter()
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                digest_of(p, &PackageOptions::default()),
            )
        })
        .collect();
    assert_eq!(
        got.len(),
        want.len(),
        "the catalog has other Blueprints: {got:?}"
    );
    for ((name, g), (wname, w)) in got.iter().zip(want) {
        assert_eq!(name, wname);
        assert_eq!(
            g, w,
            "the digest of `blueprints/{name}` changed. If you edited that Blueprint, update \
             this golden value. {BACKEND_HINT}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Packaging refusals.

fn fixture(kustomize: bool) -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tmp");
    write_fixture(t.path(), kustomize);
    t
}

fn package_err(dir: &Path) -> PackageError {
    package::package(dir, &PackageOptions::default()).expect_err("refused")
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_followed_outside_refused() {
    use std::os::unix::fs::symlink;
    let t = fixture(false);
    let chart = t.path().join("chart");
    let plain = package::package(t.path(), &PackageOptions::default()).expect("plain");
    // A link to a file inside the chart is stored as the file's content.
    symlink("values.yaml", chart.join("values-link.yaml")).expect("link");
    symlink("templates", chart.join("tpl")).expect("link");
    let linked = package::package(t.path(), &PackageOptions::default()).expect("linked");
    let entries =
        package::archive::read_tar_gz(linked.content(), &Default::default()).expect("read");
    let get = |p: &str| entries.iter().find(|e| e.path == p).map(|e| e.kind.clone());
    assert_eq!(
        get("bp-golden/values-link.yaml"),
        get("bp-golden/values.yaml")
    );
    assert_eq!(
        get("bp-golden/tpl/cm.yaml"),
        get("bp-golden/templates/cm.yaml")
    );
    assert_ne!(plain.digest(), linked.digest());
    std::fs::remove_file(chart.join("values-link.yaml")).expect("rm");
    std::fs::remove_file(chart.join("tpl")).expect("rm");

    symlink("../blueprint.yaml", chart.join("escape.yaml")).expect("link");
    let e = package_err(t.path()).to_string();
    assert_eq!(
        e,
        "`chart/escape.yaml` is a symbolic link to `../blueprint.yaml`, outside `chart`"
    );
    std::fs::remove_file(chart.join("escape.yaml")).expect("rm");

    symlink("/etc/hostname", chart.join("abs")).expect("link");
    let e = package_err(t.path()).to_string();
    assert!(
        e.contains("`chart/abs` is a symbolic link to `/etc/hostname`, outside `chart`")
            || e.contains("does not exist"),
        "{e}"
    );
    std::fs::remove_file(chart.join("abs")).expect("rm");

    symlink("nothing-here", chart.join("dangling")).expect("link");
    assert_eq!(
        package_err(t.path()).to_string(),
        "`chart/dangling` is a symbolic link to `nothing-here`, which does not exist"
    );
    std::fs::remove_file(chart.join("dangling")).expect("rm");

    symlink("..", chart.join("templates/up")).expect("link");
    let e = package_err(t.path()).to_string();
    assert!(
        e.starts_with("`chart/templates/up` is a symbolic link to `"),
        "{e}"
    );
    assert!(e.ends_with("a folder that contains it (a loop)"), "{e}");
    std::fs::remove_file(chart.join("templates/up")).expect("rm");

    // An ignored link is never looked at, as in Helm.
    symlink("/etc/hostname", chart.join("x.bak")).expect("link");
    assert_eq!(
        package::package(t.path(), &PackageOptions::default())
            .expect("ignored")
            .digest(),
        plain.digest()
    );
}

#[cfg(unix)]
#[test]
fn fifos_are_refused() {
    let t = fixture(false);
    let fifo = t.path().join("chart/templates/pipe");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: no mkfifo");
        return;
    }
    assert_eq!(
        package_err(t.path()).to_string(),
        "`chart/templates/pipe` is a FIFO (named pipe); only files, folders and links to them can be packaged"
    );
}

#[test]
fn refusals() {
    let t = fixture(false);
    let small = |max_file_bytes, max_total_bytes, max_entries| PackageOptions {
        limits: package::Limits {
            max_file_bytes,
            max_total_bytes,
            max_entries,
        },
        ..PackageOptions::default()
    };
    let e = package::package(t.path(), &small(10, 1 << 20, 100)).expect_err("file limit");
    assert_eq!(
        e.to_string(),
        "`chart/.helmignore` is 15 bytes, more than the limit of 10 bytes for one file"
    );
    let e = package::package(t.path(), &small(1 << 20, 40, 100)).expect_err("total");
    assert_eq!(
        e.to_string(),
        "the files to package add up to more than 40 bytes (the limit)"
    );
    let e = package::package(t.path(), &small(1 << 20, 1 << 20, 4)).expect_err("entries");
    assert_eq!(
        e.to_string(),
        "there are more than 4 files and folders to package (the limit)"
    );
    let e = package::package(
        t.path(),
        &PackageOptions {
            epoch: package::MAX_EPOCH + 1,
            ..PackageOptions::default()
        },
    )
    .expect_err("epoch");
    assert!(
        e.to_string()
            .starts_with("the build epoch 8589934592 is after"),
        "{e}"
    );

    // A bad `.helmignore` line.
    std::fs::write(t.path().join("chart/.helmignore"), "ok\n**/*.bak\n").expect("write");
    assert_eq!(
        package_err(t.path()).to_string(),
        format!(
            "`{}` line 2: `**/*.bak`: double-star (`**`) patterns are not supported by Helm",
            t.path().join("chart/.helmignore").display()
        )
    );
    std::fs::write(t.path().join("chart/.helmignore"), "*.bak\n").expect("write");

    // Chart.yaml problems come with positions.
    std::fs::write(
        t.path().join("chart/Chart.yaml"),
        "apiVersion: v2\nname: bp-golden\nversion: 1.2.3\nappVersion: 1.10\n",
    )
    .expect("write");
    match package_err(t.path()) {
        PackageError::Chart { file, findings } => {
            assert!(file.ends_with("chart/Chart.yaml"), "{file}");
            assert_eq!(findings.len(), 1);
            assert_eq!(
                findings[0].position().map(|p| p.to_string()).as_deref(),
                Some("4:13")
            );
            assert!(
                findings[0]
                    .message
                    .contains("`appVersion` is the number `1.10`")
            );
        }
        other => panic!("{other}"),
    }

    // An invalid Blueprint is refused with its findings.
    std::fs::write(
        t.path().join("blueprint.yaml"),
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: Bad Name\n",
    )
    .expect("write");
    match package_err(t.path()) {
        PackageError::Invalid { findings, .. } => assert!(!findings.is_empty()),
        other => panic!("{other}"),
    }
}

#[test]
fn manifests_elsewhere_are_refused() {
    let t = fixture(false);
    let bp = t.path().join("blueprint.yaml");
    let text = std::fs::read_to_string(&bp).expect("read");
    for (reference, want) in [
        (
            "oci://ghcr.io/x/chart",
            "`manifests.source.ref` is `oci://ghcr.io/x/chart`, a reference to manifests elsewhere",
        ),
        (
            "../chart",
            "`manifests.source.ref` `../chart` leaves the Blueprint folder",
        ),
    ] {
        std::fs::write(
            &bp,
            text.replace("ref: ./chart", &format!("ref: {reference}")),
        )
        .expect("write");
        let e = package_err(t.path()).to_string();
        // `../chart` fails validation first when the folder is missing; both are refusals.
        assert!(e == want || e.contains("is not a valid Blueprint"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// CLI: digest = push, round trips, tags.

#[test]
fn digest_equals_what_push_writes_and_pull_round_trips() {
    let tmp = tempfile::tempdir().expect("tmp");
    let layout = tmp.path().join("layout");
    for name in ["wordpress", "status-page"] {
        let dir = catalog().join(name);
        let flags = ["--revision", "abc123", "--source", "https://example.com/c"];
        let (code, digest, err) = run(bpkit()
            .arg("digest")
            .arg(&dir)
            .args(flags)
            .env("SOURCE_DATE_EPOCH", "1700000000"));
        assert_eq!(code, 0, "{err}");
        let digest = digest.trim().to_string();
        assert!(
            digest.starts_with("sha256:") && digest.len() == 71,
            "{digest}"
        );
        let target = format!("oci:{}", layout.display());
        let (code, out, err) = run(bpkit()
            .arg("push")
            .arg(&dir)
            .arg(&target)
            .args(flags)
            .env("SOURCE_DATE_EPOCH", "1700000000"));
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.trim(), digest);
        assert!(err.contains("wrote `bp-"), "{err}");
        // The index names the same digest under the Blueprint version.
        let l = Layout::open(&layout).expect("layout");
        let tags = l.tags().expect("tags");
        let (_, d) = tags.last().expect("tag");
        assert_eq!(d.digest.to_string(), digest);
        // Again: nothing to do.
        let (code, out, err) = run(bpkit()
            .arg("push")
            .arg(&dir)
            .arg(&target)
            .args(flags)
            .env("SOURCE_DATE_EPOCH", "1700000000"));
        assert_eq!((code, out.trim()), (0, digest.as_str()), "{err}");
        assert!(
            err.contains("already holds this artifact; nothing written"),
            "{err}"
        );
        // Pull, then package the result: the same digest.
        let out_dir = tmp.path().join(format!("pulled-{name}"));
        let tag = tags.last().expect("tag").0.clone();
        let (code, out, err) = run(bpkit()
            .arg("pull")
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg("--dir")
            .arg(&out_dir));
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.trim(), out_dir.display().to_string());
        let (code, again, err) = run(bpkit()
            .arg("digest")
            .arg(&out_dir)
            .args(flags)
            .env("SOURCE_DATE_EPOCH", "1700000000"));
        assert_eq!((code, again.trim()), (0, digest.as_str()), "{err}");
    }
    let tags: Vec<String> = Layout::open(&layout)
        .expect("layout")
        .tags()
        .expect("tags")
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(tags, ["1.4.0", "0.9.0"]);

    // The same tag for other content: refused, then forced.
    let target = format!("oci:{}:0.9.0", layout.display());
    let (code, _, err) = run(bpkit()
        .arg("push")
        .arg(catalog().join("wordpress"))
        .arg(&target));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("tag `0.9.0` in"), "{err}");
    assert!(
        err.contains("help: the content changed but the tag did not"),
        "{err}"
    );
    let (code, _, err) = run(bpkit()
        .arg("push")
        .arg(catalog().join("wordpress"))
        .arg(&target)
        .arg("--force"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("(the tag named `sha256:"), "{err}");

    // Pulling into a folder with content is refused, and leaves it alone.
    let busy = tmp.path().join("busy");
    std::fs::create_dir_all(&busy).expect("mkdir");
    std::fs::write(busy.join("keep.txt"), "mine").expect("write");
    let (code, _, err) = run(bpkit()
        .arg("pull")
        .arg(format!("oci:{}:1.4.0", layout.display()))
        .arg("--dir")
        .arg(&busy));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already exists and is not empty"), "{err}");
    assert_eq!(tree(&busy), ["keep.txt"]);
}

#[test]
fn package_writes_the_chart_and_layout() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (code, out, err) = run(bpkit()
        .current_dir(tmp.path())
        .arg("package")
        .arg(catalog().join("valkey"))
        .args(["--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["file"]["path"], "bp-valkey-2.1.0.tgz");
    let bytes = std::fs::read(tmp.path().join("bp-valkey-2.1.0.tgz")).expect("tgz");
    assert_eq!(v["file"]["digest"], Digest::of(&bytes).to_string());
    let art = package::package(&catalog().join("valkey"), &PackageOptions::default()).expect("pkg");
    assert_eq!(bytes, art.content());
    assert_eq!(v["digest"], art.digest().to_string());
    let chart = &art.image.manifest().layers[0];
    assert_eq!(chart.digest, Digest::of(&bytes));
    let (code, out, err) = run(bpkit()
        .current_dir(tmp.path())
        .arg("package")
        .arg(catalog().join("valkey"))
        .arg("--layout")
        .arg("oci:lay"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), art.digest().to_string());
    let image = Layout::open(&tmp.path().join("lay"))
        .expect("layout")
        .read(Some("2.1.0"), &ReadLimits::default())
        .expect("read");
    assert_eq!(image, art.image);
    let (code, _, err) = run(bpkit()
        .arg("digest")
        .arg(tmp.path())
        .env("SOURCE_DATE_EPOCH", "yesterday"));
    assert_eq!(code, 2);
    assert!(
        err.contains("`SOURCE_DATE_EPOCH` is `yesterday`, not a number of seconds since 1970"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// OCI image-spec JSON schemas (draft-04), from ../shared/conformance.

fn oci_schemas() -> Option<PathBuf> {
    for c in [
        "../shared/conformance/oci-image-spec",
        "../../shared/conformance/oci-image-spec",
    ] {
        let p = repo().join(c);
        if p.join("schema-urls.json").is_file() {
            return Some(p);
        }
    }
    eprintln!("SKIPPED: ../shared/conformance/oci-image-spec is absent");
    None
}

struct SchemaFiles(BTreeMap<String, serde_json::Value>);

impl jsonschema::Retrieve for SchemaFiles {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        let s = uri.as_str();
        let key = s.split('#').next().unwrap_or(s);
        self.0
            .get(key)
            .cloned()
            .ok_or_else(|| format!("no local file for `{s}`").into())
    }
}

fn validator(dir: &Path, file: &str) -> jsonschema::Validator {
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).expect("schema")).expect("json")
    };
    let urls = read("schema-urls.json");
    let mut map = BTreeMap::new();
    for (f, list) in urls["schema_urls"].as_object().expect("map") {
        for u in list.as_array().expect("list") {
            map.insert(u.as_str().expect("url").to_string(), read(f));
        }
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_retriever(SchemaFiles(map))
        .build(&read(file))
        .expect("schema compiles")
}

#[test]
fn layouts_validate_against_the_oci_schemas() {
    let Some(dir) = oci_schemas() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("layout");
    let layout = Layout::create(&root).expect("layout");
    for name in ["observability", "status-page", "postgres"] {
        let a = package::package(&catalog().join(name), &PackageOptions::default()).expect("pkg");
        layout
            .write(&a.image, &a.default_tag(), &Default::default())
            .expect("write");
    }
    let json = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json")
    };
    let check = |v: &jsonschema::Validator, doc: &serde_json::Value, what: &str| {
        let errors: Vec<String> = v.iter_errors(doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{what}: {errors:?}");
    };
    let layout_schema = validator(&dir, "image-layout-schema.json");
    let index_schema = validator(&dir, "image-index-schema.json");
    let manifest_schema = validator(&dir, "image-manifest-schema.json");
    let descriptor_schema = validator(&dir, "content-descriptor.json");
    check(
        &layout_schema,
        &json(&root.join("oci-layout")),
        "oci-layout",
    );
    let index = json(&root.join("index.json"));
    check(&index_schema, &index, "index.json");
    let entries = index["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 3);
    for e in entries {
        check(&descriptor_schema, e, "index entry");
        let d: Descriptor = serde_json::from_value(e.clone()).expect("descriptor");
        let m = json(&layout.blob_path(&d.digest));
        check(&manifest_schema, &m, "manifest");
        for l in m["layers"].as_array().expect("layers") {
            check(&descriptor_schema, l, "layer");
        }
    }
    // The schemas do catch mistakes (the test can fail).
    let mut broken = json(
        &layout.blob_path(
            &serde_json::from_value::<Descriptor>(entries[0].clone())
                .expect("d")
                .digest,
        ),
    );
    broken["layers"] = serde_json::json!([]);
    broken["config"]["digest"] = serde_json::json!("not a digest");
    assert!(manifest_schema.iter_errors(&broken).count() >= 2);
    assert!(!layout_schema.is_valid(&serde_json::json!({"imageLayoutVersion": "2.0.0"})));
}

// ---------------------------------------------------------------------------------------------
// Hostile artifacts (testdata/hostile): generated here, committed, refused by `pull`.

const HOSTILE_BLUEPRINT: &str = "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-hostile\n  version: 1.0.0\nspec:\n  card:\n    title: Hostile\n  visibility: unlisted\n  manifests:\n    source:\n      kind: HelmChart\n      ref: ./chart\n";
const HOSTILE_CHART: &str = "apiVersion: v2\nname: bp-hostile\nversion: 1.0.0\n";
const HOSTILE_CONFIG: &str = r#"{"name":"bp-hostile","version":"1.0.0","apiVersion":"v2"}"#;
const HOSTILE_TAG: &str = "1.0.0";

/// A raw tar entry, written by hand so that anything can be put in it.
struct Raw<'a> {
    name: &'a str,
    typeflag: u8,
    link: &'a str,
    data: Vec<u8>,
}

fn raw<'a>(name: &'a str, typeflag: u8, link: &'a str, data: impl Into<Vec<u8>>) -> Raw<'a> {
    Raw {
        name,
        typeflag,
        link,
        data: data.into(),
    }
}

fn raw_tar(entries: &[Raw]) -> Vec<u8> {
    fn octal(field: &mut [u8], v: u64) {
        let s = format!("{v:0w$o}", w = field.len() - 1);
        field[..s.len()].copy_from_slice(s.as_bytes());
    }
    let mut out = Vec::new();
    for e in entries {
        let mut h = [0u8; 512];
        h[..e.name.len()].copy_from_slice(e.name.as_bytes());
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], e.data.len() as u64);
        octal(&mut h[136..148], 0);
        h[156] = e.typeflag;
        h[157..157 + e.link.len()].copy_from_slice(e.link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        octal(&mut h[329..337], u64::from(e.typeflag == b'3'));
        octal(&mut h[337..345], 3 * u64::from(e.typeflag == b'3'));
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        octal(&mut h[148..155], sum);
        h[155] = b' ';
        out.extend_from_slice(&h);
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gz(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// A layout's files for a manifest built from these blobs, with a hook to damage it.
fn layout_files(
    chart_tgz: Vec<u8>,
    damage: impl FnOnce(&mut Manifest, &mut BTreeMap<String, Vec<u8>>) -> Option<String>,
) -> BTreeMap<String, Vec<u8>> {
    let config = HOSTILE_CONFIG.as_bytes().to_vec();
    let bp = HOSTILE_BLUEPRINT.as_bytes().to_vec();
    let mut manifest = Manifest::new(
        Descriptor::of(media_type::HELM_CONFIG, &config),
        vec![
            Descriptor::of(media_type::HELM_CHART, &chart_tgz)
                .with_annotation(annotation::TITLE, "bp-hostile-1.0.0.tgz"),
            Descriptor::of(media_type::BLUEPRINT, &bp)
                .with_annotation(annotation::TITLE, "blueprint.yaml"),
        ],
    );
    let mut files = BTreeMap::new();
    for b in [config, bp, chart_tgz] {
        files.insert(format!("blobs/sha256/{}", Digest::of(&b).hex()), b);
    }
    let index_override = damage(&mut manifest, &mut files);
    let mj = manifest.to_json();
    let md = Digest::of(&mj);
    files.insert(format!("blobs/sha256/{}", md.hex()), mj.clone());
    files.insert(
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    );
    let index = index_override.unwrap_or_else(|| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"{HOSTILE_TAG}"}}}}]}}"#,
            mj.len()
        )
    });
    files.insert("index.json".into(), index.into_bytes());
    files
}

fn chart(extra: Vec<Raw>) -> Vec<u8> {
    let mut entries = vec![
        raw("bp-hostile/", b'5', "", ""),
        raw("bp-hostile/Chart.yaml", b'0', "", HOSTILE_CHART),
    ];
    entries.extend(extra);
    gz(&raw_tar(&entries))
}

fn index_for(digest: &str, size: u64) -> String {
    format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{size},"annotations":{{"org.opencontainers.image.ref.name":"{HOSTILE_TAG}"}}}}]}}"#
    )
}

struct Case {
    name: &'static str,
    files: BTreeMap<String, Vec<u8>>,
    args: &'static [&'static str],
    /// Exit code and a piece of the message; `None` for the control case.
    want: Option<&'static str>,
}

fn hostile_cases() -> Vec<Case> {
    let keep = |_: &mut Manifest, _: &mut BTreeMap<String, Vec<u8>>| None;
    let c = |name, files, want| Case {
        name,
        files,
        args: &[],
        want: Some(want),
    };
    vec![
        Case {
            name: "control",
            files: layout_files(
                chart(vec![raw("bp-hostile/values.yaml", b'0', "", "a: 1\n")]),
                keep,
            ),
            args: &[],
            want: None,
        },
        c(
            "tar-slip",
            layout_files(
                chart(vec![raw(
                    "bp-hostile/../../../evil.txt",
                    b'0',
                    "",
                    "pwned\n",
                )]),
                keep,
            ),
            "layer `bp-hostile-1.0.0.tgz`: entry `bp-hostile/../../../evil.txt` climbs out of the target folder with `..`",
        ),
        c(
            "absolute-path",
            layout_files(
                chart(vec![raw(
                    "/tmp/bpkit-hostile-evil.txt",
                    b'0',
                    "",
                    "pwned\n",
                )]),
                keep,
            ),
            "layer `bp-hostile-1.0.0.tgz`: entry `/tmp/bpkit-hostile-evil.txt` has an absolute path",
        ),
        c(
            "symlink-escape",
            layout_files(
                chart(vec![
                    raw("bp-hostile/templates/", b'5', "", ""),
                    raw(
                        "bp-hostile/templates/passwd",
                        b'2',
                        "../../../../../etc/passwd",
                        "",
                    ),
                ]),
                keep,
            ),
            "entry `bp-hostile/templates/passwd` is a symbolic link to `../../../../../etc/passwd`, which points outside the target folder",
        ),
        c(
            "hardlink-out",
            layout_files(
                chart(vec![raw("bp-hostile/shadow", b'1', "/etc/shadow", "")]),
                keep,
            ),
            "entry `bp-hostile/shadow` is a hard link to `/etc/shadow`, which points outside the target folder",
        ),
        c(
            "device",
            layout_files(chart(vec![raw("bp-hostile/null", b'3', "", "")]), keep),
            "entry `bp-hostile/null` is a character device; only files and folders are extracted",
        ),
        c(
            "outside-chart-folder",
            layout_files(
                chart(vec![raw("other/values.yaml", b'0', "", "a: 1\n")]),
                keep,
            ),
            "layer `bp-hostile-1.0.0.tgz`: entry `other/values.yaml` is outside `bp-hostile/`",
        ),
        Case {
            name: "gzip-bomb",
            files: layout_files(
                chart(vec![raw(
                    "bp-hostile/zeros.bin",
                    b'0',
                    "",
                    vec![0u8; 4 << 20],
                )]),
                keep,
            ),
            args: &["--max-size", "1MiB"],
            want: Some(
                "layer `bp-hostile-1.0.0.tgz`: the archive expands to more than 1048576 bytes (the limit); refusing to read further",
            ),
        },
        c(
            "wrong-size",
            layout_files(chart(vec![]), |m, _| {
                m.layers[0].size += 1;
                None
            }),
            "but its descriptor says",
        ),
        c(
            "wrong-digest",
            layout_files(chart(vec![]), |m, files| {
                let key = format!("blobs/sha256/{}", m.layers[1].digest.hex());
                if let Some(b) = files.get_mut(&key) {
                    b[0] = b'A';
                }
                None
            }),
            "has digest `sha256:",
        ),
        c(
            "missing-blob",
            layout_files(chart(vec![]), |m, files| {
                files.remove(&format!("blobs/sha256/{}", m.layers[0].digest.hex()));
                None
            }),
            "is missing from",
        ),
        c(
            "index-points-nowhere",
            layout_files(chart(vec![]), |_, _| {
                Some(index_for(&Digest::of(b"no such manifest").to_string(), 16))
            }),
            "is missing from",
        ),
        c(
            "oversized-manifest",
            layout_files(chart(vec![]), |m, _| {
                let d = Digest::of(&m.to_json());
                Some(index_for(&d.to_string(), 5 << 20))
            }),
            "is 5242880 bytes, more than the limit of 4194304 bytes",
        ),
        c(
            "digest-traversal",
            layout_files(chart(vec![]), |_, _| {
                Some(index_for("sha256:../../../../../../etc/passwd", 16))
            }),
            "`sha256:../../../../../../etc/passwd` is not a valid digest",
        ),
    ]
}

fn hostile_dir() -> PathBuf {
    repo().join("testdata/hostile")
}

/// The committed fixtures are what the generator makes (`BPKIT_BLESS=1` rewrites them).
#[test]
fn hostile_fixtures_are_current() {
    let bless = std::env::var_os("BPKIT_BLESS").is_some();
    for case in hostile_cases() {
        let dir = hostile_dir().join(case.name);
        if bless {
            let _ = std::fs::remove_dir_all(&dir);
            for (path, bytes) in &case.files {
                let p = dir.join(path);
                std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                std::fs::write(&p, bytes).expect("write");
            }
        }
        let on_disk = tree(&dir)
            .into_iter()
            .filter(|p| dir.join(p).is_file())
            .collect::<Vec<_>>();
        let want: Vec<String> = case.files.keys().cloned().collect();
        assert_eq!(
            on_disk, want,
            "{}: run with BPKIT_BLESS=1 to regenerate",
            case.name
        );
        for (path, bytes) in &case.files {
            let got = std::fs::read(dir.join(path)).expect("read");
            assert!(
                got == *bytes,
                "{}/{path} differs; run with BPKIT_BLESS=1",
                case.name
            );
            assert!(bytes.len() < 8 << 10, "{}/{path} is not small", case.name);
        }
    }
}

#[test]
fn hostile_artifacts_are_refused_and_nothing_is_written() {
    let evil_abs = Path::new("/tmp/bpkit-hostile-evil.txt");
    for case in hostile_cases() {
        let tmp = tempfile::tempdir().expect("tmp");
        let parent = tmp.path().join("a/b");
        std::fs::create_dir_all(&parent).expect("mkdir");
        let target = parent.join("out");
        let (code, out, err) = run(bpkit()
            .current_dir(&parent)
            .arg("pull")
            .arg(format!(
                "oci:{}:{HOSTILE_TAG}",
                hostile_dir().join(case.name).display()
            ))
            .arg("--dir")
            .arg(&target)
            .args(case.args));
        match case.want {
            None => {
                assert_eq!(code, 0, "{}: {err}", case.name);
                assert_eq!(out.trim(), target.display().to_string());
                assert_eq!(
                    tree(tmp.path()),
                    [
                        "a",
                        "a/b",
                        "a/b/out",
                        "a/b/out/blueprint.yaml",
                        "a/b/out/chart",
                        "a/b/out/chart/Chart.yaml",
                        "a/b/out/chart/values.yaml"
                    ],
                    "{}",
                    case.name
                );
            }
            Some(want) => {
                assert_eq!(code, 1, "{}: {err}", case.name);
                assert!(
                    err.contains(want),
                    "{}: expected `{want}` in\n{err}",
                    case.name
                );
                assert!(out.is_empty(), "{}: {out}", case.name);
                assert_eq!(
                    tree(tmp.path()),
                    ["a", "a/b"],
                    "{}: something was written",
                    case.name
                );
            }
        }
    }
    assert!(!evil_abs.exists(), "an absolute path was written");
}

#[test]
fn hostile_bomb_is_bounded_by_default_limits_too() {
    // The library: a layer that expands past the limit is refused while reading, whatever the
    // limit; with the defaults, 4 MiB passes and the artifact is otherwise fine.
    let dir = hostile_dir().join("gzip-bomb");
    let image = Layout::open(&dir)
        .expect("layout")
        .read(Some(HOSTILE_TAG), &ReadLimits::default())
        .expect("verified");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut opts = package::UnpackOptions::default();
    opts.limits.max_bytes = 3 << 20;
    let e = package::unpack(&image, &tmp.path().join("out"), &opts).expect_err("bomb");
    assert!(
        e.to_string().contains("expands to more than 3145728 bytes"),
        "{e}"
    );
    assert!(tree(tmp.path()).is_empty());
    let ok = package::unpack(&image, &tmp.path().join("out"), &Default::default()).expect("fits");
    assert_eq!(ok.files, 3);
}

// ---------------------------------------------------------------------------------------------
// Streamed blob writes into a layout.

/// `Layout::blob_writer`: the blob appears only whole and verified; a short, long or altered
/// stream leaves nothing behind, not even its temporary file.
#[test]
fn blob_writer_puts_only_verified_blobs_in_place() {
    let tmp = tempfile::tempdir().expect("tmp");
    let layout = Layout::create(&tmp.path().join("l")).expect("layout");
    let data = b"streamed in pieces".to_vec();
    let d = Descriptor::of(media_type::BLUEPRINT, &data);
    let blobs = tmp.path().join("l/blobs/sha256");

    let mut w = layout.blob_writer(&d).expect("writer");
    w.write(&data[..5]).expect("write");
    w.write(&data[5..]).expect("write");
    w.finish().expect("finish");
    assert_eq!(
        std::fs::read(layout.blob_path(&d.digest)).expect("read"),
        data
    );
    assert_eq!(
        layout.blob_file(&d).expect("file"),
        layout.blob_path(&d.digest)
    );
    std::fs::remove_file(layout.blob_path(&d.digest)).expect("rm");

    // more bytes than the descriptor says: refused at the write
    let mut w = layout.blob_writer(&d).expect("writer");
    w.write(&data).expect("write");
    let e = w.write(b"x").expect_err("too long");
    assert!(e.to_string().contains(&d.digest.to_string()), "{e}");
    drop(w);
    // fewer: refused at the end
    let mut w = layout.blob_writer(&d).expect("writer");
    w.write(&data[..3]).expect("write");
    let e = w.finish().expect_err("too short");
    assert!(e.to_string().contains("3 bytes"), "{e}");
    // the right size, other bytes: a digest mismatch
    let mut w = layout.blob_writer(&d).expect("writer");
    let mut other = data.clone();
    other[0] ^= 1;
    w.write(&other).expect("write");
    let e = w.finish().expect_err("altered");
    assert!(
        e.to_string().contains(&Digest::of(&other).to_string()),
        "{e}"
    );

    let left: Vec<_> = std::fs::read_dir(&blobs).expect("ls").collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(layout.blob_file(&d).is_err());
}
