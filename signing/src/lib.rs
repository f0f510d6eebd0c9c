//! `bpkit-signing`: cosign-compatible keys, signatures and attestations.
//!
//! This crate is kept apart from `bpkit` so that the resolver and validator core never pull in
//! cryptography. It grows with the trust work (keys in cosign's encrypted PEM format, simple
//! signing payloads, DSSE envelopes); until then it only exports the names shared with `bpkit`.

/// The media type of a cosign "simple signing" payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// The manifest annotation that carries a base64 signature in cosign's tag layout.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
