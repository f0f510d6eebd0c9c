//! A generated catalog for `cargo xtask bench resolve`: 10,000 Blueprints × 30 versions, with
//! deep dependency chains and a conflict on a shared instance that forces backtracking.
//!
//! The catalog is generated lazily (a Blueprint is built when the resolver asks for it), the way
//! a registry-backed catalog would fetch it, so memory stays proportional to what is visited.
//!
//! Shape (N Blueprints `bp-g<i>`, each at versions 1.0.0 … V.0.0; every edge binds to a shared
//! cluster-wide instance, so the plan holds one Application per Blueprint):
//! - `bp-g<i>` depends on `bp-g<i+1>` `>=1` (a chain through all N) and on `bp-g<2i+1>` `>=1`
//!   (fan-out), as far as they exist;
//! - every `bp-g<i>` with `i % 10 == 0` at version v also needs the hub `bp-g<N-1>` at `^v`,
//!   while the root `bp-g0` needs the hub at `^1`: each of those N/10 Blueprints first gets its
//!   newest version, conflicts, and the solver has to backtrack down to 1.0.0.
//!
//! Prints one line: `resolve-bench blueprints=N versions=V apps=A backtracked=true time_ms=T peak_rss_mb=M`.

use std::sync::Arc;
use std::time::Instant;

use bpkit::model::{Blueprint, Card, Depend, Metadata, Spec};
use bpkit::resolve::{Catalog, CatalogError, Request, ResolveOptions, resolve};
use bpkit::version::Version;

struct Generated {
    n: usize,
    versions: usize,
}

impl Generated {
    fn index(name: &str) -> Option<usize> {
        name.strip_prefix("bp-g")?.parse().ok()
    }
}

impl Catalog for Generated {
    fn names(&self) -> Result<Vec<String>, CatalogError> {
        Ok((0..self.n).map(|i| format!("bp-g{i}")).collect())
    }

    fn versions(&self, name: &str) -> Result<Vec<Version>, CatalogError> {
        Ok(match Self::index(name) {
            Some(i) if i < self.n => (1..=self.versions as u64)
                .map(|m| Version::new(m, 0, 0))
                .collect(),
            _ => Vec::new(),
        })
    }

    fn get(&self, name: &str, version: &Version) -> Result<Arc<Blueprint>, CatalogError> {
        let missing = || CatalogError::Missing {
            name: name.into(),
            version: version.to_string(),
        };
        let i = Self::index(name)
            .filter(|i| *i < self.n)
            .ok_or_else(missing)?;
        let hub = self.n - 1;
        let mut depends = Vec::new();
        for (k, j) in [(0, i + 1), (1, 2 * i + 1)] {
            let distinct = k == 0 || j != i + 1;
            if j < hub && distinct {
                depends.push(Depend {
                    blueprint: format!("bp-g{j}"),
                    version: Some(">=1".into()),
                    shared: true,
                    alias: Some(format!("d{k}")),
                    ..Depend::default()
                });
            }
        }
        if i != hub && i % 10 == 0 {
            let want = if i == 0 {
                "^1".to_string()
            } else {
                format!("^{}", version.major())
            };
            depends.push(Depend {
                blueprint: format!("bp-g{hub}"),
                version: Some(want),
                shared: true,
                alias: Some("hub".into()),
                ..Depend::default()
            });
        }
        Ok(Arc::new(Blueprint {
            api_version: bpkit::model::API_VERSION.into(),
            kind: bpkit::model::KIND.into(),
            metadata: Metadata {
                name: name.into(),
                version: version.to_string(),
                labels: Default::default(),
                annotations: Default::default(),
            },
            spec: Spec {
                card: Card {
                    title: name.into(),
                    ..Card::default()
                },
                visibility: None,
                owner: None,
                config_schema: None,
                placement_schema: None,
                depends,
                manifests: None,
                upgrades: None,
                rotation: Vec::new(),
                observability: None,
                outputs: Default::default(),
            },
        }))
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let arg = |i: usize, d: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let cat = Generated {
        n: arg(1, 10_000).max(2),
        versions: arg(2, 30).max(1),
    };
    let t = Instant::now();
    let result = resolve(
        &cat,
        &Request::new("bp-g0", "root"),
        &ResolveOptions::default(),
    );
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(plan) => {
            // The conflict forces every tenth Blueprint down to major version 1.
            let hub = format!("bp-g{}", cat.n - 1);
            let ok = plan.applications.len() == cat.n
                && plan
                    .applications
                    .iter()
                    .filter(|a| a.blueprint != hub)
                    .all(|a| {
                        let i = Generated::index(&a.blueprint).unwrap_or(1);
                        !i.is_multiple_of(10) || a.version == "1.0.0"
                    });
            println!(
                "resolve-bench blueprints={} versions={} apps={} backtracked={} time_ms={ms:.1} peak_rss_mb={:.1}",
                cat.n,
                cat.versions,
                plan.applications.len(),
                ok,
                peak_rss_mb()
            );
            if !ok {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("resolve-bench: {e}");
            std::process::exit(1);
        }
    }
}
