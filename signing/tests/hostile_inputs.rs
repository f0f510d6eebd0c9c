//! No input makes the readers panic, and the algebraic rules hold for arbitrary data.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use base64::Engine as _;
use bpkit_signing::bundle::Bundle;
use bpkit_signing::dsse::{Envelope, pae};
use bpkit_signing::intoto::Statement;
use bpkit_signing::{ScryptParams, Signer, SimpleSigning, Verifier};
use proptest::prelude::*;
use std::sync::OnceLock;

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::generate().unwrap())
}

fn armor(label: &str, body: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n").into_bytes()
}

/// Arbitrary JSON-like text built from the pieces the readers look for.
fn jsonish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("null".to_owned()),
        Just("\"kdf\"".to_owned()),
        Just("\"params\"".to_owned()),
        Just("\"N\"".to_owned()),
        Just("\"salt\"".to_owned()),
        Just("\"cipher\"".to_owned()),
        Just("\"payload\"".to_owned()),
        Just("\"payloadType\"".to_owned()),
        Just("\"signatures\"".to_owned()),
        Just("\"critical\"".to_owned()),
        Just("\"mediaType\"".to_owned()),
        Just("\"messageSignature\"".to_owned()),
        "\"[A-Za-z0-9+/=]{0,12}\"",
        "-?[0-9]{1,20}",
    ];
    proptest::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn readers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Signer::from_encrypted_pem(&bytes, b"pw");
        let _ = Signer::from_pkcs8_der(&bytes);
        let _ = Verifier::from_pem(&bytes);
        let _ = Verifier::from_der(&bytes);
        let _ = SimpleSigning::parse(&bytes);
        let _ = Envelope::from_json(&bytes);
        let _ = Statement::<serde_json::Value>::from_json(&bytes);
        let _ = Bundle::from_json(&bytes);
        let _ = signer().verifier().verify(b"payload", &bytes);
        let _ = signer().verifier().verify_base64(b"payload", &String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn readers_never_panic_on_armored_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        text in jsonish(),
    ) {
        for label in ["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"] {
            prop_assert!(Signer::from_encrypted_pem(&armor(label, &bytes), b"pw").is_err());
            prop_assert!(Signer::from_encrypted_pem(&armor(label, text.as_bytes()), b"pw").is_err());
        }
        prop_assert!(Verifier::from_pem(&armor("PUBLIC KEY", &bytes)).is_err());
        let _ = SimpleSigning::parse(text.as_bytes());
        let _ = Envelope::from_json(text.as_bytes());
        let _ = Bundle::from_json(text.as_bytes());
    }

    /// Well-formed key documents with arbitrary parameters: refused or read, never a panic,
    /// and never an expensive derivation (the bounds cut it off first).
    #[test]
    fn key_documents_with_arbitrary_parameters(
        n in prop_oneof![Just(0u64), Just(1), Just(3), Just(16), Just(1024), Just(1 << 21), Just(u64::MAX)],
        r in prop_oneof![Just(0u64), Just(1), Just(8), Just(33), Just(u64::MAX)],
        p in prop_oneof![Just(0u64), Just(1), Just(17), Just(u64::MAX)],
        salt in proptest::collection::vec(any::<u8>(), 0..40),
        nonce in proptest::collection::vec(any::<u8>(), 20..28),
        ciphertext in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let b64 = base64::engine::general_purpose::STANDARD;
        let doc = serde_json::json!({
            "kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": b64.encode(&salt)},
            "cipher": {"name": "nacl/secretbox", "nonce": b64.encode(&nonce)},
            "ciphertext": b64.encode(&ciphertext),
        });
        let pem = armor("ENCRYPTED SIGSTORE PRIVATE KEY", &serde_json::to_vec(&doc).unwrap());
        prop_assert!(Signer::from_encrypted_pem(&pem, b"pw").is_err());
    }

    #[test]
    fn pae_layout(ty in ".{0,20}", payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let encoded = pae(&ty, &payload);
        let head = format!("DSSEv1 {} {} {} ", ty.len(), ty, payload.len());
        prop_assert!(encoded.starts_with(head.as_bytes()));
        prop_assert_eq!(&encoded[head.len()..], &payload[..]);
    }

    /// The encoding is injective: a different type or payload gives different bytes.
    #[test]
    fn pae_is_injective(
        a in ("[ a-z0-9]{0,6}", proptest::collection::vec(any::<u8>(), 0..8)),
        b in ("[ a-z0-9]{0,6}", proptest::collection::vec(any::<u8>(), 0..8)),
    ) {
        prop_assert_eq!(pae(&a.0, &a.1) == pae(&b.0, &b.1), a == b);
    }

    #[test]
    fn dsse_round_trip(ty in "[ -~]{0,30}", payload in proptest::collection::vec(any::<u8>(), 0..128)) {
        let env = Envelope::sign(ty.clone(), payload.clone(), signer(), "k");
        let back = Envelope::from_json(&env.to_json()).unwrap();
        prop_assert_eq!(back.verify(&signer().verifier()).unwrap(), &payload[..]);
        let mut tampered = back.clone();
        tampered.payload.push(0);
        prop_assert!(tampered.verify(&signer().verifier()).is_err());
    }

    #[test]
    fn simple_signing_round_trip(reference in "[ -~]{0,40}", hex in "[0-9a-f]{64}") {
        let digest = format!("sha256:{hex}");
        let payload = SimpleSigning::new(reference, digest.clone()).unwrap();
        let back = SimpleSigning::parse(&payload.to_json()).unwrap();
        prop_assert_eq!(&back, &payload);
        prop_assert!(back.check_digest(&digest).is_ok());
    }

    #[test]
    fn message_bundle_round_trip(message in proptest::collection::vec(any::<u8>(), 0..256)) {
        let bundle = Bundle::sign_message(signer(), &message, "hint");
        let back = Bundle::from_json(&bundle.to_json()).unwrap();
        prop_assert!(back.verify_message(&signer().verifier(), &message).is_ok());
        let mut other = message.clone();
        other.push(1);
        prop_assert!(back.verify_message(&signer().verifier(), &other).is_err());
    }
}

#[test]
fn cheap_key_round_trip_property() {
    // Not a proptest: each case derives a key; a handful of passwords is enough.
    let fast = ScryptParams { n: 16, r: 1, p: 1 };
    for password in [&b""[..], b"a", "pässwörd".as_bytes(), &[0u8; 200]] {
        let pem = signer().to_encrypted_pem_with(password, fast).unwrap();
        let back = Signer::from_encrypted_pem(pem.as_bytes(), password).unwrap();
        assert_eq!(back.verifier(), signer().verifier());
        let mut wrong = password.to_vec();
        wrong.push(b'!');
        assert!(Signer::from_encrypted_pem(pem.as_bytes(), &wrong).is_err());
    }
}
