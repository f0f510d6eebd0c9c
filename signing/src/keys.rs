//! ECDSA P-256 keys in cosign's formats, and raw signatures over bytes.
//!
//! - Private keys are stored as a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign and
//!   sigstore-rs today) or `ENCRYPTED COSIGN PRIVATE KEY` (older cosign, containers/image);
//!   both carry the same body: base64 of the JSON
//!   `{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":…},"cipher":{"name":"nacl/secretbox","nonce":…},"ciphertext":…}`
//!   where `ciphertext` is NaCl `secretbox` (XSalsa20-Poly1305, tag first) of the PKCS#8 DER
//!   private key under the 32-byte key `scrypt(password, salt, N, r, p)`.
//! - Public keys are PKIX (`SubjectPublicKeyInfo`) PEM blocks `PUBLIC KEY`.
//! - Signatures are ASN.1 DER ECDSA over SHA-256 of the signed bytes.

use crate::b64;
use crate::error::{Error, Result};
use crate::pem;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key as SecretBoxKey, Nonce, XSalsa20Poly1305};
use p256::ecdsa::signature::{Signer as _, Verifier as _, hazmat::PrehashVerifier};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::der::Decode as _;
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, ObjectIdentifier,
    PrivateKeyInfoRef, SubjectPublicKeyInfoRef,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// The PEM label sigstore-rs and current cosign write for encrypted private keys.
pub const SIGSTORE_PRIVATE_KEY_PEM_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label older cosign versions (and containers/image) use; read, never written.
pub const COSIGN_PRIVATE_KEY_PEM_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// The PEM label of a PKIX public key.
pub const PUBLIC_KEY_PEM_LABEL: &str = "PUBLIC KEY";

const PRIVATE_LABELS: &[&str] = &[SIGSTORE_PRIVATE_KEY_PEM_LABEL, COSIGN_PRIVATE_KEY_PEM_LABEL];
const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";
const SALT_LEN: usize = 32;
const MAX_SALT_LEN: usize = 1024;

/// Largest scrypt `N` accepted when reading a key (2^20).
pub const MAX_SCRYPT_N: u64 = 1 << 20;
/// Largest scrypt `r` accepted when reading a key.
pub const MAX_SCRYPT_R: u64 = 32;
/// Largest scrypt `p` accepted when reading a key.
pub const MAX_SCRYPT_P: u64 = 16;
/// Largest scrypt memory (`128·N·r` bytes) accepted when reading a key: 1 GiB.
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// Largest scrypt work (`N·r·p`) accepted when reading a key: 64 times cosign's default.
pub const MAX_SCRYPT_WORK: u64 = 1 << 24;

/// Parameters of the scrypt key derivation that protects a private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    /// CPU/memory cost `N`, a power of two greater than 1.
    pub n: u64,
    /// Block size `r`.
    pub r: u64,
    /// Parallelism `p`.
    pub p: u64,
}

impl ScryptParams {
    /// What cosign and sigstore-rs write: `N=32768, r=8, p=1`.
    pub const COSIGN: Self = Self {
        n: 32768,
        r: 8,
        p: 1,
    };

    /// Checks the bounds (see [`MAX_SCRYPT_N`] and friends) and converts to `scrypt`'s type.
    fn to_scrypt(self) -> Result<scrypt::Params> {
        let Self { n, r, p } = self;
        let refuse = |reason| Error::KdfParams { n, r, p, reason };
        if n < 2 || !n.is_power_of_two() {
            return Err(refuse("`N` must be a power of two greater than 1"));
        }
        if n > MAX_SCRYPT_N {
            return Err(refuse("`N` is larger than 2^20"));
        }
        if r == 0 || r > MAX_SCRYPT_R {
            return Err(refuse("`r` must be between 1 and 32"));
        }
        if p == 0 || p > MAX_SCRYPT_P {
            return Err(refuse("`p` must be between 1 and 16"));
        }
        if 128 * n * r > MAX_SCRYPT_MEMORY {
            return Err(refuse("`128·N·r` is more than 1 GiB of memory"));
        }
        if n * r * p > MAX_SCRYPT_WORK {
            return Err(refuse("`N·r·p` is more than 2^24"));
        }
        let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| refuse("`N` is too large"))?;
        let r = u32::try_from(r).map_err(|_| refuse("`r` is too large"))?;
        let p = u32::try_from(p).map_err(|_| refuse("`p` is too large"))?;
        scrypt::Params::new(log_n, r, p).map_err(|_| refuse("rejected by scrypt"))
    }
}

/// The JSON document inside an encrypted key PEM block.
#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: KdfJson,
    cipher: CipherJson,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct KdfJson {
    name: String,
    params: KdfParamsJson,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct KdfParamsJson {
    #[serde(rename = "N")]
    n: u64,
    r: u64,
    p: u64,
}

#[derive(Serialize, Deserialize)]
struct CipherJson {
    name: String,
    nonce: String,
}

/// An ECDSA P-256 private key that signs (cosign's default key type).
///
/// `Debug` shows only the public key's id; the secret scalar is wiped when dropped.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.verifier().key_id())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl Signer {
    /// Generates a new key with the operating system's random number generator.
    pub fn generate() -> Result<Self> {
        let key = SigningKey::try_generate().map_err(|e| Error::Random {
            detail: e.to_string(),
        })?;
        Ok(Self { key })
    }

    /// Reads an unencrypted PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let key = SigningKey::from_pkcs8_der(der).map_err(|e| Error::PrivateKey {
            detail: match PrivateKeyInfoRef::from_der(der) {
                Ok(info) => match info.algorithm.oids() {
                    Ok((oid, param)) if !is_p256(oid, param) => {
                        format!("found {}", describe_algorithm(oid, param))
                    }
                    _ => e.to_string(),
                },
                Err(_) => format!("not DER PKCS#8 `PrivateKeyInfo` ({e})"),
            },
        })?;
        Ok(Self { key })
    }

    /// Reads an unencrypted PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), as
    /// `openssl genpkey` writes it; for importing keys made by other tools.
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self> {
        let block = pem::decode(pem, "private key", &["PRIVATE KEY"])?;
        Self::from_pkcs8_der(&block.body)
    }

    /// The unencrypted PKCS#8 DER encoding of the private key (keep it secret).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = self.key.to_pkcs8_der().map_err(|e| Error::PrivateKey {
            detail: e.to_string(),
        })?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// Reads a cosign encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY` or
    /// `ENCRYPTED COSIGN PRIVATE KEY` PEM) with its password.
    pub fn from_encrypted_pem(pem: &[u8], password: &[u8]) -> Result<Self> {
        let block = pem::decode(pem, "private key", PRIVATE_LABELS)?;
        let doc: EncryptedKey = serde_json::from_slice(&block.body)
            .map_err(|e| Error::key_json(format!("the PEM body is not the expected JSON: {e}")))?;
        if doc.kdf.name != KDF_NAME {
            return Err(Error::UnsupportedEncryption {
                what: "kdf",
                found: doc.kdf.name,
                expected: KDF_NAME,
            });
        }
        if doc.cipher.name != CIPHER_NAME {
            return Err(Error::UnsupportedEncryption {
                what: "cipher",
                found: doc.cipher.name,
                expected: CIPHER_NAME,
            });
        }
        let params = ScryptParams {
            n: doc.kdf.params.n,
            r: doc.kdf.params.r,
            p: doc.kdf.params.p,
        }
        .to_scrypt()?;
        let salt = b64::decode(&doc.kdf.salt).map_err(|detail| Error::Base64 {
            field: "kdf.salt",
            detail,
        })?;
        if salt.is_empty() || salt.len() > MAX_SALT_LEN {
            return Err(Error::key_json(format!(
                "`kdf.salt` has {} bytes, expected 1 to {MAX_SALT_LEN} (cosign writes {SALT_LEN})",
                salt.len()
            )));
        }
        let nonce = b64::decode(&doc.cipher.nonce).map_err(|detail| Error::Base64 {
            field: "cipher.nonce",
            detail,
        })?;
        if nonce.len() != 24 {
            return Err(Error::key_json(format!(
                "`cipher.nonce` has {} bytes, expected 24",
                nonce.len()
            )));
        }
        let ciphertext = b64::decode(&doc.ciphertext).map_err(|detail| Error::Base64 {
            field: "ciphertext",
            detail,
        })?;
        let key = derive_key(password, &salt, &params)?;
        let plaintext = XSalsa20Poly1305::new(&key)
            .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
            .map(Zeroizing::new)
            .map_err(|_| Error::WrongPassword)?;
        Self::from_pkcs8_der(&plaintext)
    }

    /// Writes the key in cosign's encrypted format (`ENCRYPTED SIGSTORE PRIVATE KEY`) with
    /// cosign's scrypt parameters, a fresh 32-byte salt and a fresh 24-byte nonce.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<Zeroizing<String>> {
        self.to_encrypted_pem_with(password, ScryptParams::COSIGN)
    }

    /// Like [`Signer::to_encrypted_pem`] with other scrypt parameters (within the same bounds
    /// that reading enforces); cheaper parameters make tests fast, never use them for real keys.
    pub fn to_encrypted_pem_with(
        &self,
        password: &[u8],
        params: ScryptParams,
    ) -> Result<Zeroizing<String>> {
        let scrypt_params = params.to_scrypt()?;
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; 24];
        for buf in [&mut salt[..], &mut nonce[..]] {
            getrandom::fill(buf).map_err(|e| Error::Random {
                detail: e.to_string(),
            })?;
        }
        let key = derive_key(password, &salt, &scrypt_params)?;
        let plaintext = self.to_pkcs8_der()?;
        let ciphertext = XSalsa20Poly1305::new(&key)
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_slice())
            .map_err(|_| Error::PrivateKey {
                detail: "encryption failed".to_owned(),
            })?;
        let doc = EncryptedKey {
            kdf: KdfJson {
                name: KDF_NAME.to_owned(),
                params: KdfParamsJson {
                    n: params.n,
                    r: params.r,
                    p: params.p,
                },
                salt: b64::encode(&salt),
            },
            cipher: CipherJson {
                name: CIPHER_NAME.to_owned(),
                nonce: b64::encode(&nonce),
            },
            ciphertext: b64::encode(&ciphertext),
        };
        let json = serde_json::to_vec(&doc).map_err(|e| Error::key_json(e.to_string()))?;
        Ok(pem::encode(SIGSTORE_PRIVATE_KEY_PEM_LABEL, &json))
    }

    /// The matching public key.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            key: *self.key.verifying_key(),
        }
    }

    /// Signs `payload`: ECDSA P-256 over SHA-256 of `payload`, ASN.1 DER encoded (what cosign
    /// stores, base64, in `dev.cosignproject.cosign/signature`). Deterministic (RFC 6979).
    pub fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let sig: DerSignature = self.key.sign(payload);
        sig.as_bytes().to_vec()
    }

    /// [`Signer::sign`], base64 encoded (standard alphabet, padded).
    pub fn sign_base64(&self, payload: &[u8]) -> String {
        b64::encode(&self.sign(payload))
    }
}

/// Derives the secretbox key: `scrypt(password, salt, params)`, 32 bytes.
fn derive_key(
    password: &[u8],
    salt: &[u8],
    params: &scrypt::Params,
) -> Result<Zeroizing<SecretBoxKey>> {
    let mut key = Zeroizing::new(SecretBoxKey::default());
    scrypt::scrypt(password, salt, params, key.as_mut_slice()).map_err(|_| Error::KdfParams {
        n: params.n(),
        r: u64::from(params.r()),
        p: u64::from(params.p()),
        reason: "rejected by scrypt",
    })?;
    Ok(key)
}

/// An ECDSA P-256 public key that verifies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Verifier {
    key: VerifyingKey,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("key_id", &self.key_id())
            .finish()
    }
}

impl Verifier {
    /// Reads a PKIX public key PEM (`-----BEGIN PUBLIC KEY-----`), as `cosign.pub`.
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let block = pem::decode(pem, "public key", &[PUBLIC_KEY_PEM_LABEL])?;
        Self::from_der(&block.body)
    }

    /// Reads a DER `SubjectPublicKeyInfo`.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let key = VerifyingKey::from_public_key_der(der).map_err(|e| Error::PublicKey {
            detail: match SubjectPublicKeyInfoRef::from_der(der) {
                Ok(info) => match info.algorithm.oids() {
                    Ok((oid, param)) if !is_p256(oid, param) => {
                        format!("found {}", describe_algorithm(oid, param))
                    }
                    _ => e.to_string(),
                },
                Err(_) => format!("not DER `SubjectPublicKeyInfo` ({e})"),
            },
        })?;
        Ok(Self { key })
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn to_der(&self) -> Vec<u8> {
        // Encoding a valid P-256 point cannot fail; an empty result would fail verification
        // everywhere rather than panic here.
        self.key
            .to_public_key_der()
            .map(|doc| doc.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// The PKIX PEM (`-----BEGIN PUBLIC KEY-----`), as `cosign.pub`.
    pub fn to_pem(&self) -> String {
        pem::encode(PUBLIC_KEY_PEM_LABEL, &self.to_der()).to_string()
    }

    /// A stable identifier: lower-case hex SHA-256 of the DER `SubjectPublicKeyInfo`.
    pub fn key_id(&self) -> String {
        hex_lower(&Sha256::digest(self.to_der()))
    }

    /// Checks a DER ECDSA signature over `payload`.
    pub fn verify(&self, payload: &[u8], signature_der: &[u8]) -> Result<()> {
        let sig = parse_signature(signature_der)?;
        self.key
            .verify(payload, &sig)
            .map_err(|_| Error::BadSignature)
    }

    /// Checks a base64 DER ECDSA signature over `payload` (the cosign annotation's value).
    pub fn verify_base64(&self, payload: &[u8], signature_b64: &str) -> Result<()> {
        let sig = b64::decode(signature_b64.trim()).map_err(|detail| Error::Base64 {
            field: "signature",
            detail,
        })?;
        self.verify(payload, &sig)
    }

    /// Checks a DER ECDSA signature given only the SHA-256 digest of the signed bytes.
    pub fn verify_sha256(&self, digest: &[u8; 32], signature_der: &[u8]) -> Result<()> {
        let sig = parse_signature(signature_der)?;
        self.key
            .verify_prehash(digest, &sig)
            .map_err(|_| Error::BadSignature)
    }
}

fn parse_signature(der: &[u8]) -> Result<DerSignature> {
    DerSignature::from_bytes(der).map_err(|_| Error::SignatureEncoding { len: der.len() })
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";

fn is_p256(oid: ObjectIdentifier, param: Option<ObjectIdentifier>) -> bool {
    oid.to_string() == OID_EC_PUBLIC_KEY && param.is_some_and(|p| p.to_string() == OID_P256)
}

fn describe_algorithm(oid: ObjectIdentifier, param: Option<ObjectIdentifier>) -> String {
    let param = param.map(|p| p.to_string());
    match (oid.to_string().as_str(), param.as_deref()) {
        (OID_EC_PUBLIC_KEY, Some("1.3.132.0.34")) => "an ECDSA P-384 key".to_owned(),
        (OID_EC_PUBLIC_KEY, Some("1.3.132.0.35")) => "an ECDSA P-521 key".to_owned(),
        (OID_EC_PUBLIC_KEY, Some(curve)) => format!("an EC key on curve `{curve}`"),
        ("1.2.840.113549.1.1.1", _) => "an RSA key".to_owned(),
        ("1.3.101.112", _) => "an Ed25519 key".to_owned(),
        (other, _) => format!("a key with algorithm `{other}`"),
    }
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters so that unit tests stay fast; the format is the same.
    const FAST: ScryptParams = ScryptParams {
        n: 1024,
        r: 8,
        p: 1,
    };

    #[test]
    fn encrypted_pem_round_trip_with_cosign_params() {
        let signer = Signer::generate().unwrap();
        let pem = signer.to_encrypted_pem(b"hunter2").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        let back = Signer::from_encrypted_pem(pem.as_bytes(), b"hunter2").unwrap();
        assert_eq!(back.verifier(), signer.verifier());
    }

    #[test]
    fn encrypted_json_has_cosign_shape() {
        let pem = Signer::generate()
            .unwrap()
            .to_encrypted_pem_with(b"pw", FAST)
            .unwrap();
        let block = pem::decode(pem.as_bytes(), "k", PRIVATE_LABELS).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&block.body).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&v), ["kdf", "cipher", "ciphertext"]);
        assert_eq!(keys(&v["kdf"]), ["name", "params", "salt"]);
        assert_eq!(keys(&v["kdf"]["params"]), ["N", "r", "p"]);
        assert_eq!(v["kdf"]["name"], "scrypt");
        assert_eq!(v["cipher"]["name"], "nacl/secretbox");
        assert_eq!(
            b64::decode(v["kdf"]["salt"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(
            b64::decode(v["cipher"]["nonce"].as_str().unwrap())
                .unwrap()
                .len(),
            24
        );
    }

    #[test]
    fn old_cosign_label_is_read() {
        let signer = Signer::generate().unwrap();
        let pem = signer.to_encrypted_pem_with(b"pw", FAST).unwrap();
        let old = pem.replace("SIGSTORE", "COSIGN");
        let back = Signer::from_encrypted_pem(old.as_bytes(), b"pw").unwrap();
        assert_eq!(back.verifier(), signer.verifier());
    }

    #[test]
    fn wrong_password_is_reported() {
        let pem = Signer::generate()
            .unwrap()
            .to_encrypted_pem_with(b"right", FAST)
            .unwrap();
        let err = Signer::from_encrypted_pem(pem.as_bytes(), b"wrong").unwrap_err();
        assert!(matches!(err, Error::WrongPassword), "{err}");
    }

    #[test]
    fn scrypt_bounds() {
        let ok = |n, r, p| ScryptParams { n, r, p }.to_scrypt().is_ok();
        assert!(ok(32768, 8, 1));
        assert!(ok(1 << 20, 8, 1));
        assert!(!ok(1 << 21, 8, 1));
        assert!(!ok(3000, 8, 1));
        assert!(!ok(1, 8, 1));
        assert!(!ok(1024, 0, 1));
        assert!(!ok(1024, 8, 0));
        assert!(!ok(1 << 20, 16, 1), "2 GiB of memory");
        assert!(!ok(1 << 20, 8, 16), "too much work");
    }

    #[test]
    fn debug_is_redacted() {
        let signer = Signer::generate().unwrap();
        let der = signer.to_pkcs8_der().unwrap();
        let debug = format!("{signer:?}");
        assert!(debug.contains("<redacted>"));
        assert!(debug.contains(&signer.verifier().key_id()));
        assert!(!debug.contains(&hex_lower(&der)));
    }

    #[test]
    fn sign_and_verify() {
        let signer = Signer::generate().unwrap();
        let verifier = signer.verifier();
        let sig = signer.sign(b"payload");
        verifier.verify(b"payload", &sig).unwrap();
        verifier
            .verify_base64(b"payload", &signer.sign_base64(b"payload"))
            .unwrap();
        verifier
            .verify_sha256(&Sha256::digest(b"payload").into(), &sig)
            .unwrap();
        assert!(matches!(
            verifier.verify(b"payloaD", &sig),
            Err(Error::BadSignature)
        ));
        assert!(matches!(
            verifier.verify(b"payload", &sig[1..]),
            Err(Error::SignatureEncoding { .. })
        ));
        let other = Signer::generate().unwrap().verifier();
        assert!(matches!(
            other.verify(b"payload", &sig),
            Err(Error::BadSignature)
        ));
    }

    #[test]
    fn public_key_pem_round_trip() {
        let verifier = Signer::generate().unwrap().verifier();
        let pem = verifier.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(Verifier::from_pem(pem.as_bytes()).unwrap(), verifier);
        assert_eq!(verifier.key_id().len(), 64);
    }
}
