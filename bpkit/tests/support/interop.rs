//! What the registry tests share: the shared folder, a real registry started by
//! `../shared/interop/registry.sh`, and running the bpkit binary.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub fn shared() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if here.join("interop/registry.sh").is_file() {
        return Some(here);
    }
    let env = PathBuf::from(std::env::var_os("BPKIT_SHARED")?);
    env.join("interop/registry.sh").is_file().then_some(env)
}

pub fn blueprint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../blueprints/postgres")
}

/// A registry started by `registry.sh` under a private state folder; stopped on drop.
pub struct Reg {
    pub interop: PathBuf,
    pub state: tempfile::TempDir,
    pub env: HashMap<String, String>,
    /// More environment for every script run (e.g. `COSIGN_PASSWORD`).
    pub script_env: Vec<(String, String)>,
}

impl Reg {
    pub fn start(interop: &Path, args: &[&str]) -> Option<Reg> {
        let state = tempfile::tempdir().unwrap();
        let mut reg = Reg {
            interop: interop.to_path_buf(),
            state,
            env: HashMap::new(),
            script_env: Vec::new(),
        };
        let mut a = vec!["start", "--ttl", "900"];
        a.extend_from_slice(args);
        let out = reg.script("registry.sh", &a);
        if !out.status.success() {
            eprintln!(
                "SKIPPED: cannot start the interop registry: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        let env = reg.script("registry.sh", &["env"]);
        reg.env = String::from_utf8_lossy(&env.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches(['\'', '"']).to_string()))
            .collect();
        Some(reg)
    }

    pub fn host(&self) -> &str {
        &self.env["REGISTRY_HOST"]
    }

    /// Runs an interop script, bounded by `timeout` (first runs install prerequisites).
    pub fn script(&self, name: &str, args: &[&str]) -> Output {
        self.script_in(name, args, None)
    }

    /// Runs an interop script in `cwd` (default: this process's folder).
    pub fn script_in(&self, name: &str, args: &[&str], cwd: Option<&Path>) -> Output {
        let mut c = Command::new("timeout");
        c.arg("1200")
            .arg(self.interop.join(name))
            .args(args)
            .env("BPKIT_INTEROP_STATE", self.state.path())
            .envs(self.script_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        if let Some(d) = cwd {
            c.current_dir(d);
        }
        c.output().unwrap()
    }

    /// Runs an interop script that must succeed; its standard output.
    pub fn script_ok(&self, name: &str, args: &[&str]) -> String {
        self.script_ok_in(name, args, None)
    }

    /// [`Reg::script_ok`] in `cwd`.
    pub fn script_ok_in(&self, name: &str, args: &[&str], cwd: Option<&Path>) -> String {
        let out = self.script_in(name, args, cwd);
        assert!(
            out.status.success(),
            "{name} {args:?} failed ({:?})\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Reg {
    fn drop(&mut self) {
        let _ = self.script("registry.sh", &["stop"]);
    }
}

/// Runs bpkit with a private Docker config folder and optional stdin.
pub fn bpkit(docker: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut c = Command::new("timeout");
    c.arg("300")
        .arg(env!("CARGO_BIN_EXE_bpkit"))
        .args(args)
        .env("DOCKER_CONFIG", docker)
        .env("XDG_CACHE_HOME", docker.join("cache"))
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(s) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn ok(r: (i32, String, String), what: &str) -> String {
    assert_eq!(
        r.0, 0,
        "{what}: exit {}\nstdout: {}\nstderr: {}",
        r.0, r.1, r.2
    );
    r.1
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// For the fault, vendoring and catalog tests: a work folder, a Docker config folder in it,
/// and a plain-HTTP registry; `None` (after saying SKIPPED) without the shared folder.
pub fn plain_registry() -> Option<(tempfile::TempDir, PathBuf, Reg)> {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: ../shared is absent (set BPKIT_SHARED)");
        return None;
    };
    let work = tempfile::tempdir().unwrap();
    let docker = work.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let reg = Reg::start(&shared.join("interop"), &[])?;
    Some((work, docker, reg))
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Bytes that do not compress (xorshift), so the chart layer is as large as the files.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Every file under `dir` with its bytes, by relative path (empty when `dir` is absent), to
/// compare trees byte for byte or to prove a folder unchanged.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    if !dir.exists() {
        return Default::default();
    }
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}
