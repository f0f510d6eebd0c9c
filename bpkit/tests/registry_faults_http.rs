//! Fault injection at the HTTP level: bpkit `push`, `pull` and `copy` through a proxy
//! (`support/proxy.rs`) that stands between bpkit and a real registry (CNCF Distribution from
//! `../shared/interop/registry.sh`) and, per a plan, answers 5xx storms, 429 with
//! `Retry-After`, slow and stalled answers, or cuts a blob off mid-body.
//!
//! What each test proves: the command succeeds with the same digest and byte-identical files
//! when the faults fit in the retry budget, with a bounded number of requests (the proxy's
//! counters); it fails with exit code 2 and a message naming the registry, the status and the
//! attempts when they do not, and then nothing is written on the pulling side. No assertion
//! is on bpkit's own speed: the waits checked are lower bounds the proxy measures.
//!
//! Needs the shared folder (`BPKIT_SHARED`); without it each test prints `SKIPPED` and passes.

#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/interop.rs"]
mod interop;
#[path = "support/proxy.rs"]
mod proxy;

use std::path::{Path, PathBuf};
use std::time::Duration;

use interop::{Reg, blueprint, bpkit, copy_tree, json, noise, ok, plain_registry, tree};
use proxy::{Fault, Kind, Proxy};

/// The registry's port.
fn upstream(reg: &Reg) -> u16 {
    reg.host().rsplit(':').next().unwrap().parse().unwrap()
}

/// The postgres Blueprint with a 1 MiB file of noise in its chart, so the chart layer is a
/// blob worth cutting in the middle; with its name, tag and offline digest.
struct Artifact {
    dir: PathBuf,
    name: String,
    tag: String,
    digest: String,
}

fn artifact(work: &Path, docker: &Path) -> Artifact {
    let dir = work.join("bp");
    copy_tree(&blueprint(), &dir);
    std::fs::create_dir_all(dir.join("chart/files")).unwrap();
    std::fs::write(dir.join("chart/files/noise.bin"), noise(3, 1 << 20)).unwrap();
    let d = json(&ok(
        bpkit(
            docker,
            &["digest", dir.to_str().unwrap(), "-o", "json"],
            None,
        ),
        "digest",
    ));
    Artifact {
        name: d["name"].as_str().unwrap().to_string(),
        tag: d["tag"].as_str().unwrap().to_string(),
        digest: d["digest"].as_str().unwrap().to_string(),
        dir,
    }
}

/// `bpkit ARGS --plain-http` (the proxy speaks HTTP only).
fn run(docker: &Path, args: &[&str]) -> (i32, String, String) {
    let mut a = args.to_vec();
    a.push("--plain-http");
    bpkit(docker, &a, None)
}

/// Pushes the artifact to `host/bp/REPO:TAG`; returns the push report.
fn push(docker: &Path, a: &Artifact, host: &str, repo: &str, extra: &[&str]) -> serde_json::Value {
    let target = format!("{host}/bp/{repo}:{}", a.tag);
    let mut args = vec!["push", a.dir.to_str().unwrap(), &target, "-o", "json"];
    args.extend_from_slice(extra);
    json(&ok(run(docker, &args), &format!("push to {target}")))
}

/// Pulls `REF` into `dir` and returns the files pulled.
fn pull(
    docker: &Path,
    r: &str,
    dir: &Path,
    extra: &[&str],
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut args = vec!["pull", r, "--dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(run(docker, &args), &format!("pull {r}"));
    tree(dir)
}

/// Pulls `REF` into a new folder `into` of `work`, expecting the network failure exit code
/// (2); checks that nothing was written anywhere in `work`, and returns the error text.
fn pull_fails(docker: &Path, work: &Path, r: &str, into: &str, extra: &[&str]) -> String {
    let dest = work.join(into);
    let before = tree(work);
    let mut args = vec!["pull", r, "--dir", dest.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, _, err) = run(docker, &args);
    eprintln!("pull {r} {extra:?}: {err}");
    assert_eq!(code, 2, "{err}");
    assert!(!dest.exists(), "a failed pull created `{}`", dest.display());
    assert!(tree(work) == before, "a failed pull left files behind");
    err
}

/// How many blobs (config and layers) the artifact at `r` has.
fn blobs(docker: &Path, r: &str) -> usize {
    let ins = json(&ok(run(docker, &["inspect", r, "-o", "json"]), "inspect"));
    ins["layers"].as_array().unwrap().len() + 1
}

/// The requests a proxy saw, without the `/v2/` checks (oci-client sends one before most
/// requests on an anonymous registry, so their number is not the point).
fn requests(p: &Proxy) -> usize {
    p.log().iter().filter(|s| s.kind != Kind::Ping).count()
}

/// The gaps between consecutive requests of one kind, as the proxy saw them arrive.
fn gaps(p: &Proxy, kind: Kind) -> Vec<Duration> {
    p.times(kind).windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn a_short_5xx_storm_is_retried_and_changes_nothing() {
    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let a = artifact(work.path(), &docker);
    let port = upstream(&reg);

    // the reference run: through a proxy that injects nothing
    let clean = Proxy::start(port, |_, _, _| Fault::Pass);
    let host = format!("127.0.0.1:{}", clean.port);
    let reference = push(&docker, &a, &host, "clean", &[]);
    assert_eq!(reference["digest"], a.digest.as_str(), "{reference}");
    let clean_files = pull(
        &docker,
        &format!("{host}/bp/clean:{}", a.tag),
        &work.path().join("clean"),
        &[],
    );
    assert_eq!(clean.faults(), 0);
    let clean_requests = requests(&clean);
    eprintln!("clean push and pull: {}", clean.summary());

    // push: a 500 on an upload start, 503 on two blob uploads, a 502 on the manifest
    let storm = Proxy::start(port, |k, n, _| match (k, n) {
        (Kind::UploadStart, 1) => Fault::Status(500),
        (Kind::UploadPut, 1 | 2) => Fault::Status(503),
        (Kind::ManifestPut, 1) => Fault::Status(502),
        // pull: a 503 on the manifest and two 502/503 on blobs
        (Kind::ManifestGet, 1) => Fault::Status(503),
        (Kind::BlobGet, 1) => Fault::Status(502),
        (Kind::BlobGet, 3) => Fault::Status(503),
        _ => Fault::Pass,
    });
    let host = format!("127.0.0.1:{}", storm.port);
    let t = std::time::Instant::now();
    let pushed = push(&docker, &a, &host, "storm", &["--retries", "3"]);
    let push_time = t.elapsed();
    assert_eq!(pushed["digest"], reference["digest"], "{pushed}");
    assert_eq!(
        pushed["target"]["blobsUploaded"],
        reference["target"]["blobsUploaded"]
    );
    assert_eq!(storm.count(Kind::ManifestPut), 2, "{}", storm.summary());
    // each failed upload costs one retry: its own request, plus a new session for a failed PUT
    assert_eq!(
        storm.count(Kind::UploadPut),
        reference["target"]["blobsUploaded"].as_u64().unwrap() as usize + 2,
        "{}",
        storm.summary()
    );
    let t = std::time::Instant::now();
    let files = pull(
        &docker,
        &format!("{host}/bp/storm:{}", a.tag),
        &work.path().join("storm"),
        &["--retries", "3"],
    );
    let pull_time = t.elapsed();
    assert!(files == clean_files, "the pull after a storm differs");
    assert_eq!(storm.faults(), 7, "{}", storm.summary());
    // bounded: every injected fault cost at most two more requests than the clean run
    let seen = requests(&storm);
    assert!(
        seen >= clean_requests + 7 && seen <= clean_requests + 2 * 7,
        "{seen} requests against {clean_requests} clean: {}",
        storm.summary()
    );
    eprintln!(
        "storm: push {push_time:.1?}, pull {pull_time:.1?}, {seen} requests against {clean_requests}: {}",
        storm.summary()
    );

    // chunked uploads with the first two `PATCH`es answered 503: two blobs are retried once
    let patches = Proxy::start(port, |k, n, _| match (k, n) {
        (Kind::UploadPatch, 1 | 2) => Fault::Status(503),
        _ => Fault::Pass,
    });
    let host = format!("127.0.0.1:{}", patches.port);
    let chunked = push(
        &docker,
        &a,
        &host,
        "chunked",
        &["--retries", "3", "--chunked-upload"],
    );
    assert_eq!(chunked["digest"], reference["digest"], "{chunked}");
    let uploaded = chunked["target"]["blobsUploaded"].as_u64().unwrap() as usize;
    assert_eq!(patches.faults(), 2, "{}", patches.summary());
    assert_eq!(
        patches.count(Kind::UploadPatch),
        uploaded + 2,
        "{}",
        patches.summary()
    );
    eprintln!("chunked storm: {}", patches.summary());

    // copy registry -> layout through a storm: byte-exact, same digest
    let copy = Proxy::start(port, |k, n, _| match (k, n) {
        (Kind::ManifestGet, 1) | (Kind::BlobGet, 2) => Fault::Status(500),
        _ => Fault::Pass,
    });
    let layout = work.path().join("layout");
    let dst = format!("oci:{}:{}", layout.display(), a.tag);
    ok(
        run(
            &docker,
            &[
                "copy",
                &format!("127.0.0.1:{}/bp/storm:{}", copy.port, a.tag),
                &dst,
            ],
        ),
        "copy through a storm",
    );
    assert_eq!(copy.faults(), 2, "{}", copy.summary());
    let ins = json(&ok(
        run(&docker, &["inspect", &dst, "-o", "json"]),
        "inspect copy",
    ));
    assert_eq!(ins["digest"], a.digest.as_str(), "{ins}");
}

#[test]
fn a_storm_longer_than_the_retries_fails_clearly_and_writes_nothing() {
    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let a = artifact(work.path(), &docker);
    let port = upstream(&reg);
    push(&docker, &a, reg.host(), &a.name, &[]);

    // every blob download answers 503: three attempts, then exit 2 naming status and attempts
    let down = Proxy::start(port, |k, _, _| match k {
        Kind::BlobGet => Fault::Status(503),
        _ => Fault::Pass,
    });
    let r = format!("127.0.0.1:{}/bp/{}:{}", down.port, a.name, a.tag);
    let err = pull_fails(&docker, work.path(), &r, "pulled", &["--retries", "2"]);
    let host = format!("127.0.0.1:{}", down.port);
    assert!(
        err.contains(&format!(
            "the registry `{host}` failed a blob download: HTTP 503"
        )) && err.contains("gave up after 3 attempts")
            && err.contains("--retries"),
        "{err}"
    );
    assert_eq!(down.count(Kind::BlobGet), 3, "{}", down.summary());

    // copy into an existing layout holding another artifact (the plain Blueprint, without the
    // noise: its chart blob differs, so the copy must download): the layout is unchanged
    let layout = work.path().join("layout");
    let keep = format!("oci:{}:keep", layout.display());
    ok(
        run(&docker, &["push", blueprint().to_str().unwrap(), &keep]),
        "push to a layout",
    );
    let before = tree(&layout);
    let (code, _, err) = run(
        &docker,
        &[
            "copy",
            &r,
            &format!("oci:{}:other", layout.display()),
            "--retries",
            "1",
        ],
    );
    eprintln!("copy in a long storm: {err}");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("HTTP 503") && err.contains("gave up after 2 attempts"),
        "{err}"
    );
    assert!(tree(&layout) == before, "a failed copy changed the layout");

    // every blob upload answers 500: the push fails and the tag is not created
    let up = Proxy::start(port, |k, _, _| match k {
        Kind::UploadPut => Fault::Status(500),
        _ => Fault::Pass,
    });
    let target = format!("127.0.0.1:{}/bp/never:{}", up.port, a.tag);
    let (code, _, err) = run(
        &docker,
        &["push", a.dir.to_str().unwrap(), &target, "--retries", "1"],
    );
    eprintln!("push in a long storm: {err}");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("failed a blob upload: HTTP 500") && err.contains("gave up after 2 attempts"),
        "{err}"
    );
    assert_eq!(up.count(Kind::UploadPut), 2, "{}", up.summary());
    assert_eq!(up.count(Kind::ManifestPut), 0, "{}", up.summary());
    let (code, _, err) = run(
        &docker,
        &["inspect", &format!("{}/bp/never:{}", reg.host(), a.tag)],
    );
    assert_ne!(code, 0, "the failed push created the tag");
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let a = artifact(work.path(), &docker);
    let port = upstream(&reg);
    // 429 Retry-After: 1 on the first upload session and on the first blob download
    let p = Proxy::start(port, |k, n, _| match (k, n) {
        (Kind::UploadStart, 1) | (Kind::BlobGet, 1) => Fault::TooMany { retry_after: 1 },
        _ => Fault::Pass,
    });
    let host = format!("127.0.0.1:{}", p.port);
    let pushed = push(&docker, &a, &host, "throttled", &["--retries", "2"]);
    assert_eq!(pushed["digest"], a.digest.as_str(), "{pushed}");
    let files = pull(
        &docker,
        &format!("{host}/bp/throttled:{}", a.tag),
        &work.path().join("pulled"),
        &["--retries", "2"],
    );
    assert_eq!(p.faults(), 2, "{}", p.summary());
    let clean = pull(
        &docker,
        &format!("{}/bp/throttled:{}", reg.host(), a.tag),
        &work.path().join("direct"),
        &[],
    );
    assert!(files == clean, "the throttled pull differs");
    // the retry came no sooner than the registry asked (the proxy's clock)
    for kind in [Kind::UploadStart, Kind::BlobGet] {
        let g = gaps(&p, kind);
        eprintln!("429 then retry, {kind:?}: {:.2?}", g[0]);
        assert!(
            g[0] >= Duration::from_secs(1),
            "{kind:?} retried after {:?}",
            g[0]
        );
    }
}

#[test]
fn slow_answers_pass_and_a_stall_past_the_timeout_fails_clearly() {
    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let a = artifact(work.path(), &docker);
    let port = upstream(&reg);
    push(&docker, &a, reg.host(), &a.name, &[]);
    let direct = pull(
        &docker,
        &format!("{}/bp/{}:{}", reg.host(), a.name, a.tag),
        &work.path().join("direct"),
        &[],
    );

    // a manifest answered after 1 s and blobs trickled in 64 KiB pieces 100 ms apart, with a
    // 6 s read timeout: accepted as they are, nothing retried
    let slow = Proxy::start(port, |k, _, _| match k {
        Kind::ManifestGet => Fault::Delay(Duration::from_secs(1)),
        Kind::BlobGet => Fault::Trickle {
            chunk: 64 << 10,
            gap: Duration::from_millis(100),
        },
        _ => Fault::Pass,
    });
    let r = format!("127.0.0.1:{}/bp/{}:{}", slow.port, a.name, a.tag);
    let t = std::time::Instant::now();
    let files = pull(
        &docker,
        &r,
        &work.path().join("slow"),
        &["--timeout", "6", "--retries", "0"],
    );
    eprintln!("slow pull: {:.1?}, {}", t.elapsed(), slow.summary());
    assert!(files == direct, "the slow pull differs");
    assert_eq!(slow.count(Kind::ManifestGet), 1, "{}", slow.summary());
    let n = blobs(&docker, &format!("{}/bp/{}:{}", reg.host(), a.name, a.tag));
    assert_eq!(slow.count(Kind::BlobGet), n, "{}", slow.summary());

    // a manifest request that gets no answer: it times out after 3 s, is retried once,
    // and the pull fails clearly, having written nothing
    let stall = Proxy::start(port, |k, _, _| match k {
        Kind::ManifestGet => Fault::Stall(Duration::from_secs(30)),
        _ => Fault::Pass,
    });
    let r = format!("127.0.0.1:{}/bp/{}:{}", stall.port, a.name, a.tag);
    let t = std::time::Instant::now();
    let err = pull_fails(
        &docker,
        work.path(),
        &r,
        "stalled",
        &["--timeout", "3", "--retries", "1"],
    );
    eprintln!("stalled pull failed after {:.1?}", t.elapsed());
    assert!(
        err.contains(&format!(
            "cannot reach the registry `127.0.0.1:{}`",
            stall.port
        )) && err.contains("no data for 3 s")
            && err.contains("gave up after 2 attempts")
            && err.contains("--timeout"),
        "{err}"
    );
    assert_eq!(stall.count(Kind::ManifestGet), 2, "{}", stall.summary());
}

#[test]
fn a_connection_cut_mid_blob_is_retried_and_the_pull_is_byte_exact() {
    let Some((work, docker, reg)) = plain_registry() else {
        return;
    };
    let a = artifact(work.path(), &docker);
    let port = upstream(&reg);
    push(&docker, &a, reg.host(), &a.name, &[]);

    // the first download of each blob is cut off half-way
    let cut_once = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let cut = Proxy::start(port, move |k, _, path| match k {
        Kind::BlobGet if cut_once.lock().unwrap().insert(path.to_string()) => Fault::CutMidBody,
        _ => Fault::Pass,
    });
    let r = format!("127.0.0.1:{}/bp/{}:{}", cut.port, a.name, a.tag);
    let files = pull(
        &docker,
        &r,
        &work.path().join("pulled"),
        &["--retries", "2"],
    );
    eprintln!("cut pull: {}", cut.summary());
    let n = blobs(&docker, &format!("{}/bp/{}:{}", reg.host(), a.name, a.tag));
    assert_eq!(cut.faults(), n, "{}", cut.summary());
    assert_eq!(cut.count(Kind::BlobGet), 2 * n, "{}", cut.summary());
    assert!(
        files["chart/files/noise.bin"] == noise(3, 1 << 20),
        "the pulled chart file differs"
    );
    let direct = pull(
        &docker,
        &format!("{}/bp/{}:{}", reg.host(), a.name, a.tag),
        &work.path().join("direct"),
        &[],
    );
    assert!(files == direct, "the pull through cuts differs");

    // every download cut: the pull fails clearly and leaves nothing
    let always = Proxy::start(port, |k, _, _| match k {
        Kind::BlobGet => Fault::CutMidBody,
        _ => Fault::Pass,
    });
    let r = format!("127.0.0.1:{}/bp/{}:{}", always.port, a.name, a.tag);
    let err = pull_fails(&docker, work.path(), &r, "never", &["--retries", "1"]);
    assert!(
        err.contains(&format!("the registry `127.0.0.1:{}`", always.port))
            && err.contains("the connection broke off mid-answer")
            && err.contains("gave up after 2 attempts"),
        "{err}"
    );
    assert_eq!(always.count(Kind::BlobGet), 2, "{}", always.summary());
}
