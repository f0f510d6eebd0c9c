//! Explaining a failed resolution in Blueprint terms.
//!
//! PubGrub's derivation tree is walked iteratively (no input can overflow the stack); every
//! fact it rests on (an external incompatibility) becomes one line, in the order the solver
//! derived them, each said once.

use std::collections::HashSet;
use std::sync::Arc;

use pubgrub::{DerivationTree, External, Ranges};

use super::ResolveError;
use super::provider::{Kind, Pkg, Provider, Unavailable, lock};
use crate::version::Version;

type Tree = DerivationTree<Pkg, Ranges<Version>, Unavailable>;

/// The versions of a set that the catalog has, for people.
fn versions_text(p: &Provider<'_>, pkg: &Pkg, set: &Ranges<Version>) -> String {
    let Ok(all) = p.versions(pkg.blueprint()) else {
        return "some versions".into();
    };
    let inside: Vec<&Version> = all.iter().filter(|v| set.contains(v)).collect();
    if !inside.is_empty() && inside.len() == all.len() {
        return if all.len() == 1 {
            inside[0].to_string()
        } else {
            "every version".into()
        };
    }
    match inside.len() {
        0 => "no version".into(),
        1..=4 => inside
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        n => format!("{} .. {} ({n} versions)", inside[0], inside[n - 1]),
    }
}

fn describe(p: &Provider<'_>, ext: &External<Pkg, Ranges<Version>, Unavailable>) -> Option<String> {
    Some(match ext {
        External::NotRoot(..) => return None,
        External::NoVersions(pkg, set) => {
            let known = p.versions(pkg.blueprint()).map(|v| v.len()).unwrap_or(0);
            if known == 0 {
                format!("`{}` is not in the catalog", pkg.blueprint())
            } else {
                let all = p
                    .versions(pkg.blueprint())
                    .map(|v| {
                        v.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                let _ = set;
                format!(
                    "no version of `{}` fits what is asked of {pkg} (the catalog has {all})",
                    pkg.blueprint()
                )
            }
        }
        External::FromDependencyOf(parent, pset, child, cset) => {
            let text = lock(&p.constraint_text)
                .get(&(parent.clone(), child.clone()))
                .cloned();
            let wanted = match &text {
                Some(t) => format!("`{t}` ({})", versions_text(p, child, cset)),
                None => versions_text(p, child, cset),
            };
            if parent.kind() == Kind::Root {
                format!(
                    "the request needs `{}` {wanted} as Application `{}`",
                    child.blueprint(),
                    child.app()
                )
            } else {
                let how = match child.kind() {
                    Kind::Installed => {
                        format!("and binds it to existing Application `{}`", child.app())
                    }
                    Kind::Shared => format!("as shared Application `{}`", child.app()),
                    _ => format!("as Application `{}`", child.app()),
                };
                format!(
                    "`{}` {} (Application `{}`) needs `{}` {wanted} {how}",
                    parent.blueprint(),
                    versions_text(p, parent, pset),
                    parent.app(),
                    child.blueprint()
                )
            }
        }
        External::Custom(pkg, set, why) => {
            format!(
                "`{}` {} cannot be used for Application `{}`: {why}",
                pkg.blueprint(),
                versions_text(p, pkg, set),
                pkg.app()
            )
        }
    })
}

pub(crate) fn no_solution(p: &Provider<'_>, tree: &Tree) -> ResolveError {
    let mut lines: Vec<String> = Vec::new();
    let mut seen_lines: HashSet<String> = HashSet::new();
    let mut seen_shared: HashSet<usize> = HashSet::new();
    let mut missing: Vec<String> = Vec::new();
    let mut cycles: Vec<Vec<String>> = Vec::new();
    // Post-order without recursion: causes before conclusions.
    let mut stack: Vec<(&Tree, bool)> = vec![(tree, false)];
    while let Some((node, expanded)) = stack.pop() {
        match node {
            DerivationTree::External(ext) => {
                let absent = match ext {
                    External::NoVersions(pkg, _) | External::FromDependencyOf(_, _, pkg, _) => {
                        Some(pkg)
                    }
                    _ => None,
                };
                if let Some(pkg) = absent
                    && p.versions(pkg.blueprint())
                        .map(|v| v.is_empty())
                        .unwrap_or(false)
                    && !missing.contains(&pkg.blueprint().to_string())
                {
                    missing.push(pkg.blueprint().to_string());
                    lines.push(format!("`{}` is not in the catalog", pkg.blueprint()));
                }
                if let External::Custom(_, _, Unavailable::Cycle(chain)) = ext
                    && !cycles.contains(chain)
                {
                    cycles.push(chain.clone());
                }
                if let Some(line) = describe(p, ext)
                    && seen_lines.insert(line.clone())
                {
                    lines.push(line);
                }
            }
            DerivationTree::Derived(d) => {
                if expanded {
                    continue;
                }
                if let Some(id) = d.shared_id
                    && !seen_shared.insert(id)
                {
                    continue;
                }
                stack.push((node, true));
                stack.push((Arc::as_ref(&d.cause2), false));
                stack.push((Arc::as_ref(&d.cause1), false));
            }
        }
    }
    let mut report = String::from("because:\n");
    for l in &lines {
        report.push_str(&format!("  - {l}\n"));
    }
    report.push_str("so no combination of versions satisfies every constraint");
    if !missing.is_empty() {
        report.push_str(&format!(
            "\nhelp: add {} to the catalog (it is a partial catalog), or remove the dependency",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if lines.iter().any(|l| l.contains("upgrades")) {
        report.push_str("\nhelp: upgrade the existing Application first, or widen the constraint to a version it can reach");
    }
    for c in &cycles {
        report.push_str(&format!(
            "\nhelp: break the cycle {}",
            c.iter()
                .map(|b| format!("`{b}`"))
                .collect::<Vec<_>>()
                .join(" -> ")
        ));
    }
    ResolveError::NoSolution {
        app: p.request.app.name.clone(),
        blueprint: p.request.blueprint.clone(),
        report,
        missing,
        cycles,
    }
}
