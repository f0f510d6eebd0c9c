//! Developer tasks for bpkit: `cargo xtask test | bench | dist | fuzz`.
//!
//! `cargo xtask test` is what CI runs (`.ci/run`): formatting, clippy with `-D warnings`, the
//! I/O-free core build, the dependency-tree promise, and every test of the workspace.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

mod advisories;
mod bench;
mod bench_serve;
mod fuzz;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, r)) => (t.as_str(), r.to_vec()),
        None => ("help", Vec::new()),
    };
    let result = match task {
        "test" => test(&rest),
        "bench" => bench::run(&root(), &rest),
        "gen" | "dist" => gen_docs(),
        "fuzz" => fuzz::run(&root(), &rest),
        "soak" => soak(&rest),
        "deps" => lock_is_clear()
            .and_then(|()| msrv_holds())
            .and_then(|()| cargo_deny()),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::from(1)
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  test [--quick]     fmt check, clippy -D warnings, core build without default features,
                     dependency-tree check, all tests (--quick: tests only)
  bench [AREA…]      benchmarks side by side with the peer tools
                     (areas: validate, resolve, oci, sign, publish, serve)
  deps               Cargo.lock against known advisories, the MSRV, cargo deny
  fuzz [--time S] [TARGET…]
                     coverage-guided fuzzing (libFuzzer via cargo-fuzz), S seconds per target
  soak [--times N]   the fault-injection tests N times each (default 5)
  dist (alias: gen)  man pages and shell completions into target/dist";

/// The workspace root.
fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

pub(crate) fn step(name: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("xtask: == {name}");
    let t = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    eprintln!(
        "xtask: == {name}: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        t.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn shared_dir() -> PathBuf {
    root().join("../shared")
}

fn test(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    if !shared_dir().is_dir() {
        eprintln!(
            "xtask: WARNING: ../shared is absent: conformance, corpus and interop tests will be SKIPPED"
        );
    }
    if !quick {
        let mut c = cargo();
        c.args(["fmt", "--all", "--", "--check"]);
        step("cargo fmt --check", c)?;
        let mut c = cargo();
        c.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        step("cargo clippy -D warnings", c)?;
        let mut c = cargo();
        c.args(["check", "-p", "bpkit", "--no-default-features", "--lib"]);
        step("core builds without default features", c)?;
        core_tree_is_clean()?;
        lock_is_clear()?;
        msrv_holds()?;
        cargo_deny()?;
    }
    let mut c = cargo();
    c.args(["test", "--workspace", "--all-targets"]);
    step("cargo test", c)?;
    let mut c = cargo();
    c.args(["test", "--workspace", "--doc"]);
    step("cargo test --doc", c)
}

/// The resolver/validator core must not pull in an async runtime, an HTTP stack or crypto.
fn core_tree_is_clean() -> Result<(), String> {
    eprintln!("xtask: == dependency tree of the core (--no-default-features)");
    let out = cargo()
        .args([
            "tree",
            "-p",
            "bpkit",
            "--no-default-features",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    const FORBIDDEN: &[&str] = &[
        "tokio",
        "hyper",
        "reqwest",
        "rustls",
        "ring",
        "aws-lc-rs",
        "aws-lc-sys",
        "openssl",
        "oci-client",
        "sigstore",
        "p256",
        "ecdsa",
        "bpkit-signing",
        "scrypt",
        "crypto_secretbox",
    ];
    let mut bad: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| FORBIDDEN.contains(name))
        .map(str::to_string)
        .collect();
    bad.sort();
    bad.dedup();
    let n = text.lines().filter(|l| !l.trim().is_empty()).count();
    if bad.is_empty() {
        eprintln!(
            "xtask: == core dependency tree: ok ({n} packages, none of {})",
            FORBIDDEN.join(", ")
        );
        Ok(())
    } else {
        Err(format!("the core pulls in {}", bad.join(", ")))
    }
}

/// The fault-injection tests, each run `--times N` (default 5) in a row: a full disk under a
/// layout, a registry killed mid-upload, a corrupted blob, a registry that stays down, a publish
/// killed mid-run and a registry stopped mid-publish. Any failure stops the soak.
fn soak(args: &[String]) -> Result<(), String> {
    let times: usize = match args {
        [flag, n] if flag == "--times" => n.parse().map_err(|_| "`--times` needs a number")?,
        [] => 5,
        _ => return Err("usage: cargo xtask soak [--times N]".into()),
    };
    // without the interop scripts the registry tests print SKIPPED and pass: not a soak
    let env = std::env::var_os("BPKIT_SHARED").map(PathBuf::from);
    if !std::iter::once(shared_dir())
        .chain(env)
        .any(|d| d.join("interop/registry.sh").is_file())
    {
        return Err(
            "the fault tests need `../shared/interop` (or `BPKIT_SHARED`); without it they are skipped, not soaked"
                .into(),
        );
    }
    let tests: &[(&str, &str)] = &[
        (
            "faults",
            "a_full_disk_fails_clearly_and_leaves_nothing_half_written",
        ),
        ("registry", "registry_faults"),
        (
            "registry_faults_http",
            "a_short_5xx_storm_is_retried_and_changes_nothing",
        ),
        (
            "registry_faults_http",
            "a_storm_longer_than_the_retries_fails_clearly_and_writes_nothing",
        ),
        (
            "registry_faults_http",
            "a_429_with_retry_after_is_waited_out",
        ),
        (
            "registry_faults_http",
            "slow_answers_pass_and_a_stall_past_the_timeout_fails_clearly",
        ),
        (
            "registry_faults_http",
            "a_connection_cut_mid_blob_is_retried_and_the_pull_is_byte_exact",
        ),
        ("publish", "killed_run_resumes_and_concurrent_runs_agree"),
        (
            "publish",
            "registry_stopped_mid_publish_reports_no_false_success",
        ),
    ];
    let t0 = Instant::now();
    for (file, name) in tests {
        for i in 1..=times {
            let mut c = cargo();
            c.args(["test", "-p", "bpkit", "--test", file, "--", "--exact", name]);
            step(&format!("soak {file}::{name} ({i}/{times})"), c)?;
        }
    }
    eprintln!(
        "xtask: soak: {} tests x {times} runs passed in {:.0}s",
        tests.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `Cargo.lock` holds no version with a known advisory (the table in `advisories.rs`).
fn lock_is_clear() -> Result<(), String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let problems = advisories::problems(&lock);
    if problems.is_empty() {
        eprintln!(
            "xtask: == Cargo.lock: clear of the {} known advisories",
            advisories::KNOWN.len()
        );
        Ok(())
    } else {
        Err(format!("Cargo.lock:\n  {}", problems.join("\n  ")))
    }
}

/// The stated MSRV (`rust-version` of the workspace) is at least every dependency's own
/// `rust-version` and at most the toolchain that runs these checks; clippy's
/// `incompatible_msrv` lint (on by default) then flags any use of a newer standard-library API.
fn msrv_holds() -> Result<(), String> {
    let out = cargo()
        .args(["metadata", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    let numbers = advisories::numbers;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let members: Vec<&serde_json::Value> =
        packages.iter().filter(|p| p["source"].is_null()).collect();
    let msrv = members
        .iter()
        .find(|p| p["name"] == "bpkit")
        .and_then(|p| p["rust_version"].as_str())
        .ok_or("the bpkit package states no rust-version")?
        .to_string();
    let mut too_new: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let rv = p["rust_version"].as_str()?;
            (numbers(rv) > numbers(&msrv)).then(|| {
                format!(
                    "{} {} needs Rust {rv}",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?")
                )
            })
        })
        .collect();
    too_new.sort();
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map_err(|e| format!("rustc --version: {e}"))?;
    let rustc = String::from_utf8_lossy(&rustc.stdout).to_string();
    let tool = rustc.split_whitespace().nth(1).unwrap_or("0");
    if numbers(tool) < numbers(&msrv) {
        too_new.push(format!(
            "this toolchain ({tool}) is older than the MSRV {msrv}"
        ));
    }
    if too_new.is_empty() {
        eprintln!("xtask: == MSRV {msrv}: every dependency builds with it; checked on {tool}");
        Ok(())
    } else {
        Err(format!(
            "the MSRV {msrv} does not hold:\n  {}",
            too_new.join("\n  ")
        ))
    }
}

/// `cargo deny check licenses bans sources`, installing cargo-deny first when it is missing.
fn cargo_deny() -> Result<(), String> {
    let have = cargo()
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!(
            "xtask: cargo-deny is missing: installing it from crates.io (a few minutes, once)"
        );
        let mut c = cargo();
        c.args(["install", "cargo-deny", "--locked"]);
        step("cargo install cargo-deny", c)?;
    }
    let mut c = cargo();
    c.args(["deny", "--offline", "check", "licenses", "bans", "sources"]);
    step("cargo deny check licenses bans sources", c)
}

fn gen_docs() -> Result<(), String> {
    let dist = root().join("target/dist");
    let mut c = cargo();
    c.args(["build", "--release", "-p", "bpkit"]);
    step("build bpkit", c)?;
    let bin = root().join("target/release/bpkit");
    let mut c = Command::new(&bin);
    c.arg("man").arg(dist.join("man"));
    step("man pages", c)?;
    std::fs::create_dir_all(dist.join("completions")).map_err(|e| e.to_string())?;
    for (shell, file) in [
        ("bash", "bpkit.bash"),
        ("zsh", "_bpkit"),
        ("fish", "bpkit.fish"),
    ] {
        let out = Command::new(&bin)
            .args(["completions", shell])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("completions for {shell} failed"));
        }
        std::fs::write(dist.join("completions").join(file), out.stdout)
            .map_err(|e| e.to_string())?;
    }
    eprintln!("xtask: wrote {}", dist.display());
    Ok(())
}
