//! Descriptors and image manifests, serialised deterministically.
//!
//! Keys come out in a fixed order (the order of the image-spec's Go types: `schemaVersion`,
//! `mediaType`, `artifactType`, `config`, `layers`, `subject`, `annotations`; in descriptors
//! `mediaType`, `digest`, `size`, `annotations`, `artifactType`), annotation maps sorted by key,
//! with no whitespace: the same manifest always has the same bytes and the same digest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Digest, OciError, media_type};

/// A content descriptor: what a blob is, its digest and its size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the blob.
    pub media_type: String,
    /// The digest of the blob.
    pub digest: Digest,
    /// The size of the blob in bytes.
    pub size: u64,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The artifact type, on descriptors of manifests that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A descriptor for `bytes` of `media_type`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
            artifact_type: None,
        }
    }

    /// Adds an annotation.
    pub fn with_annotation(mut self, key: &str, value: impl Into<String>) -> Descriptor {
        self.annotations.insert(key.to_string(), value.into());
        self
    }

    /// Checks `bytes` against this descriptor: size first, then digest (`what` names them in
    /// messages).
    pub fn check(&self, what: &str, bytes: &[u8]) -> Result<(), OciError> {
        if bytes.len() as u64 != self.size {
            return Err(OciError::SizeMismatch {
                what: what.to_string(),
                expected: self.size,
                actual: bytes.len() as u64,
            });
        }
        let actual = Digest::of(bytes);
        if actual != self.digest {
            return Err(OciError::DigestMismatch {
                what: what.to_string(),
                expected: self.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }

    /// The `org.opencontainers.image.title` annotation (a layer's file name), if any.
    pub fn title(&self) -> Option<&str> {
        self.annotations
            .get(super::annotation::TITLE)
            .map(String::as_str)
    }
}

/// An OCI image manifest (schema version 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`media_type::IMAGE_MANIFEST`]; optional when reading, always written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1); bpkit writes none, as Helm and Flux do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// A manifest with these config and layers and no annotations.
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(media_type::IMAGE_MANIFEST.to_string()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The canonical JSON bytes (compact, fixed key order).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses manifest JSON read from `what` (for messages) and checks its shape: schema version
    /// 2, an image manifest media type, and valid media types everywhere.
    pub fn from_json(what: &str, bytes: &[u8]) -> Result<Manifest, OciError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| OciError::BadJson {
            what: what.to_string(),
            message: e.to_string(),
        })?;
        let bad = |message: String| OciError::BadManifest {
            what: what.to_string(),
            message,
        };
        if m.schema_version != 2 {
            return Err(bad(format!(
                "`schemaVersion` is {}, expected 2",
                m.schema_version
            )));
        }
        match m.media_type.as_deref() {
            None | Some(media_type::IMAGE_MANIFEST) => {}
            Some(media_type::IMAGE_INDEX) => {
                return Err(bad(
                    "it is an image index, not an image manifest; bpkit reads single manifests"
                        .into(),
                ));
            }
            Some(other) => {
                return Err(bad(format!(
                    "`mediaType` is `{}`, expected `{}`",
                    other.chars().take(130).collect::<String>(),
                    media_type::IMAGE_MANIFEST
                )));
            }
        }
        if m.layers.is_empty() {
            return Err(bad("it has no layers".into()));
        }
        for d in std::iter::once(&m.config).chain(&m.layers) {
            if !media_type::is_valid(&d.media_type) {
                return Err(bad(format!(
                    "`{}` is not a valid media type",
                    d.media_type.chars().take(130).collect::<String>()
                )));
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_compact_and_ordered() {
        let cfg = Descriptor::of(media_type::EMPTY, b"{}");
        let layer = Descriptor::of(media_type::BLUEPRINT, b"a: 1\n")
            .with_annotation("z", "1")
            .with_annotation("a", "2");
        let mut m = Manifest::new(cfg, vec![layer]);
        m.annotations.insert("b".into(), "x".into());
        m.annotations.insert("a".into(), "y".into());
        let text = String::from_utf8(m.to_json()).unwrap();
        assert!(text.starts_with(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.openova.catalyst.blueprint.v1+yaml","digest":"sha256:"#
        ), "{text}");
        assert!(
            text.ends_with(
                r#""size":5,"annotations":{"a":"2","z":"1"}}],"annotations":{"a":"y","b":"x"}}"#
            ),
            "{text}"
        );
        let back = Manifest::from_json("m", text.as_bytes()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_json(), text.as_bytes());
    }

    #[test]
    fn shape_is_checked() {
        let cases = [
            (
                r#"{"schemaVersion":1,"config":{"mediaType":"a/b","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#,
                "`schemaVersion` is 1",
            ),
            (
                r#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#,
                "no layers",
            ),
            (
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{"mediaType":"a/b","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#,
                "image index",
            ),
            (
                r#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha1:abc","size":2},"layers":[]}"#,
                "`sha1` is not supported",
            ),
            (
                r#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-2},"layers":[]}"#,
                "invalid value",
            ),
            (r#"[1]"#, "expected struct"),
        ];
        for (json, want) in cases {
            let e = Manifest::from_json("manifest", json.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{json}: {e}");
        }
    }
}
