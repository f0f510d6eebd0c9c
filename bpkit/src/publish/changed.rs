//! `--changed-since`: the files git says changed since a revision, and the Blueprint folders
//! they fall in.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::PublishError;

/// Runs git in `dir`; its standard output on success.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, PublishError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| PublishError::Git {
            command: format!("git {}", args.join(" ")),
            message: format!("cannot run git: {e}"),
        })?;
    if !out.status.success() {
        return Err(PublishError::Git {
            command: format!("git {}", args.join(" ")),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

fn nul_paths(top: &Path, bytes: &[u8]) -> Vec<PathBuf> {
    bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| top.join(String::from_utf8_lossy(s).as_ref()))
        .collect()
}

/// The files that differ between `since` and the working tree of the repository holding `dir`
/// (committed, staged or not, and new untracked files), as absolute paths.
pub fn changed_files(dir: &Path, since: &str) -> Result<Vec<PathBuf>, PublishError> {
    if since.starts_with('-') || since.is_empty() || since.contains('\0') {
        return Err(PublishError::Git {
            command: format!("git diff {since}"),
            message: format!("`{since}` is not a revision"),
        });
    }
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let commit = format!("{since}^{{commit}}");
    git(&top, &["rev-parse", "--verify", "--quiet", &commit]).map_err(|_| PublishError::Git {
        command: format!("git rev-parse --verify {commit}"),
        message: format!("`{since}` names no commit in `{}`", top.display()),
    })?;
    let mut files = nul_paths(
        &top,
        &git(&top, &["diff", "--name-only", "-z", since, "--"])?,
    );
    files.extend(nul_paths(
        &top,
        &git(&top, &["ls-files", "--others", "--exclude-standard", "-z"])?,
    ));
    files.sort();
    files.dedup();
    Ok(files)
}

/// Whether any of `files` lies in `dir` (both compared after resolving symbolic links where
/// possible).
pub fn touches(dir: &Path, files: &[PathBuf]) -> bool {
    let d = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    files.iter().any(|f| {
        let f = f
            .parent()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .and_then(|p| f.file_name().map(|n| p.join(n)))
            .unwrap_or_else(|| f.clone());
        f.starts_with(&d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_option_like_revisions() {
        let e = changed_files(Path::new("."), "--output=/tmp/x").unwrap_err();
        assert!(e.to_string().contains("is not a revision"), "{e}");
    }

    #[test]
    fn files_in_folders() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/chart")).unwrap();
        std::fs::create_dir_all(d.path().join("ab")).unwrap();
        let files = vec![d.path().join("ab/blueprint.yaml")];
        assert!(!touches(&d.path().join("a"), &files));
        assert!(touches(&d.path().join("ab"), &files));
        let deleted = vec![d.path().join("a/chart/gone.yaml")];
        assert!(touches(&d.path().join("a"), &deleted));
    }
}
