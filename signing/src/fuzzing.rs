//! Entry points for fuzzing the readers of untrusted signing material: PEM keys, DSSE
//! envelopes, Sigstore bundles and simple-signing payloads. Each returns normally whatever the
//! input; a panic or a hang is the bug. The private-key target stops before the scrypt key
//! derivation (which is slow by design and bounded by [`crate::MAX_SCRYPT_WORK`]).

use crate::bundle::Bundle;
use crate::dsse::Envelope;
use crate::{SimpleSigning, Verifier};

/// A PEM key: a public key, the decoding of an encrypted private key up to the key derivation,
/// and the input as raw PKCS#8 and PKIX DER.
pub fn pem(data: &[u8]) {
    if let Ok(v) = Verifier::from_pem(data) {
        let _ = v.to_pem();
        let _ = v.key_id();
    }
    let _ = crate::keys::Sealed::decode(data);
    let _ = crate::Signer::from_pkcs8_der(data);
    let _ = Verifier::from_der(data);
}

/// A DSSE envelope, read, written back and verified with a fixed public key.
pub fn dsse(data: &[u8]) {
    if let Ok(env) = Envelope::from_json(data) {
        let _ = env.to_json();
        if let Some(v) = verifier() {
            let _ = env.verify(v);
        }
    }
}

/// A Sigstore bundle, read, written back and verified with a fixed public key.
pub fn bundle(data: &[u8]) {
    if let Ok(b) = Bundle::from_json(data) {
        let _ = b.to_json();
        if let Some(v) = verifier() {
            let _ = b.verify_message(v, b"payload");
            let _ = b.verify_envelope(v);
        }
    }
}

/// A simple-signing payload, read and checked against a digest.
pub fn simple_signing(data: &[u8]) {
    if let Ok(p) = SimpleSigning::parse(data) {
        let _ = p.to_json();
        let _ = p.check_digest(
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        );
    }
}

/// A fixed P-256 public key (the known-answer test key) for the verifying targets.
fn verifier() -> Option<&'static Verifier> {
    static KEY: std::sync::OnceLock<Option<Verifier>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Verifier::from_pem(include_bytes!("../tests/data/kat-cosign.pub")).ok())
        .as_ref()
}
