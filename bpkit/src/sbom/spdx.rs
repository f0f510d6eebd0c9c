//! SPDX 2.3 JSON (`spdx-schema.json`), with bpkit's own types.
//!
//! One package per inventory item (Blueprint, charts, manifests archive, Blueprint
//! dependencies, images), none with files (`filesAnalyzed: false`); purls as
//! `PACKAGE-MANAGER`/`purl` external references; SHA-256 checksums where the content is known.
//! Relationships: the document `DESCRIBES` the Blueprint; the Blueprint `CONTAINS` its chart
//! (or manifests); a chart `CONTAINS` its sub-charts and `DEPENDS_ON` the images it deploys;
//! the Blueprint `DEPENDS_ON` its dependencies, except conditional ones that no lock resolved,
//! which are `OPTIONAL_DEPENDENCY_OF` it. Licenses that are not SPDX expressions of known
//! identifiers become `LicenseRef-…` with the text in `hasExtractedLicensingInfos`.
//! `documentNamespace` ends in a UUID derived from the document itself.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::license::{self, License};
use super::{Inventory, SbomError, SbomOptions, content_uuid, timestamp, to_json};

/// The SPDX version written.
pub const SPDX_VERSION: &str = "SPDX-2.3";
/// What is written where nothing is asserted.
pub const NOASSERTION: &str = "NOASSERTION";

/// An SPDX document (the subset bpkit writes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// `SPDX-2.3`.
    pub spdx_version: String,
    /// `CC0-1.0`.
    pub data_license: String,
    /// `SPDXRef-DOCUMENT`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// The document name.
    pub name: String,
    /// A unique URI for this document.
    pub document_namespace: String,
    /// Who made it, when.
    pub creation_info: CreationInfo,
    /// The packages.
    pub packages: Vec<Package>,
    /// The relationships.
    pub relationships: Vec<Relationship>,
    /// Licenses that are not on the SPDX list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

/// Creation information.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreationInfo {
    /// The time (from the epoch).
    pub created: String,
    /// `Tool: bpkit-<version>`.
    pub creators: Vec<String>,
}

/// A package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `SPDXRef-…`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// The name.
    pub name: String,
    /// The version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_info: Option<String>,
    /// `NOASSERTION`.
    pub download_location: String,
    /// Always false: files are not listed.
    pub files_analyzed: bool,
    /// Checksums.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<Checksum>,
    /// `NOASSERTION`.
    pub license_concluded: String,
    /// The declared license, or `NOASSERTION`.
    pub license_declared: String,
    /// `NOASSERTION`.
    pub copyright_text: String,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The home page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Where bpkit found it, and other facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The purl.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_refs: Vec<ExternalRef>,
    /// `APPLICATION`, `CONTAINER`, `ARCHIVE`.
    pub primary_package_purpose: String,
}

/// A checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checksum {
    /// `SHA256`, `SHA512`.
    pub algorithm: String,
    /// Lower-case hex.
    pub checksum_value: String,
}

/// An external reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    /// `PACKAGE-MANAGER`.
    pub reference_category: String,
    /// `purl`.
    pub reference_type: String,
    /// The purl.
    pub reference_locator: String,
}

/// A relationship.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// The subject.
    pub spdx_element_id: String,
    /// `DESCRIBES`, `CONTAINS`, `DEPENDS_ON`, ….
    pub relationship_type: String,
    /// The object.
    pub related_spdx_element: String,
    /// A note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A license that is not on the SPDX list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractedLicense {
    /// `LicenseRef-…`.
    pub license_id: String,
    /// The declared text.
    pub extracted_text: String,
    /// The name.
    pub name: String,
}

/// An SPDX identifier: `SPDXRef-<kind>-<label>-<8 hex of SHA-256(key)>`, with characters
/// outside `[A-Za-z0-9.-]` of the label written as `-`.
pub fn spdx_id(kind: &str, label: &str, key: &str) -> String {
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    let h = hex::encode(Sha256::digest(key.as_bytes()));
    format!("SPDXRef-{kind}-{}-{}", clean.trim_matches('-'), &h[..8])
}

fn checksum(digest: &str) -> Option<Checksum> {
    let (alg, hex) = match digest.split_once(':') {
        Some(("sha256", h)) => ("SHA256", h),
        Some(("sha384", h)) => ("SHA384", h),
        Some(("sha512", h)) => ("SHA512", h),
        Some(_) => return None,
        None => ("SHA256", digest),
    };
    Some(Checksum {
        algorithm: alg.to_string(),
        checksum_value: hex.to_string(),
    })
}

fn purl_ref(p: String) -> Vec<ExternalRef> {
    vec![ExternalRef {
        reference_category: "PACKAGE-MANAGER".to_string(),
        reference_type: "purl".to_string(),
        reference_locator: p,
    }]
}

struct Builder {
    packages: Vec<Package>,
    relationships: Vec<Relationship>,
    extracted: BTreeMap<String, ExtractedLicense>,
}

impl Builder {
    fn license(&mut self, text: Option<&str>) -> String {
        match text.map(license::classify) {
            Some(License::Expression(e)) => e,
            Some(License::Named(n)) if !n.is_empty() => {
                let id = license::license_ref(&n);
                self.extracted
                    .entry(id.clone())
                    .or_insert_with(|| ExtractedLicense {
                        license_id: id.clone(),
                        extracted_text: n.clone(),
                        name: n,
                    });
                id
            }
            _ => NOASSERTION.to_string(),
        }
    }

    fn relate(&mut self, from: &str, ty: &str, to: &str, comment: Option<String>) {
        self.relationships.push(Relationship {
            spdx_element_id: from.to_string(),
            relationship_type: ty.to_string(),
            related_spdx_element: to.to_string(),
            comment,
        });
    }
}

fn package(id: String, name: String, version: Option<String>, purpose: &str) -> Package {
    Package {
        spdx_id: id,
        name,
        version_info: version,
        download_location: NOASSERTION.to_string(),
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION.to_string(),
        license_declared: NOASSERTION.to_string(),
        copyright_text: NOASSERTION.to_string(),
        description: None,
        homepage: None,
        comment: None,
        external_refs: Vec::new(),
        primary_package_purpose: purpose.to_string(),
    }
}

fn homepage(u: Option<&str>) -> Option<String> {
    u.map(str::trim)
        .filter(|u| {
            (u.starts_with("https://") || u.starts_with("http://"))
                && !u.contains(char::is_whitespace)
        })
        .map(str::to_string)
}

/// Builds the document of an inventory (its namespace is completed by [`write`]).
pub fn document(inv: &Inventory, opts: &SbomOptions) -> Result<Document, SbomError> {
    let b = &inv.blueprint;
    let mut s = Builder {
        packages: Vec::new(),
        relationships: Vec::new(),
        extracted: BTreeMap::new(),
    };
    let bp_id = spdx_id("Blueprint", &format!("{}-{}", b.name, b.version), &b.key);
    let mut bp_purl = super::Purl::new("oci", &b.name.to_ascii_lowercase())
        .with_version(Some(&b.digest))
        .with_qualifier(
            "tag",
            Some(&crate::oci::layout::tag_for_version(&b.version)),
        );
    if let Some(r) = &opts.repository {
        bp_purl = bp_purl.with_qualifier("repository_url", Some(r));
    }
    let mut p = package(
        bp_id.clone(),
        b.name.clone(),
        Some(b.version.clone()),
        "APPLICATION",
    );
    p.checksums = checksum(&b.digest).into_iter().collect();
    p.license_declared = s.license(b.license.as_deref());
    p.description = b.description.clone();
    p.homepage = homepage(b.documentation.as_deref());
    p.external_refs = purl_ref(bp_purl.to_string());
    p.comment = Some(format!(
        "Catalyst Blueprint ({}); the checksum is the OCI manifest digest of its artifact",
        if inv.manifests.is_some() {
            "Kustomize"
        } else {
            "Helm chart"
        }
    ));
    s.packages.push(p);
    s.relate("SPDXRef-DOCUMENT", "DESCRIBES", &bp_id, None);

    let chart_ids: Vec<String> = inv
        .charts
        .iter()
        .map(|c| spdx_id("Chart", &c.name, &c.key))
        .collect();
    let image_ids: BTreeMap<String, String> = inv
        .images
        .iter()
        .map(|im| {
            let k = im.key();
            (k.clone(), spdx_id("Image", &im.reference.name(), &k))
        })
        .collect();
    for (i, c) in inv.charts.iter().enumerate() {
        let mut p = package(
            chart_ids[i].clone(),
            c.name.clone(),
            c.version.clone(),
            "APPLICATION",
        );
        p.checksums = c.sha256.as_deref().and_then(checksum).into_iter().collect();
        p.license_declared = s.license(c.license.as_deref());
        p.description = c.description.clone();
        p.homepage = homepage(c.home.as_deref());
        p.external_refs = purl_ref(c.purl().to_string());
        let mut notes = vec![format!("Helm chart at `{}`", c.path)];
        if let Some(a) = &c.app_version {
            notes.push(format!("appVersion {a}"));
        }
        if !c.vendored {
            notes.push("declared in Chart.yaml, not vendored in the artifact".to_string());
        }
        if let Some(v) = &c.version_constraint {
            notes.push(format!("version constraint `{v}`"));
        }
        if let Some(r) = &c.repository {
            notes.push(format!("repository {r}"));
        }
        p.comment = Some(notes.join("; "));
        s.packages.push(p);
        match c.parent {
            None => s.relate(&bp_id, "CONTAINS", &chart_ids[i], None),
            Some(parent) => {
                let from = chart_ids
                    .get(parent)
                    .cloned()
                    .unwrap_or_else(|| bp_id.clone());
                s.relate(&from, "CONTAINS", &chart_ids[i], None);
            }
        }
    }
    let mut users: Vec<(String, String)> = inv
        .charts
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key.clone(), chart_ids[i].clone()))
        .collect();
    if let Some(m) = &inv.manifests {
        let id = spdx_id("Manifests", &m.file_name, &m.key);
        let mut p = package(id.clone(), m.file_name.clone(), None, "ARCHIVE");
        p.checksums = checksum(&m.sha256).into_iter().collect();
        p.comment = Some(match &m.path {
            Some(path) => format!("Kustomize manifests; the base is `{path}`"),
            None => "Kustomize manifests".to_string(),
        });
        s.packages.push(p);
        s.relate(&bp_id, "CONTAINS", &id, None);
        users.push((m.key.clone(), id));
    }
    for d in &inv.dependencies {
        let id = spdx_id("Dependency", &d.blueprint, &d.key);
        let mut p = package(
            id.clone(),
            d.blueprint.clone(),
            d.version.clone(),
            "APPLICATION",
        );
        p.checksums = d.digest.as_deref().and_then(checksum).into_iter().collect();
        let base = opts
            .repository
            .as_deref()
            .and_then(|r| r.trim_end_matches('/').rsplit_once('/').map(|(p, _)| p));
        p.external_refs = purl_ref(d.purl(base).to_string());
        let mut notes = vec![format!("Blueprint dependency `{}`", d.local_name)];
        if let Some(c) = &d.constraint {
            notes.push(format!("version `{c}`"));
        }
        if let Some(w) = &d.when {
            notes.push(format!("when `{w}`"));
        }
        if d.shared {
            notes.push("shared instance".to_string());
        }
        if let Some(a) = &d.application {
            notes.push(format!("resolved to Application `{a}`"));
        }
        if d.unresolved {
            notes.push("not in the lock (inactive)".to_string());
        }
        if d.transitive {
            notes.push("indirect: pinned by the lock".to_string());
        }
        p.comment = Some(notes.join("; "));
        s.packages.push(p);
        if d.unresolved || (d.when.is_some() && d.version.is_none()) {
            s.relate(&id, "OPTIONAL_DEPENDENCY_OF", &bp_id, None);
        } else {
            let comment = d
                .transitive
                .then(|| "indirect dependency, pinned by the lock".to_string());
            s.relate(&bp_id, "DEPENDS_ON", &id, comment);
        }
    }
    for im in &inv.images {
        let r = &im.reference;
        let key = im.key();
        let id = image_ids.get(&key).cloned().unwrap_or_default();
        let mut p = package(
            id.clone(),
            r.location(),
            r.version().map(str::to_string),
            "CONTAINER",
        );
        p.checksums = r.digest.as_deref().and_then(checksum).into_iter().collect();
        p.external_refs = purl_ref(r.purl().to_string());
        p.comment = Some(format!(
            "container image `{r}`, found in {}",
            im.found_in.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
        s.packages.push(p);
        for (ukey, uid) in &users {
            if im.users.contains(ukey) {
                s.relate(uid, "DEPENDS_ON", &id, None);
            }
        }
    }
    Ok(Document {
        spdx_version: SPDX_VERSION.to_string(),
        data_license: "CC0-1.0".to_string(),
        spdx_id: "SPDXRef-DOCUMENT".to_string(),
        name: format!("{}-{}", b.name, b.version),
        document_namespace: String::new(),
        creation_info: CreationInfo {
            created: timestamp(opts.epoch)?,
            creators: vec![format!("Tool: bpkit-{}", opts.tool_version)],
        },
        packages: s.packages,
        relationships: s.relationships,
        has_extracted_licensing_infos: s.extracted.into_values().collect(),
    })
}

/// The document as JSON bytes, with its content-derived `documentNamespace`.
pub fn write(inv: &Inventory, opts: &SbomOptions) -> Result<Vec<u8>, SbomError> {
    let mut doc = document(inv, opts)?;
    let body = to_json(&doc);
    let uuid = content_uuid("spdx-2.3", &body);
    doc.document_namespace = format!(
        "{}/{}-{uuid}",
        opts.namespace_base.trim_end_matches('/'),
        super::purl::encode(&doc.name, false)
    );
    Ok(to_json(&doc))
}
