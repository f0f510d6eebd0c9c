//! CycloneDX 1.6 JSON (`bom-1.6.schema.json`), with bpkit's own types.
//!
//! The Blueprint is `metadata.component` (type `application`, purl `pkg:oci/<name>@<digest>`);
//! `components` lists its charts (`application`, `pkg:helm`), the manifests archive of a
//! Kustomize Blueprint (`file`), its Blueprint dependencies (`application`, `pkg:oci`; scope
//! `optional` when conditional and unresolved, `excluded` when a lock leaves them out) and
//! its images (`container`, `pkg:oci`). `dependencies` is the graph: Blueprint → chart (or
//! manifests) and Blueprint dependencies; chart → sub-charts and the images it deploys; every
//! component has an entry. bpkit-specific facts are `properties` named `bpkit:…`.
//! `serialNumber` is a UUID derived from the document itself (see [`super::content_uuid`]).

use serde::Serialize;

use super::license::{self, License};
use super::{Inventory, SbomError, SbomOptions, content_uuid, timestamp, to_json};

/// The `$schema` written.
pub const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";
/// The specification version written.
pub const SPEC_VERSION: &str = "1.6";

/// A CycloneDX BOM (the subset bpkit writes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    /// The JSON schema.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Always `CycloneDX`.
    pub bom_format: String,
    /// `1.6`.
    pub spec_version: String,
    /// `urn:uuid:…`.
    pub serial_number: String,
    /// The BOM version (1).
    pub version: u32,
    /// Metadata.
    pub metadata: Metadata,
    /// The components.
    pub components: Vec<Component>,
    /// The dependency graph.
    pub dependencies: Vec<Dependency>,
}

/// BOM metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// The document time (from the epoch).
    pub timestamp: String,
    /// The tools.
    pub tools: Tools,
    /// The subject: the Blueprint.
    pub component: Component,
}

/// Tools (the 1.5+ object form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tools {
    /// Tools as components.
    pub components: Vec<Component>,
}

/// A component.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Component {
    /// `application`, `container`, `file`, ….
    #[serde(rename = "type")]
    pub ty: String,
    /// The reference used by `dependencies`.
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// The group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The name.
    pub name: String,
    /// The version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `required`, `optional` or `excluded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Hashes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Licenses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    /// The package URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// External references.
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    /// Name/value properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// A hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hash {
    /// `SHA-256`, `SHA-512`.
    pub alg: String,
    /// Lower-case hex.
    pub content: String,
}

/// A license entry: an SPDX expression, or a named license.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LicenseChoice {
    /// `{"expression": "…"}`.
    Expression {
        /// The SPDX expression.
        expression: String,
    },
    /// `{"license": {"name": "…"}}`.
    License {
        /// The license.
        license: NamedLicense,
    },
}

/// A license known by name only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamedLicense {
    /// The name.
    pub name: String,
}

/// An external reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExternalReference {
    /// `documentation`, `distribution`, `vcs`, `website`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The URL.
    pub url: String,
}

/// A name/value property.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Property {
    /// The name (`bpkit:…`).
    pub name: String,
    /// The value.
    pub value: String,
}

/// One node of the dependency graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The component.
    #[serde(rename = "ref")]
    pub reference: String,
    /// What it depends on, sorted.
    #[serde(rename = "dependsOn")]
    pub depends_on: Vec<String>,
}

fn prop(name: &str, value: impl Into<String>) -> Property {
    Property {
        name: format!("bpkit:{name}"),
        value: value.into(),
    }
}

fn licenses(text: Option<&str>) -> Vec<LicenseChoice> {
    match text.map(license::classify) {
        Some(License::Expression(expression)) => vec![LicenseChoice::Expression { expression }],
        Some(License::Named(name)) if !name.is_empty() => vec![LicenseChoice::License {
            license: NamedLicense { name },
        }],
        _ => Vec::new(),
    }
}

/// A hash entry for a `sha256:…`/`sha512:…` digest or a bare SHA-256 hex.
fn hash_of(digest: &str) -> Option<Hash> {
    let (alg, hex) = match digest.split_once(':') {
        Some(("sha256", h)) => ("SHA-256", h),
        Some(("sha384", h)) => ("SHA-384", h),
        Some(("sha512", h)) => ("SHA-512", h),
        Some(_) => return None,
        None => ("SHA-256", digest),
    };
    Some(Hash {
        alg: alg.to_string(),
        content: hex.to_string(),
    })
}

fn web_url(u: Option<&str>) -> Option<String> {
    u.map(str::trim)
        .filter(|u| {
            (u.starts_with("https://") || u.starts_with("http://") || u.starts_with("oci://"))
                && !u.contains(char::is_whitespace)
        })
        .map(str::to_string)
}

/// Builds the BOM of an inventory (its `serialNumber` is set by [`write`]).
pub fn bom(inv: &Inventory, opts: &SbomOptions) -> Result<Bom, SbomError> {
    let b = &inv.blueprint;
    let mut bp_purl = super::Purl::new("oci", &b.name.to_ascii_lowercase())
        .with_version(Some(&b.digest))
        .with_qualifier(
            "tag",
            Some(&crate::oci::layout::tag_for_version(&b.version)),
        );
    if let Some(r) = &opts.repository {
        bp_purl = bp_purl.with_qualifier("repository_url", Some(r));
    }
    let subject = Component {
        ty: "application".to_string(),
        bom_ref: Some(b.key.clone()),
        name: b.name.clone(),
        version: Some(b.version.clone()),
        description: b.description.clone(),
        hashes: hash_of(&b.digest).into_iter().collect(),
        licenses: licenses(b.license.as_deref()),
        purl: Some(bp_purl.to_string()),
        external_references: web_url(b.documentation.as_deref())
            .map(|url| ExternalReference {
                ty: "documentation".to_string(),
                url,
            })
            .into_iter()
            .collect(),
        properties: vec![prop(
            "blueprint:kind",
            if inv.manifests.is_some() {
                "Kustomize"
            } else {
                "HelmChart"
            },
        )],
        ..Component::default()
    };
    let mut components = Vec::new();
    let mut graph: Vec<Dependency> = Vec::new();
    let mut top = Vec::new();

    for (i, c) in inv.charts.iter().enumerate() {
        let mut properties = vec![prop("chart:path", c.path.clone())];
        if let Some(a) = &c.app_version {
            properties.push(prop("chart:appVersion", a.clone()));
        }
        if !c.vendored {
            properties.push(prop("chart:vendored", "false"));
        }
        if let Some(v) = &c.version_constraint {
            properties.push(prop("chart:versionConstraint", v.clone()));
        }
        let mut refs = Vec::new();
        if let Some(h) = web_url(c.home.as_deref()) {
            refs.push(ExternalReference {
                ty: "website".to_string(),
                url: h,
            });
        }
        if let Some(r) = web_url(c.repository.as_deref()) {
            refs.push(ExternalReference {
                ty: "distribution".to_string(),
                url: r,
            });
        }
        components.push(Component {
            ty: "application".to_string(),
            bom_ref: Some(c.key.clone()),
            name: c.name.clone(),
            version: c.version.clone(),
            description: c.description.clone(),
            hashes: c.sha256.as_deref().and_then(hash_of).into_iter().collect(),
            licenses: licenses(c.license.as_deref()),
            purl: Some(c.purl().to_string()),
            external_references: refs,
            properties,
            ..Component::default()
        });
        let mut deps: Vec<String> = inv
            .charts
            .iter()
            .filter(|s| s.parent == Some(i))
            .map(|s| s.key.clone())
            .collect();
        deps.extend(
            inv.images
                .iter()
                .filter(|im| im.users.contains(&c.key))
                .map(super::Image::key),
        );
        deps.sort();
        deps.dedup();
        graph.push(Dependency {
            reference: c.key.clone(),
            depends_on: deps,
        });
        if c.parent.is_none() {
            top.push(c.key.clone());
        }
    }
    if let Some(m) = &inv.manifests {
        let mut properties = Vec::new();
        if let Some(p) = &m.path {
            properties.push(prop("kustomize:path", p.clone()));
        }
        components.push(Component {
            ty: "file".to_string(),
            bom_ref: Some(m.key.clone()),
            name: m.file_name.clone(),
            hashes: hash_of(&m.sha256).into_iter().collect(),
            properties,
            ..Component::default()
        });
        let mut deps: Vec<String> = inv
            .images
            .iter()
            .filter(|im| im.users.contains(&m.key))
            .map(super::Image::key)
            .collect();
        deps.sort();
        graph.push(Dependency {
            reference: m.key.clone(),
            depends_on: deps,
        });
        top.push(m.key.clone());
    }
    for d in &inv.dependencies {
        let scope = if d.unresolved {
            "excluded"
        } else if d.when.is_some() && d.version.is_none() {
            "optional"
        } else {
            "required"
        };
        let mut properties = vec![prop("dependency:localName", d.local_name.clone())];
        if let Some(c) = &d.constraint {
            properties.push(prop("dependency:versionConstraint", c.clone()));
        }
        if let Some(w) = &d.when {
            properties.push(prop("dependency:when", w.clone()));
        }
        if d.shared {
            properties.push(prop("dependency:shared", "true"));
        }
        if let Some(a) = &d.application {
            properties.push(prop("dependency:application", a.clone()));
        }
        if d.transitive {
            properties.push(prop("dependency:transitive", "true"));
        }
        if d.unresolved {
            properties.push(prop("dependency:resolved", "false"));
        }
        components.push(Component {
            ty: "application".to_string(),
            bom_ref: Some(d.key.clone()),
            name: d.blueprint.clone(),
            version: d.version.clone(),
            scope: Some(scope.to_string()),
            hashes: d.digest.as_deref().and_then(hash_of).into_iter().collect(),
            purl: Some(
                d.purl(opts.repository.as_deref().and_then(parent_of))
                    .to_string(),
            ),
            properties,
            ..Component::default()
        });
        graph.push(Dependency {
            reference: d.key.clone(),
            depends_on: Vec::new(),
        });
        if !d.transitive {
            top.push(d.key.clone());
        }
    }
    for im in &inv.images {
        let r = &im.reference;
        components.push(Component {
            ty: "container".to_string(),
            bom_ref: Some(im.key()),
            name: r.location(),
            version: r.version().map(str::to_string),
            hashes: r.digest.as_deref().and_then(hash_of).into_iter().collect(),
            purl: Some(r.purl().to_string()),
            properties: im
                .found_in
                .iter()
                .map(|f| prop("image:foundIn", f.clone()))
                .collect(),
            ..Component::default()
        });
        graph.push(Dependency {
            reference: im.key(),
            depends_on: Vec::new(),
        });
    }
    top.sort();
    graph.insert(
        0,
        Dependency {
            reference: b.key.clone(),
            depends_on: top,
        },
    );
    let tool = Component {
        ty: "application".to_string(),
        group: Some("io.openova".to_string()),
        name: "bpkit".to_string(),
        version: Some(opts.tool_version.clone()),
        external_references: vec![ExternalReference {
            ty: "vcs".to_string(),
            url: env!("CARGO_PKG_REPOSITORY").to_string(),
        }],
        ..Component::default()
    };
    Ok(Bom {
        schema: SCHEMA.to_string(),
        bom_format: "CycloneDX".to_string(),
        spec_version: SPEC_VERSION.to_string(),
        serial_number: String::new(),
        version: 1,
        metadata: Metadata {
            timestamp: timestamp(opts.epoch)?,
            tools: Tools {
                components: vec![tool],
            },
            component: subject,
        },
        components,
        dependencies: graph,
    })
}

/// `ghcr.io/org/bp-x` → `ghcr.io/org` (where sibling Blueprints are published).
fn parent_of(repo: &str) -> Option<&str> {
    repo.trim_end_matches('/').rsplit_once('/').map(|(p, _)| p)
}

/// The BOM as JSON bytes, with its content-derived `serialNumber`.
pub fn write(inv: &Inventory, opts: &SbomOptions) -> Result<Vec<u8>, SbomError> {
    let mut bom = bom(inv, opts)?;
    let body = to_json(&bom);
    bom.serial_number = format!("urn:uuid:{}", content_uuid("cyclonedx-1.6", &body));
    Ok(to_json(&bom))
}
