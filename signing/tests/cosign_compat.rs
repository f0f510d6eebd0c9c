//! Compatibility with keys and signatures made by other implementations, and the errors for
//! damaged keys.
//!
//! Fixtures in `tests/data/`:
//! - `kat-cosign.key` / `.pub`: the RFC 6979 A.2.5 P-256 key, encrypted in cosign's format by
//!   `make_kat.py` with OpenSSL's scrypt, libsodium's secretbox (PyNaCl) and pyca/cryptography's
//!   PKCS#8, password `kat-password`, under the old label `ENCRYPTED COSIGN PRIVATE KEY`.
//! - `kat-payload.json` / `.sig`: a simple-signing payload and its signature by that key,
//!   made by pyca/cryptography (randomised ECDSA, so it differs from ours).
//! - `sigstore-rs.key` / `.pub`: a key pair written by sigstore-rs 0.15.0
//!   (`generate-key-pair` of `shared/interop/sigstore-rs-cosign`), password `bpkit-interop`.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use bpkit_signing::dsse::Envelope;
use bpkit_signing::{Error, ScryptParams, Signer, SimpleSigning, Verifier, verify_simple_signing};
use std::path::PathBuf;

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kat_signer() -> Signer {
    Signer::from_encrypted_pem(&data("kat-cosign.key"), b"kat-password").unwrap()
}

const KAT_DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn key_encrypted_by_independent_implementations_is_read() {
    let signer = kat_signer();
    let public = Verifier::from_pem(&data("kat-cosign.pub")).unwrap();
    assert_eq!(signer.verifier(), public);
}

/// RFC 6979 A.2.5, P-256 with SHA-256, message `sample`: r and s, DER encoded (both have the
/// top bit set, so each INTEGER gets a leading zero byte).
#[test]
fn rfc6979_known_answer() {
    let r = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
    let s = "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
    let expected = format!("3046022100{r}022100{s}");
    let sig = kat_signer().sign(b"sample");
    let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, expected);
    kat_signer().verifier().verify(b"sample", &sig).unwrap();
}

#[test]
fn stored_signature_by_another_implementation_verifies() {
    let public = Verifier::from_pem(&data("kat-cosign.pub")).unwrap();
    let payload = data("kat-payload.json");
    let sig = String::from_utf8(data("kat-payload.sig")).unwrap();
    let parsed = verify_simple_signing(&public, &payload, &sig, KAT_DIGEST).unwrap();
    assert_eq!(parsed.docker_reference(), "registry.test/bp/demo:0.1.0");
    // Our own writer produces the same bytes for the same reference and digest.
    let ours = SimpleSigning::new("registry.test/bp/demo:0.1.0", KAT_DIGEST).unwrap();
    assert_eq!(ours.to_json(), payload);

    let other_digest = KAT_DIGEST.replace("0123", "4567");
    let err = verify_simple_signing(&public, &payload, &sig, &other_digest).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");

    let tampered = String::from_utf8(payload.clone())
        .unwrap()
        .replace("0.1.0", "0.1.1");
    let err = verify_simple_signing(&public, tampered.as_bytes(), &sig, KAT_DIGEST).unwrap_err();
    assert!(matches!(err, Error::BadSignature), "{err}");

    let stranger = Signer::generate().unwrap().verifier();
    let err = verify_simple_signing(&stranger, &payload, &sig, KAT_DIGEST).unwrap_err();
    assert!(matches!(err, Error::BadSignature), "{err}");

    let err = verify_simple_signing(&public, &payload, "not base64!", KAT_DIGEST).unwrap_err();
    assert!(matches!(err, Error::Base64 { .. }), "{err}");
}

#[test]
fn key_written_by_sigstore_rs_is_read() {
    let signer = Signer::from_encrypted_pem(&data("sigstore-rs.key"), b"bpkit-interop").unwrap();
    let public = Verifier::from_pem(&data("sigstore-rs.pub")).unwrap();
    assert_eq!(signer.verifier(), public);
    let err = Signer::from_encrypted_pem(&data("sigstore-rs.key"), b"bpkit-interoP").unwrap_err();
    assert!(matches!(err, Error::WrongPassword), "{err}");
}

#[test]
fn our_key_round_trips_with_cosign_parameters() {
    let signer = Signer::generate().unwrap();
    let pem = signer.to_encrypted_pem(b"pw").unwrap();
    let back = Signer::from_encrypted_pem(pem.as_bytes(), b"pw").unwrap();
    assert_eq!(back.verifier(), signer.verifier());
    let env = Envelope::sign("text/plain", b"x".to_vec(), &back, "");
    env.verify(&signer.verifier()).unwrap();
}

/// Re-encodes the JSON body of a key after `edit`, for the error cases.
fn edited_key(edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = String::from_utf8(data("kat-cosign.key")).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut json: serde_json::Value = serde_json::from_slice(&b64.decode(body).unwrap()).unwrap();
    edit(&mut json);
    let body = b64.encode(serde_json::to_vec(&json).unwrap());
    format!("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{body}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
        .into_bytes()
}

#[test]
fn damaged_keys_give_distinct_errors() {
    let key = data("kat-cosign.key");
    let text = String::from_utf8(key.clone()).unwrap();
    let pw = b"kat-password";
    let read = |bytes: &[u8]| Signer::from_encrypted_pem(bytes, pw).unwrap_err();

    assert!(matches!(
        read(&key[..key.len() / 2]),
        Error::TruncatedPem { line: 1, .. }
    ));
    assert!(matches!(read(b"kat-cosign.key"), Error::NotPem { .. }));
    assert!(matches!(
        read(&[0x30, 0x82, 0x01, 0x00, 0xff]),
        Error::NotPem { .. }
    ));
    let err = read(&data("kat-cosign.pub"));
    assert!(matches!(err, Error::WrongPemType { .. }), "{err}");
    assert!(format!("{:?}", miette::Report::new(err)).contains("this is a public key"));
    let err = read(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert!(matches!(err, Error::WrongPemType { .. }), "{err}");

    let bad_b64 = text.replacen("eyJr", "e!Jr", 1);
    assert!(matches!(read(bad_b64.as_bytes()), Error::PemBase64 { .. }));
    let not_json = b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGpzb24=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
    assert!(matches!(read(not_json), Error::KeyJson { .. }));
    assert!(matches!(
        read(&edited_key(|j| {
            j.as_object_mut().unwrap().remove("ciphertext");
        })),
        Error::KeyJson { .. }
    ));

    let err = read(&edited_key(|j| {
        j["kdf"]["params"]["N"] = (1u64 << 21).into()
    }));
    assert!(
        matches!(err, Error::KdfParams { n: 2_097_152, .. }),
        "{err}"
    );
    let err = read(&edited_key(|j| j["kdf"]["params"]["N"] = 1000.into()));
    assert!(matches!(err, Error::KdfParams { .. }), "{err}");
    let err = read(&edited_key(|j| j["kdf"]["params"]["r"] = 1_000_000.into()));
    assert!(matches!(err, Error::KdfParams { .. }), "{err}");
    let err = read(&edited_key(|j| j["kdf"]["name"] = "argon2id".into()));
    assert!(
        matches!(err, Error::UnsupportedEncryption { what: "kdf", .. }),
        "{err}"
    );
    let err = read(&edited_key(|j| j["cipher"]["name"] = "aes-gcm".into()));
    assert!(
        matches!(err, Error::UnsupportedEncryption { what: "cipher", .. }),
        "{err}"
    );
    let err = read(&edited_key(|j| j["cipher"]["nonce"] = "AAAA".into()));
    assert!(matches!(err, Error::KeyJson { .. }), "{err}");
    let err = read(&edited_key(|j| j["kdf"]["salt"] = "%%".into()));
    assert!(
        matches!(
            err,
            Error::Base64 {
                field: "kdf.salt",
                ..
            }
        ),
        "{err}"
    );

    // A changed ciphertext fails authentication, like a wrong password.
    let err = read(&edited_key(|j| {
        let ct = j["ciphertext"].as_str().unwrap();
        let flipped = if ct.starts_with('A') { "B" } else { "A" };
        j["ciphertext"] = format!("{flipped}{}", &ct[1..]).into();
    }));
    assert!(matches!(err, Error::WrongPassword), "{err}");
    assert!(matches!(
        Signer::from_encrypted_pem(&key, b"kat-passworD").unwrap_err(),
        Error::WrongPassword
    ));
}

#[test]
fn error_messages_follow_the_style() {
    let key = data("kat-cosign.key");
    let errors = [
        Signer::from_encrypted_pem(b"x", b"").unwrap_err(),
        Signer::from_encrypted_pem(&key[..100], b"").unwrap_err(),
        Signer::from_encrypted_pem(&key, b"").unwrap_err(),
        Verifier::from_pem(&key).unwrap_err(),
        SimpleSigning::parse(b"{}").unwrap_err(),
    ];
    for err in errors {
        let msg = err.to_string();
        assert!(!msg.ends_with('.'), "{msg}");
        assert!(
            msg.chars()
                .next()
                .is_some_and(|c| !c.is_uppercase() || msg.starts_with("PEM")),
            "{msg}"
        );
    }
}

#[test]
fn public_key_errors() {
    let err = Verifier::from_pem(&data("kat-cosign.key")).unwrap_err();
    assert!(matches!(err, Error::WrongPemType { .. }), "{err}");
    let err = Verifier::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        .unwrap_err();
    assert!(matches!(err, Error::PublicKey { .. }), "{err}");
    // An Ed25519 SubjectPublicKeyInfo (RFC 8410 example).
    let ed25519 = b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    let err = Verifier::from_pem(ed25519).unwrap_err();
    assert_eq!(
        err.to_string(),
        "public key is not a PKIX ECDSA P-256 key: found an Ed25519 key"
    );
}

#[test]
fn private_key_of_another_algorithm_is_named() {
    use base64::Engine as _;
    // An Ed25519 PKCS#8 private key (RFC 8410 example).
    let der = base64::engine::general_purpose::STANDARD
        .decode("MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC")
        .unwrap();
    let err = Signer::from_pkcs8_der(&der).unwrap_err();
    assert_eq!(
        err.to_string(),
        "private key is not a PKCS#8 ECDSA P-256 key: found an Ed25519 key"
    );
    let err = Signer::from_pkcs8_der(b"junk").unwrap_err();
    assert!(matches!(err, Error::PrivateKey { .. }), "{err}");
}

#[test]
fn cheap_scrypt_parameters_are_bounded_too() {
    let signer = Signer::generate().unwrap();
    let too_big = ScryptParams {
        n: 1 << 21,
        r: 8,
        p: 1,
    };
    assert!(matches!(
        signer.to_encrypted_pem_with(b"pw", too_big),
        Err(Error::KdfParams { .. })
    ));
}

/// When the interop harness has built sigstore-rs-cosign (`shared/interop/cosign-sign.sh`
/// does), a fresh key pair from it must be read; otherwise the test says it was skipped.
#[test]
fn fresh_key_from_sigstore_rs_is_read() {
    let target = std::env::var_os("BPKIT_INTEROP_CARGO_TARGET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/bpkit-interop-cargo-target"));
    let tool = target.join("release/sigstore-rs-cosign");
    if !tool.is_file() {
        eprintln!(
            "SKIPPED fresh_key_from_sigstore_rs_is_read: {} not built (run shared/interop/cosign-sign.sh once)",
            tool.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("cosign");
    let status = std::process::Command::new(&tool)
        .arg("generate-key-pair")
        .arg(&prefix)
        .env("COSIGN_PASSWORD", "fresh-password")
        .status()
        .unwrap();
    assert!(status.success(), "{} failed: {status}", tool.display());
    let key = std::fs::read(prefix.with_extension("key")).unwrap();
    let public = std::fs::read(prefix.with_extension("pub")).unwrap();
    assert!(key.starts_with(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));
    let signer = Signer::from_encrypted_pem(&key, b"fresh-password").unwrap();
    assert_eq!(signer.verifier(), Verifier::from_pem(&public).unwrap());
    assert!(matches!(
        Signer::from_encrypted_pem(&key, b"other").unwrap_err(),
        Error::WrongPassword
    ));
}
