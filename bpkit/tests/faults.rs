//! Fault injection on the local disk: a layout target on a tiny tmpfs that fills up mid-write.
//! bpkit must fail with a clear error and a non-zero exit, and leave nothing half-written: no
//! `index.json` naming a blob that is absent or damaged, no blob whose bytes do not match its
//! name, no temporary files. Needs root (to mount a tmpfs); skipped loudly otherwise.
//! `cargo xtask soak` runs this and the registry fault tests five times each.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bpkit(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bpkit"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run bpkit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A tmpfs of `size` mounted on a fresh folder; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Every blob under `layout/blobs/sha256` has the digest its name says; returns how many.
fn blobs_are_whole(layout: &Path) -> usize {
    let dir = layout.join("blobs/sha256");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(e.path()).expect("read blob");
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            name,
            "blob `{name}` is half-written or damaged"
        );
        n += 1;
    }
    n
}

/// No file that looks like an unfinished write is left anywhere in the target.
fn no_temporaries(dir: &Path) {
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        let name = e.file_name().to_string_lossy();
        assert!(
            !name.starts_with('.') || name == "." || e.depth() == 0,
            "temporary file left behind: {}",
            e.path().display()
        );
    }
}

#[test]
fn a_full_disk_fails_clearly_and_leaves_nothing_half_written() {
    // Big enough for the layout's small files, too small for the artifact's chart layer.
    let Some(fs) = Tmpfs::mount("12k") else {
        eprintln!("SKIPPED: cannot mount a tmpfs (needs root): the disk-full test did not run");
        return;
    };
    let src = format!(
        "oci:{}:1.0.0",
        repo().join("testdata/hostile/control").display()
    );
    let layout = fs.path().join("layout");
    let dst = format!("oci:{}:1.0.0", layout.display());
    for attempt in 0..2 {
        let (code, _out, err) = bpkit(&["copy", &src, &dst]);
        assert_ne!(code, 0, "attempt {attempt}: copy to a full disk succeeded");
        assert!(
            err.contains("No space left on device") || err.contains("os error 28"),
            "attempt {attempt}: the error does not say the disk is full:\n{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        // Whatever is there is whole: blobs match their names, and an index.json, if any,
        // names only blobs that are present.
        blobs_are_whole(&layout);
        no_temporaries(fs.path());
        let index = layout.join("index.json");
        if let Ok(text) = std::fs::read_to_string(&index) {
            let v: serde_json::Value =
                serde_json::from_str(&text).expect("index.json is whole JSON");
            for m in v["manifests"].as_array().into_iter().flatten() {
                let d = m["digest"].as_str().unwrap_or_default();
                let hex = d.trim_start_matches("sha256:");
                assert!(
                    layout.join("blobs/sha256").join(hex).is_file(),
                    "index.json names `{d}`, which is not there"
                );
            }
        }
        // Reading the target back never yields the artifact.
        let (code, _, _) = bpkit(&["inspect", &dst]);
        assert_ne!(code, 0, "the half-copied artifact reads back");
    }
    // With room again (a fresh, larger tmpfs), the same copy succeeds and reads back.
    drop(fs);
    let Some(big) = Tmpfs::mount("4m") else {
        return;
    };
    let layout = big.path().join("layout");
    let dst = format!("oci:{}:1.0.0", layout.display());
    let (code, _, err) = bpkit(&["copy", &src, &dst]);
    assert_eq!(code, 0, "{err}");
    assert!(blobs_are_whole(&layout) >= 3);
    let (code, _, err) = bpkit(&["inspect", &dst]);
    assert_eq!(code, 0, "{err}");
}
