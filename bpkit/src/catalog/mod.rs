//! Catalogs: where Blueprints come from.
//!
//! [`discover`] finds Blueprint folders in a tree (a monorepo, a catalog directory);
//! [`DirCatalog`] serves such a tree to the resolver; `OciCatalog` (with the `oci` feature)
//! serves the Blueprints pushed to a registry.

mod dir;
#[cfg(feature = "oci")]
mod oci;

use std::path::{Path, PathBuf};

pub use dir::DirCatalog;
#[cfg(feature = "oci")]
pub use oci::{OciCatalog, default_cache_dir};

/// The file name of a Blueprint document.
pub const BLUEPRINT_FILE: &str = "blueprint.yaml";

/// Folders never searched for Blueprints.
const SKIP_DIRS: &[&str] = &["target", "node_modules", "charts", "templates", "dist"];

/// Finds `blueprint.yaml` files. Each path may be a `blueprint.yaml` (or any YAML file, taken
/// as a Blueprint), a Blueprint folder, or a tree searched recursively (hidden folders, `target`,
/// `node_modules`, `dist` and chart internals are skipped). The result is sorted and free of
/// duplicates. Paths that do not exist are returned as errors.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, std::io::Error)>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() => found.push(p.clone()),
            Ok(_) => {
                let direct = p.join(BLUEPRINT_FILE);
                if direct.is_file() {
                    found.push(direct);
                    continue;
                }
                for entry in walkdir::WalkDir::new(p)
                    .follow_links(false)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| {
                        e.depth() == 0
                            || !(e.file_type().is_dir()
                                && skip_dir(e.file_name().to_string_lossy().as_ref()))
                    })
                {
                    match entry {
                        Ok(e) if e.file_type().is_file() && e.file_name() == BLUEPRINT_FILE => {
                            found.push(e.into_path());
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let path = e.path().map_or_else(|| p.clone(), Path::to_path_buf);
                            errors.push((path, std::io::Error::other(e.to_string())));
                        }
                    }
                }
            }
            Err(e) => errors.push((p.clone(), e)),
        }
    }
    found.sort();
    found.dedup();
    (found, errors)
}

fn skip_dir(name: &str) -> bool {
    name.starts_with('.') || SKIP_DIRS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_blueprints_and_skips_chart_internals() {
        let d = tempfile::tempdir().expect("tmp");
        let a = d.path().join("a");
        std::fs::create_dir_all(a.join("chart/charts/sub")).expect("mkdir");
        std::fs::write(a.join("blueprint.yaml"), "x").expect("write");
        std::fs::write(a.join("chart/charts/sub/blueprint.yaml"), "x").expect("write");
        std::fs::create_dir_all(d.path().join(".git/x")).expect("mkdir");
        std::fs::write(d.path().join(".git/x/blueprint.yaml"), "x").expect("write");
        let (found, errs) = discover(&[d.path().to_path_buf()]);
        assert!(errs.is_empty());
        assert_eq!(found, vec![a.join("blueprint.yaml")]);
        let (_, errs) = discover(&[d.path().join("missing")]);
        assert_eq!(errs.len(), 1);
    }
}
