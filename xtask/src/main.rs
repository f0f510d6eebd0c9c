//! Developer tasks for bpkit: `cargo xtask test | bench | gen | fuzz`.
//!
//! `cargo xtask test` is what CI runs (`.ci/run`): formatting, clippy with `-D warnings`, the
//! I/O-free core build, the dependency-tree promise, and every test of the workspace.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

mod bench;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, r)) => (t.as_str(), r.to_vec()),
        None => ("help", Vec::new()),
    };
    let result = match task {
        "test" => test(&rest),
        "bench" => bench::run(&root(), &rest),
        "gen" => gen_docs(),
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
  bench [AREA…]      benchmarks, side by side with the peer tools (areas: validate, resolve)
  gen                man pages and shell completions into target/dist";

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

fn step(name: &str, mut cmd: Command) -> Result<(), String> {
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
