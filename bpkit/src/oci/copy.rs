//! Copying OCI content between two [`Store`]s byte for byte: an image manifest with its blobs,
//! or an image index with every child manifest and their blobs, then the referrers of each
//! manifest (OCI 1.1 API or fallback index) and cosign's `sha256-<hex>.sig` / `.att` tags.
//!
//! Nothing is re-serialised: manifests are written with the bytes read, so every digest (and
//! every signature over one) stays valid. Blobs the target already has are not read. Progress
//! is reported through the [`Progress`] trait, so that a front end can draw bars without this
//! module knowing how.

use std::collections::BTreeSet;

use serde_json::Value;

use super::store::{Index, Store, StoreError, media_type_of, referrers_tag};
use super::{Descriptor, Digest, OciError, media_type};

/// The Docker schema 2 manifest list, read like an OCI image index.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// How deep indexes and referrers may nest before a copy is refused (a cycle or hostile
/// content).
const MAX_DEPTH: usize = 8;

/// Something that happened during a long operation, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// `count` more items (Blueprints, images) are to be processed.
    Planned {
        /// How many.
        count: u64,
    },
    /// One item is finished (whether it succeeded or not).
    Finished {
        /// What it was (a reference).
        what: &'a str,
    },
    /// A blob of `bytes` is about to be transferred.
    BytesPlanned {
        /// Its size.
        bytes: u64,
    },
    /// `bytes` of a blob were transferred, or found already present at the target.
    Bytes {
        /// How many.
        bytes: u64,
    },
    /// A line worth showing (what is being worked on).
    Message {
        /// The text.
        text: &'a str,
    },
}

/// Receives [`Event`]s. Implementations must be cheap: events come from the copying thread.
pub trait Progress: Sync {
    /// Called for every event.
    fn event(&self, event: Event<'_>);
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: Event<'_>) {}
}

/// What a copy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyStats {
    /// Manifests and indexes written (children, referrers and cosign tags included).
    pub manifests: usize,
    /// Blobs copied.
    pub blobs_copied: usize,
    /// Blobs the target already had.
    pub blobs_present: usize,
    /// Bytes of blobs copied.
    pub bytes_copied: u64,
    /// Referrers and cosign `.sig` / `.att` manifests copied.
    pub referrers: usize,
}

impl CopyStats {
    fn add(&mut self, o: &CopyStats) {
        self.manifests += o.manifests;
        self.blobs_copied += o.blobs_copied;
        self.blobs_present += o.blobs_present;
        self.bytes_copied += o.bytes_copied;
        self.referrers += o.referrers;
    }
}

/// Whether a media type is an index (OCI image index or Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    media_type == media_type::IMAGE_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// The descriptors a manifest or index names: `(children manifests, blobs)`.
fn parts(
    what: &str,
    bytes: &[u8],
    mt: &str,
) -> Result<(Vec<Descriptor>, Vec<Descriptor>), OciError> {
    let bad = |message: String| OciError::BadJson {
        what: what.to_string(),
        message,
    };
    let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let list = |key: &str| -> Result<Vec<Descriptor>, OciError> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(x) => serde_json::from_value(x.clone()).map_err(|e| bad(format!("`{key}`: {e}"))),
        }
    };
    if is_index(mt) {
        return Ok((list("manifests")?, Vec::new()));
    }
    let mut blobs = Vec::new();
    match v.get("config") {
        Some(c) => blobs
            .push(serde_json::from_value(c.clone()).map_err(|e| bad(format!("`config`: {e}")))?),
        None => return Err(bad("there is no `config`".to_string())),
    }
    blobs.extend(list("layers")?);
    Ok((Vec::new(), blobs))
}

/// Copies the manifest or index `digest` from `src` to `dst`, byte for byte, with everything
/// it names (child manifests of an index, config and layer blobs), then its referrers and
/// cosign `.sig` / `.att` tags (for the index and for every child), and finally points `tag`
/// at it when given (moving the tag if it named other content).
pub fn copy_tree(
    src: &dyn Store,
    dst: &dyn Store,
    digest: &Digest,
    tag: Option<&str>,
    progress: &dyn Progress,
) -> Result<CopyStats, StoreError> {
    let mut seen = BTreeSet::new();
    copy_at(src, dst, digest, tag, progress, 0, &mut seen)
}

fn copy_at(
    src: &dyn Store,
    dst: &dyn Store,
    digest: &Digest,
    tag: Option<&str>,
    progress: &dyn Progress,
    depth: usize,
    seen: &mut BTreeSet<Digest>,
) -> Result<CopyStats, StoreError> {
    let what = format!("manifest `{digest}` in `{}`", src.location());
    if depth > MAX_DEPTH {
        return Err(OciError::BadJson {
            what,
            message: format!("indexes and referrers nest deeper than {MAX_DEPTH} levels"),
        }
        .into());
    }
    let mut stats = CopyStats::default();
    let bytes = src.get_manifest(digest)?;
    let mt = media_type_of(&bytes);
    let (children, blobs) = parts(&what, &bytes, &mt)?;
    if seen.insert(digest.clone()) {
        for child in &children {
            let s = copy_at(src, dst, &child.digest, None, progress, depth + 1, seen)?;
            stats.add(&s);
        }
        for b in &blobs {
            progress.event(Event::BytesPlanned { bytes: b.size });
            if dst.has_blob(b)? {
                stats.blobs_present += 1;
            } else {
                let data = src.get_blob(b)?;
                dst.put_blob(&data)?;
                stats.blobs_copied += 1;
                stats.bytes_copied += b.size;
            }
            progress.event(Event::Bytes { bytes: b.size });
        }
        dst.put_manifest(&bytes, &mt, None)?;
        stats.manifests += 1;
        let r = copy_referrers(src, dst, digest, progress, depth, seen)?;
        stats.add(&r);
    }
    if let Some(t) = tag {
        dst.put_manifest(&bytes, &mt, Some(t))?;
    }
    Ok(stats)
}

/// Copies the referrers of `digest` and its cosign `.sig` / `.att` tags.
fn copy_referrers(
    src: &dyn Store,
    dst: &dyn Store,
    digest: &Digest,
    progress: &dyn Progress,
    depth: usize,
    seen: &mut BTreeSet<Digest>,
) -> Result<CopyStats, StoreError> {
    let mut stats = CopyStats::default();
    let refs = src.referrers(digest)?;
    for r in &refs {
        let s = copy_at(src, dst, &r.digest, None, progress, depth + 1, seen)?;
        stats.add(&s);
        stats.referrers += 1;
    }
    if !refs.is_empty() {
        let tag = referrers_tag(digest);
        match src.resolve(&tag)? {
            Some(idx) if idx.media_type == media_type::IMAGE_INDEX => {
                let bytes = src.get_manifest(&idx.digest)?;
                // The fallback index as the source has it, when it lists what was copied.
                let what = format!("the referrers index `{tag}` in `{}`", src.location());
                let listed = Index::from_json(&what, &bytes)?;
                if refs
                    .iter()
                    .all(|r| listed.manifests.iter().any(|m| m.digest == r.digest))
                {
                    dst.put_manifest(&bytes, &idx.media_type, Some(&tag))?;
                } else {
                    for r in &refs {
                        dst.add_referrer(digest, r)?;
                    }
                }
            }
            _ => {
                for r in &refs {
                    dst.add_referrer(digest, r)?;
                }
            }
        }
    }
    for suffix in ["sig", "att"] {
        let t = format!("{}.{suffix}", referrers_tag(digest));
        if let Some(d) = src.resolve(&t)? {
            let s = copy_at(src, dst, &d.digest, Some(&t), progress, depth + 1, seen)?;
            stats.add(&s);
            stats.referrers += 1;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::store::write_image;
    use crate::oci::{Image, Layout, Manifest};
    use std::sync::Mutex;

    fn image(store: &dyn Store, seed: &str, subject: Option<Descriptor>) -> Descriptor {
        let cfg = format!("{{\"os\":\"linux\",\"seed\":\"{seed}\"}}").into_bytes();
        let layer = format!("layer {seed}").into_bytes();
        let mut m = Manifest::new(
            Descriptor::of("application/vnd.oci.image.config.v1+json", &cfg),
            vec![Descriptor::of(
                "application/vnd.oci.image.layer.v1.tar+gzip",
                &layer,
            )],
        );
        if subject.is_some() {
            m.artifact_type = Some("application/vnd.example.sig".into());
        }
        m.subject = subject;
        let img = Image::new(m, vec![cfg, layer]).unwrap();
        write_image(store, &img, None).unwrap()
    }

    #[derive(Default)]
    struct Count(Mutex<(u64, u64)>);
    impl Progress for Count {
        fn event(&self, e: Event<'_>) {
            let mut g = self.0.lock().unwrap();
            match e {
                Event::BytesPlanned { bytes } => g.0 += bytes,
                Event::Bytes { bytes } => g.1 += bytes,
                _ => {}
            }
        }
    }

    #[test]
    fn indexes_children_blobs_referrers_and_cosign_tags_are_copied_byte_for_byte() {
        let tmp = tempfile::tempdir().unwrap();
        let src = Layout::create(&tmp.path().join("src")).unwrap();
        let dst = Layout::create(&tmp.path().join("dst")).unwrap();
        let amd = image(&src, "amd64", None);
        let arm = image(&src, "arm64", None);
        // An index as another tool writes it: whitespace and key order of its own.
        let index = format!(
            "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{}\",\n  \"manifests\": [\n    {{\"mediaType\":\"{}\",\"size\":{},\"digest\":\"{}\",\"platform\":{{\"os\":\"linux\",\"architecture\":\"amd64\"}}}},\n    {{\"mediaType\":\"{}\",\"size\":{},\"digest\":\"{}\",\"platform\":{{\"os\":\"linux\",\"architecture\":\"arm64\"}}}}\n  ]\n}}\n",
            media_type::IMAGE_INDEX,
            amd.media_type,
            amd.size,
            amd.digest,
            arm.media_type,
            arm.size,
            arm.digest
        );
        let idx = src
            .put_manifest(index.as_bytes(), media_type::IMAGE_INDEX, Some("1.0"))
            .unwrap();
        let sig = image(&src, "signature", Some(idx.clone()));
        src.add_referrer(&idx.digest, &sig).unwrap();
        let cosign = image(&src, "cosign", None);
        let cosign_tag = format!("{}.sig", referrers_tag(&idx.digest));
        src.put_manifest(
            &src.get_manifest(&cosign.digest).unwrap(),
            media_type::IMAGE_MANIFEST,
            Some(&cosign_tag),
        )
        .unwrap();

        let count = Count::default();
        let stats = copy_tree(&src, &dst, &idx.digest, Some("1.0"), &count).unwrap();
        assert_eq!(stats.manifests, 5, "{stats:?}");
        assert_eq!(stats.referrers, 2, "{stats:?}");
        assert_eq!(stats.blobs_copied, 8, "{stats:?}");
        let (planned, done) = *count.0.lock().unwrap();
        assert_eq!(planned, done);
        assert_eq!(planned, stats.bytes_copied);
        let d: &dyn Store = &dst;
        assert_eq!(d.resolve("1.0").unwrap().unwrap().digest, idx.digest);
        assert_eq!(d.get_manifest(&idx.digest).unwrap(), index.as_bytes());
        for m in [&amd, &arm, &sig, &cosign] {
            assert_eq!(
                d.get_manifest(&m.digest).unwrap(),
                src.get_manifest(&m.digest).unwrap()
            );
            let img = crate::oci::store::read_image(d, &m.digest).unwrap();
            assert_eq!(img.digest(), &m.digest);
        }
        assert_eq!(d.referrers(&idx.digest).unwrap(), vec![sig.clone()]);
        assert_eq!(
            d.resolve(&cosign_tag).unwrap().unwrap().digest,
            cosign.digest
        );

        // A second copy writes no blob.
        let again = copy_tree(&src, &dst, &idx.digest, Some("1.0"), &NoProgress).unwrap();
        assert_eq!(again.blobs_copied, 0);
        assert_eq!(again.blobs_present, 8);
    }

    #[test]
    fn missing_content_and_bad_manifests_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let src = Layout::create(&tmp.path().join("src")).unwrap();
        let dst = Layout::create(&tmp.path().join("dst")).unwrap();
        let e = copy_tree(&src, &dst, &Digest::of(b"nothing"), None, &NoProgress).unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
        let d = src
            .put_manifest(
                br#"{"schemaVersion":2,"layers":[]}"#,
                media_type::IMAGE_MANIFEST,
                None,
            )
            .unwrap();
        let e = copy_tree(&src, &dst, &d.digest, None, &NoProgress).unwrap_err();
        assert!(e.to_string().contains("config"), "{e}");
        // A child that is not there.
        let idx = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{}","size":3}}]}}"#,
            media_type::IMAGE_INDEX,
            media_type::IMAGE_MANIFEST,
            Digest::of(b"abc")
        );
        let d = src
            .put_manifest(idx.as_bytes(), media_type::IMAGE_INDEX, None)
            .unwrap();
        let e = copy_tree(&src, &dst, &d.digest, None, &NoProgress).unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
        assert!(dst.find_tag("x").unwrap().is_none());
    }
}
