//! Registry interop: bpkit against a real registry (CNCF Distribution), and real Helm, ORAS
//! and skopeo reading what bpkit pushed, from `../shared/interop`. One test function, so one
//! registry at a time per test process, each phase with its own `BPKIT_INTEROP_STATE`.
//!
//! Needs the shared folder (`CARGO_MANIFEST_DIR/../../shared`, or `BPKIT_SHARED`) and a
//! machine where the interop scripts can install their prerequisites; otherwise it prints
//! `SKIPPED` and passes.

#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/interop.rs"]
mod interop;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use interop::{Reg, blueprint, bpkit, copy_tree, json, noise, ok, plain_registry, shared};
use serde_json::Value;

#[test]
fn interop_with_a_real_registry() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: ../shared is absent (set BPKIT_SHARED)");
        return;
    };
    let interop = shared.join("interop");
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let docker = work.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let bp = blueprint();
    let bp = bp.to_str().unwrap();

    let d = json(&ok(
        bpkit(&docker, &["digest", bp, "-o", "json"], None),
        "digest",
    ));
    let (name, tag, digest) = (
        d["name"].as_str().unwrap().to_string(),
        d["tag"].as_str().unwrap().to_string(),
        d["digest"].as_str().unwrap().to_string(),
    );

    // ---- plain HTTP ---------------------------------------------------------------------
    let Some(reg) = Reg::start(&interop, &[]) else {
        return;
    };
    let h = reg.host().to_string();
    let target = format!("{h}/bp/{name}:{tag}");
    let push = json(&ok(
        bpkit(
            &docker,
            &["push", bp, &format!("oci://{h}/bp/{name}"), "-o", "json"],
            None,
        ),
        "push plain",
    ));
    assert_eq!(push["digest"], digest.as_str(), "{push}");
    assert!(
        push["target"]["blobsUploaded"].as_u64().unwrap() >= 2,
        "{push}"
    );
    assert_eq!(push["target"]["reference"], target.as_str());

    // re-push: nothing uploaded
    let again = json(&ok(
        bpkit(&docker, &["push", bp, &target, "-o", "json"], None),
        "re-push",
    ));
    assert_eq!(again["target"]["blobsUploaded"], 0, "{again}");
    assert_eq!(again["target"]["manifestPushed"], false, "{again}");

    // other content under the same tag: refused, with the fix named
    let (code, _, err) = bpkit(&docker, &["push", bp, &target, "--revision", "other"], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("already points at") && err.contains("immutable"),
        "{err}"
    );
    assert!(
        err.contains("--force") && err.contains("bump the Blueprint version"),
        "{err}"
    );

    // resolve/inspect/tags
    let ins = json(&ok(
        bpkit(&docker, &["inspect", &target, "-o", "json"], None),
        "inspect",
    ));
    assert_eq!(ins["digest"], digest.as_str());
    assert_eq!(
        ins["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );
    let tags = ok(
        bpkit(&docker, &["tags", &format!("{h}/bp/{name}")], None),
        "tags",
    );
    assert_eq!(tags.lines().collect::<Vec<_>>(), vec![tag.as_str()]);

    // pull by tag and by digest
    let out = work.path().join("pulled");
    let p = ok(
        bpkit(
            &docker,
            &["pull", &target, "--dir", out.to_str().unwrap()],
            None,
        ),
        "pull",
    );
    assert!(p.contains("pulled"), "{p}");
    assert!(out.join("blueprint.yaml").is_file());
    let out2 = work.path().join("pulled2");
    ok(
        bpkit(
            &docker,
            &[
                "pull",
                &format!("{h}/bp/{name}@{digest}"),
                "--dir",
                out2.to_str().unwrap(),
            ],
            None,
        ),
        "pull by digest",
    );

    // a missing tag
    let (code, _, err) = bpkit(&docker, &["pull", &format!("{h}/bp/{name}:9.9.9")], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("was not found") && err.contains(&format!("tags in `{h}/bp/{name}`: {tag}")),
        "{err}"
    );

    // real Helm 4 pulls and loads the chart; ORAS pulls every layer with matching digests
    reg.script_ok(
        "helm-pull.sh",
        &[
            &format!("oci://{target}"),
            work.path().join("helm").to_str().unwrap(),
        ],
    );
    reg.script_ok(
        "oras-pull.sh",
        &[&target, work.path().join("oras").to_str().unwrap()],
    );

    // skopeo: registry -> layout -> registry, byte-exact; bpkit pulls back what skopeo wrote
    let layout = work.path().join("skopeo-layout");
    let lref = format!("oci:{}:{tag}", layout.display());
    reg.script_ok("skopeo-copy.sh", &[&target, &lref]);
    let copy_ref = format!("{h}/bp/skopeo/{name}:{tag}");
    reg.script_ok("skopeo-copy.sh", &[&lref, &copy_ref]);
    let ins = json(&ok(
        bpkit(&docker, &["inspect", &copy_ref, "-o", "json"], None),
        "inspect copy",
    ));
    assert_eq!(
        ins["digest"],
        digest.as_str(),
        "skopeo's copy is not byte-exact"
    );
    ok(
        bpkit(
            &docker,
            &[
                "pull",
                &copy_ref,
                "--dir",
                work.path().join("p3").to_str().unwrap(),
            ],
            None,
        ),
        "pull skopeo copy",
    );
    let ins = json(&ok(
        bpkit(&docker, &["inspect", &lref, "-o", "json"], None),
        "inspect skopeo layout",
    ));
    assert_eq!(ins["digest"], digest.as_str());

    // bpkit copy: registry -> layout -> registry, with a `.sig` tag alongside
    let sig_ref = format!("{h}/bp/{name}:sha256-{}.sig", &digest["sha256:".len()..]);
    // any manifest will do as the attached signature: push another artifact under that tag
    ok(
        bpkit(&docker, &["push", bp, &sig_ref, "--revision", "sig"], None),
        "push sig stand-in",
    );
    let l2 = work.path().join("bpkit-layout");
    let c = json(&ok(
        bpkit(
            &docker,
            &[
                "copy",
                &target,
                &format!("oci:{}", l2.display()),
                "-o",
                "json",
            ],
            None,
        ),
        "copy to layout",
    ));
    assert_eq!(c["digest"], digest.as_str());
    assert_eq!(c["attached"].as_array().unwrap().len(), 1, "{c}");
    let c = json(&ok(
        bpkit(
            &docker,
            &[
                "copy",
                &format!("oci:{}:{tag}", l2.display()),
                &format!("{h}/bp/copy/{name}"),
                "-o",
                "json",
            ],
            None,
        ),
        "copy to registry",
    ));
    assert_eq!(c["copied"]["digest"], digest.as_str());
    assert_eq!(c["attached"].as_array().unwrap().len(), 1, "{c}");
    let tags = ok(
        bpkit(&docker, &["tags", &format!("{h}/bp/copy/{name}")], None),
        "tags copy",
    );
    assert!(tags.contains(".sig") && tags.contains(&tag), "{tags}");
    drop(reg);

    // ---- basic auth -----------------------------------------------------------------------
    let Some(reg) = Reg::start(&interop, &["--auth"]) else {
        return;
    };
    let h = reg.host().to_string();
    let (user, pass) = (
        reg.env["REGISTRY_USER"].clone(),
        reg.env["REGISTRY_PASSWORD"].clone(),
    );
    let target = format!("{h}/bp/{name}:{tag}");
    let (code, _, err) = bpkit(&docker, &["push", bp, &target], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("refused access") && err.contains("401"),
        "{err}"
    );
    let (code, _, err) = bpkit(
        &docker,
        &["push", bp, &target, "--username", &user, "--password-stdin"],
        Some("wrong-password\n"),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("refused access") && err.contains("bpkit login"),
        "{err}"
    );
    assert!(!err.contains("wrong-password"), "{err}");
    let (code, _, err) = bpkit(
        &docker,
        &["login", &h, "--username", &user, "--password-stdin"],
        Some("nope\n"),
    );
    assert_eq!(code, 1, "{err}");
    assert!(!docker.join("config.json").exists());
    ok(
        bpkit(
            &docker,
            &["login", &h, "--username", &user, "--password-stdin"],
            Some(&format!("{pass}\n")),
        ),
        "login",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(docker.join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o777, 0o600);
    }
    let push = json(&ok(
        bpkit(&docker, &["push", bp, &target, "-o", "json"], None),
        "push auth",
    ));
    assert_eq!(push["digest"], digest.as_str());
    reg.script_ok(
        "helm-pull.sh",
        &[&target, work.path().join("helm-auth").to_str().unwrap()],
    );
    reg.script_ok(
        "oras-pull.sh",
        &[&target, work.path().join("oras-auth").to_str().unwrap()],
    );
    drop(reg);

    // ---- TLS --------------------------------------------------------------------------------
    let Some(reg) = Reg::start(&interop, &["--tls"]) else {
        return;
    };
    let h = reg.host().to_string();
    let ca = reg.env["REGISTRY_CA_CERT"].clone();
    let target = format!("{h}/bp/{name}:{tag}");
    let (code, _, err) = bpkit(&docker, &["push", bp, &target], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("is not trusted") && err.contains("--ca-file"),
        "{err}"
    );
    let push = json(&ok(
        bpkit(
            &docker,
            &["push", bp, &target, "--ca-file", &ca, "-o", "json"],
            None,
        ),
        "push tls",
    ));
    assert_eq!(push["digest"], digest.as_str());
    assert!(push["target"]["blobsUploaded"].as_u64().unwrap() >= 2);
    reg.script_ok(
        "helm-pull.sh",
        &[&target, work.path().join("helm-tls").to_str().unwrap()],
    );
    reg.script_ok(
        "skopeo-copy.sh",
        &[
            &target,
            &format!("oci:{}:{tag}", work.path().join("l-tls").display()),
        ],
    );
    ok(
        bpkit(
            &docker,
            &[
                "pull",
                &target,
                "--ca-file",
                &ca,
                "--dir",
                work.path().join("p-tls").to_str().unwrap(),
            ],
            None,
        ),
        "pull tls",
    );
    drop(reg);
    eprintln!("registry interop passed in {:.0?}", started.elapsed());
}

// ---- faults: a registry killed mid-upload, retries exhausted, a corrupted blob -------------

/// A copy of the postgres Blueprint whose chart carries `files` files of 4 MiB of noise.
fn large_blueprint(dir: &Path, files: usize) -> PathBuf {
    let bp = dir.join("large");
    copy_tree(&blueprint(), &bp);
    let f = bp.join("chart/files");
    std::fs::create_dir_all(&f).unwrap();
    for i in 0..files {
        std::fs::write(
            f.join(format!("blob-{i}.bin")),
            noise(i as u64 + 7, 4 << 20),
        )
        .unwrap();
    }
    bp
}

/// A TCP proxy in front of the registry that counts the bytes sent to it and, once, runs a
/// callback when they pass a threshold (to kill the registry in the middle of an upload).
struct Proxy {
    port: u16,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

type Trigger = std::sync::Arc<std::sync::Mutex<Option<(u64, Box<dyn FnOnce() + Send>)>>>;

impl Proxy {
    fn start(upstream: u16, trigger: Trigger) -> Proxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(AtomicU64::new(0));
        let fired = Arc::new(AtomicBool::new(false));
        let (s, f) = (sent.clone(), fired.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    drop(client); // the registry is down: the connection closes at once
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut &s2, &mut &c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
                let (s, f, trigger) = (s.clone(), f.clone(), trigger.clone());
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let mut buf = vec![0u8; 64 << 10];
                    let (mut client, mut server) = (client, server);
                    loop {
                        let n = match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        let total = s.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                        let mut t = trigger.lock().unwrap();
                        if t.as_ref().is_some_and(|(at, _)| total >= *at) {
                            let (_, run) = t.take().unwrap();
                            f.store(true, Ordering::SeqCst);
                            drop(t);
                            run();
                        }
                    }
                    let _ = server.shutdown(std::net::Shutdown::Both);
                    let _ = client.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Proxy { port, sent, fired }
    }
}

/// A registry process started by the test on the state and port of a `registry.sh` one;
/// killed on drop.
struct Restarted(std::sync::Arc<std::sync::Mutex<Option<std::process::Child>>>);

impl Drop for Restarted {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn kill_pid(pid: &str) {
    let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
}

fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the restarted registry does not listen on {port}");
}

#[test]
fn registry_faults() {
    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let restarted = Restarted(Default::default());
    let state = reg.state.path().join("registry");
    let port: u16 = reg.host().rsplit(':').next().unwrap().parse().unwrap();

    // ---- killed mid-upload, restarted on the same storage and port: the push retries -------
    let bp = large_blueprint(work.path(), 12);
    let bp = bp.to_str().unwrap();
    let d = json(&ok(
        bpkit(&docker, &["digest", bp, "-o", "json"], None),
        "digest large",
    ));
    let digest = d["digest"].as_str().unwrap().to_string();
    let trigger: Trigger = Default::default();
    let proxy = Proxy::start(port, trigger.clone());
    {
        let (state, child) = (state.clone(), restarted.0.clone());
        *trigger.lock().unwrap() = Some((
            20 << 20,
            Box::new(move || {
                kill_pid(&std::fs::read_to_string(state.join("registry.pid")).unwrap());
                std::thread::sleep(std::time::Duration::from_millis(300));
                let log = std::fs::File::create(state.join("restarted.log")).unwrap();
                let c = Command::new("docker-registry")
                    .arg("serve")
                    .arg(state.join("config.yml"))
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .unwrap();
                *child.lock().unwrap() = Some(c);
                wait_for_port(port);
            }),
        ));
    }
    let via = format!("127.0.0.1:{}/bp/large:1.6.1", proxy.port);
    let push = json(&ok(
        bpkit(
            &docker,
            &["push", bp, &via, "--retries", "6", "-o", "json"],
            None,
        ),
        "push through a registry restart",
    ));
    assert!(
        proxy.fired.load(std::sync::atomic::Ordering::SeqCst),
        "the registry was not killed"
    );
    assert_eq!(push["digest"], digest.as_str(), "{push}");
    // the 48 MiB layer was sent again after the restart
    let sent = proxy.sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(sent > (48 << 20) + (20 << 20), "only {sent} bytes sent");
    // and the registry that came back has it all: pull it and compare a file
    let out = work.path().join("large-pulled");
    ok(
        bpkit(
            &docker,
            &["pull", &via, "--dir", out.to_str().unwrap()],
            None,
        ),
        "pull after restart",
    );
    let back = std::fs::read(out.join("chart/files/blob-11.bin")).unwrap();
    assert!(back == noise(18, 4 << 20), "pulled file differs");

    // ---- a corrupted blob: digest mismatch detected, nothing written ------------------------
    let small = blueprint();
    let small = small.to_str().unwrap();
    let target = format!("{}/bp/corrupt:1.6.1", reg.host());
    ok(
        bpkit(&docker, &["push", small, &target], None),
        "push small",
    );
    let ins = json(&ok(
        bpkit(&docker, &["inspect", &target, "-o", "json"], None),
        "inspect small",
    ));
    let layer = ins["layers"][0]["digest"].as_str().unwrap().to_string();
    let hex = &layer["sha256:".len()..];
    let blob = state.join(format!(
        "data/docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let dest = work.path().join("corrupt-pulled");
    let (code, _, err) = bpkit(
        &docker,
        &["pull", &target, "--dir", dest.to_str().unwrap()],
        None,
    );
    eprintln!("corrupted blob: {err}");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("does not match") || err.contains("digest"),
        "{err}"
    );
    assert!(
        err.contains(&layer),
        "the error does not name the blob: {err}"
    );
    assert!(
        !dest.exists(),
        "a corrupted pull wrote `{}`",
        dest.display()
    );

    // ---- the registry stays down: retries run out, with a clear error ------------------------
    drop(restarted);
    let (code, _, err) = bpkit(
        &docker,
        &[
            "pull",
            &via,
            "--retries",
            "2",
            "--dir",
            dest.to_str().unwrap(),
        ],
        None,
    );
    eprintln!("registry down: {err}");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "cannot reach the registry `127.0.0.1:{}`",
            proxy.port
        )) && err.contains("gave up after 3 attempts")
            && err.contains("--retries"),
        "{err}"
    );
    assert!(!dest.exists());
}

// ---- umbrella charts: `oci://` dependencies vendored from a real registry --------------------

fn lock_of(chart: &Path) -> Value {
    json(&std::fs::read_to_string(chart.join("charts.lock")).unwrap())
}

#[test]
fn umbrella_vendoring() {
    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let h = reg.host().to_string();
    // the sub-chart: a Blueprint pushed with bpkit
    let sub = Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints/valkey");
    let pushed = json(&ok(
        bpkit(
            &docker,
            &[
                "push",
                sub.to_str().unwrap(),
                &format!("oci://{h}/charts/bp-valkey"),
                "-o",
                "json",
            ],
            None,
        ),
        "push sub-chart",
    ));
    let sub_digest = pushed["digest"].as_str().unwrap().to_string();
    let ins = json(&ok(
        bpkit(
            &docker,
            &[
                "inspect",
                &format!("{h}/charts/bp-valkey:2.1.0"),
                "-o",
                "json",
            ],
            None,
        ),
        "inspect sub-chart",
    ));
    let chart_digest = ins["layers"][0]["digest"].as_str().unwrap().to_string();

    // the umbrella: the postgres chart with the sub-chart as a dependency
    let umbrella = work.path().join("umbrella");
    copy_tree(&blueprint(), &umbrella);
    let chart = umbrella.join("chart");
    let mut cy = std::fs::read_to_string(chart.join("Chart.yaml")).unwrap();
    cy.push_str(&format!(
        "dependencies:\n  - name: bp-valkey\n    version: 2.1.0\n    repository: oci://{h}/charts\n"
    ));
    std::fs::write(chart.join("Chart.yaml"), cy).unwrap();
    let u = umbrella.to_str().unwrap();
    let out = work.path().join("umbrella.tgz");
    let o = out.to_str().unwrap();

    // without `--vendor`: a hollow chart, refused offline with the fix named
    let (code, _, err) = bpkit(&docker, &["package", u, "--out", o], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("`bp-valkey` 2.1.0")
            && err.contains("not vendored")
            && err.contains("--vendor"),
        "{err}"
    );

    // with `--vendor`: pulled, verified, written, locked; then packaged with it
    let rec = json(&ok(
        bpkit(
            &docker,
            &["package", u, "--vendor", "--out", o, "-o", "json"],
            None,
        ),
        "package --vendor",
    ));
    let vendored = chart.join("charts/bp-valkey-2.1.0.tgz");
    let bytes = std::fs::read(&vendored).unwrap();
    assert_eq!(bpkit::oci::Digest::of(&bytes).to_string(), chart_digest);
    let lock = lock_of(&chart);
    assert_eq!(lock["dependencies"][0]["manifest"], sub_digest.as_str());
    assert_eq!(lock["dependencies"][0]["chart"], chart_digest.as_str());
    assert_eq!(
        lock["dependencies"][0]["repository"],
        format!("oci://{h}/charts").as_str()
    );
    // the umbrella archive carries the sub-chart
    let tgz = std::fs::read(&out).unwrap();
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&tgz[..]));
    for e in ar.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    assert!(
        names.contains(&"bp-postgres/charts/bp-valkey-2.1.0.tgz".to_string()),
        "{names:?}"
    );
    // packaging again needs no registry and gives the same digest
    let again = json(&ok(
        bpkit(&docker, &["digest", u, "-o", "json"], None),
        "digest umbrella",
    ));
    assert_eq!(again["digest"], rec["digest"]);

    // the lock pins the chart: a tampered archive is refused offline
    std::fs::write(&vendored, b"tampered").unwrap();
    let (code, _, err) = bpkit(&docker, &["package", u, "--out", o], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("charts.lock") && err.contains(&chart_digest),
        "{err}"
    );
    // ... and so is different content pulled for a locked dependency
    std::fs::remove_file(&vendored).unwrap();
    let mut l = lock_of(&chart);
    l["dependencies"][0]["chart"] = Value::from(bpkit::oci::Digest::of(b"x").to_string());
    std::fs::write(chart.join("charts.lock"), l.to_string()).unwrap();
    let (code, _, err) = bpkit(&docker, &["package", u, "--vendor", "--out", o], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("pins") && err.contains(&chart_digest), "{err}");
    assert!(!vendored.exists());

    // the registry gone: a clear error, nothing written
    drop(reg);
    let (code, _, err) = bpkit(&docker, &["package", u, "--vendor", "--out", o], None);
    eprintln!("vendoring offline: {err}");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot vendor dependency `bp-valkey`") && err.contains("needs the registry"),
        "{err}"
    );
    assert!(!vendored.exists());
}

// ---- a catalog served by the registry ---------------------------------------------------------

fn log_count(reg: &Reg, needle: &str) -> usize {
    let log = std::fs::read_to_string(reg.state.path().join("registry/registry.log")).unwrap();
    log.lines()
        .filter(|l| l.contains("\"GET /v2/") && l.contains(needle))
        .count()
}

#[test]
fn catalog_from_registry() {
    use bpkit::catalog::OciCatalog;
    use bpkit::oci::registry::{Registry, RegistryOptions};
    use bpkit::resolve::Catalog;
    use bpkit::version::Version;

    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let h = reg.host().to_string();
    let pg = blueprint();
    let pg = pg.to_str().unwrap();
    let vk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints/valkey");
    let vk = vk.to_str().unwrap();
    let pushed = |bp: &str, to: &str| {
        json(&ok(
            bpkit(&docker, &["push", bp, to, "-o", "json"], None),
            "push",
        ))["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let pg_digest = pushed(pg, &format!("{h}/bp/bp-postgres"));
    pushed(pg, &format!("{h}/bp/bp-postgres:latest"));
    pushed(vk, &format!("{h}/bp/bp-valkey"));
    pushed(pg, &format!("{h}/bp/bp-valkey:9.0.0"));
    pushed(vk, &format!("{h}/elsewhere/bp-other"));

    let ins = json(&ok(
        bpkit(
            &docker,
            &[
                "inspect",
                &format!("{h}/bp/bp-postgres:1.6.1"),
                "-o",
                "json",
            ],
            None,
        ),
        "inspect",
    ));
    let chart_layer = ins["layers"][0]["digest"].as_str().unwrap().to_string();
    let bp_layer = ins["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["mediaType"] == "application/vnd.openova.catalyst.blueprint.v1+yaml")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();

    let open = |names: Vec<String>| {
        let registry = Registry::new(RegistryOptions {
            docker_config: Some(work.path().join("none.json")),
            retries: 1,
            ..RegistryOptions::default()
        })
        .unwrap();
        OciCatalog::open(
            registry,
            &format!("oci://{h}/bp"),
            names,
            Some(work.path().join("cache")),
        )
        .unwrap()
    };
    let cat = open(Vec::new());
    // names from the registry's `_catalog` under the prefix
    assert_eq!(cat.names().unwrap(), vec!["bp-postgres", "bp-valkey"]);
    // versions from the tags: semantic versions only, ascending
    let v161 = Version::parse_strict("1.6.1").unwrap();
    assert_eq!(cat.versions("bp-postgres").unwrap(), vec![v161.clone()]);
    assert_eq!(
        cat.versions("bp-valkey").unwrap(),
        vec![
            Version::parse_strict("2.1.0").unwrap(),
            Version::parse_strict("9.0.0").unwrap()
        ]
    );
    assert!(cat.versions("bp-missing").unwrap().is_empty());
    // the Blueprint layer alone is fetched, then cached on disk by digest
    let before = log_count(&reg, &bp_layer);
    let chart_before = log_count(&reg, &chart_layer);
    let bp = cat.get("bp-postgres", &v161).unwrap();
    assert_eq!(bp.name(), "bp-postgres");
    assert_eq!(bp.version(), "1.6.1");
    assert_eq!(log_count(&reg, &bp_layer), before + 1);
    assert_eq!(
        log_count(&reg, &chart_layer),
        chart_before,
        "the chart was downloaded"
    );
    let cached = work
        .path()
        .join("cache/blobs/sha256")
        .join(&bp_layer["sha256:".len()..]);
    assert!(cached.is_file());
    assert_eq!(cat.digest("bp-postgres", &v161).unwrap(), pg_digest);
    assert_eq!(
        cat.source("bp-postgres", &v161),
        format!("oci://{h}/bp/bp-postgres:1.6.1")
    );
    // a second catalog (a later run) reads the layer from the cache
    let again = open(vec!["bp-postgres".into()]);
    assert_eq!(again.names().unwrap(), vec!["bp-postgres"]);
    assert_eq!(
        again.get("bp-postgres", &v161).unwrap().name(),
        "bp-postgres"
    );
    assert_eq!(
        log_count(&reg, &bp_layer),
        before + 1,
        "the cache was not used"
    );
    // a tag whose artifact holds another Blueprint is refused, naming both
    let e = cat
        .get("bp-valkey", &Version::parse_strict("9.0.0").unwrap())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("holds `bp-postgres` 1.6.1, not `bp-valkey` 9.0.0"),
        "{e}"
    );
    // `bpkit plan --catalog oci://HOST/PREFIX` resolves against the registry
    let plan = ok(
        bpkit(
            &docker,
            &[
                "plan",
                "bp-postgres",
                "--catalog",
                &format!("oci://{h}/bp"),
                "--partial",
                "--no-lock",
                "-o",
                "json",
            ],
            None,
        ),
        "plan against the registry",
    );
    assert!(
        plan.contains("\"bp-postgres\"") && plan.contains("1.6.1"),
        "{plan}"
    );
    assert!(
        docker
            .join("cache/bpkit/blobs/sha256")
            .join(&bp_layer["sha256:".len()..])
            .is_file()
    );
    // an unknown version
    let e = cat
        .get("bp-postgres", &Version::parse_strict("3.0.0").unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("is not in the catalog"), "{e}");
}

// ---- streamed copies between layouts and registries -------------------------------------------

fn log_lines(reg: &Reg, method: &str, needle: &str) -> usize {
    let log = std::fs::read_to_string(reg.state.path().join("registry/registry.log")).unwrap();
    log.lines()
        .filter(|l| l.contains(&format!("\"{method} /v2/")) && l.contains(needle))
        .count()
}

/// Every blob file of a layout, by name.
fn layout_blobs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn streamed_copies_between_layouts_and_registries() {
    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let h = reg.host().to_string();
    let src = work.path().join("src");
    let bp = blueprint();
    ok(
        bpkit(
            &docker,
            &[
                "push",
                bp.to_str().unwrap(),
                &format!("oci:{}:1", src.display()),
            ],
            None,
        ),
        "push to a layout",
    );
    let lref = format!("oci:{}:1", src.display());
    let target = format!("{h}/bp/stream:1");

    // layout -> registry: every blob streamed; the same again sends nothing, reads no blob
    let before = log_lines(&reg, "POST", "/bp/stream/blobs/uploads/");
    let first = json(&ok(
        bpkit(&docker, &["copy", &lref, &target, "-o", "json"], None),
        "copy layout -> registry",
    ));
    let uploaded = first["copied"]["blobsUploaded"].as_u64().unwrap();
    assert!(uploaded >= 2, "{first}");
    assert_eq!(
        log_lines(&reg, "POST", "/bp/stream/blobs/uploads/") - before,
        uploaded as usize
    );
    let heads = log_lines(&reg, "HEAD", "/bp/stream/blobs/");
    let again = json(&ok(
        bpkit(&docker, &["copy", &lref, &target, "-o", "json"], None),
        "copy again",
    ));
    assert_eq!(again["copied"]["blobsUploaded"], 0, "{again}");
    assert_eq!(again["copied"]["manifestPushed"], false, "{again}");
    assert_eq!(again["digest"], first["digest"]);
    assert_eq!(
        log_lines(&reg, "HEAD", "/bp/stream/blobs/"),
        heads,
        "a zero-upload re-push looked up blobs"
    );

    // registry -> layout: byte for byte the source's blobs
    let back = work.path().join("back");
    let pulled = json(&ok(
        bpkit(
            &docker,
            &[
                "copy",
                &target,
                &format!("oci:{}:1", back.display()),
                "-o",
                "json",
            ],
            None,
        ),
        "copy registry -> layout",
    ));
    assert_eq!(pulled["digest"], first["digest"]);
    assert_eq!(layout_blobs(&back), layout_blobs(&src));

    // a corrupted layout blob: refused with its digest named, nothing tagged in the registry
    let bad = work.path().join("bad");
    copy_tree(&src, &bad);
    let (name, bytes) = layout_blobs(&bad)
        .into_iter()
        .max_by_key(|(_, b)| b.len())
        .unwrap();
    let mut bytes = bytes;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(bad.join("blobs/sha256").join(&name), &bytes).unwrap();
    let bad_target = format!("{h}/bp/stream-bad:1");
    let (code, _, err) = bpkit(
        &docker,
        &["copy", &format!("oci:{}:1", bad.display()), &bad_target],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&name) && err.contains("altered"), "{err}");
    let (code, _, err) = bpkit(&docker, &["inspect", &bad_target], None);
    assert_ne!(code, 0, "the corrupted artifact was tagged: {err}");

    // a corrupted registry blob: refused, and a new layout folder is not left behind
    let blob = reg.state.path().join(format!(
        "registry/data/docker/registry/v2/blobs/sha256/{}/{name}/data",
        &name[..2]
    ));
    let mut stored = std::fs::read(&blob).unwrap();
    stored[mid] ^= 0xff;
    std::fs::write(&blob, &stored).unwrap();
    let dest = work.path().join("corrupt");
    let (code, _, err) = bpkit(
        &docker,
        &["copy", &target, &format!("oci:{}:1", dest.display())],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&name), "{err}");
    assert!(!dest.exists(), "a corrupted copy left `{}`", dest.display());
}
