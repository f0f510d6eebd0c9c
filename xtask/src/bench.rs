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

#[path = "bench_publish.rs"]
mod publish;

/// One timed command.
#[derive(Clone)]
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
            "oci" => bench_oci(root, &bin)?,
            "sign" => bench_sign(root, &bin)?,
            "publish" => publish::bench(root, &bin)?,
            "serve" => crate::bench_serve::run(root, &bin)?,
            other => {
                return Err(format!(
                    "unknown bench area `{other}` (known: validate, resolve, oci, sign, publish, serve)"
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

/// The shared folder: `../shared` beside the repository, else `$BPKIT_SHARED`.
fn shared(root: &Path) -> PathBuf {
    let here = root.join("../shared");
    match std::env::var_os("BPKIT_SHARED") {
        Some(s) if !here.is_dir() => PathBuf::from(s),
        _ => here,
    }
}

fn build_release(root: &Path) -> Result<PathBuf, String> {
    cargo_build_release(root, &[], "cargo build --release")?;
    Ok(root.join("target/release/bpkit"))
}

/// Builds the release example `name` of bpkit; its path.
fn build_example(root: &Path, name: &str) -> Result<PathBuf, String> {
    cargo_build_release(
        root,
        &["--example", name],
        &format!("building the {name} example"),
    )?;
    Ok(root.join("target/release/examples").join(name))
}

/// `cargo build --release -p bpkit EXTRA…` in `root`; `what` names it in the error.
fn cargo_build_release(root: &Path, extra: &[&str], what: &str) -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["build", "--release", "-p", "bpkit"])
        .args(extra)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("{what} failed"));
    }
    Ok(())
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
    time_setup(id, title, units, dir, "", cmd)
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
    let mut t = Timing {
        title: title.into(),
        units,
        walls: Vec::new(),
        rss_kb: Vec::new(),
    };
    let mut last = String::new();
    let shown = format!("{} {}", program.display(), args.join(" "));
    for i in 0..warmup + counted {
        let (wall, kb, stdout) = time_once(id, dir, program.as_os_str(), args, &shown, true)?;
        if i >= warmup {
            t.walls.push(wall);
            t.rss_kb.extend(kb);
            last = String::from_utf8_lossy(&stdout)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string();
        }
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
    let ex = build_example(root, "resolve_bench")?;
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

/// A registry from `../shared/interop/registry.sh` with a private state folder; stopped on drop.
struct BenchRegistry {
    script: PathBuf,
    state: PathBuf,
    host: String,
}

impl BenchRegistry {
    fn start(root: &Path) -> Result<BenchRegistry, String> {
        let script = shared(root).join("interop/registry.sh");
        let state = root.join("target/bench/oci-registry");
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).map_err(|e| e.to_string())?;
        let run = |args: &[&str]| {
            Command::new(&script)
                .args(args)
                .env("BPKIT_INTEROP_STATE", &state)
                .output()
                .map_err(|e| e.to_string())
        };
        let out = run(&["start", "--ttl", "1800"])?;
        if !out.status.success() {
            return Err(format!(
                "cannot start the registry: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let env = run(&["env"])?;
        let host = String::from_utf8_lossy(&env.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("REGISTRY_HOST=").map(str::to_string))
            .ok_or("registry.sh env printed no REGISTRY_HOST")?;
        Ok(BenchRegistry {
            script,
            state,
            host,
        })
    }

    /// The registry's storage root (wiped for a first push).
    fn storage(&self) -> PathBuf {
        self.state.join("registry/data")
    }

    /// How many blob upload sessions the registry has seen.
    fn uploads(&self) -> usize {
        std::fs::read_to_string(self.state.join("registry/registry.log"))
            .map(|l| {
                l.lines()
                    .filter(|l| l.contains("\"POST /v2/") && l.contains("/blobs/uploads/"))
                    .count()
            })
            .unwrap_or(0)
    }
}

impl Drop for BenchRegistry {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .arg("stop")
            .env("BPKIT_INTEROP_STATE", &self.state)
            .output();
    }
}

/// Times `bash -c cmd` in `dir` like peers.sh does, with `setup` (untimed, unless empty)
/// before each run.
fn time_setup(
    id: &str,
    title: &str,
    units: f64,
    dir: &Path,
    setup: &str,
    cmd: &str,
) -> Result<Timing, String> {
    let (warmup, counted) = runs();
    let mut t = Timing {
        title: title.into(),
        units,
        walls: Vec::new(),
        rss_kb: Vec::new(),
    };
    for i in 0..warmup + counted {
        if !setup.is_empty() {
            let st = Command::new("bash")
                .arg("-c")
                .arg(setup)
                .current_dir(dir)
                .status()
                .map_err(|e| e.to_string())?;
            if !st.success() {
                return Err(format!("{id}: setup `{setup}` failed"));
            }
        }
        let args = ["-c".to_string(), cmd.to_string()];
        let (wall, kb, _) = time_once(id, dir, "bash".as_ref(), &args, cmd, false)?;
        if i >= warmup {
            t.walls.push(wall);
            t.rss_kb.extend(kb);
        }
    }
    Ok(t)
}

/// One timed run of `program args…` in `dir` (wall clock around the process, peak RSS in KiB
/// from GNU time when it is there); its standard output when `capture` (else discarded).
/// A failure names `shown` and the last line of standard error.
fn time_once(
    id: &str,
    dir: &Path,
    program: &std::ffi::OsStr,
    args: &[String],
    shown: &str,
    capture: bool,
) -> Result<(f64, Option<u64>, Vec<u8>), String> {
    let tf = std::env::temp_dir().join(format!("xtask-bench-{}.time", std::process::id()));
    let mut c = if Path::new("/usr/bin/time").is_file() {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&tf).arg(program);
        c
    } else {
        Command::new(program)
    };
    c.args(args)
        .current_dir(dir)
        .stdout(if capture {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stderr(std::process::Stdio::piped());
    let t0 = Instant::now();
    let out = c.output().map_err(|e| format!("{id}: {e}"))?;
    let wall = t0.elapsed().as_secs_f64();
    let kb = std::fs::read_to_string(&tf)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    let _ = std::fs::remove_file(&tf);
    if !out.status.success() {
        return Err(format!(
            "{id}: `{shown}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    Ok((wall, kb, out.stdout))
}

fn bench_oci(root: &Path, bin: &Path) -> Result<String, String> {
    let (work, peer) = peers(root, "package oci")?;
    let b = bin.display();
    // A Blueprint around the peers' split chart (200 x 2 KB templates + 5 x 4 MiB files).
    let bp = work.join("bp-demo");
    let _ = std::fs::remove_dir_all(&bp);
    std::fs::create_dir_all(&bp).map_err(|e| e.to_string())?;
    let st = Command::new("cp")
        .arg("-r")
        .arg(work.join("chart-split/demo"))
        .arg(bp.join("chart"))
        .status()
        .map_err(|e| e.to_string())?;
    if !st.success() {
        return Err("cannot copy the peers' chart".into());
    }
    std::fs::write(
        bp.join("blueprint.yaml"),
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-demo\n  version: 0.1.0\n  annotations:\n    catalyst.openova.io/no-upstream: \"true\"\nspec:\n  card:\n    title: Benchmark chart\n  visibility: unlisted\n  manifests:\n    source:\n      kind: HelmChart\n      ref: ./chart\n",
    )
    .map_err(|e| e.to_string())?;
    let split_bytes = dir_bytes(&bp.join("chart"));
    let a_bytes = std::fs::metadata(work.join("blob-50M.txt"))
        .map(|m| m.len() as f64)
        .unwrap_or(0.0);
    let out = work.join("out");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;

    let mut rows: Vec<(String, Timing)> = Vec::new();
    let mut notes = Vec::new();
    rows.push((
        "bpkit-package".into(),
        time_setup(
            "bpkit-package",
            "bpkit package (chart .tgz + OCI artifact), chart with 5 x 4 MiB",
            split_bytes,
            &work,
            "rm -f out/bpkit-demo.tgz",
            &format!("{b} package bp-demo --out out/bpkit-demo.tgz -q"),
        )?,
    ));
    for id in ["tgz-chart-split", "helm-package-split"] {
        if let Some(t) = peer.get(id) {
            rows.push((id.into(), t.clone()));
        }
    }

    let reg = BenchRegistry::start(root)?;
    let h = reg.host.clone();
    let wipe = format!("rm -rf {}/docker", reg.storage().display());
    for (a, units) in [("a50", a_bytes), ("b200", 0.0)] {
        let layout = format!("oci:{}:v1", work.join(format!("layout-{a}")).display());
        for (mode, flag) in [("", ""), ("-chunked", " --chunked-upload")] {
            let id = format!("bpkit-push{mode}-{a}");
            let u0 = reg.uploads();
            rows.push((
                id.clone(),
                time_setup(
                    &id,
                    &format!(
                        "bpkit copy layout → registry {a}, empty registry{}",
                        if flag.is_empty() {
                            " (one PUT a blob)"
                        } else {
                            " (4 MiB chunks)"
                        }
                    ),
                    units,
                    &work,
                    &wipe,
                    &format!("{b} copy {layout} {h}/bench/{a}:v1 -q{flag}"),
                )?,
            ));
            notes.push(format!(
                "{id}: the registry saw {} blob upload sessions",
                reg.uploads() - u0
            ));
        }
        let id = format!("bpkit-repush-{a}");
        let u0 = reg.uploads();
        rows.push((
            id.clone(),
            time_cmd(
                &id,
                &format!("bpkit copy layout → registry {a}, blobs present"),
                0.0,
                &work,
                &format!("{b} copy {layout} {h}/bench/{a}:v1 -q"),
            )?,
        ));
        notes.push(format!(
            "{id}: the registry saw {} blob upload sessions (zero-upload re-push)",
            reg.uploads() - u0
        ));
        let id = format!("bpkit-pull-{a}");
        let pulled = work.join(format!("pull/bpkit-{a}"));
        rows.push((
            id.clone(),
            time_setup(
                &id,
                &format!("bpkit copy registry → layout {a}"),
                units,
                &work,
                &format!("rm -rf {}", pulled.display()),
                &format!("{b} copy {h}/bench/{a}:v1 oci:{}:v1 -q", pulled.display()),
            )?,
        ));
        for tool in ["skopeo", "oras"] {
            for op in ["push", "repush", "pull"] {
                let pid = format!("{tool}-{op}-{a}");
                if let Some(t) = peer.get(&pid) {
                    rows.push((pid, t.clone()));
                }
            }
        }
    }
    // The Blueprint itself: push (package + upload) and the zero-upload re-push.
    let id = "bpkit-push-bp";
    rows.push((
        id.into(),
        time_setup(
            id,
            "bpkit push Blueprint (package + upload), empty registry",
            split_bytes,
            &work,
            &wipe,
            &format!("{b} push bp-demo {h}/bench/bp-demo -q"),
        )?,
    ));
    let u0 = reg.uploads();
    rows.push((
        "bpkit-repush-bp".into(),
        time_cmd(
            "bpkit-repush-bp",
            "bpkit push Blueprint again (package + HEADs), blobs present",
            0.0,
            &work,
            &format!("{b} push bp-demo {h}/bench/bp-demo -q"),
        )?,
    ));
    notes.push(format!(
        "bpkit-repush-bp: the registry saw {} blob upload sessions",
        reg.uploads() - u0
    ));
    for id in ["helm-push-chart", "helm-repush-chart", "helm-pull-chart"] {
        if let Some(t) = peer.get(id) {
            rows.push((id.into(), t.clone()));
        }
    }
    drop(reg);

    let mut s = String::from(
        "## oci: bpkit vs tar | gzip, helm, skopeo and ORAS (same data, same run, local registry over plain HTTP)\n\n",
    );
    s.push_str("| benchmark | median wall | MB/s | peak RSS |\n|---|---|---|---|\n");
    for (_, t) in &rows {
        let m = t.median();
        let rate = if t.units > 0.0 {
            format!("{:.0}", t.units / m / 1e6)
        } else {
            "–".into()
        };
        s.push_str(&format!(
            "| {} | {:.1} ms | {rate} | {:.1} MB |\n",
            t.title,
            m * 1000.0,
            t.max_rss_mb()
        ));
    }
    let get = |id: &str| rows.iter().find(|(i, _)| i == id).map(|(_, t)| t.median());
    s.push_str("\n| ratio (peer / bpkit, > 1 means bpkit is faster) | value |\n|---|---|\n");
    for (what, peer_id, ours) in [
        (
            "tar | gzip -6 / bpkit package",
            "tgz-chart-split",
            "bpkit-package",
        ),
        (
            "helm package / bpkit package",
            "helm-package-split",
            "bpkit-package",
        ),
        (
            "skopeo push a50 / bpkit push a50",
            "skopeo-push-a50",
            "bpkit-push-a50",
        ),
        (
            "skopeo pull a50 / bpkit pull a50",
            "skopeo-pull-a50",
            "bpkit-pull-a50",
        ),
        (
            "skopeo push b200 / bpkit push b200",
            "skopeo-push-b200",
            "bpkit-push-b200",
        ),
        (
            "skopeo pull b200 / bpkit pull b200",
            "skopeo-pull-b200",
            "bpkit-pull-b200",
        ),
        (
            "oras push a50 / bpkit push a50",
            "oras-push-a50",
            "bpkit-push-a50",
        ),
        (
            "oras pull a50 / bpkit pull a50",
            "oras-pull-a50",
            "bpkit-pull-a50",
        ),
        (
            "bpkit chunked / one-PUT push a50",
            "bpkit-push-chunked-a50",
            "bpkit-push-a50",
        ),
    ] {
        if let (Some(p), Some(o)) = (get(peer_id), get(ours)) {
            s.push_str(&format!("| {what} | {:.2}× |\n", p / o));
        }
    }
    s.push_str(&format!(
        "\ngoals: packaging ≥ tar | gzip -6; push/pull no slower than skopeo; zero-upload re-push < 50 ms (measured {:.1} ms for a50, {:.1} ms for b200, whole process)\n\n",
        get("bpkit-repush-a50").unwrap_or(f64::NAN) * 1000.0,
        get("bpkit-repush-b200").unwrap_or(f64::NAN) * 1000.0,
    ));
    for n in notes {
        s.push_str(&format!("- {n}\n"));
    }
    Ok(s)
}

fn dir_bytes(dir: &Path) -> f64 {
    fn walk(d: &Path, n: &mut u64) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path(), n),
                    Ok(t) if t.is_file() => *n += e.metadata().map(|m| m.len()).unwrap_or(0),
                    _ => {}
                }
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n as f64
}

/// Sign and verify 100 artifacts on the local registry (in process, and the CLI cold), and
/// SBOMs for the whole corpus.
fn bench_sign(root: &Path, bin: &Path) -> Result<String, String> {
    let ex = build_example(root, "sign_bench")?;
    let reg = BenchRegistry::start(root)?;
    let h = reg.host.clone();
    let n = 100usize;
    let (_, counted) = runs();
    let mut lines = Vec::new();
    for _ in 0..counted.clamp(1, 3) {
        let out = Command::new(&ex)
            .args([h.as_str(), &n.to_string()])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "sign_bench failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        lines.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let field = |l: &str, k: &str| -> f64 {
        l.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let median = |k: &str| -> f64 {
        let mut v: Vec<f64> = lines.iter().map(|l| field(l, k)).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    // The CLI, cold processes: key decryption (scrypt) included in `sign`.
    let tmp = std::env::temp_dir().join(format!("bpkit-bench-sign-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let b = bin.display();
    let bp = root.join("blueprints/postgres");
    let setup = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -e; export BPKIT_KEY_PASSWORD=bench; {b} key generate --output-key-prefix k -q; {b} push {} {h}/bench/cli -q",
            bp.display()
        ))
        .current_dir(&tmp)
        .output()
        .map_err(|e| e.to_string())?;
    if !setup.status.success() {
        return Err(format!(
            "preparing the CLI benchmark failed: {}",
            String::from_utf8_lossy(&setup.stderr)
        ));
    }
    let digest = Command::new(bin)
        .args(["digest", &bp.display().to_string(), "-o", "json"])
        .output()
        .map_err(|e| e.to_string())?;
    let tag = String::from_utf8_lossy(&digest.stdout)
        .split("\"tag\"")
        .nth(1)
        .and_then(|t| t.split('"').nth(1))
        .unwrap_or("latest")
        .to_string();
    let target = format!("{h}/bench/cli:{tag}");
    let cli_sign = time_cmd(
        "cli-sign",
        "`bpkit sign` one artifact, cold process (scrypt key decryption, both layouts; forced)",
        1.0,
        &tmp,
        &format!("BPKIT_KEY_PASSWORD=bench {b} sign {target} --key k.key --force -q"),
    )?;
    let cli_verify = time_cmd(
        "cli-verify",
        "`bpkit verify` one artifact, cold process",
        1.0,
        &tmp,
        &format!("{b} verify {target} --key k.pub -q"),
    )?;
    // SBOMs for the whole corpus.
    let corpus = shared(root).join("corpus/openova/platform");
    let mut sbom_rows = Vec::new();
    if corpus.is_dir() {
        let dirs = list(&corpus)?;
        let count = dirs
            .iter()
            .filter(|d| corpus.join(d).join("blueprint.yaml").is_file())
            .count();
        for fmt in ["cyclonedx", "spdx"] {
            sbom_rows.push(time_cmd(
                &format!("sbom-{fmt}"),
                &format!("`bpkit sbom --format {fmt}` for each of the {count} corpus Blueprints"),
                count as f64,
                &tmp,
                &format!(
                    "for d in {}/*/; do [ -f \"$d/blueprint.yaml\" ] || continue; {b} sbom \"$d\" --format {fmt} --out sbom.json -q || exit 1; done",
                    corpus.display()
                ),
            )?);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let mut s = String::from(
        "## sign\n\nRegistry: CNCF Distribution 2.8.2 on 127.0.0.1 (`registry.sh`, plain HTTP, no referrers API: fallback tag index).\n\n| benchmark | total | per artifact |\n|---|---|---|\n",
    );
    for (k, what) in [
        ("push_ms", "push"),
        (
            "sign_ms",
            "sign (`.sig` layer + bundle referrer + fallback index)",
        ),
        ("verify_ms", "verify (both layouts)"),
    ] {
        let t = median(k);
        s.push_str(&format!(
            "| {n} artifacts, in process, one key: {what} | {:.0} ms | {:.1} ms |\n",
            t,
            t / n as f64
        ));
    }
    for t in [&cli_sign, &cli_verify] {
        s.push_str(&format!(
            "| {} | {:.1} ms | {:.1} ms |\n",
            t.title,
            t.median() * 1000.0,
            t.median() * 1000.0 / t.units
        ));
    }
    for t in &sbom_rows {
        s.push_str(&format!(
            "| {} | {:.0} ms | {:.1} ms |\n",
            t.title,
            t.median() * 1000.0,
            t.median() * 1000.0 / t.units
        ));
    }
    if let Some(l) = lines.first() {
        s.push_str(&format!("\n`{l}`\n"));
    }
    Ok(s)
}
