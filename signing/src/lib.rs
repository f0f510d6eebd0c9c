//! `bpkit-signing`: cosign-compatible keys, signatures and attestations.
//!
//! This crate is kept apart from `bpkit` so that the resolver and validator core never pull in
//! cryptography. It is pure: no network, no async runtime, RustCrypto primitives only.
//!
//! - [`Signer`] / [`Verifier`]: ECDSA P-256 keys in cosign's encrypted PEM format and PKIX
//!   public keys; DER ECDSA-P256-SHA256 signatures.
//! - [`SimpleSigning`]: cosign's "simple signing" payload that names the signed manifest.
//! - [`dsse`]: DSSE envelopes; [`intoto`]: in-toto Statements and SLSA Provenance v1.
//! - [`bundle`]: Sigstore bundles v0.3 for key-based signatures.
//!
//! ```
//! use bpkit_signing::{Signer, SimpleSigning, Verifier, verify_simple_signing};
//!
//! # fn main() -> Result<(), bpkit_signing::Error> {
//! let signer = Signer::generate()?;
//! let key_file = signer.to_encrypted_pem(b"password")?; // cosign.key
//! let pub_file = signer.verifier().to_pem(); // cosign.pub
//!
//! let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
//! let signer = Signer::from_encrypted_pem(key_file.as_bytes(), b"password")?;
//! let (payload, signature) = SimpleSigning::new("registry.test/bp/demo:1.0.0", digest)?.sign(&signer);
//!
//! let verifier = Verifier::from_pem(pub_file.as_bytes())?;
//! let signed = verify_simple_signing(&verifier, &payload, &signature, digest)?;
//! assert_eq!(signed.docker_reference(), "registry.test/bp/demo:1.0.0");
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod b64;
pub mod bundle;
pub mod dsse;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod intoto;
mod keys;
mod pem;
mod simple_signing;

pub use error::{Error, Result};
pub use keys::{
    COSIGN_PRIVATE_KEY_PEM_LABEL, MAX_SCRYPT_MEMORY, MAX_SCRYPT_N, MAX_SCRYPT_P, MAX_SCRYPT_R,
    MAX_SCRYPT_WORK, PUBLIC_KEY_PEM_LABEL, SIGSTORE_PRIVATE_KEY_PEM_LABEL, ScryptParams, Signer,
    Verifier,
};
pub use simple_signing::{
    Critical, Identity, Image, SIMPLE_SIGNING_TYPE, SimpleSigning, verify_simple_signing,
};

/// The media type of a cosign "simple signing" payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// The manifest annotation that carries a base64 signature in cosign's tag layout.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
