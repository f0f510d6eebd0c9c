//! The Blueprint document.
//!
//! [`Blueprint`] is the canonical `catalyst.openova.io/v1alpha1` shape, as the authoring guide
//! defines it and as `schema/blueprint.schema.json` describes it (a test keeps the two in step).
//! [`load`] reads a `blueprint.yaml` in any of the shapes found in the real catalog, turns it
//! into the canonical model, and reports every deviation as a warning with its position; see
//! [`load`] for the list.

mod load;
pub mod migrate;

#[cfg(feature = "serve")]
pub(crate) use load::closest;

pub use load::{
    BLUEPRINT_SCHEMA, LoadOptions, Loaded, RULE_API_VERSION, RULE_CARD_DOCS, RULE_DEPENDS_NULL,
    RULE_DEPENDS_SHORT, RULE_MANIFESTS_CHART, RULE_MISSING_MANIFESTS, RULE_MISSING_VISIBILITY,
    RULE_NAME_PREFIX, RULE_SCHEMA, RULE_UNKNOWN_FIELD, RULE_VERSION_LOCATION, load, load_str,
};

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The canonical API version.
pub const API_VERSION: &str = "catalyst.openova.io/v1alpha1";
/// The kind.
pub const KIND: &str = "Blueprint";
/// The prefix every canonical Blueprint name carries.
pub const NAME_PREFIX: &str = "bp-";
/// The annotation that marks a chart as first-party (no upstream chart to vendor).
pub const ANNOTATION_NO_UPSTREAM: &str = "catalyst.openova.io/no-upstream";

/// A Blueprint in canonical form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Blueprint {
    /// Always [`API_VERSION`] once loaded.
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// Identity.
    pub metadata: Metadata,
    /// Everything else.
    pub spec: Spec,
}

/// A Blueprint's identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// The name, a DNS-1123 label with the `bp-` prefix.
    pub name: String,
    /// The semantic version.
    pub version: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The body of a Blueprint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// The marketplace card.
    pub card: Card,
    /// Who sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Who maintains it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The JSON Schema of the Application's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<Value>,
    /// The placement modes it supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_schema: Option<PlacementSchema>,
    /// Other Blueprints it needs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends: Vec<Depend>,
    /// How it is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Manifests>,
    /// Which earlier versions can be upgraded in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrades: Option<Upgrades>,
    /// Secrets it owns and rotates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rotation: Vec<Rotation>,
    /// What it emits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<Observability>,
    /// Values advertised to dependents (`.outputs.<alias>.<key>`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, Value>,
}

/// The marketplace card.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Card {
    /// The title.
    pub title: String,
    /// A few words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagline: Option<String>,
    /// One or two sentences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// A longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A path to the icon inside the Blueprint folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// The marketplace category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Search tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Paths to screenshots inside the Blueprint folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub screenshots: Vec<String>,
    /// The SPDX license expression of the software.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// A link to the documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
}

/// Who can see and install a Blueprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// On the public card grid.
    Listed,
    /// Reachable by name, not on the grid.
    Unlisted,
    /// Only inside the owning Organization.
    Private,
}

impl Visibility {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Listed => "listed",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
        }
    }
}

/// The team that maintains a Blueprint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Owner {
    /// The team name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// A contact address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// A placement mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlacementMode {
    /// One region.
    SingleRegion,
    /// Several regions, all serving.
    ActiveActive,
    /// One region serving, another on standby.
    ActiveHotstandby,
}

/// The placement modes a Blueprint supports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementSchema {
    /// The supported modes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<PlacementMode>,
    /// The mode used when none is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<PlacementMode>,
    /// The fewest regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_regions: Option<u32>,
    /// The most regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_regions: Option<u32>,
}

/// A dependency on another Blueprint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Depend {
    /// The Blueprint depended on.
    pub blueprint: String,
    /// A Helm-dialect version constraint; none means any version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The name the parent uses for it (in `.outputs.<alias>` and in the instance name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// A template condition; the dependency applies only when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Bind to one shared cluster-wide instance rather than a per-parent one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
    /// Values for the dependency's configuration; strings are templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Value>,
}

impl Depend {
    /// The alias, or the Blueprint name without its `bp-` prefix.
    pub fn local_name(&self) -> &str {
        self.alias.as_deref().unwrap_or_else(|| {
            self.blueprint
                .strip_prefix(NAME_PREFIX)
                .unwrap_or(&self.blueprint)
        })
    }
}

/// How a Blueprint is installed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifests {
    /// Where the manifests are.
    pub source: ManifestSource,
    /// Configuration presets by size.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub overlays: IndexMap<String, Value>,
}

/// Where the manifests are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestSource {
    /// Helm chart or Kustomize base.
    pub kind: SourceKind,
    /// A folder in the Blueprint, or an `oci://` reference.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// The kinds of manifest sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    /// A Helm chart.
    HelmChart,
    /// A Kustomize base.
    Kustomize,
}

/// Upgrade compatibility.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Upgrades {
    /// Version patterns that can be upgraded in place (`1.2.x`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    /// Version patterns that cannot be upgraded (recreate instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<String>,
}

/// A secret the Blueprint owns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rotation {
    /// The kind of secret.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// How long it lives (`90d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

/// What a Blueprint emits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Observability {
    /// Metrics format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
    /// Log destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
    /// Trace protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces: Option<String>,
}

impl Blueprint {
    /// The name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The version text.
    pub fn version(&self) -> &str {
        &self.metadata.version
    }

    /// The manifest source, if any.
    pub fn source(&self) -> Option<&ManifestSource> {
        self.spec.manifests.as_ref().map(|m| &m.source)
    }

    /// Whether the `no-upstream` annotation is set to `"true"`.
    pub fn no_upstream(&self) -> bool {
        self.metadata
            .annotations
            .get(ANNOTATION_NO_UPSTREAM)
            .is_some_and(|v| v == "true")
    }
}

#[cfg(test)]
mod tests;
