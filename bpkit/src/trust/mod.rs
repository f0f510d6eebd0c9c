//! Signing, verification and attestations of OCI artifacts, compatible with cosign (behind
//! the `sign` cargo feature; the cryptography is `bpkit-signing`'s).
//!
//! Two layouts are written and read, so that both generations of verifiers find them:
//!
//! - **cosign's tag layout**: the tag `sha256-<hex>.sig` of the same repository names an image
//!   manifest with one `application/vnd.dev.cosign.simplesigning.v1+json` layer per signature
//!   (the payload names the signed manifest digest; the layer annotation
//!   `dev.cosignproject.cosign/signature` holds the base64 DER ECDSA signature). Attestations
//!   go to `sha256-<hex>.att`, one DSSE envelope layer per attestation, annotated with its
//!   `predicateType`. A second signature adds a layer rather than replacing.
//! - **OCI 1.1 referrers**: a manifest with `artifactType`
//!   `application/vnd.dev.sigstore.bundle.v0.3+json` whose `subject` is the signed manifest and
//!   whose layer is a Sigstore bundle v0.3 holding a DSSE envelope of an in-toto Statement
//!   (predicate type `https://sigstore.dev/cosign/sign/v1` for signatures, the attested type
//!   for attestations), listed through the referrers API or its fallback tag `sha256-<hex>`.
//!
//! Signing is idempotent: when a valid signature by the same key (same payload, same
//! annotations) is there, nothing is written unless forced. Everything written is
//! deterministic apart from the ECDSA signatures themselves, which are randomised.

mod keys;
pub mod predicate;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::oci::store::{Store, StoreError};
use crate::oci::{Descriptor, Digest, Manifest, media_type};
use bpkit_signing::bundle::{Bundle, BundleContent};
use bpkit_signing::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use bpkit_signing::intoto::{Statement, Subject};
use bpkit_signing::{SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, SimpleSigning};

pub use bpkit_signing::{Signer, Verifier};
pub use keys::{
    PASSWORD_ENV, PASSWORD_ENV_COSIGN, load_signer, load_verifier, read_password, signer_from_pem,
};

/// The media type of a Sigstore bundle v0.3 (the referrer's `artifactType` and layer).
pub const BUNDLE_MEDIA_TYPE: &str = bpkit_signing::bundle::BUNDLE_V03_MEDIA_TYPE;
/// The media type of a DSSE envelope layer in a `.att` manifest.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The layer annotation naming the predicate type of a `.att` layer.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// The predicate type of a signature stored as a bundle (cosign's).
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The referrer manifest annotation naming the bundle's content (`dsse-envelope`).
pub const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// The referrer manifest annotation naming the bundle's predicate type.
pub const BUNDLE_PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The media type of the config of `.sig` and `.att` manifests.
pub const IMAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// The cosign signature tag of a manifest: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm(), digest.hex())
}

/// The cosign attestation tag of a manifest: `sha256-<hex>.att`.
pub fn attestation_tag(digest: &Digest) -> String {
    format!("{}-{}.att", digest.algorithm(), digest.hex())
}

/// Which layouts to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layouts {
    /// The cosign tag layout and a bundle referrer (the default).
    #[default]
    Both,
    /// Only the cosign tag layout (`.sig` / `.att`).
    Tag,
    /// Only the bundle referrer.
    Referrer,
}

impl Layouts {
    fn tag(self) -> bool {
        self != Layouts::Referrer
    }
    fn referrer(self) -> bool {
        self != Layouts::Tag
    }
}

/// How to sign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignOptions {
    /// Annotations signed with the payload (cosign's `-a k=v`, the payload's `optional`).
    pub annotations: BTreeMap<String, String>,
    /// Sign again even when a valid signature by the same key is there (it is replaced).
    pub force: bool,
    /// Which layouts to write.
    pub layouts: Layouts,
}

/// What happened to one layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A new signature or attestation was written.
    Written,
    /// A valid one by the same key was there already; nothing was written.
    Unchanged,
    /// This layout was not asked for.
    Skipped,
}

/// What [`sign`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOutcome {
    /// The signed manifest.
    pub digest: Digest,
    /// The signing key's id (hex SHA-256 of its DER public key).
    pub key_id: String,
    /// The cosign tag layout: what happened, and the `.sig` manifest now tagged.
    pub tag_layout: Change,
    /// The `.sig` manifest digest (when the tag layout was written or found).
    pub signature_manifest: Option<Digest>,
    /// The bundle referrer: what happened.
    pub referrer: Change,
    /// The referrer manifest digest (when written or found).
    pub referrer_manifest: Option<Digest>,
}

/// Where a signature was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A layer of the cosign `.sig` / `.att` manifest.
    Tag,
    /// A Sigstore bundle referrer.
    Referrer,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Tag => "cosign tag layout",
            Source::Referrer => "sigstore bundle referrer",
        })
    }
}

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Where it was found.
    pub source: Source,
    /// The manifest holding it (`.sig` manifest or referrer).
    pub manifest: Digest,
    /// The `docker-reference` it was signed under (tag layout only).
    pub docker_reference: Option<String>,
    /// The signed annotations.
    pub annotations: BTreeMap<String, String>,
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOutcome {
    /// The verified manifest.
    pub digest: Digest,
    /// Every signature by the key that verified.
    pub signatures: Vec<VerifiedSignature>,
    /// Signatures found that did not verify, with the reason (other keys, for example).
    pub rejected: Vec<String>,
}

/// What [`attest`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestOutcome {
    /// The attested manifest.
    pub digest: Digest,
    /// The predicate type.
    pub predicate_type: String,
    /// The `.att` layout.
    pub tag_layout: Change,
    /// The `.att` manifest digest, when written or found.
    pub attestation_manifest: Option<Digest>,
    /// The bundle referrer.
    pub referrer: Change,
    /// The referrer manifest digest, when written or found.
    pub referrer_manifest: Option<Digest>,
}

/// How to attest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttestOptions {
    /// The Statement's subject name (the repository; default: the store's location).
    pub subject_name: Option<String>,
    /// Attest again when the same attestation by the same key is there (it is replaced).
    pub force: bool,
    /// Which layouts to write.
    pub layouts: Layouts,
}

/// An attestation that verified.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedAttestation {
    /// Where it was found.
    pub source: Source,
    /// The manifest holding it.
    pub manifest: Digest,
    /// The verified Statement.
    pub statement: Statement<Value>,
}

impl VerifiedAttestation {
    /// The predicate.
    pub fn predicate(&self) -> &Value {
        &self.statement.predicate
    }
}

/// Why signing, verification or key loading failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum TrustError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// A key, signature or document error from the signing library.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Signing(#[from] bpkit_signing::Error),
    /// No signature at all.
    #[error(
        "`{digest}` in `{location}` is not signed: no `{tag}` tag and no sigstore bundle referrer"
    )]
    #[diagnostic(
        code(bpkit::trust::no_signature),
        help("sign it with `bpkit sign REF --key cosign.key`, or check the reference")
    )]
    NoSignature {
        /// The manifest digest.
        digest: Digest,
        /// The store.
        location: String,
        /// The signature tag looked for.
        tag: String,
    },
    /// Signatures exist, but none by this key.
    #[error(
        "no signature of `{digest}` verifies with key `{key_id}`: {found} signature(s) found, made with another key{hint}"
    )]
    #[diagnostic(
        code(bpkit::trust::other_key),
        help(
            "verify with the public key of whoever signed it, or sign it with this key's private key"
        )
    )]
    OtherKey {
        /// The manifest digest.
        digest: Digest,
        /// The id of the key given.
        key_id: String,
        /// How many signatures were found.
        found: usize,
        /// Key ids named by the signatures, when they name any.
        hint: String,
    },
    /// A signature claims this key but does not verify: the payload was altered.
    #[error(
        "the signature of `{digest}` in {source_} claims key `{key_id}` but does not verify: its payload was altered after signing"
    )]
    #[diagnostic(
        code(bpkit::trust::tampered_payload),
        help("do not use this artifact; sign it again from a trusted copy")
    )]
    TamperedPayload {
        /// The manifest digest.
        digest: Digest,
        /// Where the signature is.
        source_: Source,
        /// The key id claimed.
        key_id: String,
    },
    /// A signature or attestation layer whose content does not match its descriptor.
    #[error("{what} was tampered with: {detail}")]
    #[diagnostic(
        code(bpkit::trust::tampered_layer),
        help("the stored content was altered after signing; do not use this artifact")
    )]
    TamperedLayer {
        /// Which layer.
        what: String,
        /// What does not match.
        detail: String,
    },
    /// A valid signature for another manifest (moved or copied from another digest).
    #[error(
        "the signature in {source_} is valid but signs `{found}`, not `{expected}`: it was moved from another artifact"
    )]
    #[diagnostic(
        code(bpkit::trust::other_digest),
        help(
            "the artifact was replaced after signing, or the signature was copied; it does not vouch for this manifest"
        )
    )]
    OtherDigest {
        /// The digest the payload names.
        found: String,
        /// The manifest verified.
        expected: Digest,
        /// Where the signature is.
        source_: Source,
    },
    /// A valid signature whose annotations differ from those required.
    #[error(
        "the signature of `{digest}` is valid but its annotation `{key}` is {found}, expected `{expected}`"
    )]
    #[diagnostic(
        code(bpkit::trust::annotation_mismatch),
        help("the artifact was signed with other annotations; check `--annotations`")
    )]
    AnnotationMismatch {
        /// The manifest digest.
        digest: Digest,
        /// The annotation key.
        key: String,
        /// The value required.
        expected: String,
        /// What the signature has (`missing` or the value in backticks).
        found: String,
    },
    /// No attestation of the predicate type.
    #[error("`{digest}` in `{location}` has no attestation of type `{predicate_type}`{found}")]
    #[diagnostic(
        code(bpkit::trust::no_attestation),
        help("attach one with `bpkit attest REF --key cosign.key --predicate FILE --type TYPE`")
    )]
    NoAttestation {
        /// The manifest digest.
        digest: Digest,
        /// The store.
        location: String,
        /// The predicate type asked for.
        predicate_type: String,
        /// The types there are, as a hint.
        found: String,
    },
    /// A key file that cannot be read.
    #[error("cannot read the key file `{path}`: {message}")]
    #[diagnostic(code(bpkit::trust::key_file))]
    KeyFile {
        /// The file.
        path: String,
        /// The cause.
        message: String,
    },
    /// No password could be obtained.
    #[error("{message}")]
    #[diagnostic(
        code(bpkit::trust::password),
        help("set `BPKIT_KEY_PASSWORD` (or `COSIGN_PASSWORD`), or run on a terminal to be asked")
    )]
    Password {
        /// What went wrong.
        message: String,
    },
    /// A predicate type name that is not known and not a URI.
    #[error("`{name}` is not a known predicate type")]
    #[diagnostic(
        code(bpkit::trust::predicate_type),
        help(
            "use `slsaprovenance`, `cyclonedx`, `spdx`, or a full URI such as `https://example.com/my-predicate/v1`"
        )
    )]
    UnknownPredicateType {
        /// The name given.
        name: String,
    },
    /// A predicate that is not usable.
    #[error("the predicate is not valid: {message}")]
    #[diagnostic(code(bpkit::trust::predicate))]
    Predicate {
        /// What is wrong.
        message: String,
    },
}

impl TrustError {
    /// Whether this is a verification failure (exit code 1) rather than a usage, I/O or
    /// network error (exit code 2).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            TrustError::NoSignature { .. }
                | TrustError::OtherKey { .. }
                | TrustError::TamperedPayload { .. }
                | TrustError::TamperedLayer { .. }
                | TrustError::OtherDigest { .. }
                | TrustError::AnnotationMismatch { .. }
                | TrustError::NoAttestation { .. }
        )
    }
}

/// The config of a `.sig` / `.att` manifest, as cosign writes it: an empty image whose
/// `rootfs.diff_ids` are the layer digests.
fn cosign_config(layers: &[Descriptor]) -> Vec<u8> {
    let ids: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
    serde_json::to_vec(&json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": ids},
    }))
    .unwrap_or_default()
}

/// Writes a `.sig` / `.att` manifest with `layers` (whose blobs are stored) under `tag`.
fn put_tag_manifest(
    store: &dyn Store,
    layers: Vec<Descriptor>,
    tag: &str,
) -> Result<Digest, TrustError> {
    let config = cosign_config(&layers);
    store.put_blob(&config)?;
    let m = Manifest::new(Descriptor::of(IMAGE_CONFIG_MEDIA_TYPE, &config), layers);
    Ok(store
        .put_manifest(&m.to_json(), media_type::IMAGE_MANIFEST, Some(tag))?
        .digest)
}

/// The subject descriptor of a referrer: media type, digest and size only.
fn bare(subject: &Descriptor) -> Descriptor {
    Descriptor {
        media_type: subject.media_type.clone(),
        digest: subject.digest.clone(),
        size: subject.size,
        annotations: BTreeMap::new(),
        artifact_type: None,
    }
}

/// Writes a bundle referrer of `subject` and records it in the fallback index.
fn put_bundle_referrer(
    store: &dyn Store,
    subject: &Descriptor,
    bundle: &Bundle,
    predicate_type: &str,
) -> Result<Digest, TrustError> {
    let layer_bytes = bundle.to_json();
    store.put_blob(&layer_bytes)?;
    store.put_blob(b"{}")?;
    let mut m = Manifest::new(
        Descriptor::of(media_type::EMPTY, b"{}"),
        vec![Descriptor::of(BUNDLE_MEDIA_TYPE, &layer_bytes)],
    );
    m.artifact_type = Some(BUNDLE_MEDIA_TYPE.to_string());
    m.subject = Some(bare(subject));
    m.annotations
        .insert(BUNDLE_CONTENT_ANNOTATION.into(), "dsse-envelope".into());
    m.annotations
        .insert(BUNDLE_PREDICATE_ANNOTATION.into(), predicate_type.into());
    let d = store.put_manifest(&m.to_json(), media_type::IMAGE_MANIFEST, None)?;
    store.add_referrer(&subject.digest, &d)?;
    Ok(d.digest)
}

/// Reads a tag manifest (`.sig` / `.att`), or `None` when the tag is absent.
fn tag_manifest(store: &dyn Store, tag: &str) -> Result<Option<(Digest, Manifest)>, TrustError> {
    let Some(d) = store.resolve(tag)? else {
        return Ok(None);
    };
    let bytes = store.get_manifest(&d.digest)?;
    let what = format!("`{tag}` in `{}`", store.location());
    Ok(Some((
        d.digest.clone(),
        Manifest::from_json(&what, &bytes).map_err(StoreError::from)?,
    )))
}

/// A layer's bytes; altered content becomes [`TrustError::TamperedLayer`].
fn layer_bytes(store: &dyn Store, d: &Descriptor, what: &str) -> Result<Vec<u8>, TrustError> {
    store.get_blob(d).map_err(|e| {
        if e.is_tampered() {
            TrustError::TamperedLayer {
                what: what.to_string(),
                detail: e.to_string(),
            }
        } else {
            e.into()
        }
    })
}

/// The bundle referrers of `subject` whose predicate annotation is `predicate_type`:
/// `(referrer manifest digest, bundle layer descriptor)`.
fn bundle_referrers(
    store: &dyn Store,
    subject: &Digest,
    predicate_type: &str,
) -> Result<Vec<(Digest, Descriptor)>, TrustError> {
    let mut out = Vec::new();
    for r in store.referrers(subject)? {
        if r.artifact_type.as_deref() != Some(BUNDLE_MEDIA_TYPE) {
            continue;
        }
        if let Some(p) = r.annotations.get(BUNDLE_PREDICATE_ANNOTATION)
            && p != predicate_type
        {
            continue;
        }
        let bytes = match store.get_manifest(&r.digest) {
            Ok(b) => b,
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let what = format!("referrer `{}` in `{}`", r.digest, store.location());
        let m = Manifest::from_json(&what, &bytes).map_err(StoreError::from)?;
        if m.subject.as_ref().map(|s| &s.digest) != Some(subject) {
            continue;
        }
        if m.annotations
            .get(BUNDLE_PREDICATE_ANNOTATION)
            .is_some_and(|p| p != predicate_type)
        {
            continue;
        }
        if let Some(l) = m.layers.iter().find(|l| l.media_type == BUNDLE_MEDIA_TYPE) {
            out.push((r.digest.clone(), l.clone()));
        }
    }
    Ok(out)
}

/// The outcome of checking one signature or attestation candidate.
enum Check<T> {
    Ok(T),
    Fail(TrustError),
}

/// Checks a bundle: tampering, key, Statement, subject digest, predicate type.
fn check_bundle(
    store: &dyn Store,
    subject: &Digest,
    manifest: &Digest,
    layer: &Descriptor,
    verifier: &Verifier,
    predicate_type: &str,
) -> Result<Check<Statement<Value>>, TrustError> {
    let what = format!("the bundle layer of referrer `{manifest}`");
    let bytes = match layer_bytes(store, layer, &what) {
        Ok(b) => b,
        Err(e @ TrustError::TamperedLayer { .. }) => return Ok(Check::Fail(e)),
        Err(e) => return Err(e),
    };
    let bundle = match Bundle::from_json(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return Ok(Check::Fail(TrustError::TamperedLayer {
                what,
                detail: e.to_string(),
            }));
        }
    };
    let BundleContent::DsseEnvelope(env) = &bundle.content else {
        return Ok(Check::Fail(TrustError::TamperedLayer {
            what,
            detail: "it holds a message signature, expected a DSSE envelope".into(),
        }));
    };
    let key_id = verifier.key_id();
    let payload = match env.verify_typed(verifier, IN_TOTO_PAYLOAD_TYPE) {
        Ok(p) => p,
        Err(_) if bundle.public_key_hint == key_id => {
            return Ok(Check::Fail(TrustError::TamperedPayload {
                digest: subject.clone(),
                source_: Source::Referrer,
                key_id,
            }));
        }
        Err(_) => {
            return Ok(Check::Fail(TrustError::OtherKey {
                digest: subject.clone(),
                key_id,
                found: 1,
                hint: hint_of(&bundle.public_key_hint),
            }));
        }
    };
    let st: Statement<Value> = match Statement::from_json(payload) {
        Ok(s) => s,
        Err(e) => {
            return Ok(Check::Fail(TrustError::TamperedLayer {
                what,
                detail: e.to_string(),
            }));
        }
    };
    if !st.has_sha256_subject(subject.hex()) {
        let found = st
            .subject
            .iter()
            .filter_map(|s| s.digest.get("sha256"))
            .map(|h| format!("sha256:{h}"))
            .next()
            .unwrap_or_else(|| "no sha256 subject".into());
        return Ok(Check::Fail(TrustError::OtherDigest {
            found,
            expected: subject.clone(),
            source_: Source::Referrer,
        }));
    }
    if st.predicate_type != predicate_type {
        return Ok(Check::Fail(TrustError::TamperedLayer {
            what,
            detail: format!(
                "its Statement has predicate type `{}`, but the manifest says `{predicate_type}`",
                st.predicate_type
            ),
        }));
    }
    Ok(Check::Ok(st))
}

fn hint_of(h: &str) -> String {
    if h.is_empty() {
        String::new()
    } else {
        format!(" `{}`", h.chars().take(80).collect::<String>())
    }
}

/// Signs the manifest `subject` in `store`: a simple-signing payload naming its digest and
/// `docker_reference`, in cosign's tag layout (`sha256-<hex>.sig`, one layer per signature),
/// and a Sigstore bundle v0.3 referrer. A valid signature by the same key with the same
/// payload is left as it is unless `opts.force`.
pub fn sign(
    store: &dyn Store,
    subject: &Descriptor,
    docker_reference: &str,
    signer: &Signer,
    opts: &SignOptions,
) -> Result<SignOutcome, TrustError> {
    let verifier = signer.verifier();
    let key_id = verifier.key_id();
    let digest = &subject.digest;
    let mut simple = SimpleSigning::new(docker_reference, digest.to_string())?;
    if !opts.annotations.is_empty() {
        let m: Map<String, Value> = opts
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        simple = simple.with_optional(m);
    }
    let payload = simple.to_json();
    let mut out = SignOutcome {
        digest: digest.clone(),
        key_id: key_id.clone(),
        tag_layout: Change::Skipped,
        signature_manifest: None,
        referrer: Change::Skipped,
        referrer_manifest: None,
    };
    if opts.layouts.tag() {
        let tag = signature_tag(digest);
        let existing = tag_manifest(store, &tag)?;
        let mut layers = Vec::new();
        let mut same = false;
        if let Some((md, m)) = &existing {
            let payload_digest = Digest::of(&payload);
            for l in &m.layers {
                let mine = l.media_type == SIMPLE_SIGNING_MEDIA_TYPE
                    && l.digest == payload_digest
                    && l.annotations.get(SIGNATURE_ANNOTATION).is_some_and(|sig| {
                        store
                            .get_blob(l)
                            .is_ok_and(|b| verifier.verify_base64(&b, sig).is_ok())
                    });
                if mine {
                    // This key's signature of this very payload: kept unless forced.
                    if opts.force {
                        continue;
                    }
                    same = true;
                    out.signature_manifest = Some(md.clone());
                }
                layers.push(l.clone());
            }
        }
        if same {
            out.tag_layout = Change::Unchanged;
        } else {
            store.put_blob(&payload)?;
            let sig = signer.sign_base64(&payload);
            layers.push(
                Descriptor::of(SIMPLE_SIGNING_MEDIA_TYPE, &payload)
                    .with_annotation(SIGNATURE_ANNOTATION, sig),
            );
            out.signature_manifest = Some(put_tag_manifest(store, layers, &tag)?);
            out.tag_layout = Change::Written;
        }
    }
    if opts.layouts.referrer() {
        let predicate = if opts.annotations.is_empty() {
            json!({})
        } else {
            json!({ "annotations": opts.annotations })
        };
        let existing = bundle_referrers(store, digest, COSIGN_SIGN_PREDICATE)?;
        let mut found = None;
        if !opts.force {
            for (md, layer) in &existing {
                if let Check::Ok(st) =
                    check_bundle(store, digest, md, layer, &verifier, COSIGN_SIGN_PREDICATE)?
                    && st.predicate == predicate
                {
                    found = Some(md.clone());
                    break;
                }
            }
        }
        if let Some(md) = found {
            out.referrer = Change::Unchanged;
            out.referrer_manifest = Some(md);
        } else {
            let st = Statement::new(
                vec![Subject::sha256(
                    repository_of(docker_reference),
                    digest.hex(),
                )],
                COSIGN_SIGN_PREDICATE,
                predicate,
            );
            let env = st.sign(signer, "")?;
            let bundle = Bundle::from_envelope(env, key_id.clone());
            out.referrer_manifest = Some(put_bundle_referrer(
                store,
                subject,
                &bundle,
                COSIGN_SIGN_PREDICATE,
            )?);
            out.referrer = Change::Written;
        }
    }
    Ok(out)
}

/// `registry/repo` of `registry/repo:tag` or `registry/repo@sha256:…`.
fn repository_of(reference: &str) -> String {
    let r = reference.split('@').next().unwrap_or(reference);
    match r.rsplit_once(':') {
        Some((head, tail)) if !tail.contains('/') => head.to_string(),
        _ => r.to_string(),
    }
}

/// Picks the most telling failure: annotation mismatch, then another digest, then tampering,
/// then another key.
fn worst(failures: Vec<TrustError>) -> Option<TrustError> {
    let rank = |e: &TrustError| match e {
        TrustError::AnnotationMismatch { .. } => 0,
        TrustError::OtherDigest { .. } => 1,
        TrustError::TamperedPayload { .. } => 2,
        TrustError::TamperedLayer { .. } => 3,
        TrustError::OtherKey { .. } => 4,
        _ => 5,
    };
    let n = failures.len();
    let mut hints: Vec<String> = Vec::new();
    for e in &failures {
        if let TrustError::OtherKey { hint, .. } = e
            && !hint.is_empty()
            && !hints.contains(hint)
        {
            hints.push(hint.clone());
        }
    }
    let mut best: Option<TrustError> = None;
    for e in failures {
        if best.as_ref().is_none_or(|b| rank(&e) < rank(b)) {
            best = Some(e);
        }
    }
    match best {
        Some(TrustError::OtherKey { digest, key_id, .. }) => Some(TrustError::OtherKey {
            digest,
            key_id,
            found: n,
            hint: hints.join(","),
        }),
        other => other,
    }
}

fn check_annotations(
    digest: &Digest,
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> Result<(), TrustError> {
    for (k, v) in want {
        match have.get(k) {
            Some(x) if x == v => {}
            other => {
                return Err(TrustError::AnnotationMismatch {
                    digest: digest.clone(),
                    key: k.clone(),
                    expected: v.clone(),
                    found: other.map_or_else(|| "missing".to_string(), |x| format!("`{x}`")),
                });
            }
        }
    }
    Ok(())
}

/// Verifies the signatures of the manifest `digest` in `store` with `verifier`, in either
/// layout: each payload must verify, name this digest, and carry `annotations` (when given).
/// Succeeds when at least one signature does; otherwise the error says why (no signature,
/// another key, a payload for another digest, a tampered layer, other annotations).
pub fn verify(
    store: &dyn Store,
    digest: &Digest,
    verifier: &Verifier,
    annotations: &BTreeMap<String, String>,
) -> Result<VerifyOutcome, TrustError> {
    let key_id = verifier.key_id();
    let mut ok = Vec::new();
    let mut failures = Vec::new();
    let mut seen = 0usize;
    let tag = signature_tag(digest);
    if let Some((md, m)) = tag_manifest(store, &tag)? {
        for (i, l) in m.layers.iter().enumerate() {
            if l.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
                continue;
            }
            seen += 1;
            let what = format!("layer {} of `{tag}` (`{}`)", i + 1, l.digest);
            let payload = match layer_bytes(store, l, &what) {
                Ok(b) => b,
                Err(e @ TrustError::TamperedLayer { .. }) => {
                    failures.push(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(sig) = l.annotations.get(SIGNATURE_ANNOTATION) else {
                failures.push(TrustError::TamperedLayer {
                    what,
                    detail: format!("it has no `{SIGNATURE_ANNOTATION}` annotation"),
                });
                continue;
            };
            if verifier.verify_base64(&payload, sig).is_err() {
                failures.push(TrustError::OtherKey {
                    digest: digest.clone(),
                    key_id: key_id.clone(),
                    found: 1,
                    hint: String::new(),
                });
                continue;
            }
            let parsed = match SimpleSigning::parse(&payload) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(TrustError::TamperedLayer {
                        what,
                        detail: e.to_string(),
                    });
                    continue;
                }
            };
            if parsed.manifest_digest() != digest.to_string() {
                failures.push(TrustError::OtherDigest {
                    found: parsed.manifest_digest().to_string(),
                    expected: digest.clone(),
                    source_: Source::Tag,
                });
                continue;
            }
            let have: BTreeMap<String, String> = parsed
                .optional
                .iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect();
            if let Err(e) = check_annotations(digest, &have, annotations) {
                failures.push(e);
                continue;
            }
            ok.push(VerifiedSignature {
                source: Source::Tag,
                manifest: md.clone(),
                docker_reference: Some(parsed.docker_reference().to_string()),
                annotations: have,
            });
        }
    }
    for (md, layer) in bundle_referrers(store, digest, COSIGN_SIGN_PREDICATE)? {
        seen += 1;
        match check_bundle(store, digest, &md, &layer, verifier, COSIGN_SIGN_PREDICATE)? {
            Check::Fail(e) => failures.push(e),
            Check::Ok(st) => {
                let have: BTreeMap<String, String> = st
                    .predicate
                    .get("annotations")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if let Err(e) = check_annotations(digest, &have, annotations) {
                    failures.push(e);
                    continue;
                }
                ok.push(VerifiedSignature {
                    source: Source::Referrer,
                    manifest: md,
                    docker_reference: None,
                    annotations: have,
                });
            }
        }
    }
    if seen == 0 {
        return Err(TrustError::NoSignature {
            digest: digest.clone(),
            location: store.location(),
            tag,
        });
    }
    if ok.is_empty() {
        return Err(worst(failures).unwrap_or(TrustError::NoSignature {
            digest: digest.clone(),
            location: store.location(),
            tag,
        }));
    }
    Ok(VerifyOutcome {
        digest: digest.clone(),
        signatures: ok,
        rejected: failures.iter().map(ToString::to_string).collect(),
    })
}

/// Attests the manifest `subject`: an in-toto Statement v1 of `predicate_type` about its
/// digest, in a DSSE envelope signed by `signer`, added as a layer of `sha256-<hex>.att`
/// (annotated with `predicateType`) and as a bundle referrer. The same Statement signed by
/// the same key is left as it is unless `opts.force` (which replaces it).
pub fn attest(
    store: &dyn Store,
    subject: &Descriptor,
    signer: &Signer,
    predicate_type: &str,
    predicate: &Value,
    opts: &AttestOptions,
) -> Result<AttestOutcome, TrustError> {
    if !predicate.is_object() {
        return Err(TrustError::Predicate {
            message: "expected a JSON object".into(),
        });
    }
    let verifier = signer.verifier();
    let digest = &subject.digest;
    let name = opts
        .subject_name
        .clone()
        .unwrap_or_else(|| store.location());
    let st = Statement::new(
        vec![Subject::sha256(name, digest.hex())],
        predicate_type,
        predicate.clone(),
    );
    let statement_json = st.to_json()?;
    let mut out = AttestOutcome {
        digest: digest.clone(),
        predicate_type: predicate_type.to_string(),
        tag_layout: Change::Skipped,
        attestation_manifest: None,
        referrer: Change::Skipped,
        referrer_manifest: None,
    };
    if opts.layouts.tag() {
        let tag = attestation_tag(digest);
        let mut layers = Vec::new();
        let mut same = false;
        if let Some((md, m)) = tag_manifest(store, &tag)? {
            for l in m.layers {
                let is_same = l.media_type == DSSE_MEDIA_TYPE
                    && l.annotations
                        .get(PREDICATE_TYPE_ANNOTATION)
                        .map(String::as_str)
                        == Some(predicate_type)
                    && store.get_blob(&l).ok().is_some_and(|b| {
                        Envelope::from_json(&b).is_ok_and(|env| {
                            env.verify_typed(&verifier, IN_TOTO_PAYLOAD_TYPE)
                                .is_ok_and(|p| p == statement_json.as_slice())
                        })
                    });
                if is_same {
                    if opts.force {
                        continue;
                    }
                    same = true;
                    out.attestation_manifest = Some(md.clone());
                }
                layers.push(l);
            }
        }
        if same {
            out.tag_layout = Change::Unchanged;
        } else {
            let env = st.sign(signer, "")?;
            let bytes = env.to_json();
            store.put_blob(&bytes)?;
            layers.push(
                Descriptor::of(DSSE_MEDIA_TYPE, &bytes)
                    .with_annotation(PREDICATE_TYPE_ANNOTATION, predicate_type),
            );
            out.attestation_manifest = Some(put_tag_manifest(store, layers, &tag)?);
            out.tag_layout = Change::Written;
        }
    }
    if opts.layouts.referrer() {
        let mut found = None;
        if !opts.force {
            for (md, layer) in bundle_referrers(store, digest, predicate_type)? {
                if let Check::Ok(existing) =
                    check_bundle(store, digest, &md, &layer, &verifier, predicate_type)?
                    && existing == st
                {
                    found = Some(md);
                    break;
                }
            }
        }
        if let Some(md) = found {
            out.referrer = Change::Unchanged;
            out.referrer_manifest = Some(md);
        } else {
            let env = st.sign(signer, "")?;
            let bundle = Bundle::from_envelope(env, verifier.key_id());
            out.referrer_manifest = Some(put_bundle_referrer(
                store,
                subject,
                &bundle,
                predicate_type,
            )?);
            out.referrer = Change::Written;
        }
    }
    Ok(out)
}

/// Finds and verifies an attestation of `predicate_type` about the manifest `digest`, in
/// the `.att` tag layout or as a bundle referrer: the envelope must verify with `verifier`,
/// and its Statement name this digest and this predicate type. Returns the first that does.
pub fn verify_attestation(
    store: &dyn Store,
    digest: &Digest,
    verifier: &Verifier,
    predicate_type: &str,
) -> Result<VerifiedAttestation, TrustError> {
    let key_id = verifier.key_id();
    let mut failures = Vec::new();
    let mut types = Vec::new();
    let tag = attestation_tag(digest);
    if let Some((md, m)) = tag_manifest(store, &tag)? {
        for (i, l) in m.layers.iter().enumerate() {
            if l.media_type != DSSE_MEDIA_TYPE {
                continue;
            }
            let t = l.annotations.get(PREDICATE_TYPE_ANNOTATION);
            if let Some(t) = t
                && t != predicate_type
            {
                types.push(t.clone());
                continue;
            }
            let what = format!("layer {} of `{tag}` (`{}`)", i + 1, l.digest);
            let bytes = match layer_bytes(store, l, &what) {
                Ok(b) => b,
                Err(e @ TrustError::TamperedLayer { .. }) => {
                    failures.push(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let env = match Envelope::from_json(&bytes) {
                Ok(e) => e,
                Err(e) => {
                    failures.push(TrustError::TamperedLayer {
                        what,
                        detail: e.to_string(),
                    });
                    continue;
                }
            };
            let Ok(payload) = env.verify_typed(verifier, IN_TOTO_PAYLOAD_TYPE) else {
                failures.push(TrustError::OtherKey {
                    digest: digest.clone(),
                    key_id: key_id.clone(),
                    found: 1,
                    hint: String::new(),
                });
                continue;
            };
            let st: Statement<Value> = match Statement::from_json(payload) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(TrustError::TamperedLayer {
                        what,
                        detail: e.to_string(),
                    });
                    continue;
                }
            };
            if st.predicate_type != predicate_type {
                types.push(st.predicate_type.clone());
                continue;
            }
            if !st.has_sha256_subject(digest.hex()) {
                failures.push(TrustError::OtherDigest {
                    found: st
                        .subject
                        .iter()
                        .filter_map(|s| s.digest.get("sha256"))
                        .map(|h| format!("sha256:{h}"))
                        .next()
                        .unwrap_or_else(|| "no sha256 subject".into()),
                    expected: digest.clone(),
                    source_: Source::Tag,
                });
                continue;
            }
            return Ok(VerifiedAttestation {
                source: Source::Tag,
                manifest: md,
                statement: st,
            });
        }
    }
    for (md, layer) in bundle_referrers(store, digest, predicate_type)? {
        match check_bundle(store, digest, &md, &layer, verifier, predicate_type)? {
            Check::Ok(st) => {
                return Ok(VerifiedAttestation {
                    source: Source::Referrer,
                    manifest: md,
                    statement: st,
                });
            }
            Check::Fail(e) => failures.push(e),
        }
    }
    if let Some(e) = worst(failures) {
        return Err(e);
    }
    types.sort();
    types.dedup();
    Err(TrustError::NoAttestation {
        digest: digest.clone(),
        location: store.location(),
        predicate_type: predicate_type.to_string(),
        found: if types.is_empty() {
            String::new()
        } else {
            format!(
                " (it has {})",
                types
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    })
}

#[cfg(test)]
mod tests;
