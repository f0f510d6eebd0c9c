//! `bpkit doctor`: is this machine ready to publish? Credentials, registry, key and git.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::registry::{RegistryArgs, connect};
use super::{Exit, Printer};
use crate::oci::registry::{Reference, docker_config_path, lookup};

/// Arguments of `bpkit doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// A registry reference or prefix to check (`HOST[/REPO]`): credentials and reachability.
    #[arg(long, value_name = "REF")]
    pub registry_ref: Option<String>,
    /// The signing key to check (default: `$BPKIT_KEY`, else `.bpkit/cosign.key`).
    #[arg(long, value_name = "K", env = "BPKIT_KEY")]
    pub key: Option<PathBuf>,
    /// The project folder (git state, `.bpkit/`).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Will not work.
    Fail,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One check's result.
#[derive(Clone, Debug)]
pub struct Check {
    /// What was checked (`git`, `key`, `credentials`, `registry`).
    pub what: &'static str,
    /// The outcome.
    pub level: Level,
    /// What was found.
    pub message: String,
}

fn check(what: &'static str, level: Level, message: impl Into<String>) -> Check {
    Check {
        what,
        level,
        message: message.into(),
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The git checks: a work tree, a clean one, a HEAD commit.
pub fn git_checks(dir: &Path) -> Vec<Check> {
    let top = match git(dir, &["rev-parse", "--show-toplevel"]) {
        Ok(t) => t,
        Err(e) => {
            return vec![check(
                "git",
                Level::Warn,
                format!(
                    "`{}` is not in a git work tree ({e}); `--changed-since` and provenance revisions need one",
                    dir.display()
                ),
            )];
        }
    };
    let mut out = Vec::new();
    match git(dir, &["rev-parse", "HEAD"]) {
        Ok(h) => out.push(check("git", Level::Ok, format!("work tree `{top}` at {h}"))),
        Err(_) => out.push(check(
            "git",
            Level::Warn,
            format!("work tree `{top}` has no commit yet; provenance will name no revision"),
        )),
    }
    match git(dir, &["status", "--porcelain"]) {
        Ok(s) if s.is_empty() => out.push(check("git", Level::Ok, "no uncommitted changes")),
        Ok(s) => out.push(check(
            "git",
            Level::Warn,
            format!(
                "{} uncommitted changes: the provenance revision will not describe what is published",
                s.lines().count()
            ),
        )),
        Err(e) => out.push(check("git", Level::Warn, format!("`git status` failed: {e}"))),
    }
    out
}

/// The key check: the key given, or the development key, present and readable.
pub fn key_check(key: Option<&Path>, dir: &Path) -> Check {
    let (path, dev) = match key {
        Some(k) => (k.to_path_buf(), false),
        None => (dir.join(".bpkit").join("cosign.key"), true),
    };
    match std::fs::read(&path) {
        Ok(bytes) => match super::publish_trust::check_key(&bytes) {
            Ok(id) => check(
                "key",
                if dev { Level::Warn } else { Level::Ok },
                format!(
                    "`{}` opens{}{}",
                    path.display(),
                    id.map(|i| format!(" (key id {i})")).unwrap_or_default(),
                    if dev {
                        "; it is the project-local development key: set `BPKIT_KEY` for releases"
                    } else {
                        ""
                    }
                ),
            ),
            Err(e) => check("key", Level::Fail, format!("`{}`: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dev => check(
            "key",
            Level::Warn,
            "no key configured (`--key`, `BPKIT_KEY`): `bpkit publish` will create a development key in `.bpkit/`",
        ),
        Err(e) => check(
            "key",
            Level::Fail,
            format!("cannot read `{}`: {e}", path.display()),
        ),
    }
}

/// Runs `bpkit doctor`.
pub fn run(a: &DoctorArgs, p: &Printer) -> Exit {
    let mut checks = git_checks(&a.dir);
    checks.push(key_check(a.key.as_deref(), &a.dir));
    let config = docker_config_path();
    if let Some(text) = &a.registry_ref {
        let rest = text.strip_prefix("oci://").unwrap_or(text);
        let probe = if rest.contains('/') {
            format!("{}:probe", rest.split(['@', ':']).next().unwrap_or(rest))
        } else {
            format!("{rest}/bpkit/doctor:probe")
        };
        let host = rest.split('/').next().unwrap_or(rest).to_string();
        let host_ok =
            Reference::parse(&probe).is_ok() || Reference::parse(&format!("{rest}:probe")).is_ok();
        if !host_ok {
            checks.push(check(
                "registry",
                Level::Fail,
                format!("`{text}` is not a registry reference"),
            ));
        } else {
            match (&a.registry.username, &config) {
                (Some(u), _) => checks.push(check("credentials", Level::Ok, format!("user `{u}` from the command line"))),
                (None, Some(cfg)) => match lookup(cfg, &host) {
                    Ok(Some(c)) => checks.push(check(
                        "credentials",
                        Level::Ok,
                        format!("`{host}`: user `{}` from `{}`", c.username, cfg.display()),
                    )),
                    Ok(None) => checks.push(check(
                        "credentials",
                        Level::Warn,
                        format!("no credentials for `{host}` in `{}`: anonymous access; `bpkit login {host} --username USER --password-stdin`", cfg.display()),
                    )),
                    Err(e) => checks.push(check("credentials", Level::Fail, e.to_string())),
                },
                (None, None) => checks.push(check(
                    "credentials",
                    Level::Warn,
                    "no Docker config (`DOCKER_CONFIG` and `HOME` are unset)",
                )),
            }
            match connect(&a.registry, p) {
                Ok(reg) => match reg.check_login(&host) {
                    Ok(()) => checks.push(check(
                        "registry",
                        Level::Ok,
                        format!("`{host}` answers and accepts the credentials"),
                    )),
                    Err(e) => checks.push(check("registry", Level::Fail, e.to_string())),
                },
                Err(_) => checks.push(check(
                    "registry",
                    Level::Fail,
                    "cannot set up the registry client",
                )),
            }
        }
    } else if let Some(cfg) = &config {
        let level = if cfg.is_file() {
            Level::Ok
        } else {
            Level::Warn
        };
        checks.push(check(
            "credentials",
            level,
            if cfg.is_file() {
                format!("Docker config `{}`", cfg.display())
            } else {
                format!(
                    "no Docker config at `{}`; registries will be used anonymously",
                    cfg.display()
                )
            },
        ));
    }
    let failed = checks.iter().any(|c| c.level == Level::Fail);
    if p.json_mode() {
        let v: Vec<_> = checks
            .iter()
            .map(|c| json!({"check": c.what, "level": c.level.word(), "message": c.message}))
            .collect();
        p.json(&json!({"checks": v, "ok": !failed}));
    } else {
        for c in &checks {
            if p.quiet && c.level != Level::Fail {
                continue;
            }
            p.data(&format!(
                "{:<5} {:<12} {}",
                c.level.word(),
                c.what,
                c.message
            ));
        }
    }
    if failed {
        Exit::Findings
    } else {
        Exit::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_dev_key_warns_and_garbage_key_fails() {
        let d = tempfile::tempdir().unwrap();
        let c = key_check(None, d.path());
        assert_eq!(c.level, Level::Warn, "{}", c.message);
        assert!(c.message.contains("development key"), "{}", c.message);
        let k = d.path().join("k.pem");
        std::fs::write(&k, "not a key").unwrap();
        let c = key_check(Some(&k), d.path());
        assert_eq!(c.level, Level::Fail, "{}", c.message);
        let c = key_check(Some(&d.path().join("absent.key")), d.path());
        assert_eq!(c.level, Level::Fail, "{}", c.message);
    }

    #[test]
    fn outside_git_warns() {
        let d = tempfile::tempdir().unwrap();
        let c = git_checks(d.path());
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].level, Level::Warn, "{}", c[0].message);
    }
}
