//! `cargo xtask bench`: bpkit side by side with the peer tools, in one run, on the same data.
//!
//! The peer timings come from `../shared/bench/peers.sh` (run here, in this same invocation,
//! with `BENCH_KEEP_DATA=1` so bpkit reads the very files the peers read). bpkit is timed with
//! the same method: whole process, `BENCH_WARMUP` warm-up then `BENCH_RUNS` counted runs,
//! wall-clock median, peak RSS from GNU time. Results are printed as a markdown table and
//! written to `target/bench/<area>.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One timed command.
struct Timing {
    title: String,
    units: f64,
    walls: Vec<f64>,
    rss_kb: Vec<u64>,
}

impl Timing {
    fn median(&self) -> f64 {
        let mut w = self.walls.clone();
        w.sort_by(f64::total_cmp);
        w.get(w.len() / 2).copied().unwrap_or(f64::NAN)
    }
    fn min(&self) -> f64 {
        self.walls.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn max(&self) -> f64 {
        self.walls.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }
    fn max_rss_mb(&self) -> f64 {
        self.rss_kb.iter().copied().max().unwrap_or(0) as f64 / 1024.0
    }
}

/// The shared folder (peers.sh, the corpus): `$BPKIT_SHARED`, else `../shared` beside the
/// workspace.
fn shared(root: &Path) -> PathBuf {
    std::env::var_os("BPKIT_SHARED")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| root.join("../shared"))
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let areas: Vec<&str> = if args.is_empty() {
        vec!["validate"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let bin = build_release(root)?;
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    for area in areas {
        let table = match area {
            "validate" => bench_validate(root, &bin)?,
            "resolve" => bench_resolve(root, &bin)?,
            other => {
                return Err(format!(
                    "unknown bench area `{other}` (known: validate, resolve)"
                ));
            }
        };
        println!("{table}");
        let file = out_dir.join(format!("{area}.md"));
        std::fs::write(&file, &table).map_err(|e| e.to_string())?;
        eprintln!("xtask: wrote {}", file.display());
    }
    Ok(())
}

fn build_release(root: &Path) -> Result<PathBuf, String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["build", "--release", "-p", "bpkit"])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    Ok(root.join("target/release/bpkit"))
}

fn runs() -> (usize, usize) {
    let get = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    (get("BENCH_WARMUP", 1), get("BENCH_RUNS", 5))
}

/// Times `bash -c cmd` in `dir` like peers.sh does.
fn time_cmd(id: &str, title: &str, units: f64, dir: &Path, cmd: &str) -> Result<Timing, String> {
    let args = ["-c".to_string(), cmd.to_string()];
    time_program(id, title, units, dir, Path::new("bash"), &args).map(|(t, _)| t)
}

/// Times `program args…` in `dir` (whole process: wall clock around it, peak RSS from GNU
/// time when it is there); also returns the last line the program printed on its last run.
fn time_program(
    id: &str,
    title: &str,
    units: f64,
    dir: &Path,
    program: &Path,
    args: &[String],
) -> Result<(Timing, String), String> {
    let (warmup, counted) = runs();
    let gnu_time = Path::new("/usr/bin/time").is_file();
    let mut t = Timing {
        title: title.into(),
        units,
        walls: Vec::new(),
        rss_kb: Vec::new(),
    };
    let mut last = String::new();
    let shown = format!("{} {}", program.display(), args.join(" "));
    for i in 0..warmup + counted {
        let tf = std::env::temp_dir().join(format!("xtask-bench-{}.time", std::process::id()));
        let mut c = if gnu_time {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-f").arg("%M").arg("-o").arg(&tf).arg(program);
            c
        } else {
            Command::new(program)
        };
        c.args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let t0 = Instant::now();
        let out = c.output().map_err(|e| format!("{id}: {e}"))?;
        let wall = t0.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "{id}: `{shown}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ));
        }
        if i >= warmup {
            t.walls.push(wall);
            if let Ok(s) = std::fs::read_to_string(&tf)
                && let Some(kb) = s.lines().last().and_then(|l| l.trim().parse().ok())
            {
                t.rss_kb.push(kb);
            }
            last = String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string();
        }
        let _ = std::fs::remove_file(&tf);
    }
    Ok((t, last))
}

/// Runs peers.sh for one section, keeping its data; returns the data folder and its timings.
fn peers(root: &Path, section: &str) -> Result<(PathBuf, BTreeMap<String, Timing>), String> {
    let script = shared(root).join("bench/peers.sh");
    if !script.is_file() {
        return Err(format!(
            "`{}` is absent: the side-by-side benchmark needs it (set BPKIT_SHARED)",
            script.display()
        ));
    }
    let dir = root.join("target/bench/peers");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (warmup, counted) = runs();
    eprintln!("xtask: running peers.sh (section {section}) — installs the peer tools on first use");
    let status = Command::new("bash")
        .arg(&script)
        .env("BENCH_DIR", &dir)
        .env("BENCH_ONLY", section)
        .env("BENCH_KEEP_DATA", "1")
        .env("BENCH_RUNS", counted.to_string())
        .env("BENCH_WARMUP", warmup.to_string())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("peers.sh failed ({status})"));
    }
    let meta =
        std::fs::read_to_string(dir.join("meta.tsv")).map_err(|e| format!("meta.tsv: {e}"))?;
    let runs_tsv =
        std::fs::read_to_string(dir.join("runs.tsv")).map_err(|e| format!("runs.tsv: {e}"))?;
    let mut map: BTreeMap<String, Timing> = BTreeMap::new();
    for l in meta.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() >= 5 {
            map.insert(
                f[0].to_string(),
                Timing {
                    title: f[4].into(),
                    units: f[2].parse().unwrap_or(0.0),
                    walls: vec![],
                    rss_kb: vec![],
                },
            );
        }
    }
    for l in runs_tsv.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() >= 6
            && let Some(t) = map.get_mut(f[0])
        {
            if let Ok(w) = f[2].parse() {
                t.walls.push(w);
            }
            if let Ok(m) = f[5].parse() {
                t.rss_kb.push(m);
            }
        }
    }
    Ok((dir.join("work"), map))
}

fn bench_validate(root: &Path, bin: &Path) -> Result<String, String> {
    let (work, peer) = peers(root, "validate")?;
    let b = bin.display();
    // Sanity, untimed: bpkit accepts the 1000 configs and rejects each invalid one.
    let ok = Command::new(bin)
        .current_dir(&work)
        .args(["validate-config", "--schema", "schema.json", "--each"])
        .args(list(&work.join("configs"))?)
        .output()
        .map_err(|e| e.to_string())?;
    if !ok.status.success() {
        return Err(format!(
            "bpkit rejects the generated configs: {}",
            String::from_utf8_lossy(&ok.stderr)
        ));
    }
    let mut notes = Vec::new();
    for f in list(&work.join("invalid"))? {
        let st = Command::new(bin)
            .current_dir(&work)
            .args(["validate-config", "--schema", "schema.json", "--each"])
            .arg(&f)
            .output()
            .map_err(|e| e.to_string())?;
        notes.push(format!(
            "bpkit {} invalid {}",
            if st.status.code() == Some(1) {
                "rejects"
            } else {
                "ACCEPTED"
            },
            Path::new(&f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
    }
    let ours = vec![
        time_cmd(
            "bpkit-1000",
            "bpkit validate-config, 1000 files, one invocation",
            1000.0,
            &work,
            &format!("{b} validate-config --schema schema.json --each configs/*"),
        )?,
        time_cmd(
            "bpkit-1",
            "bpkit validate-config, 1 file",
            1.0,
            &work,
            &format!("{b} validate-config --schema schema.json --each configs/cfg-0000.yaml"),
        )?,
        time_cmd(
            "bpkit-20x1",
            "bpkit validate-config, 20 files, one invocation each",
            20.0,
            &work,
            &format!(
                "for f in $(cat first20.txt); do {b} validate-config --schema schema.json --each $f || exit 1; done"
            ),
        )?,
    ];
    let corpus = shared(root).join("corpus/openova/platform");
    let corpus_t = time_cmd(
        "bpkit-corpus",
        "bpkit validate, the 32-Blueprint corpus",
        32.0,
        root,
        &format!("{b} validate -q {}", corpus.display()),
    )?;
    let mut s = String::from(
        "## validate: bpkit vs ajv-cli and check-jsonschema (same data, same run)\n\n",
    );
    s.push_str("| benchmark | median wall | files/s | peak RSS |\n|---|---|---|---|\n");
    let mut row = |t: &Timing| {
        let m = t.median();
        s.push_str(&format!(
            "| {} | {:.1} ms | {:.0} | {:.1} MB |\n",
            t.title,
            m * 1000.0,
            t.units / m,
            t.max_rss_mb()
        ));
    };
    for t in &ours {
        row(t);
    }
    for id in [
        "ajv-1000", "ajv-1", "ajv-20x1", "cj-1000", "cj-1", "cj-20x1",
    ] {
        if let Some(t) = peer.get(id) {
            row(t);
        }
    }
    row(&corpus_t);
    s.push_str("\n| ratio (peer median / bpkit median, per file) | 1000 files | 1 file | 20 × 1 file |\n|---|---|---|---|\n");
    for (name, pre) in [("ajv-cli", "ajv"), ("check-jsonschema", "cj")] {
        let r = |suffix: &str, ours: &Timing| -> String {
            peer.get(&format!("{pre}-{suffix}"))
                .map_or("n/a".into(), |p| {
                    format!("{:.1}×", p.median() / ours.median())
                })
        };
        s.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            r("1000", &ours[0]),
            r("1", &ours[1]),
            r("20x1", &ours[2])
        ));
    }
    s.push_str(&format!(
        "\ngoals: ≥5× ajv-cli and ≥100× check-jsonschema per file; corpus validation < 50 ms (measured {:.1} ms)\n",
        corpus_t.median() * 1000.0
    ));
    for n in notes {
        s.push_str(&format!("- {n}\n"));
    }
    Ok(s)
}

fn list(dir: &Path) -> Result<Vec<String>, String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect();
    v.sort();
    Ok(v)
}

fn bench_resolve(root: &Path, bin: &Path) -> Result<String, String> {
    let tmp = std::env::temp_dir().join(format!("bpkit-bench-resolve-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let cat = root.join("blueprints");
    let corpus = shared(root).join("corpus/openova/platform");
    let owned = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    // Cold processes, run directly (no shell in between).
    let reference = owned(&[
        "plan",
        "bp-platform",
        "--catalog",
        &cat.display().to_string(),
        "--set",
        "domain=example.org",
        "--set",
        "adminEmail=ops@example.org",
        "--no-lock",
        "-q",
    ]);
    let mut rows = vec![
        time_program(
            "plan-reference",
            "`bpkit plan bp-platform`, reference catalog `blueprints/` (cold process)",
            1.0,
            &tmp,
            bin,
            &reference,
        )?
        .0,
    ];
    if corpus.is_dir() {
        let args = owned(&[
            "plan",
            "bp-harbor",
            "--partial",
            "--catalog",
            &corpus.display().to_string(),
            "--no-lock",
            "-q",
        ]);
        rows.push(
            time_program(
                "plan-corpus",
                "`bpkit plan bp-harbor --partial`, the real corpus (cold process)",
                1.0,
                &tmp,
                bin,
                &args,
            )?
            .0,
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    // The generated catalog runs as an example binary: it checks its own plan (exit 1 when the
    // plan is wrong or the solver did not backtrack) and reports the in-process resolve time.
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "bpkit",
            "--example",
            "resolve_bench",
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("building the resolve_bench example failed".into());
    }
    let ex = root.join("target/release/examples/resolve_bench");
    let (gen_t, line) = time_program(
        "resolve-generated",
        "generated catalog: 10,000 Blueprints × 30 versions, chains, 1,000 forced backtracks",
        1.0,
        root,
        &ex,
        &owned(&["10000", "30"]),
    )?;
    let field = |k: &str| -> f64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let mut s = String::from(
        "## resolve: bpkit plan and the resolver\n\n| benchmark | median wall (min–max) | peak RSS | goal | met |\n|---|---|---|---|---|\n",
    );
    let mut row = |t: &Timing, goal_ms: f64, goal_mb: Option<f64>| {
        let m = t.median() * 1000.0;
        let met = m < goal_ms && goal_mb.is_none_or(|g| t.max_rss_mb() < g);
        let goal = match goal_mb {
            Some(g) => format!("< {goal_ms:.0} ms, < {g:.0} MB"),
            None => format!("< {goal_ms:.0} ms"),
        };
        s.push_str(&format!(
            "| {} | {m:.1} ms ({:.1}–{:.1}) | {:.1} MB | {goal} | {} |\n",
            t.title,
            t.min() * 1000.0,
            t.max() * 1000.0,
            t.max_rss_mb(),
            if met { "yes" } else { "NO" }
        ));
    };
    for t in &rows {
        row(t, 20.0, None);
    }
    row(&gen_t, 1000.0, Some(200.0));
    s.push_str(&format!(
        "\nRuns: {} counted after {} warm-up; wall is the whole process, timed around GNU `time` (which adds about 1 ms); peak RSS from GNU `time`.\n\
         The generated run resolves in {:.1} ms inside the process (its own clock, last run); its self-check: `{line}`\n",
        gen_t.walls.len(),
        runs().0,
        field("time_ms"),
    ));
    Ok(s)
}
