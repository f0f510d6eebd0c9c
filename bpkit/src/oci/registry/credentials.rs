//! Registry credentials: Docker's `config.json` (`auths`, `credHelpers`, `credsStore`) and
//! `bpkit login`.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::RegistryError;

/// A user name and a password (or token). `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The Docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// The host part of an `auths` key (`https://host/v1/` -> `host`).
fn normalise(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

fn read_config(path: &Path) -> Result<Option<Map<String, Value>>, RegistryError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(RegistryError::Credentials {
                message: format!("cannot read `{}`: {e}", path.display()),
            });
        }
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(RegistryError::Credentials {
            message: format!("`{}` is not a JSON object", path.display()),
        }),
        Err(e) => Err(RegistryError::Credentials {
            message: format!("`{}` is not valid JSON: {e}", path.display()),
        }),
    }
}

/// Looks up credentials for `host` in the Docker config at `path`: a `credHelpers` entry, then
/// an `auths` entry (`auth` as base64 `user:password`, or `username` and `password`), then
/// `credsStore`. A helper that is not installed counts as no credentials.
pub fn lookup(path: &Path, host: &str) -> Result<Option<Credentials>, RegistryError> {
    let Some(cfg) = read_config(path)? else {
        return Ok(None);
    };
    if let Some(helper) = cfg
        .get("credHelpers")
        .and_then(|h| h.get(host))
        .and_then(Value::as_str)
    {
        return run_helper(helper, host);
    }
    if let Some(auths) = cfg.get("auths").and_then(Value::as_object) {
        let entry = auths
            .get(host)
            .or_else(|| {
                auths
                    .iter()
                    .find(|(k, _)| normalise(k) == host)
                    .map(|(_, v)| v)
            })
            .and_then(Value::as_object);
        if let Some(e) = entry {
            if let Some(a) = e
                .get("auth")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            {
                let bad = || RegistryError::Credentials {
                    message: format!(
                        "the `auth` entry for `{host}` in `{}` is not base64 of `user:password`",
                        path.display()
                    ),
                };
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(a.trim())
                    .map_err(|_| bad())?;
                let text = String::from_utf8(raw).map_err(|_| bad())?;
                let (u, p) = text.split_once(':').ok_or_else(bad)?;
                return Ok(Some(Credentials {
                    username: u.to_string(),
                    password: p.to_string(),
                }));
            }
            if let (Some(u), Some(p)) = (
                e.get("username").and_then(Value::as_str),
                e.get("password").and_then(Value::as_str),
            ) {
                return Ok(Some(Credentials {
                    username: u.to_string(),
                    password: p.to_string(),
                }));
            }
        }
    }
    if let Some(store) = cfg.get("credsStore").and_then(Value::as_str) {
        return run_helper(store, host);
    }
    Ok(None)
}

/// Runs `docker-credential-<name> get` with the host on stdin.
fn run_helper(name: &str, host: &str) -> Result<Option<Credentials>, RegistryError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(RegistryError::Credentials {
            message: format!("`{name}` is not a credential helper name"),
        });
    }
    let program = format!("docker-credential-{name}");
    let child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(RegistryError::Credentials {
                message: format!("cannot run `{program}`: {e}"),
            });
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| RegistryError::Credentials {
            message: format!("cannot run `{program}`: {e}"),
        })?;
    if !out.status.success() {
        // Helpers exit non-zero with "credentials not found" for unknown hosts.
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|_| RegistryError::Credentials {
        message: format!("`{program} get` did not print a JSON object"),
    })?;
    match (
        v.get("Username").and_then(Value::as_str),
        v.get("Secret").and_then(Value::as_str),
    ) {
        (Some(u), Some(s)) => Ok(Some(Credentials {
            username: u.to_string(),
            password: s.to_string(),
        })),
        _ => Ok(None),
    }
}

/// Stores credentials for `host` in the Docker config at `path` as an `auths` entry (base64
/// `auth`), keeping every other key. The file is replaced atomically and is readable by its
/// owner only.
pub fn store(path: &Path, host: &str, creds: &Credentials) -> Result<(), RegistryError> {
    let fail = |e: std::io::Error| RegistryError::Credentials {
        message: format!("cannot write `{}`: {e}", path.display()),
    };
    let mut cfg = read_config(path)?.unwrap_or_default();
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", creds.username, creds.password));
    if let Some(m) = auths.as_object_mut() {
        m.insert(host.to_string(), serde_json::json!({ "auth": token }));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let mut text = serde_json::to_vec_pretty(&Value::Object(cfg)).unwrap_or_default();
    text.push(b'\n');
    // tempfile creates the file with mode 0600 on Unix; the rename keeps it.
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .tempfile_in(&dir)
        .map_err(fail)?;
    tmp.write_all(&text).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auths_in_both_forms_and_redacts() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("config.json");
        std::fs::write(
            &p,
            r#"{"auths":{"https://a.example/v1/":{"auth":"dTE6cDE="},"b.example":{"username":"u2","password":"p2"}},"x":1}"#,
        )
        .unwrap();
        let a = lookup(&p, "a.example").unwrap().unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("u1", "p1"));
        let b = lookup(&p, "b.example").unwrap().unwrap();
        assert_eq!(b.password, "p2");
        assert!(lookup(&p, "c.example").unwrap().is_none());
        assert!(!format!("{b:?}").contains("p2"));
        let c = Credentials {
            username: "me".into(),
            password: "s3cret:x".into(),
        };
        store(&p, "c.example:5000", &c).unwrap();
        assert_eq!(lookup(&p, "c.example:5000").unwrap(), Some(c));
        let kept: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(kept["x"], 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&p, r#"{"auths":{"a.example":{"auth":"!!"}}}"#).unwrap();
        let e = lookup(&p, "a.example").unwrap_err().to_string();
        assert!(e.contains("not base64"), "{e}");
        std::fs::write(&p, r#"{"credHelpers":{"a.example":"bpkit-none-such"}}"#).unwrap();
        assert!(lookup(&p, "a.example").unwrap().is_none());
    }
}
