//! OCI image layout folders (`oci:DIR:TAG`): `oci-layout`, `index.json` and `blobs/sha256/`.
//!
//! Writing puts every blob first and `index.json` last, each file whole (temporary file, fsync,
//! rename), so a reader never sees a tag whose content is not all there. Writing the same
//! content under the same tag again changes nothing; a tag already naming other content is
//! refused unless forced. Reading resolves a tag, then checks the size and digest of the
//! manifest and of every blob before handing anything out, within size limits, and never
//! follows a symbolic link or opens anything but a regular file.
//!
//! Several writers on one layout at the same time are not coordinated: the last `index.json`
//! written wins (the blobs of the others stay and can be tagged again).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{Descriptor, Digest, Image, Manifest, OciError, annotation, media_type};

/// The `oci-layout` file name.
pub const LAYOUT_FILE: &str = "oci-layout";
/// The index file name.
pub const INDEX_FILE: &str = "index.json";
/// The only layout version there is.
pub const LAYOUT_VERSION: &str = "1.0.0";

/// A layout folder and an optional tag, written `oci:DIR[:TAG]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutRef {
    /// The layout folder.
    pub dir: PathBuf,
    /// The tag, when given.
    pub tag: Option<String>,
}

impl LayoutRef {
    /// Parses `oci:DIR` or `oci:DIR:TAG`. The tag is what follows the last `:`, when that is a
    /// valid tag; registry references (`oci://…`) are refused with a hint.
    pub fn parse(text: &str) -> Result<LayoutRef, OciError> {
        let bad = |reason: &str| OciError::BadReference {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let Some(rest) = text.strip_prefix("oci:") else {
            return Err(bad("it does not start with `oci:`"));
        };
        if rest.starts_with("//") {
            return Err(bad(
                "registry references (`oci://…`) are not supported by this build; write to an OCI image layout folder",
            ));
        }
        if rest.is_empty() {
            return Err(bad("the folder is missing after `oci:`"));
        }
        match rest.rsplit_once(':') {
            Some((dir, tag)) if !dir.is_empty() && !tag.contains(['/', '\\']) => {
                validate_tag(tag)?;
                Ok(LayoutRef {
                    dir: PathBuf::from(dir),
                    tag: Some(tag.to_string()),
                })
            }
            _ => Ok(LayoutRef {
                dir: PathBuf::from(rest),
                tag: None,
            }),
        }
    }
}

impl std::fmt::Display for LayoutRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci:{}", self.dir.display())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        Ok(())
    }
}

/// Checks a tag against the distribution spec: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), OciError> {
    let bad = |reason: &str| OciError::BadTag {
        tag: tag.chars().take(140).collect(),
        reason: reason.to_string(),
    };
    let b = tag.as_bytes();
    if b.is_empty() {
        return Err(bad("it is empty"));
    }
    if b.len() > 128 {
        return Err(bad("it is longer than 128 characters"));
    }
    if !(b[0].is_ascii_alphanumeric() || b[0] == b'_') {
        return Err(bad("it must start with a letter, a digit or `_`"));
    }
    if let Some(c) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(if c == '+' {
            bad("`+` is not allowed in tags; Helm and bpkit write build metadata as `_`")
        } else {
            bad(&format!("`{c}` is not allowed"))
        });
    }
    Ok(())
}

/// The tag for a version: the version with `+` (build metadata) written as `_`, as Helm does.
pub fn tag_for_version(version: &str) -> String {
    version.replace('+', "_")
}

/// Size limits for reading a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// The largest manifest (4 MiB, what registries accept).
    pub max_manifest_bytes: u64,
    /// The largest `index.json` or `oci-layout`.
    pub max_index_bytes: u64,
    /// The largest config or layer blob.
    pub max_blob_bytes: u64,
    /// The largest sum of the config and layer blobs.
    pub max_total_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_manifest_bytes: 4 << 20,
            max_index_bytes: 16 << 20,
            max_blob_bytes: 128 << 20,
            max_total_bytes: 256 << 20,
        }
    }
}

/// How to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Move a tag that already names other content.
    pub force: bool,
}

/// What a write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The manifest digest now tagged.
    pub digest: Digest,
    /// How many blobs (manifest included) were written; 0 when all were there already.
    pub blobs_written: usize,
    /// Whether `index.json` changed.
    pub index_updated: bool,
    /// The manifest the tag named before, when a forced write moved it.
    pub replaced: Option<Digest>,
}

/// An OCI image layout folder.
#[derive(Clone, Debug)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// Opens an existing layout (the folder must have an `oci-layout` file of version 1.0.0).
    pub fn open(dir: &Path) -> Result<Layout, OciError> {
        let not = |reason: String, help: Option<&str>| OciError::NotALayout {
            dir: dir.to_path_buf(),
            reason,
            help: help.map(str::to_string),
        };
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(not("it is not a folder".into(), None)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(not("the folder does not exist".into(), None));
            }
            Err(e) => return Err(OciError::io("read", dir, e)),
        }
        let layout = Layout {
            dir: dir.to_path_buf(),
        };
        layout.check_layout_file()?;
        Ok(layout)
    }

    /// Opens a layout, creating it when the folder does not exist or is empty. A folder with
    /// other content and no `oci-layout` file is refused.
    pub fn create(dir: &Path) -> Result<Layout, OciError> {
        let layout = Layout {
            dir: dir.to_path_buf(),
        };
        match std::fs::symlink_metadata(dir.join(LAYOUT_FILE)) {
            Ok(_) => return Layout::open(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(OciError::io("read", dir.join(LAYOUT_FILE), e)),
        }
        match std::fs::read_dir(dir) {
            Ok(mut rd) => {
                if rd.next().is_some() {
                    return Err(OciError::NotALayout {
                        dir: dir.to_path_buf(),
                        reason: format!("the folder has other content and no `{LAYOUT_FILE}` file"),
                        help: Some("write to a new or empty folder".into()),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(|e| OciError::io("create", dir, e))?;
            }
            Err(e) => return Err(OciError::io("read", dir, e)),
        }
        let body = format!(r#"{{"imageLayoutVersion":"{LAYOUT_VERSION}"}}"#);
        write_file(&dir.join(LAYOUT_FILE), body.as_bytes())?;
        Ok(layout)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of a blob.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    fn check_layout_file(&self) -> Result<(), OciError> {
        let path = self.dir.join(LAYOUT_FILE);
        let not = |reason: String| OciError::NotALayout {
            dir: self.dir.clone(),
            reason,
            help: Some(format!(
                "an OCI image layout has an `{LAYOUT_FILE}` file with `{{\"imageLayoutVersion\":\"{LAYOUT_VERSION}\"}}`"
            )),
        };
        let bytes = match read_regular(&path, 4096, LAYOUT_FILE) {
            Ok(b) => b,
            Err(ReadFail::Missing) => return Err(not(format!("it has no `{LAYOUT_FILE}` file"))),
            Err(ReadFail::Other(e)) => return Err(e),
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| OciError::BadJson {
            what: format!("`{}`", path.display()),
            message: e.to_string(),
        })?;
        match v.get("imageLayoutVersion").and_then(Value::as_str) {
            Some(LAYOUT_VERSION) => Ok(()),
            Some(other) => Err(not(format!(
                "`{LAYOUT_FILE}` has `imageLayoutVersion` `{}`, expected `{LAYOUT_VERSION}`",
                other.chars().take(40).collect::<String>()
            ))),
            None => Err(not(format!("`{LAYOUT_FILE}` has no `imageLayoutVersion`"))),
        }
    }

    /// Reads `index.json` (an empty index when the file does not exist yet).
    fn load_index(&self, limits: &ReadLimits) -> Result<Map<String, Value>, OciError> {
        let path = self.dir.join(INDEX_FILE);
        let bytes = match read_regular(&path, limits.max_index_bytes, INDEX_FILE) {
            Ok(b) => b,
            Err(ReadFail::Missing) => {
                let mut m = Map::new();
                m.insert("schemaVersion".into(), json!(2));
                m.insert("mediaType".into(), json!(media_type::IMAGE_INDEX));
                m.insert("manifests".into(), json!([]));
                return Ok(m);
            }
            Err(ReadFail::Other(e)) => return Err(e),
        };
        let what = format!("`{}`", path.display());
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| OciError::BadJson {
            what: what.clone(),
            message: e.to_string(),
        })?;
        let bad = |message: &str| OciError::BadJson {
            what: what.clone(),
            message: message.to_string(),
        };
        let Value::Object(m) = v else {
            return Err(bad("expected a JSON object"));
        };
        if m.get("schemaVersion") != Some(&json!(2)) {
            return Err(bad("`schemaVersion` must be 2"));
        }
        match m.get("manifests") {
            Some(Value::Array(_)) => Ok(m),
            _ => Err(bad("`manifests` must be an array")),
        }
    }

    /// Every tagged manifest: `(tag, descriptor)` in index order. Entries without a tag are
    /// left out; an entry that is not a valid descriptor is an error.
    pub fn tags(&self) -> Result<Vec<(String, Descriptor)>, OciError> {
        let index = self.load_index(&ReadLimits::default())?;
        let mut out = Vec::new();
        for (i, e) in manifests(&index).iter().enumerate() {
            let Some(tag) = ref_name(e) else { continue };
            out.push((tag.to_string(), self.entry_descriptor(i, e)?));
        }
        Ok(out)
    }

    fn entry_descriptor(&self, i: usize, e: &Value) -> Result<Descriptor, OciError> {
        serde_json::from_value(e.clone()).map_err(|err| OciError::BadJson {
            what: format!(
                "entry {i} of `manifests` in `{}`",
                self.dir.join(INDEX_FILE).display()
            ),
            message: err.to_string(),
        })
    }

    /// The manifest descriptor a tag names. With no tag, the layout must hold exactly one
    /// manifest.
    pub fn resolve(&self, tag: Option<&str>, limits: &ReadLimits) -> Result<Descriptor, OciError> {
        let index = self.load_index(limits)?;
        let entries = manifests(&index);
        let known: Vec<&str> = entries.iter().filter_map(ref_name).collect();
        let Some(tag) = tag else {
            return match entries {
                [one] => self.entry_descriptor(0, one),
                _ => Err(OciError::TagNotFound {
                    tag: String::new(),
                    layout: self.dir.clone(),
                    help: Some(format!(
                        "the layout holds {} manifests; name one as `oci:DIR:TAG` ({})",
                        entries.len(),
                        list_tags(&known)
                    )),
                }),
            };
        };
        validate_tag(tag)?;
        let mut found: Option<Descriptor> = None;
        for (i, e) in entries.iter().enumerate() {
            if ref_name(e) != Some(tag) {
                continue;
            }
            let d = self.entry_descriptor(i, e)?;
            match &found {
                Some(prev) if prev.digest != d.digest => {
                    return Err(OciError::BadJson {
                        what: format!("`{}`", self.dir.join(INDEX_FILE).display()),
                        message: format!(
                            "tag `{tag}` names two manifests, `{}` and `{}`",
                            prev.digest, d.digest
                        ),
                    });
                }
                Some(_) => {}
                None => found = Some(d),
            }
        }
        found.ok_or_else(|| OciError::TagNotFound {
            tag: tag.to_string(),
            layout: self.dir.clone(),
            help: Some(if known.is_empty() {
                "the layout has no tags yet; write one with `bpkit push`".to_string()
            } else {
                format!("tags in the layout: {}", list_tags(&known))
            }),
        })
    }

    /// Resolves a tag and reads the manifest alone (no blob): its descriptor, its bytes
    /// (checked against the descriptor's size and digest, within the manifest limit) and the
    /// parsed manifest.
    pub fn read_manifest(
        &self,
        tag: Option<&str>,
        limits: &ReadLimits,
    ) -> Result<(Descriptor, Vec<u8>, Manifest), OciError> {
        let desc = self.resolve(tag, limits)?;
        if desc.media_type != media_type::IMAGE_MANIFEST {
            return Err(OciError::BadManifest {
                what: format!("manifest `{}`", desc.digest),
                message: format!(
                    "the index lists it as `{}`, expected `{}`",
                    desc.media_type,
                    media_type::IMAGE_MANIFEST
                ),
            });
        }
        let what = format!("manifest `{}`", desc.digest);
        if desc.size > limits.max_manifest_bytes {
            return Err(OciError::TooLarge {
                what,
                size: desc.size,
                limit: limits.max_manifest_bytes,
            });
        }
        let manifest_json = self.read_blob(&desc, &what)?;
        let manifest = Manifest::from_json(&what, &manifest_json)?;
        Ok((desc, manifest_json, manifest))
    }

    /// Resolves a tag and reads the manifest and every blob it names, checking each size and
    /// digest (and the limits) before returning.
    pub fn read(&self, tag: Option<&str>, limits: &ReadLimits) -> Result<Image, OciError> {
        let (_, manifest_json, manifest) = self.read_manifest(tag, limits)?;
        let mut seen: Vec<&Digest> = Vec::new();
        let mut blobs = Vec::new();
        let mut total = 0u64;
        let named = std::iter::once(("config".to_string(), &manifest.config)).chain(
            manifest
                .layers
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("layer {} (`{}`)", i + 1, d.media_type), d)),
        );
        for (role, d) in named {
            if seen.contains(&&d.digest) {
                continue;
            }
            seen.push(&d.digest);
            let what = format!("{role} `{}`", d.digest);
            if d.size > limits.max_blob_bytes {
                return Err(OciError::TooLarge {
                    what,
                    size: d.size,
                    limit: limits.max_blob_bytes,
                });
            }
            total = total.saturating_add(d.size);
            if total > limits.max_total_bytes {
                return Err(OciError::TooLarge {
                    what: "the artifact's blobs together".into(),
                    size: total,
                    limit: limits.max_total_bytes,
                });
            }
            blobs.push(self.read_blob(d, &what)?);
        }
        Image::from_parts(manifest_json, blobs)
    }

    /// The file of a blob, for reading it as a stream: a regular file (not a link) of the
    /// descriptor's size. Its digest is not checked here: whoever reads it must hash what it
    /// reads (see [`Hasher`](super::Hasher)).
    pub fn blob_file(&self, d: &Descriptor) -> Result<PathBuf, OciError> {
        let path = self.blob_path(&d.digest);
        self.check_blob_file(d, &path, &format!("blob `{}`", d.digest))?;
        Ok(path)
    }

    fn check_blob_file(&self, d: &Descriptor, path: &Path, what: &str) -> Result<(), OciError> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(OciError::BlobMissing {
                    digest: d.digest.to_string(),
                    location: format!("`{}`", self.dir.display()),
                });
            }
            Err(e) => return Err(OciError::io("read", path, e)),
        };
        if !meta.is_file() {
            return Err(not_regular(&self.dir, path));
        }
        if meta.len() != d.size {
            return Err(OciError::SizeMismatch {
                what: what.to_string(),
                expected: d.size,
                actual: meta.len(),
            });
        }
        Ok(())
    }

    /// A writer for the blob `d`: the bytes go to a temporary file beside the blob's place,
    /// hashed and counted as they come; [`BlobWriter::finish`] checks the size and digest
    /// before renaming it into place. Nothing is left behind when it is dropped unfinished.
    pub fn blob_writer(&self, d: &Descriptor) -> Result<BlobWriter, OciError> {
        let path = self.blob_path(&d.digest);
        let dir = path.parent().unwrap_or(&self.dir).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| OciError::io("create", &dir, e))?;
        let file = tempfile::Builder::new()
            .prefix(&format!(".{}.", d.digest.hex()))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| OciError::io("create", &dir, e))?;
        Ok(BlobWriter {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher: super::Hasher::new(),
            written: 0,
            expected: d.clone(),
            path,
        })
    }

    /// Reads one blob and checks it against its descriptor.
    fn read_blob(&self, d: &Descriptor, what: &str) -> Result<Vec<u8>, OciError> {
        let path = self.blob_path(&d.digest);
        self.check_blob_file(d, &path, what)?;
        let bytes = match read_regular(&path, d.size, what) {
            Ok(b) => b,
            Err(ReadFail::Missing) => {
                return Err(OciError::BlobMissing {
                    digest: d.digest.to_string(),
                    location: format!("`{}`", self.dir.display()),
                });
            }
            Err(ReadFail::Other(OciError::TooLarge { size, .. })) => {
                return Err(OciError::SizeMismatch {
                    what: what.to_string(),
                    expected: d.size,
                    actual: size,
                });
            }
            Err(ReadFail::Other(e)) => return Err(e),
        };
        if bytes.len() as u64 != d.size {
            return Err(OciError::SizeMismatch {
                what: what.to_string(),
                expected: d.size,
                actual: bytes.len() as u64,
            });
        }
        let actual = Digest::of(&bytes);
        if actual != d.digest {
            return Err(OciError::DigestMismatch {
                what: what.to_string(),
                expected: d.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(bytes)
    }

    /// Whether a blob is present with the right content.
    fn has_blob(&self, digest: &Digest, size: u64) -> bool {
        let path = self.blob_path(digest);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() && m.len() == size => {
                matches!(read_regular(&path, size, "blob"), Ok(b) if Digest::of(&b) == *digest)
            }
            _ => false,
        }
    }

    /// Writes a blob unless it is there already; returns whether it wrote.
    fn put_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<bool, OciError> {
        if self.has_blob(digest, bytes.len() as u64) {
            return Ok(false);
        }
        let path = self.blob_path(digest);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| OciError::io("create", parent, e))?;
        }
        write_file(&path, bytes)?;
        Ok(true)
    }

    /// Writes an image under `tag`: blobs first, `index.json` last.
    pub fn write(
        &self,
        image: &Image,
        tag: &str,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome, OciError> {
        validate_tag(tag)?;
        // Refuse a conflicting tag before writing anything.
        self.check_tag(tag, image.digest(), opts)?;
        let mut blobs_written = 0;
        for (d, bytes) in image.blobs() {
            blobs_written += usize::from(self.put_blob(d, bytes)?);
        }
        blobs_written += usize::from(self.put_blob(image.digest(), image.manifest_json())?);
        let (index_updated, replaced) = self.set_tag(&image.descriptor(), tag, opts)?;
        Ok(WriteOutcome {
            digest: image.digest().clone(),
            blobs_written,
            index_updated,
            replaced,
        })
    }

    /// Refuses, unless `opts.force`, when `tag` already names a manifest other than `digest`
    /// (what [`Layout::write`] checks before writing anything).
    pub fn check_tag(
        &self,
        tag: &str,
        digest: &Digest,
        opts: &WriteOptions,
    ) -> Result<(), OciError> {
        if opts.force {
            return Ok(());
        }
        let index = self.load_index(&ReadLimits::default())?;
        for e in manifests(&index) {
            if ref_name(e) != Some(tag) {
                continue;
            }
            let found = e
                .get("digest")
                .and_then(Value::as_str)
                .and_then(|d| Digest::parse(d).ok());
            if found.as_ref() != Some(digest) {
                return Err(OciError::TagConflict {
                    tag: tag.to_string(),
                    layout: self.dir.clone(),
                    existing: found
                        .map_or_else(|| "an invalid digest".to_string(), |d| d.to_string()),
                    new: digest.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Points `tag` at the manifest `desc` in `index.json` (the manifest must be stored
    /// already). Returns whether the index changed and the manifest the tag named before,
    /// when it moved. A tag naming other content is refused unless `opts.force`.
    pub fn set_tag(
        &self,
        desc: &Descriptor,
        tag: &str,
        opts: &WriteOptions,
    ) -> Result<(bool, Option<Digest>), OciError> {
        validate_tag(tag)?;
        let mut index = self.load_index(&ReadLimits::default())?;
        let entries = manifests(&index);
        let mut positions = Vec::new();
        let mut replaced: Option<Digest> = None;
        let mut differs = false;
        for (i, e) in entries.iter().enumerate() {
            if ref_name(e) != Some(tag) {
                continue;
            }
            positions.push(i);
            let digest = e
                .get("digest")
                .and_then(Value::as_str)
                .and_then(|d| Digest::parse(d).ok());
            if digest.as_ref() != Some(&desc.digest) {
                differs = true;
                let existing =
                    digest.map_or_else(|| "an invalid digest".to_string(), |d| d.to_string());
                if !opts.force {
                    return Err(OciError::TagConflict {
                        tag: tag.to_string(),
                        layout: self.dir.clone(),
                        existing,
                        new: desc.digest.to_string(),
                    });
                }
                replaced = Digest::parse(&existing).ok();
            }
        }
        if positions.len() == 1 && !differs {
            return Ok((false, None));
        }
        let entry = serde_json::to_value(desc.clone().with_annotation(annotation::REF_NAME, tag))
            .map_err(|e| OciError::BadJson {
            what: "the new index entry".into(),
            message: e.to_string(),
        })?;
        if let Some(Value::Array(list)) = index.get_mut("manifests") {
            match positions.first() {
                Some(&first) => {
                    for &p in positions.iter().skip(1).rev() {
                        list.remove(p);
                    }
                    list[first] = entry;
                }
                None => list.push(entry),
            }
        }
        let bytes = serde_json::to_vec(&Value::Object(index)).map_err(|e| OciError::BadJson {
            what: "the new index".into(),
            message: e.to_string(),
        })?;
        write_file(&self.dir.join(INDEX_FILE), &bytes)?;
        Ok((true, replaced))
    }

    /// The manifest descriptor `tag` names, or `None` when the layout has no such tag.
    pub fn find_tag(&self, tag: &str) -> Result<Option<Descriptor>, OciError> {
        match self.resolve(Some(tag), &ReadLimits::default()) {
            Ok(d) => Ok(Some(d)),
            Err(OciError::TagNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads the bytes of a stored blob (a manifest, an index, a config or a layer) of
    /// `digest`, at most `limit` bytes, checking its digest.
    pub fn read_blob_by_digest(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, OciError> {
        let path = self.blob_path(digest);
        let what = format!("blob `{digest}`");
        let bytes = match read_regular(&path, limit, &what) {
            Ok(b) => b,
            Err(ReadFail::Missing) => {
                return Err(OciError::BlobMissing {
                    digest: digest.to_string(),
                    location: format!("`{}`", self.dir.display()),
                });
            }
            Err(ReadFail::Other(e)) => return Err(e),
        };
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(OciError::DigestMismatch {
                what,
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(bytes)
    }

    /// Reads a blob and checks it against its descriptor (size and digest).
    pub fn read_described(&self, d: &Descriptor) -> Result<Vec<u8>, OciError> {
        self.read_blob(d, &format!("blob `{}`", d.digest))
    }

    /// Whether the blob `digest` is present with `size` bytes and the right content.
    pub fn contains_blob(&self, digest: &Digest, size: u64) -> bool {
        self.has_blob(digest, size)
    }

    /// Stores `bytes` as a blob unless it is there already; returns its digest and whether
    /// it was written.
    pub fn store_blob(&self, bytes: &[u8]) -> Result<(Digest, bool), OciError> {
        let d = Digest::of(bytes);
        let wrote = self.put_blob(&d, bytes)?;
        Ok((d, wrote))
    }
}

/// A blob being written into a layout (see [`Layout::blob_writer`]).
pub struct BlobWriter {
    file: std::io::BufWriter<tempfile::NamedTempFile>,
    hasher: super::Hasher,
    written: u64,
    expected: Descriptor,
    path: PathBuf,
}

impl BlobWriter {
    /// Appends `data`; refuses to go past the descriptor's size.
    pub fn write(&mut self, data: &[u8]) -> Result<(), OciError> {
        use std::io::Write;
        let after = self.written.saturating_add(data.len() as u64);
        if after > self.expected.size {
            return Err(OciError::SizeMismatch {
                what: format!("blob `{}`", self.expected.digest),
                expected: self.expected.size,
                actual: after,
            });
        }
        self.file
            .write_all(data)
            .map_err(|e| OciError::io("write", &self.path, e))?;
        self.hasher.update(data);
        self.written = after;
        Ok(())
    }

    /// Checks the size and digest of what was written, flushes it to disk, and renames it
    /// into place.
    pub fn finish(self) -> Result<(), OciError> {
        let what = format!("blob `{}`", self.expected.digest);
        if self.written != self.expected.size {
            return Err(OciError::SizeMismatch {
                what,
                expected: self.expected.size,
                actual: self.written,
            });
        }
        let actual = self.hasher.finish();
        if actual != self.expected.digest {
            return Err(OciError::DigestMismatch {
                what,
                expected: self.expected.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        let path = self.path;
        let tmp = self
            .file
            .into_inner()
            .map_err(|e| OciError::io("write", &path, e.into_error()))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| OciError::io("write", &path, e))?;
        tmp.persist(&path)
            .map_err(|e| OciError::io("write", &path, e.error))?;
        Ok(())
    }
}

fn manifests(index: &Map<String, Value>) -> &[Value] {
    index
        .get("manifests")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn ref_name(entry: &Value) -> Option<&str> {
    entry
        .get("annotations")?
        .get(annotation::REF_NAME)?
        .as_str()
}

fn list_tags(tags: &[&str]) -> String {
    if tags.is_empty() {
        return "no tags".into();
    }
    let mut shown: Vec<String> = tags.iter().take(10).map(|t| format!("`{t}`")).collect();
    if tags.len() > 10 {
        shown.push(format!("and {} more", tags.len() - 10));
    }
    shown.join(", ")
}

fn not_regular(dir: &Path, path: &Path) -> OciError {
    OciError::NotALayout {
        dir: dir.to_path_buf(),
        reason: format!(
            "`{}` is not a regular file",
            path.strip_prefix(dir).unwrap_or(path).display()
        ),
        help: Some("layouts hold plain files only; links and special files are refused".into()),
    }
}

enum ReadFail {
    Missing,
    Other(OciError),
}

/// Reads a regular file (not a link, not a special file) of at most `limit` bytes.
fn read_regular(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, ReadFail> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadFail::Missing),
        Err(e) => return Err(ReadFail::Other(OciError::io("read", path, e))),
    };
    if !meta.is_file() {
        let dir = path.parent().unwrap_or(path);
        return Err(ReadFail::Other(not_regular(dir, path)));
    }
    if meta.len() > limit {
        return Err(ReadFail::Other(OciError::TooLarge {
            what: what.to_string(),
            size: meta.len(),
            limit,
        }));
    }
    let f =
        std::fs::File::open(path).map_err(|e| ReadFail::Other(OciError::io("read", path, e)))?;
    let mut buf = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| ReadFail::Other(OciError::io("read", path, e)))?;
    if buf.len() as u64 > limit {
        return Err(ReadFail::Other(OciError::TooLarge {
            what: what.to_string(),
            size: buf.len() as u64,
            limit,
        }));
    }
    Ok(buf)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OciError> {
    crate::atomic::write_file(path, bytes).map_err(|e| OciError::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(content: &[u8]) -> Image {
        let cfg = Descriptor::of(media_type::EMPTY, b"{}");
        let layer = Descriptor::of(media_type::BLUEPRINT, content);
        Image::new(
            Manifest::new(cfg, vec![layer]),
            vec![b"{}".to_vec(), content.to_vec()],
        )
        .unwrap()
    }

    #[test]
    fn parse_refs() {
        let r = LayoutRef::parse("oci:./dist:1.2.0").unwrap();
        assert_eq!(r.dir, PathBuf::from("./dist"));
        assert_eq!(r.tag.as_deref(), Some("1.2.0"));
        assert_eq!(r.to_string(), "oci:./dist:1.2.0");
        let r = LayoutRef::parse("oci:/tmp/a:b/c").unwrap();
        assert_eq!(r.dir, PathBuf::from("/tmp/a:b/c"));
        assert_eq!(r.tag, None);
        assert_eq!(LayoutRef::parse("oci:dist").unwrap().tag, None);
        for (bad, want) in [
            ("dist", "does not start with `oci:`"),
            ("oci://ghcr.io/x:1", "registry references"),
            ("oci:", "folder is missing"),
            ("oci:dist:", "it is empty"),
            ("oci:dist:1.0+b", "`+` is not allowed"),
            ("oci:dist:.x", "must start"),
        ] {
            let e = LayoutRef::parse(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
        assert_eq!(tag_for_version("1.0.0+build.1"), "1.0.0_build.1");
        assert!(validate_tag(&"a".repeat(128)).is_ok());
        assert!(validate_tag(&"a".repeat(129)).is_err());
    }

    #[test]
    fn write_read_and_conflicts() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("layout");
        let layout = Layout::create(&dir).unwrap();
        let a = image(b"a: 1\n");
        let out = layout.write(&a, "1.0.0", &WriteOptions::default()).unwrap();
        assert_eq!(out.blobs_written, 3);
        assert!(out.index_updated);
        let index_before = std::fs::read(dir.join(INDEX_FILE)).unwrap();
        // The same content again: nothing written.
        let again = Layout::open(&dir)
            .unwrap()
            .write(&a, "1.0.0", &WriteOptions::default())
            .unwrap();
        assert_eq!((again.blobs_written, again.index_updated), (0, false));
        assert_eq!(std::fs::read(dir.join(INDEX_FILE)).unwrap(), index_before);
        // Another tag for other content.
        let b = image(b"b: 2\n");
        layout.write(&b, "2.0.0", &WriteOptions::default()).unwrap();
        let tags: Vec<String> = layout.tags().unwrap().into_iter().map(|t| t.0).collect();
        assert_eq!(tags, ["1.0.0", "2.0.0"]);
        // A moved tag is refused, then forced.
        let e = layout
            .write(&b, "1.0.0", &WriteOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("already points at"), "{e}");
        let forced = layout
            .write(&b, "1.0.0", &WriteOptions { force: true })
            .unwrap();
        assert_eq!(forced.replaced.as_ref(), Some(a.digest()));
        assert_eq!(
            layout.read(Some("1.0.0"), &ReadLimits::default()).unwrap(),
            b
        );
        assert_eq!(
            layout.read(Some("2.0.0"), &ReadLimits::default()).unwrap(),
            b
        );
        let e = layout
            .read(Some("3.0.0"), &ReadLimits::default())
            .unwrap_err();
        assert!(e.to_string().contains("tag `3.0.0` is not in"), "{e}");
        let e = layout.read(None, &ReadLimits::default()).unwrap_err();
        assert!(format!("{:?}", e).contains("holds 2 manifests"), "{e:?}");
        // A damaged blob is rewritten by the next write, and detected by a read.
        std::fs::write(layout.blob_path(a.digest()), b"junk").unwrap();
        layout.write(&a, "1.0.1", &WriteOptions::default()).unwrap();
        assert_eq!(
            layout.read(Some("1.0.1"), &ReadLimits::default()).unwrap(),
            a
        );
        let layer = &b.manifest().layers[0];
        std::fs::write(layout.blob_path(&layer.digest), b"c: 3\n").unwrap();
        let e = layout
            .read(Some("2.0.0"), &ReadLimits::default())
            .unwrap_err();
        assert!(e.to_string().contains("has digest"), "{e}");
    }

    #[test]
    fn a_tag_with_a_broken_entry_is_replaced_only_when_forced() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::create(tmp.path()).unwrap();
        std::fs::write(
            tmp.path().join(INDEX_FILE),
            r#"{"schemaVersion":2,"manifests":[{"mediaType":"x/y","digest":"md5:0","size":1,"annotations":{"org.opencontainers.image.ref.name":"t"}},{"keep":"me"}]}"#,
        )
        .unwrap();
        let a = image(b"a");
        let e = layout.write(&a, "t", &WriteOptions::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains("already points at `an invalid digest`"),
            "{e}"
        );
        let out = layout
            .write(&a, "t", &WriteOptions { force: true })
            .unwrap();
        assert!(out.index_updated);
        let index: Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join(INDEX_FILE)).unwrap()).unwrap();
        assert_eq!(index["manifests"][0]["digest"], a.digest().to_string());
        assert_eq!(
            index["manifests"][1],
            json!({"keep": "me"}),
            "foreign entries are kept"
        );
        assert_eq!(layout.read(Some("t"), &ReadLimits::default()).unwrap(), a);
    }

    #[test]
    fn create_refuses_foreign_folders() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("x.txt"), "x").unwrap();
        let e = Layout::create(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("no `oci-layout` file"), "{e}");
        let e = Layout::open(&tmp.path().join("nope")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        std::fs::write(
            tmp.path().join(LAYOUT_FILE),
            r#"{"imageLayoutVersion":"2.0.0"}"#,
        )
        .unwrap();
        let e = Layout::open(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("expected `1.0.0`"), "{e}");
    }
}
