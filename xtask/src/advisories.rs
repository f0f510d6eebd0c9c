//! Known advisories, checked against `Cargo.lock` offline.
//!
//! The RustSec database cannot be fetched from the build machines, so `cargo deny check
//! advisories` cannot run there. This table holds the advisories known to matter for bpkit's
//! dependency tree (docs/security.md explains each); `cargo xtask test` fails when `Cargo.lock`
//! holds an affected version.

/// One advisory: a crate, the versions it affects, and why it matters.
pub struct Advisory {
    /// The crate.
    pub krate: &'static str,
    /// The first affected version (inclusive), `None` for every version from the start.
    pub from: Option<&'static str>,
    /// The first fixed version, `None` when no release is fixed.
    pub fixed: Option<&'static str>,
    /// The RustSec identifiers.
    pub ids: &'static str,
    /// What it is about, in a few words.
    pub what: &'static str,
}

/// The advisories checked.
pub const KNOWN: &[Advisory] = &[
    Advisory {
        krate: "rsa",
        from: None,
        fixed: None,
        ids: "RUSTSEC-2023-0071",
        what: "Marvin timing side channel; pulled in by sigstore's `cosign` feature",
    },
    Advisory {
        krate: "tar",
        from: None,
        fixed: Some("0.4.45"),
        ids: "RUSTSEC-2026-0067, RUSTSEC-2026-0068",
        what: "symlink chmod outside the target; PAX size header confusion",
    },
    Advisory {
        krate: "serde_yml",
        from: None,
        fixed: None,
        ids: "RUSTSEC-2025-0068",
        what: "unsound and unmaintained YAML crate",
    },
    Advisory {
        krate: "cmov",
        from: None,
        fixed: Some("0.4.4"),
        ids: "RUSTSEC-2026-0003",
        what: "non-constant-time code generation",
    },
    Advisory {
        krate: "ring",
        from: None,
        fixed: Some("0.17.12"),
        ids: "RUSTSEC-2025-0009",
        what: "AES functions may panic with overflow checks on",
    },
    Advisory {
        krate: "idna",
        from: None,
        fixed: Some("1.0.0"),
        ids: "RUSTSEC-2024-0421",
        what: "punycode labels that compare equal to other names",
    },
    Advisory {
        krate: "rustls",
        from: Some("0.23.13"),
        fixed: Some("0.23.18"),
        ids: "RUSTSEC-2024-0399",
        what: "network-reachable panic in the server acceptor",
    },
    Advisory {
        krate: "crossbeam-channel",
        from: Some("0.5.12"),
        fixed: Some("0.5.15"),
        ids: "RUSTSEC-2025-0024",
        what: "double free when a channel is dropped",
    },
    Advisory {
        krate: "anyhow",
        from: None,
        fixed: Some("1.0.103"),
        ids: "RUSTSEC-2026-0190",
        what: "unsound `Error::downcast_mut`",
    },
];

/// The project's own floor for `tar`, stricter than the advisory (the developer guide's rule).
pub const TAR_FLOOR: &str = "0.4.46";

/// `(name, version)` of every package in a `Cargo.lock`.
pub fn locked_packages(lock: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name: Option<String> = None;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
        {
            out.push((n, v.trim_matches('"').to_string()));
        }
    }
    out
}

/// The numeric `major.minor.patch` of a version (pre-release and build ignored).
pub fn numbers(v: &str) -> (u64, u64, u64) {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let mut it = core.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// Whether `version` is affected by `a`.
pub fn affects(a: &Advisory, version: &str) -> bool {
    let v = numbers(version);
    a.from.is_none_or(|f| v >= numbers(f)) && a.fixed.is_none_or(|f| v < numbers(f))
}

/// Every problem in a `Cargo.lock` text: affected versions, and `tar` below the floor.
pub fn problems(lock: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (name, version) in locked_packages(lock) {
        for a in KNOWN.iter().filter(|a| a.krate == name) {
            if affects(a, &version) {
                let fix = a
                    .fixed
                    .map_or("remove it: no release is fixed".to_string(), |f| {
                        format!("update to {f} or later")
                    });
                out.push(format!(
                    "{name} {version} is affected by {} ({}); {fix}",
                    a.ids, a.what
                ));
            }
        }
        if name == "tar" && numbers(&version) < numbers(TAR_FLOOR) {
            out.push(format!(
                "tar {version} is below the project's floor {TAR_FLOOR}"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let tar = &KNOWN[1];
        assert!(affects(tar, "0.4.44"));
        assert!(!affects(tar, "0.4.45"));
        let rustls = KNOWN.iter().find(|a| a.krate == "rustls").unwrap();
        assert!(!affects(rustls, "0.23.12"));
        assert!(affects(rustls, "0.23.17"));
        assert!(!affects(rustls, "0.23.46"));
        assert!(affects(&KNOWN[0], "0.9.8"));
    }

    #[test]
    fn a_planted_lock_is_caught() {
        let lock = "[[package]]\nname = \"tar\"\nversion = \"0.4.44\"\n\n[[package]]\nname = \"rsa\"\nversion = \"0.9.6\"\n\n[[package]]\nname = \"ring\"\nversion = \"0.17.14\"\n";
        let p = problems(lock);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("RUSTSEC-2026-0067"));
        assert!(p[1].contains("below the project's floor"));
        assert!(p[2].contains("RUSTSEC-2023-0071"));
    }

    #[test]
    fn the_workspace_lock_is_clear() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        let lock = std::fs::read_to_string(root).unwrap();
        assert!(locked_packages(&lock).len() > 100);
        assert_eq!(problems(&lock), Vec::<String>::new());
    }
}
