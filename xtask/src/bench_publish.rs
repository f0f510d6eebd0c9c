//! `cargo xtask bench publish`: the whole reference catalog published by bpkit (cold, then
//! unchanged) next to the shell pipeline it replaces: `helm package` (Helm v4 from the interop
//! venv when it is there, else `tar | gzip`) and `skopeo copy` for every Blueprint, then
//! `sha256sum` for the digests. Everything goes to OCI layouts in a temporary folder.

use std::path::Path;

use super::{Timing, time_cmd};

/// The Helm v4 runner of the interop harness, when installed.
fn helm_python() -> Option<String> {
    let venv =
        std::env::var("BPKIT_INTEROP_VENV").unwrap_or_else(|_| "/tmp/bpkit-interop-venv".into());
    let py = Path::new(&venv).join("bin/python");
    let ok = std::process::Command::new(&py)
        .args(["-c", "import helm_python.chart"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| py.display().to_string())
}

fn which(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the benchmark; returns the Markdown table.
pub fn bench(root: &Path, bin: &Path) -> Result<String, String> {
    let tmp = std::env::temp_dir().join(format!("bpkit-bench-publish-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let b = bin.display();
    let cat = root.join("blueprints");
    let n = std::fs::read_dir(&cat)
        .map_err(|e| e.to_string())?
        .flatten()
        .filter(|e| e.path().join("blueprint.yaml").is_file())
        .count() as f64;
    let env = "env -u BPKIT_KEY BPKIT_KEY_PASSWORD=bench";
    let mut rows: Vec<Timing> = vec![
        time_cmd(
            "publish-cold-unsigned",
            "bpkit publish --no-sign, cold (empty target)",
            n,
            &tmp,
            &format!(
                "rm -rf out && {b} publish {} --to oci:out -q --no-sign",
                cat.display()
            ),
        )?,
        time_cmd(
            "publish-cold",
            "bpkit publish, cold: package, SBOMs, push, sign, 3 attestations, verify",
            n,
            &tmp,
            &format!(
                "rm -rf out && {env} {b} publish {} --to oci:out -q",
                cat.display()
            ),
        )?,
        time_cmd(
            "publish-unchanged",
            "bpkit publish, unchanged catalog (uploads nothing, verifies everything)",
            n,
            &tmp,
            &format!("{env} {b} publish {} --to oci:out -q", cat.display()),
        )?,
    ];
    let mut notes = Vec::new();
    if which("skopeo") {
        let (pkg, what) = match helm_python() {
            Some(py) => (
                format!(
                    "HOME=$PWD/home {py} -c \"import sys; from helm_python import chart; chart.package(sys.argv[1], destination=sys.argv[2])\" \"$d/chart\" pkgs"
                ),
                "helm package (Helm v4, helm-python-sdk)",
            ),
            None => (
                "tar -C \"$d\" -cf - chart | gzip -6 > pkgs/$(basename \"$d\").tgz".to_string(),
                "tar | gzip (Helm is not installed: run the interop harness once)",
            ),
        };
        // The peer copies bpkit's own artifacts with skopeo, so it does the same transfer work.
        let script = format!(
            "rm -rf peer pkgs && mkdir -p peer pkgs && for d in {cat}/*/; do n=$(basename \"$d\"); [ -d \"$d/chart\" ] && {pkg}; done; \
             for r in out/*/; do n=$(basename \"$r\"); tag=$(sed -n 's/.*\"org.opencontainers.image.ref.name\":\"\\([^\"]*\\)\".*/\\1/p' \"$r/index.json\" | head -1); \
             skopeo copy -q --preserve-digests oci:\"$r\":\"$tag\" oci:peer/\"$n\":\"$tag\" >/dev/null; done; sha256sum pkgs/* > /dev/null",
            cat = cat.display(),
        );
        match time_cmd(
            "peer-pipeline",
            &format!("shell pipeline: {what} + skopeo copy per Blueprint (no SBOM, no signing)"),
            n,
            &tmp,
            &script,
        ) {
            Ok(t) => rows.push(t),
            Err(e) => notes.push(format!("the peer pipeline failed: {e}")),
        }
        notes.push(
            "ORAS and cosign CLIs are not installed here (see ../shared/interop/README.md); the peer pipeline cannot sign or attest".into(),
        );
    } else {
        notes.push("skopeo is not installed: no peer row".into());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let mut out = String::from(
        "### publish: the reference catalog\n\n| run | median | Blueprints/s | peak RSS |\n|---|---|---|---|\n",
    );
    for t in &rows {
        let m = t.median();
        out.push_str(&format!(
            "| {} | {:.3} s | {:.1} | {:.1} MiB |\n",
            t.title,
            m,
            t.units / m,
            t.max_rss_mb()
        ));
    }
    for n in notes {
        out.push_str(&format!("\n- {n}"));
    }
    out.push('\n');
    Ok(out)
}
