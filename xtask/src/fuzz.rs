//! `cargo xtask fuzz [--time SECONDS] [TARGET…]`: coverage-guided fuzzing with libFuzzer
//! (through cargo-fuzz, installed on first use) of every target in `fuzz/`, each seeded from the
//! folders `fuzz/seeds.tsv` names, for a fixed time. Prints and writes
//! `target/bench/fuzz.md`: executions per target, corpus size, and any crash. Fails if a target
//! crashed; the crashing input is in `fuzz/artifacts/<target>/` and becomes a regression test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the task.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut seconds = 60u64;
    let mut only = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--time" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("`--time` needs a number of seconds")?;
            }
            t => only.push(t.to_string()),
        }
    }
    let fuzz_dir = root.join("fuzz");
    let all = targets(&fuzz_dir)?;
    for t in &only {
        if !all.contains(t) {
            return Err(format!(
                "no fuzz target `{t}`; there are: {}",
                all.join(", ")
            ));
        }
    }
    let chosen: Vec<String> = if only.is_empty() { all } else { only };
    ensure_cargo_fuzz()?;
    let mut build = fuzz_command(root);
    build.args(["build", "--fuzz-dir", "fuzz", "--sanitizer", "none"]);
    crate::step("cargo fuzz build", build)?;
    let mut rows = Vec::new();
    let mut crashed = Vec::new();
    for t in &chosen {
        let r = run_one(root, t, seconds)?;
        if !r.ok {
            crashed.push(t.clone());
        }
        rows.push(r);
    }
    let mut table = format!(
        "# cargo xtask fuzz: {seconds} s per target (libFuzzer, no sanitizer)\n\n\
         | target | executions | executions/s | corpus | peak RSS | result |\n\
         |---|---:|---:|---:|---:|---|\n"
    );
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} MB | {} |\n",
            r.target,
            r.execs,
            r.execs / seconds.max(1),
            r.corpus,
            r.rss_mb,
            if r.ok { "clean" } else { "CRASH" }
        ));
    }
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    std::fs::write(out.join("fuzz.md"), &table).map_err(|e| e.to_string())?;
    println!("{table}");
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "crashes in {}: see fuzz/artifacts/<target>/",
            crashed.join(", ")
        ))
    }
}

/// The `[[bin]]` names of `fuzz/Cargo.toml`.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(fuzz_dir.join("Cargo.toml"))
        .map_err(|e| format!("cannot read fuzz/Cargo.toml: {e}"))?;
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(v) = line.strip_prefix("name = ") {
            out.push(v.trim_matches('"').to_string());
        }
    }
    Ok(out)
}

/// cargo-fuzz wants nightly-only flags; the stable toolchain here accepts them with
/// `RUSTC_BOOTSTRAP=1` (fuzz builds only, in their own target folder).
fn fuzz_command(root: &Path) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root).arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    c
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("xtask: cargo-fuzz is missing: installing it from crates.io (once)");
        let mut c = Command::new("cargo");
        c.args(["install", "cargo-fuzz", "--locked"]);
        crate::step("cargo install cargo-fuzz", c)?;
    }
    Ok(())
}

/// What one target's run gave.
struct Outcome {
    target: String,
    execs: u64,
    corpus: usize,
    rss_mb: u64,
    ok: bool,
}

/// The seed folders of a target (those that exist), from `fuzz/seeds.tsv`.
fn seed_dirs(root: &Path, target: &str) -> Vec<PathBuf> {
    let table = std::fs::read_to_string(root.join("fuzz/seeds.tsv")).unwrap_or_default();
    let mut dirs: Vec<PathBuf> = table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            (cols.next() == Some(target))
                .then(|| cols.next().map(|d| root.join(d)))
                .flatten()
        })
        .filter(|d| d.is_dir())
        .collect();
    dirs.dedup();
    dirs
}

fn run_one(root: &Path, target: &str, seconds: u64) -> Result<Outcome, String> {
    let corpus = root.join("target/fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
    let mut c = fuzz_command(root);
    c.args(["run", "--fuzz-dir", "fuzz", "--sanitizer", "none", target])
        .arg(&corpus)
        .args(seed_dirs(root, target))
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args([
            "-print_final_stats=1",
            "-rss_limit_mb=2048",
            "-timeout=10",
            "-max_len=65536",
        ]);
    eprintln!("xtask: == fuzz {target} for {seconds} s");
    let out = c
        .output()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    let stat = |key: &str| -> u64 {
        err.lines()
            .filter_map(|l| l.strip_prefix(key))
            .filter_map(|v| v.trim().trim_start_matches(':').trim().parse().ok())
            .next_back()
            .unwrap_or(0)
    };
    let ok = out.status.success();
    if !ok {
        let tail: Vec<&str> = err.lines().rev().take(30).collect();
        eprintln!(
            "xtask: fuzz {target} FAILED:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let corpus_files = std::fs::read_dir(&corpus).map_or(0, Iterator::count);
    Ok(Outcome {
        target: target.to_string(),
        execs: stat("stat::number_of_executed_units"),
        corpus: corpus_files,
        rss_mb: stat("stat::peak_rss_mb"),
        ok,
    })
}
