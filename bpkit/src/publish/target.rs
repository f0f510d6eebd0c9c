//! Where a catalog is published: a folder of OCI image layouts (one per Blueprint repository)
//! or a registry prefix, behind the small [`Repos`] interface the pipeline needs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::PublishError;
use crate::oci::{Digest, Image, Layout, ReadLimits, WriteOptions};

/// A publish target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `oci:DIR`: one OCI image layout per Blueprint, `DIR/<name>/`.
    Layouts(PathBuf),
    /// `[oci://]HOST[/PREFIX]`: repositories `HOST/PREFIX/<name>`.
    Registry {
        /// The registry host, with its port.
        host: String,
        /// The repository prefix (may be empty).
        prefix: String,
    },
}

/// The default target: `oci:./dist/oci`.
pub const DEFAULT_TARGET: &str = "oci:./dist/oci";

impl Target {
    /// Parses `oci:DIR` (layouts) or `[oci://]HOST[/PREFIX]` (a registry).
    pub fn parse(text: &str) -> Result<Target, PublishError> {
        let bad = |reason: &str| PublishError::BadTarget {
            text: text.chars().take(300).collect(),
            reason: reason.to_string(),
        };
        if let Some(dir) = text
            .strip_prefix("oci:")
            .filter(|_| !text.starts_with("oci://"))
        {
            if dir.is_empty() {
                return Err(bad("the folder is missing"));
            }
            return Ok(Target::Layouts(PathBuf::from(dir)));
        }
        let rest = text
            .strip_prefix("oci://")
            .unwrap_or(text)
            .trim_end_matches('/');
        let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || !(host.contains('.') || host.contains(':') || host == "localhost") {
            return Err(bad(
                "a registry target starts with a host (`ghcr.io/org`, `127.0.0.1:5000/bp`); a folder is written `oci:DIR`",
            ));
        }
        if host.contains('@') || prefix.contains(['@', ':']) {
            return Err(bad(
                "a target names a repository prefix, without a tag or digest: each Blueprint is published as `PREFIX/<name>:<version>`",
            ));
        }
        let ok_segment = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
                })
                && s.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        };
        if !prefix.is_empty() && !prefix.split('/').all(ok_segment) {
            return Err(bad(
                "repository path segments are lower-case letters, digits, `.`, `_` and `-`",
            ));
        }
        Ok(Target::Registry {
            host: host.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// Where a Blueprint's tag is, for messages and other tools: `oci:DIR/<name>:<tag>` or
    /// `HOST/PREFIX/<name>:<tag>`.
    pub fn reference(&self, name: &str, tag: &str) -> String {
        match self {
            Target::Layouts(d) => format!("oci:{}:{tag}", d.join(name).display()),
            Target::Registry { .. } => format!("{}:{tag}", self.repository(name)),
        }
    }

    /// The repository of a Blueprint: the layout folder, or `HOST/PREFIX/<name>`.
    pub fn repository(&self, name: &str) -> String {
        match self {
            Target::Layouts(d) => d.join(name).display().to_string(),
            Target::Registry { host, prefix } if prefix.is_empty() => format!("{host}/{name}"),
            Target::Registry { host, prefix } => format!("{host}/{prefix}/{name}"),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Layouts(d) => write!(f, "oci:{}", d.display()),
            Target::Registry { host, prefix } if prefix.is_empty() => write!(f, "{host}"),
            Target::Registry { host, prefix } => write!(f, "{host}/{prefix}"),
        }
    }
}

/// The repositories of a target, as the pipeline uses them.
pub trait Repos: Send + Sync {
    /// The target.
    fn target(&self) -> &Target;
    /// The digest `name:tag` names, or `None` when the tag does not exist.
    fn resolve(&self, name: &str, tag: &str) -> Result<Option<Digest>, PublishError>;
    /// Writes `image` as `name:tag` (refusing to move a tag); returns how many blobs were
    /// written (0 when all were there).
    fn push(&self, name: &str, image: &Image, tag: &str) -> Result<usize, PublishError>;
    /// Reads `name:tag` back, every digest and size checked.
    fn pull(&self, name: &str, tag: &str) -> Result<Image, PublishError>;
    /// Holds off other bpkit processes publishing to `name` until the guard is dropped.
    fn lock(&self, name: &str) -> Result<RepoLock, PublishError>;
}

/// A lock on one repository; released on drop.
#[derive(Debug)]
pub struct RepoLock {
    path: Option<PathBuf>,
}

impl RepoLock {
    /// A lock that holds nothing (registries: concurrent pushes of the same content agree).
    pub fn none() -> RepoLock {
        RepoLock { path: None }
    }

    /// Takes the lock file `path`: created exclusively with this process id in it. A lock
    /// left by a process that no longer runs is taken over; a live one is waited for, up to
    /// `wait`.
    pub fn acquire(path: &Path, wait: Duration) -> Result<RepoLock, PublishError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| PublishError::io(parent, e))?;
        }
        let start = Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(RepoLock {
                        path: Some(path.to_path_buf()),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if lock_is_stale(path) {
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    if start.elapsed() > wait {
                        return Err(PublishError::Locked {
                            path: path.to_path_buf(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(PublishError::io(path, e)),
            }
        }
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Whether a lock file names a process that is gone (only decidable where `/proc` exists).
fn lock_is_stale(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        // Being written right now, or damaged: stale once it is old.
        return std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(10));
    };
    Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
}

/// A folder of OCI image layouts, one per Blueprint.
#[derive(Debug)]
pub struct LayoutRepos {
    target: Target,
    dir: PathBuf,
}

impl LayoutRepos {
    /// The layouts under `dir`.
    pub fn new(dir: &Path) -> LayoutRepos {
        LayoutRepos {
            target: Target::Layouts(dir.to_path_buf()),
            dir: dir.to_path_buf(),
        }
    }

    fn layout_error(&self, name: &str, e: crate::oci::OciError) -> PublishError {
        PublishError::Store {
            place: self.target.repository(name),
            message: e.to_string(),
            help: miette::Diagnostic::help(&e).map(|h| h.to_string()),
        }
    }
}

impl Repos for LayoutRepos {
    fn target(&self) -> &Target {
        &self.target
    }

    fn resolve(&self, name: &str, tag: &str) -> Result<Option<Digest>, PublishError> {
        let dir = self.dir.join(name);
        if !dir.join("oci-layout").exists() {
            return Ok(None);
        }
        let layout = Layout::open(&dir).map_err(|e| self.layout_error(name, e))?;
        let tags = layout.tags().map_err(|e| self.layout_error(name, e))?;
        Ok(tags
            .into_iter()
            .find(|(t, _)| t == tag)
            .map(|(_, d)| d.digest))
    }

    fn push(&self, name: &str, image: &Image, tag: &str) -> Result<usize, PublishError> {
        let out = Layout::create(&self.dir.join(name))
            .and_then(|l| l.write(image, tag, &WriteOptions { force: false }))
            .map_err(|e| self.layout_error(name, e))?;
        Ok(out.blobs_written)
    }

    fn pull(&self, name: &str, tag: &str) -> Result<Image, PublishError> {
        Layout::open(&self.dir.join(name))
            .and_then(|l| l.read(Some(tag), &ReadLimits::default()))
            .map_err(|e| self.layout_error(name, e))
    }

    fn lock(&self, name: &str) -> Result<RepoLock, PublishError> {
        RepoLock::acquire(
            &self.dir.join(".bpkit-locks").join(format!("{name}.lock")),
            Duration::from_secs(600),
        )
    }
}

/// Repositories on a registry.
#[cfg(feature = "oci")]
pub struct RegistryRepos {
    target: Target,
    registry: crate::oci::registry::Registry,
}

#[cfg(feature = "oci")]
impl std::fmt::Debug for RegistryRepos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryRepos")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "oci")]
impl RegistryRepos {
    /// The repositories under a registry target, reached through `registry`.
    pub fn new(target: Target, registry: crate::oci::registry::Registry) -> RegistryRepos {
        RegistryRepos { target, registry }
    }

    /// The registry connection.
    pub fn registry(&self) -> &crate::oci::registry::Registry {
        &self.registry
    }

    fn reference(
        &self,
        name: &str,
        tag: &str,
    ) -> Result<crate::oci::registry::Reference, PublishError> {
        let text = self.target.reference(name, tag);
        crate::oci::registry::Reference::parse(&text).map_err(|e| self.error(name, &e))
    }

    fn error(&self, name: &str, e: &crate::oci::registry::RegistryError) -> PublishError {
        PublishError::Store {
            place: self.target.repository(name),
            message: e.to_string(),
            help: miette::Diagnostic::help(e).map(|h| h.to_string()),
        }
    }
}

#[cfg(feature = "oci")]
impl Repos for RegistryRepos {
    fn target(&self) -> &Target {
        &self.target
    }

    fn resolve(&self, name: &str, tag: &str) -> Result<Option<Digest>, PublishError> {
        let r = self.reference(name, tag)?;
        match self.registry.resolve(&r) {
            Ok(d) => Ok(Some(d)),
            Err(crate::oci::registry::RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(name, &e)),
        }
    }

    fn push(&self, name: &str, image: &Image, tag: &str) -> Result<usize, PublishError> {
        let r = self.reference(name, tag)?;
        let out = self
            .registry
            .push(
                image,
                &r,
                &crate::oci::registry::PushOptions { force: false },
            )
            .map_err(|e| self.error(name, &e))?;
        Ok(out.blobs_uploaded + usize::from(out.manifest_pushed))
    }

    fn pull(&self, name: &str, tag: &str) -> Result<Image, PublishError> {
        let r = self.reference(name, tag)?;
        self.registry.pull(&r).map_err(|e| self.error(name, &e))
    }

    fn lock(&self, _name: &str) -> Result<RepoLock, PublishError> {
        Ok(RepoLock::none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("oci:./dist/oci").unwrap(),
            Target::Layouts(PathBuf::from("./dist/oci"))
        );
        let t = Target::parse("oci://127.0.0.1:5000/bp/").unwrap();
        assert_eq!(t.reference("bp-x", "1.0.0"), "127.0.0.1:5000/bp/bp-x:1.0.0");
        let t = Target::parse("ghcr.io").unwrap();
        assert_eq!(t.repository("bp-x"), "ghcr.io/bp-x");
        for bad in [
            "oci:",
            "dist/oci",
            "ghcr.io/Org",
            "ghcr.io/org:1.0",
            "ghcr.io/a//b",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locks_exclude_and_stale_locks_are_taken_over() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.lock");
        let a = RepoLock::acquire(&p, Duration::from_secs(5)).unwrap();
        let e = RepoLock::acquire(&p, Duration::from_millis(100)).unwrap_err();
        assert!(e.to_string().contains("x.lock"), "{e}");
        drop(a);
        assert!(!p.exists());
        if Path::new("/proc/self").exists() {
            // A process id that cannot be running (above the kernel's pid_max).
            std::fs::write(&p, "999999999").unwrap();
            let _b = RepoLock::acquire(&p, Duration::from_millis(100)).unwrap();
        }
    }
}
