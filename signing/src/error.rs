//! The one error type of the crate.
//!
//! Every variant names what was found and what was expected; `help` says what to do about it.
//! Messages start lower-case, put names in backticks and have no final period.

use miette::Diagnostic;
use thiserror::Error;

/// Everything that can go wrong while reading keys, signing or verifying.
#[derive(Debug, Error, Diagnostic)]
#[non_exhaustive]
pub enum Error {
    /// The input has no `-----BEGIN …-----` line at all.
    #[error("{what} is not PEM: no `-----BEGIN {expected}-----` line found")]
    #[diagnostic(
        code(signing::pem::not_pem),
        help("pass the PEM file itself (it starts with `-----BEGIN`), not a path or raw DER")
    )]
    NotPem {
        /// What was being read (for example `private key`).
        what: &'static str,
        /// The PEM label that was expected.
        expected: &'static str,
    },

    /// The PEM block starts but never ends.
    #[error("PEM block `{label}` starting on line {line} has no `-----END {label}-----` line")]
    #[diagnostic(
        code(signing::pem::truncated),
        help("the file looks truncated: copy the whole file again")
    )]
    TruncatedPem {
        /// The label of the `BEGIN` line.
        label: String,
        /// The 1-based line of the `BEGIN` line.
        line: usize,
    },

    /// The PEM block is of another type than the one expected.
    #[error("PEM block on line {line} is `{found}`, expected {expected}")]
    #[diagnostic(code(signing::pem::wrong_type), help("{hint}"))]
    WrongPemType {
        /// The label found.
        found: String,
        /// The labels accepted, in backticks.
        expected: String,
        /// The 1-based line of the `BEGIN` line.
        line: usize,
        /// What the found label suggests.
        hint: String,
    },

    /// The PEM body is not base64.
    #[error("PEM block `{label}` has invalid base64 on line {line}: {detail}")]
    #[diagnostic(
        code(signing::pem::base64),
        help("the file is damaged: the lines between `BEGIN` and `END` must be base64")
    )]
    PemBase64 {
        /// The label of the block.
        label: String,
        /// The 1-based line where the body starts.
        line: usize,
        /// The decoder's message.
        detail: String,
    },

    /// The body of an encrypted key is not the expected JSON document.
    #[error("encrypted private key is not valid: {detail}")]
    #[diagnostic(
        code(signing::key::json),
        help(
            "expected base64 of `{{\"kdf\":{{…}},\"cipher\":{{…}},\"ciphertext\":…}}` as written by cosign"
        )
    )]
    KeyJson {
        /// What was wrong.
        detail: String,
    },

    /// The encrypted key uses a key derivation or cipher this crate does not support.
    #[error("encrypted private key uses unsupported {what} `{found}`, expected `{expected}`")]
    #[diagnostic(
        code(signing::key::unsupported),
        help("only cosign's scrypt + nacl/secretbox format is supported")
    )]
    UnsupportedEncryption {
        /// `kdf` or `cipher`.
        what: &'static str,
        /// The name found in the key.
        found: String,
        /// The name expected.
        expected: &'static str,
    },

    /// The scrypt parameters are invalid or too expensive.
    #[error("encrypted private key has unsupported scrypt parameters N={n} r={r} p={p}: {reason}")]
    #[diagnostic(
        code(signing::key::kdf_params),
        help(
            "cosign writes N=32768 r=8 p=1; N must be a power of two up to 2^20 and r, p small, so that reading a key cannot exhaust memory or time"
        )
    )]
    KdfParams {
        /// The `N` found.
        n: u64,
        /// The `r` found.
        r: u64,
        /// The `p` found.
        p: u64,
        /// Why they are refused.
        reason: &'static str,
    },

    /// The password does not open the key.
    #[error("wrong password for the encrypted private key (or the key file is corrupted)")]
    #[diagnostic(
        code(signing::key::wrong_password),
        help("check the password (cosign reads it from `COSIGN_PASSWORD`)")
    )]
    WrongPassword,

    /// The decrypted private key is not a PKCS#8 ECDSA P-256 key.
    #[error("private key is not a PKCS#8 ECDSA P-256 key: {detail}")]
    #[diagnostic(
        code(signing::key::algorithm),
        help("only ECDSA P-256 keys (cosign's default) are supported")
    )]
    PrivateKey {
        /// What was wrong.
        detail: String,
    },

    /// The public key is not a PKIX ECDSA P-256 key.
    #[error("public key is not a PKIX ECDSA P-256 key: {detail}")]
    #[diagnostic(
        code(signing::key::public),
        help(
            "expected a `-----BEGIN PUBLIC KEY-----` file as written by `cosign generate-key-pair`"
        )
    )]
    PublicKey {
        /// What was wrong.
        detail: String,
    },

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {detail}")]
    #[diagnostic(code(signing::random))]
    Random {
        /// The error reported.
        detail: String,
    },

    /// A field that must be base64 is not.
    #[error("`{field}` is not valid base64: {detail}")]
    #[diagnostic(code(signing::base64))]
    Base64 {
        /// The field name.
        field: &'static str,
        /// The decoder's message.
        detail: String,
    },

    /// A signature is not an ASN.1 DER ECDSA signature.
    #[error("signature is not an ASN.1 DER ECDSA P-256 signature ({len} bytes)")]
    #[diagnostic(
        code(signing::signature::encoding),
        help(
            "cosign signatures are DER `SEQUENCE {{ r INTEGER, s INTEGER }}`, usually 70 to 72 bytes"
        )
    )]
    SignatureEncoding {
        /// Length of the bytes given.
        len: usize,
    },

    /// The signature does not verify.
    #[error("signature does not verify with the given public key")]
    #[diagnostic(
        code(signing::signature::invalid),
        help("the content was changed after signing, or it was signed with another key")
    )]
    BadSignature,

    /// A cosign simple-signing payload is malformed.
    #[error("simple-signing payload is not valid: {detail}")]
    #[diagnostic(
        code(signing::payload::invalid),
        help(
            "expected `{{\"critical\":{{\"identity\":{{\"docker-reference\":…}},\"image\":{{\"docker-manifest-digest\":…}},\"type\":\"cosign container image signature\"}},\"optional\":…}}`"
        )
    )]
    Payload {
        /// What was wrong.
        detail: String,
    },

    /// The simple-signing payload signs another image.
    #[error("signature is for another digest: payload names `{found}`, expected `{expected}`")]
    #[diagnostic(
        code(signing::payload::digest),
        help("the signature was made for a different manifest; it does not vouch for this one")
    )]
    DigestMismatch {
        /// The digest in the payload.
        found: String,
        /// The digest expected.
        expected: String,
    },

    /// A DSSE envelope is malformed or does not verify.
    #[error("DSSE envelope is not valid: {detail}")]
    #[diagnostic(code(signing::dsse::invalid))]
    Dsse {
        /// What was wrong.
        detail: String,
    },

    /// An in-toto statement is malformed.
    #[error("in-toto statement is not valid: {detail}")]
    #[diagnostic(code(signing::intoto::invalid))]
    Statement {
        /// What was wrong.
        detail: String,
    },

    /// A Sigstore bundle is malformed or unsupported.
    #[error("Sigstore bundle is not valid: {detail}")]
    #[diagnostic(code(signing::bundle::invalid), help("{hint}"))]
    Bundle {
        /// What was wrong.
        detail: String,
        /// What to do about it.
        hint: &'static str,
    },
}

impl Error {
    pub(crate) fn key_json(detail: impl Into<String>) -> Self {
        Self::KeyJson {
            detail: detail.into(),
        }
    }

    pub(crate) fn payload(detail: impl Into<String>) -> Self {
        Self::Payload {
            detail: detail.into(),
        }
    }

    pub(crate) fn dsse(detail: impl Into<String>) -> Self {
        Self::Dsse {
            detail: detail.into(),
        }
    }

    pub(crate) fn statement(detail: impl Into<String>) -> Self {
        Self::Statement {
            detail: detail.into(),
        }
    }

    pub(crate) fn bundle(detail: impl Into<String>, hint: &'static str) -> Self {
        Self::Bundle {
            detail: detail.into(),
            hint,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
