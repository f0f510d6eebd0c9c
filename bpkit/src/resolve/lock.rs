//! `bpkit.lock`: the resolved plan pinned, in a stable order.
//!
//! ```toml
//! # bpkit.lock — written by bpkit; do not edit by hand
//! version = 1
//! application = "shop"
//! blueprint = "bp-wordpress"
//!
//! [[node]]
//! name = "shop-db"
//! blueprint = "bp-postgres"
//! version = "1.6.1"
//! source = "blueprints/postgres/blueprint.yaml"
//! digest = "sha256:…"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Plan;

/// The lockfile format version written.
pub const LOCK_VERSION: u32 = 1;

/// A lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// The format version.
    pub version: u32,
    /// The requested Application.
    pub application: String,
    /// The requested Blueprint.
    pub blueprint: String,
    /// Every Application, sorted by name.
    #[serde(default, rename = "node")]
    pub nodes: Vec<LockNode>,
}

/// One pinned Application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockNode {
    /// The Application name.
    pub name: String,
    /// Its Blueprint.
    pub blueprint: String,
    /// The exact version.
    pub version: String,
    /// Where the Blueprint came from.
    pub source: String,
    /// Its content digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Why a lockfile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bpkit.lock is not valid: {0}")]
pub struct LockError(pub String);

impl Lock {
    /// The lock of a plan.
    pub fn from_plan(plan: &Plan) -> Lock {
        let mut nodes: Vec<LockNode> = plan
            .applications
            .iter()
            .map(|a| LockNode {
                name: a.name.clone(),
                blueprint: a.blueprint.clone(),
                version: a.version.clone(),
                source: a.source.clone(),
                digest: a.digest.clone(),
            })
            .collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Lock {
            version: LOCK_VERSION,
            application: plan.application.clone(),
            blueprint: plan.blueprint.clone(),
            nodes,
        }
    }

    /// Reads a lockfile.
    pub fn parse(text: &str) -> Result<Lock, LockError> {
        let lock: Lock = toml::from_str(text).map_err(|e| LockError(e.to_string()))?;
        if lock.version != LOCK_VERSION {
            return Err(LockError(format!(
                "format version {} is not supported (this bpkit writes {LOCK_VERSION})",
                lock.version
            )));
        }
        for (i, node) in lock.nodes.iter().enumerate() {
            let at = format!(
                "[[node]] #{} (`{}`)",
                i + 1,
                crate::render::error::snippet_of(&node.name, 64)
            );
            if let Err(e) = crate::version::Version::parse(&node.version) {
                return Err(LockError(format!("{at}: version: {e}")));
            }
            if let Some(Err(e)) = node.digest.as_deref().map(crate::oci::Digest::parse) {
                return Err(LockError(format!("{at}: digest: {e}")));
            }
        }
        Ok(lock)
    }

    /// Writes the lockfile text.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!("# bpkit.lock — written by bpkit; do not edit by hand\n{body}")
    }

    /// The pinned version of each Application.
    pub fn pins(&self) -> BTreeMap<String, String> {
        self.nodes
            .iter()
            .map(|n| (n.name.clone(), n.version.clone()))
            .collect()
    }

    /// What changed from `self` to `other`, one line each; empty when they agree.
    pub fn diff(&self, other: &Lock) -> Vec<String> {
        let a: BTreeMap<&str, &LockNode> =
            self.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
        let b: BTreeMap<&str, &LockNode> =
            other.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
        let mut out = Vec::new();
        for (name, n) in &a {
            match b.get(name) {
                None => out.push(format!(
                    "`{name}` ({} {}) would be removed",
                    n.blueprint, n.version
                )),
                Some(m) if m.version != n.version || m.blueprint != n.blueprint => {
                    out.push(format!(
                        "`{name}` would change from {} {} to {} {}",
                        n.blueprint, n.version, m.blueprint, m.version
                    ));
                }
                Some(m) if m.digest.is_some() && n.digest.is_some() && m.digest != n.digest => {
                    out.push(format!(
                        "`{name}` {} {} has other content than locked",
                        m.blueprint, m.version
                    ));
                }
                _ => {}
            }
        }
        for (name, m) in &b {
            if !a.contains_key(name) {
                out.push(format!(
                    "`{name}` ({} {}) would be added",
                    m.blueprint, m.version
                ));
            }
        }
        out
    }
}
