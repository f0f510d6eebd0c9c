//! Reading a folder into archive entries: sorted, filtered by `.helmignore`, within limits,
//! following symbolic links only while they stay inside the folder.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::archive::{Entry, EntryKind};
use super::ignore::Rules;
use super::{Limits, PackageError};

/// What the whole packaging run has used so far.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    pub bytes: u64,
    pub entries: usize,
}

/// A folder to archive.
pub(crate) struct Walk<'a> {
    /// The Blueprint folder (paths in messages are relative to it).
    pub base: &'a Path,
    /// The folder's path relative to `base`, `/`-separated (for messages).
    pub rel_root: &'a str,
    /// The prefix put before every entry path (`bp-x/` for a chart, empty for Flux content).
    pub prefix: &'a str,
    /// `.helmignore` rules, for charts.
    pub rules: Option<&'a Rules>,
    pub limits: &'a Limits,
}

impl Walk<'_> {
    /// The folder as shown in messages.
    fn shown(&self, rel: &str) -> String {
        match (self.rel_root.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_string(),
            (false, true) => self.rel_root.to_string(),
            (false, false) => format!("{}/{rel}", self.rel_root),
        }
    }

    /// Walks the folder; entries come out depth-first with names in byte order.
    pub fn run(&self, budget: &mut Budget) -> Result<Vec<Entry>, PackageError> {
        let root = self.base.join(self.rel_root);
        let real_root = std::fs::canonicalize(&root).map_err(|e| PackageError::Io {
            path: root.clone(),
            source: e,
        })?;
        let real_base = std::fs::canonicalize(self.base).map_err(|e| PackageError::Io {
            path: self.base.to_path_buf(),
            source: e,
        })?;
        if !real_root.starts_with(&real_base) {
            return Err(PackageError::SymlinkOutside {
                path: self.rel_root.to_string(),
                target: real_root.display().to_string(),
                root: "the Blueprint folder".into(),
            });
        }
        let mut out = Vec::new();
        let mut ancestors = vec![real_root.clone()];
        self.dir(&real_root, &real_root, "", &mut ancestors, budget, &mut out)?;
        Ok(out)
    }

    fn count(&self, budget: &mut Budget) -> Result<(), PackageError> {
        budget.entries += 1;
        if budget.entries > self.limits.max_entries {
            return Err(PackageError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    fn dir(
        &self,
        real_root: &Path,
        real_dir: &Path,
        rel: &str,
        ancestors: &mut Vec<PathBuf>,
        budget: &mut Budget,
        out: &mut Vec<Entry>,
    ) -> Result<(), PackageError> {
        let io = |path: &Path, e: std::io::Error| PackageError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(real_dir).map_err(|e| io(real_dir, e))? {
            let entry = entry.map_err(|e| io(real_dir, e))?;
            let os = entry.file_name();
            let Some(name) = os.to_str() else {
                return Err(PackageError::BadName {
                    path: self.shown(&join(rel, &os.to_string_lossy())),
                    reason: "is not valid UTF-8".into(),
                });
            };
            names.push(name.to_string());
        }
        names.sort();
        for name in names {
            let rel_child = join(rel, &name);
            let shown = self.shown(&rel_child);
            if name.contains('\\') || name.chars().any(char::is_control) {
                return Err(PackageError::BadName {
                    path: shown,
                    reason:
                        "contains `\\` or a control character, which archives cannot carry safely"
                            .into(),
                });
            }
            let path = real_dir.join(&name);
            let lmeta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
            let ignored = |is_dir| self.rules.is_some_and(|r| r.ignored(&rel_child, is_dir));
            let (real, meta) = if lmeta.file_type().is_symlink() {
                // Like Helm, resolve first and apply `.helmignore` to what the link points at;
                // an ignored link is never refused.
                let Ok(target) = std::fs::canonicalize(&path) else {
                    if ignored(false) {
                        continue;
                    }
                    let to = std::fs::read_link(&path)
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                    return Err(PackageError::BrokenSymlink {
                        path: shown,
                        target: to,
                    });
                };
                let meta = std::fs::metadata(&target).map_err(|e| io(&target, e))?;
                if ignored(meta.is_dir()) {
                    continue;
                }
                if !target.starts_with(real_root) {
                    let to = std::fs::read_link(&path)
                        .map(|t| t.display().to_string())
                        .unwrap_or_else(|_| target.display().to_string());
                    return Err(PackageError::SymlinkOutside {
                        path: shown,
                        target: to,
                        root: format!("`{}`", self.shown("")),
                    });
                }
                (target, meta)
            } else {
                (path.clone(), lmeta)
            };
            if meta.is_dir() {
                if ignored(true) {
                    continue;
                }
                if ancestors.contains(&real) {
                    return Err(PackageError::SymlinkLoop {
                        path: shown,
                        target: real.display().to_string(),
                    });
                }
                self.count(budget)?;
                out.push(Entry::dir(format!("{}{rel_child}", self.prefix)));
                ancestors.push(real.clone());
                self.dir(real_root, &real, &rel_child, ancestors, budget, out)?;
                ancestors.pop();
            } else if meta.is_file() {
                if ignored(false) {
                    continue;
                }
                let max_file = self
                    .limits
                    .max_file_bytes
                    .min(super::archive::MAX_FILE_SIZE);
                self.count(budget)?;
                if meta.len() > max_file {
                    return Err(PackageError::FileTooLarge {
                        path: shown,
                        size: meta.len(),
                        limit: max_file,
                    });
                }
                let mut data = Vec::new();
                std::fs::File::open(&real)
                    .and_then(|f| f.take(max_file + 1).read_to_end(&mut data))
                    .map_err(|e| io(&real, e))?;
                if data.len() as u64 > max_file {
                    return Err(PackageError::FileTooLarge {
                        path: shown,
                        size: data.len() as u64,
                        limit: max_file,
                    });
                }
                budget.bytes += data.len() as u64;
                if budget.bytes > self.limits.max_total_bytes {
                    return Err(PackageError::TooLarge {
                        limit: self.limits.max_total_bytes,
                    });
                }
                out.push(Entry {
                    path: format!("{}{rel_child}", self.prefix),
                    kind: EntryKind::File {
                        data,
                        executable: executable(&meta),
                    },
                });
            } else {
                if ignored(false) {
                    continue;
                }
                return Err(PackageError::Special {
                    path: shown,
                    kind: special_kind(&meta),
                });
            }
        }
        Ok(())
    }
}

fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

#[cfg(unix)]
fn executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_meta: &std::fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn special_kind(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "FIFO (named pipe)".into()
    } else if t.is_socket() {
        "socket".into()
    } else if t.is_char_device() {
        "character device".into()
    } else if t.is_block_device() {
        "block device".into()
    } else {
        "special file".into()
    }
}

#[cfg(not(unix))]
fn special_kind(_meta: &std::fs::Metadata) -> String {
    "special file".into()
}
