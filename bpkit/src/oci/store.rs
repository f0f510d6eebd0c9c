//! One synchronous interface over where OCI content lives: an OCI image layout folder or a
//! registry repository.
//!
//! A [`Store`] holds manifests (image manifests and image indexes, by digest, optionally
//! tagged), blobs, tags, and referrers. Referrers (OCI 1.1) are found with the registry's
//! referrers API when it has one, else through the fallback tag `sha256-<hex>`: an image index
//! listing every manifest whose `subject` is that digest. [`Store::add_referrer`] maintains
//! that fallback index on both kinds of store, so that registries without the API (CNCF
//! Distribution 2.8) and layouts work the same way.
//!
//! Nothing here is cryptographic or asynchronous; the registry implementation lives in
//! `oci::registry` behind the `oci` cargo feature.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Descriptor, Digest, Image, Layout, OciError, WriteOptions, media_type};

/// The largest manifest or index a store hands out (4 MiB, what registries accept).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// An error reading or writing a store.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum StoreError {
    /// A layout or content error.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Oci(#[from] OciError),
    /// A registry error.
    #[cfg(feature = "oci")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Registry(#[from] super::registry::RegistryError),
    /// A manifest or blob the store does not have.
    #[error("`{digest}` is not in `{location}`")]
    #[diagnostic(code(bpkit::store::not_found))]
    NotFound {
        /// The digest asked for.
        digest: String,
        /// The store.
        location: String,
    },
}

impl StoreError {
    /// Whether the content was found but did not match its digest or size: altered content.
    pub fn is_tampered(&self) -> bool {
        match self {
            StoreError::Oci(e) => {
                matches!(
                    e,
                    OciError::DigestMismatch { .. } | OciError::SizeMismatch { .. }
                )
            }
            #[cfg(feature = "oci")]
            StoreError::Registry(super::registry::RegistryError::Verify(e)) => {
                matches!(
                    e,
                    OciError::DigestMismatch { .. } | OciError::SizeMismatch { .. }
                ) || e.to_string().contains("does not match its digest")
            }
            _ => false,
        }
    }
}

/// Where OCI content lives: a layout folder or a registry repository. Object-safe, so that
/// callers can take `&dyn Store`.
pub trait Store {
    /// A name for messages (`oci:DIR`, `HOST/REPO`).
    fn location(&self) -> String;

    /// The manifest descriptor `tag` names (media type, digest, size, artifact type), or
    /// `None` when there is no such tag.
    fn resolve(&self, tag: &str) -> Result<Option<Descriptor>, StoreError>;

    /// The bytes of the manifest or index `digest`, checked against the digest. An absent
    /// manifest is [`StoreError::NotFound`].
    fn get_manifest(&self, digest: &Digest) -> Result<Vec<u8>, StoreError>;

    /// Stores manifest bytes of `media_type` (an image manifest or an image index), and points
    /// `tag` at them when given, moving the tag if it named other content (callers that want
    /// immutable tags check [`Store::resolve`] first). The blobs it names must be stored
    /// first. Returns its descriptor (with `artifactType` and annotations, as a referrers list
    /// shows it).
    fn put_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<Descriptor, StoreError>;

    /// Whether the blob is present.
    fn has_blob(&self, d: &Descriptor) -> Result<bool, StoreError>;

    /// The bytes of a blob, checked against its descriptor.
    fn get_blob(&self, d: &Descriptor) -> Result<Vec<u8>, StoreError>;

    /// Stores a blob unless present; returns its digest.
    fn put_blob(&self, bytes: &[u8]) -> Result<Digest, StoreError>;

    /// Every tag, sorted (none for a repository that does not exist yet).
    fn tags(&self) -> Result<Vec<String>, StoreError>;

    /// The manifests whose `subject` is `subject`: through the referrers API where the store
    /// has one, else the fallback index under the tag `sha256-<hex>` (empty when absent).
    fn referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>, StoreError> {
        fallback_referrers(self, subject)
    }

    /// Records `referrer` (a stored manifest whose `subject` is `subject`) in the fallback
    /// index `sha256-<hex>`, creating it when needed. Returns whether the index changed.
    fn add_referrer(&self, subject: &Digest, referrer: &Descriptor) -> Result<bool, StoreError> {
        add_fallback_referrer(self, subject, referrer)
    }
}

/// The referrers fallback tag of a subject: `sha256-<hex>`.
pub fn referrers_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm(), subject.hex())
}

/// An OCI image index (used here for referrers lists and fallback indexes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// [`media_type::IMAGE_INDEX`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests listed.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Index {
    /// An empty image index.
    pub fn new() -> Index {
        Index {
            schema_version: 2,
            media_type: Some(media_type::IMAGE_INDEX.to_string()),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
        }
    }

    /// The canonical JSON bytes (compact, fixed key order).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses an image index read from `what`.
    pub fn from_json(what: &str, bytes: &[u8]) -> Result<Index, OciError> {
        let i: Index = serde_json::from_slice(bytes).map_err(|e| OciError::BadJson {
            what: what.to_string(),
            message: e.to_string(),
        })?;
        if i.schema_version != 2 {
            return Err(OciError::BadJson {
                what: what.to_string(),
                message: format!("`schemaVersion` is {}, expected 2", i.schema_version),
            });
        }
        Ok(i)
    }
}

impl Default for Index {
    fn default() -> Self {
        Index::new()
    }
}

/// The descriptor of manifest bytes as a referrers list shows it: media type, digest, size,
/// the `artifactType` (or, lacking one, the config media type) and the manifest annotations.
pub fn manifest_descriptor(bytes: &[u8], media_type: &str) -> Descriptor {
    let mut d = Descriptor::of(media_type, bytes);
    if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(bytes) {
        d.artifact_type = m
            .get("artifactType")
            .and_then(Value::as_str)
            .or_else(|| {
                m.get("config")
                    .and_then(|c| c.get("mediaType"))
                    .and_then(Value::as_str)
                    .filter(|t| *t != media_type::EMPTY)
            })
            .map(str::to_string);
        if let Some(Value::Object(a)) = m.get("annotations") {
            for (k, v) in a {
                if let Some(v) = v.as_str() {
                    d.annotations.insert(k.clone(), v.to_string());
                }
            }
        }
    }
    d
}

/// The media type written in manifest bytes (`mediaType`), defaulting to an image manifest.
pub fn media_type_of(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get("mediaType")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| media_type::IMAGE_MANIFEST.to_string())
}

fn fallback_referrers<S: Store + ?Sized>(
    store: &S,
    subject: &Digest,
) -> Result<Vec<Descriptor>, StoreError> {
    let tag = referrers_tag(subject);
    let Some(d) = store.resolve(&tag)? else {
        return Ok(Vec::new());
    };
    if d.media_type != media_type::IMAGE_INDEX {
        return Ok(Vec::new());
    }
    let bytes = store.get_manifest(&d.digest)?;
    let what = format!("the referrers index `{tag}` in `{}`", store.location());
    Ok(Index::from_json(&what, &bytes)?.manifests)
}

fn add_fallback_referrer<S: Store + ?Sized>(
    store: &S,
    subject: &Digest,
    referrer: &Descriptor,
) -> Result<bool, StoreError> {
    let tag = referrers_tag(subject);
    let mut index = match store.resolve(&tag)? {
        Some(d) if d.media_type == media_type::IMAGE_INDEX => {
            let bytes = store.get_manifest(&d.digest)?;
            let what = format!("the referrers index `{tag}` in `{}`", store.location());
            Index::from_json(&what, &bytes)?
        }
        _ => Index::new(),
    };
    if index.manifests.iter().any(|m| m == referrer) {
        return Ok(false);
    }
    index.manifests.retain(|m| m.digest != referrer.digest);
    index.manifests.push(referrer.clone());
    store.put_manifest(&index.to_json(), media_type::IMAGE_INDEX, Some(&tag))?;
    Ok(true)
}

/// Reads an image manifest and its blobs from a store, every digest and size checked.
pub fn read_image(store: &dyn Store, digest: &Digest) -> Result<Image, StoreError> {
    let bytes = store.get_manifest(digest)?;
    let what = format!("manifest `{digest}` in `{}`", store.location());
    let m = super::Manifest::from_json(&what, &bytes)?;
    let mut blobs = Vec::new();
    let mut total = 0u64;
    for d in std::iter::once(&m.config).chain(&m.layers) {
        total = total.saturating_add(d.size);
        if total > super::ReadLimits::default().max_total_bytes {
            return Err(OciError::TooLarge {
                what: format!("the blobs of `{digest}` together"),
                size: total,
                limit: super::ReadLimits::default().max_total_bytes,
            }
            .into());
        }
        blobs.push(store.get_blob(d)?);
    }
    Ok(Image::from_parts(bytes, blobs)?)
}

/// Writes an image (blobs first, then the manifest, under `tag` when given) to a store.
pub fn write_image(
    store: &dyn Store,
    image: &Image,
    tag: Option<&str>,
) -> Result<Descriptor, StoreError> {
    for (d, bytes) in image.blobs() {
        let desc = Descriptor {
            media_type: media_type::EMPTY.to_string(),
            digest: d.clone(),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
            artifact_type: None,
        };
        if !store.has_blob(&desc)? {
            store.put_blob(bytes)?;
        }
    }
    let mt = image
        .manifest()
        .media_type
        .clone()
        .unwrap_or_else(|| media_type::IMAGE_MANIFEST.to_string());
    store.put_manifest(image.manifest_json(), &mt, tag)
}

impl Store for Layout {
    fn location(&self) -> String {
        format!("oci:{}", self.dir().display())
    }

    fn resolve(&self, tag: &str) -> Result<Option<Descriptor>, StoreError> {
        Ok(self.find_tag(tag)?)
    }

    fn get_manifest(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        match self.read_blob_by_digest(digest, MAX_MANIFEST_BYTES) {
            Err(OciError::BlobMissing { digest, .. }) => Err(StoreError::NotFound {
                digest,
                location: Store::location(self),
            }),
            other => Ok(other?),
        }
    }

    fn put_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<Descriptor, StoreError> {
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(OciError::TooLarge {
                what: "the manifest".into(),
                size: bytes.len() as u64,
                limit: MAX_MANIFEST_BYTES,
            }
            .into());
        }
        self.store_blob(bytes)?;
        let d = manifest_descriptor(bytes, media_type);
        if let Some(tag) = tag {
            let entry = Descriptor {
                media_type: d.media_type.clone(),
                digest: d.digest.clone(),
                size: d.size,
                annotations: BTreeMap::new(),
                artifact_type: None,
            };
            self.set_tag(&entry, tag, &WriteOptions { force: true })?;
        }
        Ok(d)
    }

    fn has_blob(&self, d: &Descriptor) -> Result<bool, StoreError> {
        Ok(self.contains_blob(&d.digest, d.size))
    }

    fn get_blob(&self, d: &Descriptor) -> Result<Vec<u8>, StoreError> {
        match self.read_described(d) {
            Err(OciError::BlobMissing { digest, .. }) => Err(StoreError::NotFound {
                digest,
                location: Store::location(self),
            }),
            other => Ok(other?),
        }
    }

    fn put_blob(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        Ok(self.store_blob(bytes)?.0)
    }

    fn tags(&self) -> Result<Vec<String>, StoreError> {
        let mut v: Vec<String> = Layout::tags(self)?.into_iter().map(|t| t.0).collect();
        v.sort();
        v.dedup();
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::Manifest;

    fn artifact(store: &dyn Store, content: &[u8], subject: Option<Descriptor>) -> Descriptor {
        let cfg = Descriptor::of(media_type::EMPTY, b"{}");
        let layer = Descriptor::of(media_type::BLUEPRINT, content);
        let mut m = Manifest::new(cfg, vec![layer]);
        m.subject = subject;
        if m.subject.is_some() {
            m.artifact_type = Some("application/vnd.example+json".into());
        }
        let img = Image::new(m, vec![b"{}".to_vec(), content.to_vec()]).unwrap();
        write_image(store, &img, None).unwrap()
    }

    #[test]
    fn layout_store_manifests_indexes_tags_and_referrers() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::create(tmp.path()).unwrap();
        let store: &dyn Store = &layout;
        let a = artifact(store, b"a", None);
        assert_eq!(store.resolve("1.0.0").unwrap(), None);
        store
            .put_manifest(
                &store.get_manifest(&a.digest).unwrap(),
                &a.media_type,
                Some("1.0.0"),
            )
            .unwrap();
        assert_eq!(store.resolve("1.0.0").unwrap().unwrap().digest, a.digest);
        assert!(store.referrers(&a.digest).unwrap().is_empty());
        let r1 = artifact(store, b"r1", Some(a.clone()));
        assert_eq!(
            r1.artifact_type.as_deref(),
            Some("application/vnd.example+json")
        );
        assert!(store.add_referrer(&a.digest, &r1).unwrap());
        assert!(!store.add_referrer(&a.digest, &r1).unwrap(), "idempotent");
        let r2 = artifact(store, b"r2", Some(a.clone()));
        assert!(store.add_referrer(&a.digest, &r2).unwrap());
        assert_eq!(store.referrers(&a.digest).unwrap(), vec![r1, r2]);
        let idx = store.resolve(&referrers_tag(&a.digest)).unwrap().unwrap();
        assert_eq!(idx.media_type, media_type::IMAGE_INDEX);
        let tags = Store::tags(&layout).unwrap();
        assert_eq!(tags, vec!["1.0.0".to_string(), referrers_tag(&a.digest)]);
        // An image read back equals what was written.
        let img = read_image(store, &a.digest).unwrap();
        assert_eq!(img.digest(), &a.digest);
        // Missing content is NotFound; altered content is tampered.
        let e = store.get_manifest(&Digest::of(b"nope")).unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
        let layer = &img.manifest().layers[0];
        std::fs::write(layout.blob_path(&layer.digest), b"x").unwrap();
        let e = store.get_blob(layer).unwrap_err();
        assert!(e.is_tampered(), "{e}");
    }

    #[test]
    fn manifest_descriptors_carry_artifact_type_and_annotations() {
        let d = manifest_descriptor(
            br#"{"schemaVersion":2,"config":{"mediaType":"application/x.cfg","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"annotations":{"k":"v"}}"#,
            media_type::IMAGE_MANIFEST,
        );
        assert_eq!(d.artifact_type.as_deref(), Some("application/x.cfg"));
        assert_eq!(d.annotations.get("k").map(String::as_str), Some("v"));
        assert_eq!(media_type_of(b"{}"), media_type::IMAGE_MANIFEST);
        assert_eq!(
            media_type_of(br#"{"mediaType":"application/vnd.oci.image.index.v1+json"}"#),
            media_type::IMAGE_INDEX
        );
        let e = Index::from_json("i", br#"{"schemaVersion":1}"#).unwrap_err();
        assert!(e.to_string().contains("expected 2"), "{e}");
    }
}
