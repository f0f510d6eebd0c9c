//! An artifact held in memory: its manifest and every blob the manifest names.

use std::collections::BTreeMap;

use super::{Descriptor, Digest, Manifest, OciError, media_type};

/// An OCI artifact in memory: the manifest (parsed and as bytes) and the config and layer
/// blobs. Every descriptor's digest and size has been checked against its bytes, whether the
/// image was built here ([`Image::new`]) or read back ([`Image::from_parts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    manifest: Manifest,
    manifest_json: Vec<u8>,
    digest: Digest,
    blobs: BTreeMap<Digest, Vec<u8>>,
}

impl Image {
    /// Builds an image from a manifest and the blobs it names (config and layers, in any order).
    /// The manifest is serialised canonically ([`Manifest::to_json`]).
    pub fn new(manifest: Manifest, blobs: Vec<Vec<u8>>) -> Result<Image, OciError> {
        let json = manifest.to_json();
        Self::assemble(manifest, json, blobs)
    }

    /// Builds an image from manifest bytes read from somewhere and the blobs it names; the
    /// manifest is parsed, and every blob checked against its descriptor.
    pub fn from_parts(manifest_json: Vec<u8>, blobs: Vec<Vec<u8>>) -> Result<Image, OciError> {
        let digest = Digest::of(&manifest_json);
        let manifest = Manifest::from_json(&format!("manifest `{digest}`"), &manifest_json)?;
        Self::assemble(manifest, manifest_json, blobs)
    }

    fn assemble(
        manifest: Manifest,
        manifest_json: Vec<u8>,
        blobs: Vec<Vec<u8>>,
    ) -> Result<Image, OciError> {
        let mut by_digest = BTreeMap::new();
        for b in blobs {
            by_digest.insert(Digest::of(&b), b);
        }
        for d in std::iter::once(&manifest.config).chain(&manifest.layers) {
            let Some(bytes) = by_digest.get(&d.digest) else {
                return Err(OciError::BlobMissing {
                    digest: d.digest.to_string(),
                    location: "the blobs given".into(),
                });
            };
            if bytes.len() as u64 != d.size {
                return Err(OciError::SizeMismatch {
                    what: format!("blob `{}`", d.digest),
                    expected: d.size,
                    actual: bytes.len() as u64,
                });
            }
        }
        let keep: Vec<Digest> = std::iter::once(&manifest.config)
            .chain(&manifest.layers)
            .map(|d| d.digest.clone())
            .collect();
        by_digest.retain(|k, _| keep.contains(k));
        Ok(Image {
            digest: Digest::of(&manifest_json),
            manifest,
            manifest_json,
            blobs: by_digest,
        })
    }

    /// The parsed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest bytes (what the digest is computed over).
    pub fn manifest_json(&self) -> &[u8] {
        &self.manifest_json
    }

    /// The manifest digest: the artifact's identity.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// A descriptor of the manifest (as an index or a registry lists it).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: media_type::IMAGE_MANIFEST.to_string(),
            digest: self.digest.clone(),
            size: self.manifest_json.len() as u64,
            annotations: BTreeMap::new(),
            artifact_type: None,
        }
    }

    /// The bytes of a blob.
    pub fn blob(&self, digest: &Digest) -> Option<&[u8]> {
        self.blobs.get(digest).map(Vec::as_slice)
    }

    /// The config blob.
    pub fn config(&self) -> &[u8] {
        self.blob(&self.manifest.config.digest).unwrap_or_default()
    }

    /// The first layer of `media_type`, with its bytes.
    pub fn layer(&self, media_type: &str) -> Option<(&Descriptor, &[u8])> {
        self.manifest
            .layers
            .iter()
            .find(|d| d.media_type == media_type)
            .map(|d| (d, self.blob(&d.digest).unwrap_or_default()))
    }

    /// Every blob (config and layers, each once), by digest.
    pub fn blobs(&self) -> impl Iterator<Item = (&Digest, &[u8])> {
        self.blobs.iter().map(|(d, b)| (d, b.as_slice()))
    }

    /// The total size of the manifest and its blobs in bytes.
    pub fn total_size(&self) -> u64 {
        self.manifest_json.len() as u64 + self.blobs.values().map(|b| b.len() as u64).sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_checked() {
        let cfg = Descriptor::of(media_type::EMPTY, b"{}");
        let layer = Descriptor::of(media_type::BLUEPRINT, b"x");
        let m = Manifest::new(cfg.clone(), vec![layer.clone()]);
        let img = Image::new(
            m.clone(),
            vec![b"{}".to_vec(), b"x".to_vec(), b"extra".to_vec()],
        )
        .unwrap();
        assert_eq!(img.config(), b"{}");
        assert_eq!(img.layer(media_type::BLUEPRINT).unwrap().1, b"x");
        assert_eq!(img.blobs().count(), 2);
        assert_eq!(img.digest(), &Digest::of(img.manifest_json()));
        let e = Image::new(m.clone(), vec![b"{}".to_vec()]).unwrap_err();
        assert!(e.to_string().contains(&layer.digest.to_string()), "{e}");
        let mut lying = m;
        lying.layers[0].size = 7;
        let e = Image::new(lying, vec![b"{}".to_vec(), b"x".to_vec()]).unwrap_err();
        assert!(e.to_string().contains("7 bytes"), "{e}");
    }
}
