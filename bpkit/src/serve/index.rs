//! The catalog as the service answers it: every list, versions and Blueprint response is
//! serialized once, with its ETag, when the service starts. Filtered lists are assembled from
//! pre-serialized entries.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::HeaderValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::catalog::DirCatalog;
use crate::diag::{Finding, Severity};
use crate::model::{Blueprint, Visibility};
use crate::resolve::Catalog;
use crate::validate::config::{ConfigSchema, SchemaIssue, SchemaOptions};
use crate::version::Version;

use super::ServeError;

/// A response body serialized once, with its strong ETag.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    /// The JSON bytes.
    pub body: Bytes,
    /// `"<first 128 bits of the SHA-256 of the body, hex>"`.
    pub etag: HeaderValue,
}

impl Prepared {
    /// Serializes `value`.
    pub fn json(value: &Value) -> Prepared {
        Prepared::bytes(serde_json::to_vec(value).unwrap_or_default())
    }

    /// Takes `body` as is.
    pub fn bytes(body: Vec<u8>) -> Prepared {
        let etag = etag_of(&body);
        Prepared {
            body: Bytes::from(body),
            etag,
        }
    }
}

fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let hex = hex::encode(digest.get(..16).unwrap_or_default());
    HeaderValue::from_str(&format!("\"{hex}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// What compiling a version's configSchema gave, kept for later requests.
pub(crate) type CompiledSchema = Result<Arc<ConfigSchema>, Arc<Vec<SchemaIssue>>>;

/// One version of a Blueprint.
pub(crate) struct VersionEntry {
    /// The version.
    pub version: Version,
    /// The document.
    pub blueprint: Arc<Blueprint>,
    /// `GET /v1/blueprints/{name}/versions/{version}`.
    pub detail: Prepared,
    schema: OnceLock<CompiledSchema>,
}

impl VersionEntry {
    /// The compiled configSchema (an object schema when the Blueprint has none); compiled on
    /// first use and kept.
    pub fn schema(&self) -> CompiledSchema {
        self.schema
            .get_or_init(|| {
                let raw = self
                    .blueprint
                    .spec
                    .config_schema
                    .clone()
                    .unwrap_or_else(|| json!({"type": "object"}));
                ConfigSchema::compile(&raw, &SchemaOptions::default())
                    .map(Arc::new)
                    .map_err(Arc::new)
            })
            .clone()
    }
}

/// Every version of one Blueprint name.
pub(crate) struct NameEntry {
    /// The name.
    pub name: String,
    /// The versions, ascending.
    pub versions: Vec<VersionEntry>,
    /// The index in `versions` of the newest release (the newest prerelease when there is no
    /// release).
    pub latest: usize,
    /// `GET /v1/blueprints/{name}/versions`.
    pub versions_doc: Prepared,
    /// The list entry, serialized.
    summary: String,
    visibility: Option<Visibility>,
    category: Option<String>,
    tags: Vec<String>,
}

impl NameEntry {
    /// The newest release.
    pub fn latest(&self) -> Option<&VersionEntry> {
        self.versions.get(self.latest)
    }

    /// The entry of `version`.
    pub fn version(&self, version: &Version) -> Option<&VersionEntry> {
        self.versions
            .binary_search_by(|v| v.version.cmp(version))
            .ok()
            .and_then(|i| self.versions.get(i))
    }
}

/// Which Blueprints a list shows: every given condition must hold for the newest version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// `visibility=listed|unlisted|private`: Blueprints that do not say are never matched.
    pub visibility: Option<Visibility>,
    /// `category=…`: compared without regard to case.
    pub category: Option<String>,
    /// `tag=…` (repeatable): each must be among the card's tags, without regard to case.
    pub tags: Vec<String>,
}

impl ListFilter {
    /// Reads a query string (`visibility=listed&tag=sql&tag=ha`). Parameters are
    /// percent-decoded, `+` is a space; unknown parameters and bad values are errors.
    pub fn parse(query: &str) -> Result<ListFilter, String> {
        let mut f = ListFilter::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(k).map_err(|e| format!("query parameter `{k}`: {e}"))?;
            let value = percent_decode(v).map_err(|e| format!("query parameter `{key}`: {e}"))?;
            match key.as_str() {
                "visibility" => {
                    f.visibility = Some(match value.as_str() {
                        "listed" => Visibility::Listed,
                        "unlisted" => Visibility::Unlisted,
                        "private" => Visibility::Private,
                        other => {
                            return Err(format!(
                                "`visibility` is `{other}`; expected `listed`, `unlisted` or `private`"
                            ));
                        }
                    })
                }
                "category" => f.category = Some(value.to_lowercase()),
                "tag" => f.tags.push(value.to_lowercase()),
                other => {
                    return Err(format!(
                        "unknown query parameter `{other}`; known: visibility, category, tag"
                    ));
                }
            }
        }
        Ok(f)
    }

    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.visibility.is_none() && self.category.is_none() && self.tags.is_empty()
    }

    fn matches(&self, e: &NameEntry) -> bool {
        self.visibility.is_none_or(|v| e.visibility == Some(v))
            && self
                .category
                .as_ref()
                .is_none_or(|c| e.category.as_ref() == Some(c))
            && self.tags.iter().all(|t| e.tags.contains(t))
    }
}

/// Decodes `%XX` escapes and `+` (a space) of a query component.
fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("`%` at byte {i} is not followed by two hex digits"))?;
                out.push(hex);
                i += 2;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the decoded text is not UTF-8".to_string())
}

/// The catalog, ready to answer.
pub struct Snapshot {
    catalog: Arc<dyn Catalog>,
    dir: Option<Arc<DirCatalog>>,
    names: Vec<NameEntry>,
    index: HashMap<String, usize>,
    list_all: Prepared,
    left_out: Vec<Finding>,
    roots: Vec<String>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("roots", &self.roots)
            .field("blueprints", &self.names.len())
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Reads the Blueprint folders under `roots` and prepares every response.
    ///
    /// # Errors
    ///
    /// A root that cannot be read, or a catalog that holds no Blueprint at all.
    pub fn open(roots: &[PathBuf]) -> Result<Snapshot, ServeError> {
        let catalog = DirCatalog::open(roots).map_err(|e| ServeError::Catalog(e.to_string()))?;
        Snapshot::from_catalog(catalog, roots.to_vec())
    }

    /// Prepares the responses of an opened catalog.
    ///
    /// # Errors
    ///
    /// A catalog that holds no Blueprint at all.
    pub fn from_catalog(catalog: DirCatalog, roots: Vec<PathBuf>) -> Result<Snapshot, ServeError> {
        let left_out: Vec<Finding> = catalog
            .findings()
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .cloned()
            .collect();
        let dir = Arc::new(catalog);
        let shown = roots.iter().map(|r| r.display().to_string()).collect();
        Snapshot::build(dir.clone(), Some(dir), left_out, shown)
    }

    /// Reads a whole catalog of another kind (a registry namespace, see
    /// [`crate::catalog::OciCatalog`]) once, into memory, and prepares every response: requests
    /// never wait for the catalog afterwards. A Blueprint version that cannot be read is left
    /// out (see [`Snapshot::left_out`]); `what` names the catalog in messages.
    ///
    /// # Errors
    ///
    /// The names or versions cannot be listed, or no Blueprint can be read.
    pub fn from_any(catalog: &dyn Catalog, what: &str) -> Result<Snapshot, ServeError> {
        let fail = |e: crate::resolve::CatalogError| {
            ServeError::Catalog(format!("cannot read the catalog `{what}`: {e}"))
        };
        let mut memory = crate::resolve::InMemoryCatalog::new();
        let mut left_out = Vec::new();
        for name in catalog.names().map_err(fail)? {
            for v in catalog.versions(&name).map_err(fail)? {
                match catalog.get(&name, &v) {
                    Ok(bp) => {
                        let source = catalog.source(&name, &v);
                        let digest = catalog.digest(&name, &v);
                        if let Err(e) = memory.insert_from((*bp).clone(), source, digest) {
                            left_out.push(Finding::error("catalog-entry", e.to_string()));
                        }
                    }
                    Err(e) => left_out.push(Finding::error(
                        "catalog-entry",
                        format!("`{name}` {v} in `{what}` cannot be read: {e}"),
                    )),
                }
            }
        }
        Snapshot::build(Arc::new(memory), None, left_out, vec![what.to_string()])
    }

    fn build(
        catalog: Arc<dyn Catalog>,
        dir: Option<Arc<DirCatalog>>,
        left_out: Vec<Finding>,
        roots: Vec<String>,
    ) -> Result<Snapshot, ServeError> {
        let names_list = catalog
            .names()
            .map_err(|e| ServeError::Catalog(e.to_string()))?;
        if names_list.is_empty() {
            let mut msg = format!("no valid Blueprint under `{}`", roots.join("`, `"));
            if let Some(f) = left_out.first() {
                msg.push_str(&format!(" ({} left out; the first: {f})", left_out.len()));
            }
            return Err(ServeError::Catalog(msg));
        }
        let mut names = Vec::with_capacity(names_list.len());
        for name in names_list {
            let versions = catalog
                .versions(&name)
                .map_err(|e| ServeError::Catalog(e.to_string()))?;
            let mut docs = Vec::with_capacity(versions.len());
            for v in &versions {
                let bp = catalog
                    .get(&name, v)
                    .map_err(|e| ServeError::Catalog(e.to_string()))?;
                docs.push((v.clone(), bp));
            }
            if let Some(entry) = name_entry(name, docs) {
                names.push(entry);
            }
        }
        let index = names
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        let list_all = list_body(names.iter());
        Ok(Snapshot {
            catalog,
            dir,
            names,
            index,
            list_all,
            left_out,
            roots,
        })
    }

    /// The catalog the resolver reads.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    /// The folder catalog, when the Blueprints come from folders (plan errors then point at
    /// lines of their files).
    pub fn dir_catalog(&self) -> Option<&Arc<DirCatalog>> {
        self.dir.as_ref()
    }

    /// Blueprints that were left out because of errors, with why.
    pub fn left_out(&self) -> &[Finding] {
        &self.left_out
    }

    /// The number of Blueprint names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the catalog has no Blueprint (never true for an opened snapshot).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The number of Blueprint versions.
    pub fn version_count(&self) -> usize {
        self.names.iter().map(|n| n.versions.len()).sum()
    }

    /// `GET /v1/blueprints` with a filter.
    pub(crate) fn list(&self, filter: &ListFilter) -> Prepared {
        if filter.is_empty() {
            return self.list_all.clone();
        }
        list_body(self.names.iter().filter(|e| filter.matches(e)))
    }

    /// The entry of a Blueprint name.
    pub(crate) fn get(&self, name: &str) -> Option<&NameEntry> {
        self.index.get(name).and_then(|&i| self.names.get(i))
    }

    /// A known name close to `name`, for a "did you mean" hint.
    pub(crate) fn suggest(&self, name: &str) -> Option<String> {
        let known: Vec<String> = self.names.iter().map(|n| n.name.clone()).collect();
        crate::model::closest(name, &known).or_else(|| {
            let with_prefix = format!("{}{name}", crate::model::NAME_PREFIX);
            self.index.contains_key(&with_prefix).then_some(with_prefix)
        })
    }
}

fn list_body<'a>(entries: impl Iterator<Item = &'a NameEntry>) -> Prepared {
    let mut body = String::from("{\"blueprints\":[");
    let mut n = 0usize;
    for e in entries {
        if n > 0 {
            body.push(',');
        }
        body.push_str(&e.summary);
        n += 1;
    }
    body.push_str(&format!("],\"total\":{n}}}"));
    Prepared::bytes(body.into_bytes())
}

fn name_entry(name: String, docs: Vec<(Version, Arc<Blueprint>)>) -> Option<NameEntry> {
    let latest = docs
        .iter()
        .rposition(|(v, _)| !v.is_prerelease())
        .or_else(|| docs.len().checked_sub(1))?;
    let version_texts: Vec<String> = docs.iter().map(|(v, _)| v.to_string()).collect();
    let latest_text = version_texts.get(latest).cloned().unwrap_or_default();
    let versions: Vec<VersionEntry> = docs
        .into_iter()
        .map(|(v, bp)| VersionEntry {
            detail: Prepared::json(&detail_json(&bp, &v, &latest_text, &version_texts)),
            version: v,
            blueprint: bp,
            schema: OnceLock::new(),
        })
        .collect();
    let newest = &versions.get(latest)?.blueprint;
    let card = &newest.spec.card;
    let summary = json!({
        "name": name,
        "version": latest_text,
        "versions": version_texts,
        "visibility": newest.spec.visibility.map(Visibility::as_str),
        "card": {
            "title": card.title,
            "tagline": card.tagline,
            "summary": card.summary,
            "icon": card.icon,
            "category": card.category,
            "tags": card.tags,
            "license": card.license,
        },
    });
    let versions_doc = Prepared::json(&json!({
        "name": name,
        "latest": latest_text,
        "versions": version_texts,
    }));
    Some(NameEntry {
        visibility: newest.spec.visibility,
        category: card.category.as_ref().map(|c| c.to_lowercase()),
        tags: card.tags.iter().map(|t| t.to_lowercase()).collect(),
        summary: serde_json::to_string(&summary).unwrap_or_default(),
        versions_doc,
        latest,
        versions,
        name,
    })
}

fn detail_json(bp: &Blueprint, v: &Version, latest: &str, versions: &[String]) -> Value {
    let s = &bp.spec;
    let overlays: Vec<&String> = s
        .manifests
        .as_ref()
        .map(|m| m.overlays.keys().collect())
        .unwrap_or_default();
    json!({
        "name": bp.name(),
        "version": v.to_string(),
        "latest": latest,
        "versions": versions,
        "visibility": s.visibility.map(Visibility::as_str),
        "labels": bp.metadata.labels,
        "owner": s.owner,
        "card": s.card,
        "configSchema": s.config_schema.clone().unwrap_or_else(|| json!({"type": "object"})),
        "placementSchema": s.placement_schema,
        "depends": s.depends,
        "overlays": overlays,
        "upgrades": s.upgrades,
        "outputs": s.outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded_and_checked() {
        let f = ListFilter::parse("visibility=listed&category=Data%20Bases&tag=SQL&tag=h+a")
            .expect("parse");
        assert_eq!(f.visibility, Some(Visibility::Listed));
        assert_eq!(f.category.as_deref(), Some("data bases"));
        assert_eq!(f.tags, ["sql", "h a"]);
        assert!(ListFilter::parse("").expect("empty").is_empty());
        let e = ListFilter::parse("visibility=public").expect_err("bad value");
        assert!(e.contains("`public`"), "{e}");
        let e = ListFilter::parse("sort=name").expect_err("unknown");
        assert!(e.contains("unknown query parameter `sort`"), "{e}");
        let e = ListFilter::parse("tag=%G1").expect_err("bad escape");
        assert!(e.contains("two hex digits"), "{e}");
        let e = ListFilter::parse("tag=%ff").expect_err("not utf-8");
        assert!(e.contains("UTF-8"), "{e}");
        assert!(ListFilter::parse("tag=%").is_err());
    }

    #[test]
    fn etags_follow_the_bytes() {
        let a = Prepared::bytes(b"{}".to_vec());
        let b = Prepared::bytes(b"{}".to_vec());
        let c = Prepared::bytes(b"[]".to_vec());
        assert_eq!(a.etag, b.etag);
        assert_ne!(a.etag, c.etag);
        assert_eq!(a.etag.len(), 34);
    }
}
