//! What can go wrong with digests, manifests and layouts.

use std::path::PathBuf;

/// An error reading or writing OCI content.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum OciError {
    /// A digest that is not `sha256:<64 hex>`.
    #[error("`{digest}` is not a valid digest: {reason}")]
    #[diagnostic(code(bpkit::oci::bad_digest))]
    BadDigest {
        /// The text found.
        digest: String,
        /// Why it is refused.
        reason: String,
    },
    /// JSON that does not parse into the expected shape.
    #[error("{what} is not valid: {message}")]
    #[diagnostic(code(bpkit::oci::bad_json))]
    BadJson {
        /// What was read (`manifest sha256:…`, `index.json`).
        what: String,
        /// The parser's message.
        message: String,
    },
    /// A manifest with the wrong shape.
    #[error("{what} is not a usable image manifest: {message}")]
    #[diagnostic(code(bpkit::oci::bad_manifest))]
    BadManifest {
        /// Which manifest.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A blob named by a descriptor is absent.
    #[error("blob `{digest}` is missing from {location}")]
    #[diagnostic(
        code(bpkit::oci::blob_missing),
        help("the layout is incomplete; write the artifact again with `bpkit push`")
    )]
    BlobMissing {
        /// The digest.
        digest: String,
        /// Where it was looked for.
        location: String,
    },
    /// Content whose size differs from its descriptor.
    #[error("{what} is {actual} bytes, but its descriptor says {expected} bytes")]
    #[diagnostic(
        code(bpkit::oci::size_mismatch),
        help("the content was altered or truncated; do not use it")
    )]
    SizeMismatch {
        /// What was read.
        what: String,
        /// The size in the descriptor.
        expected: u64,
        /// The size found.
        actual: u64,
    },
    /// Content whose digest differs from its descriptor.
    #[error("{what} has digest `{actual}`, but its descriptor says `{expected}`")]
    #[diagnostic(
        code(bpkit::oci::digest_mismatch),
        help("the content was altered; do not use it")
    )]
    DigestMismatch {
        /// What was read.
        what: String,
        /// The digest in the descriptor.
        expected: String,
        /// The digest computed.
        actual: String,
    },
    /// Content larger than a limit.
    #[error("{what} is {size} bytes, more than the limit of {limit} bytes")]
    #[diagnostic(code(bpkit::oci::too_large))]
    TooLarge {
        /// What was read.
        what: String,
        /// Its (declared or actual) size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A target that is not `oci:DIR[:TAG]`.
    #[error("`{text}` is not a usable target: {reason}")]
    #[diagnostic(
        code(bpkit::oci::bad_reference),
        help("write an OCI image layout folder as `oci:DIR:TAG`, e.g. `oci:./dist:1.2.0`")
    )]
    BadReference {
        /// The text given.
        text: String,
        /// Why it is refused.
        reason: String,
    },
    /// A tag that the distribution spec does not allow.
    #[error("`{tag}` is not a valid tag: {reason}")]
    #[diagnostic(
        code(bpkit::oci::bad_tag),
        help("tags are 1 to 128 characters of `A-Za-z0-9_.-`, not starting with `.` or `-`")
    )]
    BadTag {
        /// The tag given.
        tag: String,
        /// Why it is refused.
        reason: String,
    },
    /// A file or folder that could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    #[diagnostic(code(bpkit::oci::io))]
    Io {
        /// What was being done (`read`, `write`, `create`).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A folder that is not an OCI image layout.
    #[error("`{}` is not an OCI image layout: {reason}", dir.display())]
    #[diagnostic(code(bpkit::oci::not_a_layout))]
    NotALayout {
        /// The folder.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// A tag that a layout does not have.
    #[error("tag `{tag}` is not in `{}`", layout.display())]
    #[diagnostic(code(bpkit::oci::tag_not_found))]
    TagNotFound {
        /// The tag asked for.
        tag: String,
        /// The layout folder.
        layout: PathBuf,
        /// The tags it has, as a hint.
        #[help]
        help: Option<String>,
    },
    /// A tag that already names other content.
    #[error("tag `{tag}` in `{}` already points at `{existing}`, not at `{new}`", layout.display())]
    #[diagnostic(
        code(bpkit::oci::tag_conflict),
        help(
            "the content changed but the tag did not: bump the Blueprint version, or pass `--force` to move the tag"
        )
    )]
    TagConflict {
        /// The tag.
        tag: String,
        /// The layout folder.
        layout: PathBuf,
        /// The manifest it names now.
        existing: String,
        /// The manifest being written.
        new: String,
    },
}

impl OciError {
    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> OciError {
        OciError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
