//! A generated catalog for `cargo xtask bench resolve`: 10,000 Blueprints × 30 versions, with
//! deep dependency chains and conflicts that the solver only finds after it has chosen.
//!
//! The catalog is generated lazily (a Blueprint is built when the resolver asks for it), the way
//! a registry-backed catalog would fetch it, so memory stays proportional to what is visited.
//!
//! Shape (N Blueprints `bp-g<i>` at versions 1.0.0 … V.0.0; every edge binds to a shared,
//! cluster-wide instance, so the plan holds one Application per Blueprint):
//! - each group of ten, `a = bp-g<10k>`, `b = bp-g<10k+5>`, `h = bp-g<10k+9>`, holds a trap:
//!   `a` at version v needs `h` `^v` and `b` `>=V-5`; every version of `b` needs `h` `<V`;
//! - every other `bp-g<i>` is a link of one chain through the catalog: it depends on the next
//!   one `>=1`, and on `bp-g<2i+1>` `>=1` (fan-out), as far as they exist (`b` and `h` are
//!   reached only from their `a`, so each trap stays local to its group);
//!   The solver picks `a` V (newest), then `h` V (the only version `^V` allows), and only
//!   when it comes to `b` does it learn that `h` must stay below V. It has to undo `h` V and
//!   `a` V and settle on `a` V-1 and `h` V-1: real backtracking, once per group.
//!
//! The check is independent of the resolver: every edge of the plan must hold for the chosen
//! versions, every Application must be at the newest version that allows (`a` and `h` of each
//! group at V-1, everything else at V), and the catalog must have been asked for `h` at V
//! (the choice that was undone; the resolver loads a Blueprint only to try it, or to render
//! `values`, which this catalog has none of). Exits 1 when any of it fails.
//!
//! Prints one line: `resolve-bench blueprints=N versions=V apps=A groups=G backtracked=B
//! valid=true time_ms=T peak_rss_mb=M`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bpkit::model::{Blueprint, Card, Depend, Metadata, Spec};
use bpkit::resolve::{Catalog, CatalogError, Request, ResolveOptions, resolve};
use bpkit::version::{Constraint, Version};

struct Generated {
    n: usize,
    versions: u64,
    /// The group ends (`h`) loaded at version V: (index).
    tried_newest_h: Mutex<HashSet<usize>>,
}

impl Generated {
    fn index(name: &str) -> Option<usize> {
        name.strip_prefix("bp-g")?.parse().ok()
    }

    /// Whether `i` starts a complete group of ten.
    fn group_start(&self, i: usize) -> bool {
        i.is_multiple_of(10) && i + 9 < self.n
    }

    /// Whether `j` is the `b` or `h` of a group: those are reached only from their `a`.
    fn trapped(&self, j: usize) -> bool {
        matches!(j % 10, 5 | 9) && self.group_start(j - j % 10)
    }

    /// The `depends` of `bp-g<i>` at major version `v`: (alias, child index, constraint).
    fn edges(&self, i: usize, v: u64) -> Vec<(&'static str, usize, String)> {
        let top = self.versions;
        let mut out = Vec::new();
        let next = (i + 1..self.n).find(|&j| !self.trapped(j));
        if let Some(j) = next {
            out.push(("next", j, ">=1".to_string()));
        }
        let fan = 2 * i + 1;
        if i > 0 && fan < self.n && !self.trapped(fan) && Some(fan) != next {
            out.push(("fan", fan, ">=1".to_string()));
        }
        if self.group_start(i) {
            out.push(("hub", i + 9, format!("^{v}")));
            out.push((
                "probe",
                i + 5,
                format!(">={}", top.saturating_sub(5).max(1)),
            ));
        }
        if i % 10 == 5 && self.trapped(i) {
            out.push(("cap", i + 4, format!("<{top}")));
        }
        out
    }

    /// The version every Application must end at.
    fn expected(&self, i: usize) -> u64 {
        let in_trap = self.group_start(i) || (i % 10 == 9 && self.group_start(i - 9));
        if in_trap {
            self.versions - 1
        } else {
            self.versions
        }
    }
}

impl Catalog for Generated {
    fn names(&self) -> Result<Vec<String>, CatalogError> {
        Ok((0..self.n).map(|i| format!("bp-g{i}")).collect())
    }

    fn versions(&self, name: &str) -> Result<Vec<Version>, CatalogError> {
        Ok(match Self::index(name) {
            Some(i) if i < self.n => (1..=self.versions).map(|m| Version::new(m, 0, 0)).collect(),
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
        if version.major() == self.versions && i % 10 == 9 {
            self.tried_newest_h
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(i);
        }
        let depends = self
            .edges(i, version.major())
            .into_iter()
            .map(|(alias, j, want)| Depend {
                blueprint: format!("bp-g{j}"),
                version: Some(want),
                shared: true,
                alias: Some(alias.into()),
                ..Depend::default()
            })
            .collect();
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

/// Problems with the plan, checked against the catalog's rules (not the resolver's output).
fn check(cat: &Generated, chosen: &[Option<u64>]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, v) in chosen.iter().enumerate() {
        let Some(v) = *v else {
            problems.push(format!("`bp-g{i}` is not in the plan"));
            continue;
        };
        if v != cat.expected(i) {
            problems.push(format!("`bp-g{i}` at {v}, expected {}", cat.expected(i)));
        }
        for (alias, j, want) in cat.edges(i, v) {
            let Ok(c) = Constraint::parse(&want) else {
                problems.push(format!("`{want}` does not parse"));
                continue;
            };
            match chosen.get(j).copied().flatten() {
                Some(w) if c.matches(&Version::new(w, 0, 0)) => {}
                other => problems.push(format!(
                    "`bp-g{i}` {v} needs `bp-g{j}` `{want}` ({alias}), the plan has {other:?}"
                )),
            }
        }
    }
    problems
}

fn main() {
    let arg = |i: usize, d: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let cat = Generated {
        n: arg(1, 10_000).max(10),
        versions: arg(2, 30).max(2) as u64,
        tried_newest_h: Mutex::default(),
    };
    let t = Instant::now();
    let result = resolve(
        &cat,
        &Request::new("bp-g0", "root"),
        &ResolveOptions::default(),
    );
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let plan = match result {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("resolve-bench: {e}");
            std::process::exit(1);
        }
    };
    let mut chosen: Vec<Option<u64>> = vec![None; cat.n];
    for a in &plan.applications {
        let (Some(i), Ok(v)) = (Generated::index(&a.blueprint), Version::parse(&a.version)) else {
            eprintln!("resolve-bench: unexpected Application `{}`", a.name);
            std::process::exit(1);
        };
        if let Some(slot) = chosen.get_mut(i) {
            *slot = Some(v.major());
        }
    }
    let problems = check(&cat, &chosen);
    let groups: Vec<usize> = (0..cat.n).filter(|&i| cat.group_start(i)).collect();
    let tried = cat
        .tried_newest_h
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    // A group backtracked when `h` was tried at V and the plan has it at V-1.
    let backtracked = groups
        .iter()
        .filter(|&&g| tried.contains(&(g + 9)) && chosen[g + 9] == Some(cat.versions - 1))
        .count();
    let ok = problems.is_empty() && plan.applications.len() == cat.n && backtracked == groups.len();
    println!(
        "resolve-bench blueprints={} versions={} apps={} groups={} backtracked={backtracked} valid={} time_ms={ms:.1} peak_rss_mb={:.1}",
        cat.n,
        cat.versions,
        plan.applications.len(),
        groups.len(),
        problems.is_empty(),
        peak_rss_mb()
    );
    for p in problems.iter().take(10) {
        eprintln!("resolve-bench: {p}");
    }
    if !ok {
        if backtracked != groups.len() {
            eprintln!(
                "resolve-bench: only {backtracked} of {} groups were backtracked",
                groups.len()
            );
        }
        std::process::exit(1);
    }
}
