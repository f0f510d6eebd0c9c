//! Sigstore bundles v0.3 for key-based signatures (no certificate, no transparency log).
//!
//! ```json
//! {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
//!  "verificationMaterial":{"publicKey":{"hint":"…"}},
//!  "messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"<b64>"},"signature":"<b64>"}}
//! ```
//!
//! or the same with `"dsseEnvelope":{…}` in place of `messageSignature`. Transparency-log
//! entries and timestamps found while reading are kept as JSON and written back, but not
//! checked: verification here is against a public key the caller trusts.

use crate::b64;
use crate::dsse::Envelope;
use crate::error::{Error, Result};
use crate::keys::{Signer, Verifier, hex_lower};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The media type of a v0.3 Sigstore bundle.
pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The only message digest algorithm supported (protobuf enum name).
pub const SHA2_256: &str = "SHA2_256";

const KEY_BASED_HINT: &str = "bpkit reads key-based v0.3 bundles: `verificationMaterial.publicKey` and one of `messageSignature` or `dsseEnvelope`";

/// A key-based Sigstore bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// A hint naming the public key (for example its [`Verifier::key_id`]); not trusted.
    pub public_key_hint: String,
    /// What is signed.
    pub content: BundleContent,
    /// `verificationMaterial.tlogEntries`, kept as read (not verified).
    pub tlog_entries: Vec<Value>,
    /// `verificationMaterial.timestampVerificationData`, kept as read (not verified).
    pub timestamp_verification_data: Option<Value>,
}

/// The signed content of a [`Bundle`].
#[derive(Debug, Clone, PartialEq)]
pub enum BundleContent {
    /// A signature over an artifact's bytes (`cosign sign-blob`).
    MessageSignature(MessageSignature),
    /// A DSSE envelope (`cosign attest`).
    DsseEnvelope(Envelope),
}

/// A signature over the bytes of an artifact, and the artifact's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    /// SHA-256 of the artifact.
    pub sha256: [u8; 32],
    /// DER ECDSA signature over the artifact (that is, over its SHA-256 prehash).
    pub signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BundleJson {
    media_type: String,
    verification_material: MaterialJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_signature: Option<MessageSignatureJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dsse_envelope: Option<Envelope>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MaterialJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<PublicKeyJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    certificate: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x509_certificate_chain: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tlog_entries: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timestamp_verification_data: Option<Value>,
}

#[derive(Serialize, Deserialize)]
struct PublicKeyJson {
    #[serde(default)]
    hint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MessageSignatureJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_digest: Option<HashOutputJson>,
    #[serde(with = "b64::serde_bytes")]
    signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HashOutputJson {
    algorithm: String,
    #[serde(with = "b64::serde_bytes")]
    digest: Vec<u8>,
}

impl Bundle {
    /// Signs `message` (an artifact's bytes) into a message-signature bundle.
    pub fn sign_message(signer: &Signer, message: &[u8], hint: impl Into<String>) -> Self {
        Self {
            public_key_hint: hint.into(),
            content: BundleContent::MessageSignature(MessageSignature {
                sha256: Sha256::digest(message).into(),
                signature: signer.sign(message),
            }),
            tlog_entries: Vec::new(),
            timestamp_verification_data: None,
        }
    }

    /// Wraps a signed DSSE envelope into a bundle.
    pub fn from_envelope(envelope: Envelope, hint: impl Into<String>) -> Self {
        Self {
            public_key_hint: hint.into(),
            content: BundleContent::DsseEnvelope(envelope),
            tlog_entries: Vec::new(),
            timestamp_verification_data: None,
        }
    }

    /// The compact JSON form.
    pub fn to_json(&self) -> Vec<u8> {
        let (message_signature, dsse_envelope) = match &self.content {
            BundleContent::MessageSignature(m) => (
                Some(MessageSignatureJson {
                    message_digest: Some(HashOutputJson {
                        algorithm: SHA2_256.to_owned(),
                        digest: m.sha256.to_vec(),
                    }),
                    signature: m.signature.clone(),
                }),
                None,
            ),
            BundleContent::DsseEnvelope(e) => (None, Some(e.clone())),
        };
        let json = BundleJson {
            media_type: BUNDLE_V03_MEDIA_TYPE.to_owned(),
            verification_material: MaterialJson {
                public_key: Some(PublicKeyJson {
                    hint: self.public_key_hint.clone(),
                }),
                certificate: None,
                x509_certificate_chain: None,
                tlog_entries: self.tlog_entries.clone(),
                timestamp_verification_data: self.timestamp_verification_data.clone(),
            },
            message_signature,
            dsse_envelope,
        };
        // Strings and JSON values only: serialising cannot fail.
        serde_json::to_vec(&json).unwrap_or_default()
    }

    /// Reads a key-based v0.3 bundle.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let json: BundleJson = serde_json::from_slice(bytes)
            .map_err(|e| Error::bundle(e.to_string(), KEY_BASED_HINT))?;
        if json.media_type != BUNDLE_V03_MEDIA_TYPE {
            return Err(Error::bundle(
                format!(
                    "`mediaType` is `{}`, expected `{BUNDLE_V03_MEDIA_TYPE}`",
                    json.media_type
                ),
                "only v0.3 bundles are supported",
            ));
        }
        let material = json.verification_material;
        for (present, name) in [
            (material.certificate.is_some(), "certificate"),
            (
                material.x509_certificate_chain.is_some(),
                "x509CertificateChain",
            ),
        ] {
            if present {
                return Err(Error::bundle(
                    format!(
                        "`verificationMaterial.{name}` is present: this is a keyless (certificate) bundle"
                    ),
                    "keyless verification needs a Sigstore trust root; bpkit verifies key-based bundles only",
                ));
            }
        }
        let public_key = material.public_key.ok_or_else(|| {
            Error::bundle(
                "`verificationMaterial.publicKey` is missing",
                KEY_BASED_HINT,
            )
        })?;
        let content = match (json.message_signature, json.dsse_envelope) {
            (Some(m), None) => {
                let digest = m.message_digest.ok_or_else(|| {
                    Error::bundle(
                        "`messageSignature.messageDigest` is missing",
                        KEY_BASED_HINT,
                    )
                })?;
                if digest.algorithm != SHA2_256 {
                    return Err(Error::bundle(
                        format!(
                            "`messageSignature.messageDigest.algorithm` is `{}`, expected `{SHA2_256}`",
                            digest.algorithm
                        ),
                        "ECDSA P-256 signatures use SHA-256",
                    ));
                }
                let sha256 = <[u8; 32]>::try_from(digest.digest.as_slice()).map_err(|_| {
                    Error::bundle(
                        format!(
                            "`messageSignature.messageDigest.digest` has {} bytes, expected 32",
                            digest.digest.len()
                        ),
                        KEY_BASED_HINT,
                    )
                })?;
                BundleContent::MessageSignature(MessageSignature {
                    sha256,
                    signature: m.signature,
                })
            }
            (None, Some(e)) => BundleContent::DsseEnvelope(e),
            (Some(_), Some(_)) => {
                return Err(Error::bundle(
                    "both `messageSignature` and `dsseEnvelope` are present",
                    KEY_BASED_HINT,
                ));
            }
            (None, None) => {
                return Err(Error::bundle(
                    "neither `messageSignature` nor `dsseEnvelope` is present",
                    KEY_BASED_HINT,
                ));
            }
        };
        Ok(Self {
            public_key_hint: public_key.hint,
            content,
            tlog_entries: material.tlog_entries,
            timestamp_verification_data: material.timestamp_verification_data,
        })
    }

    /// Verifies a message-signature bundle against the artifact's bytes: the digest in the
    /// bundle must be the artifact's SHA-256 and the signature must verify with `verifier`.
    pub fn verify_message(&self, verifier: &Verifier, message: &[u8]) -> Result<()> {
        self.verify_sha256(verifier, &Sha256::digest(message).into())
    }

    /// Like [`Bundle::verify_message`] when only the artifact's SHA-256 is known.
    pub fn verify_sha256(&self, verifier: &Verifier, sha256: &[u8; 32]) -> Result<()> {
        let BundleContent::MessageSignature(m) = &self.content else {
            return Err(Error::bundle(
                "the bundle holds a `dsseEnvelope`, not a `messageSignature`",
                "verify it as an attestation instead",
            ));
        };
        if &m.sha256 != sha256 {
            return Err(Error::bundle(
                format!(
                    "the bundle signs sha256:{}, the artifact is sha256:{}",
                    hex_lower(&m.sha256),
                    hex_lower(sha256)
                ),
                "this bundle belongs to another artifact",
            ));
        }
        verifier.verify_sha256(sha256, &m.signature)
    }

    /// Verifies a DSSE bundle with `verifier`; returns the envelope.
    pub fn verify_envelope(&self, verifier: &Verifier) -> Result<&Envelope> {
        let BundleContent::DsseEnvelope(e) = &self.content else {
            return Err(Error::bundle(
                "the bundle holds a `messageSignature`, not a `dsseEnvelope`",
                "verify it against the signed artifact instead",
            ));
        };
        e.verify(verifier)?;
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bundle_round_trip_and_shape() {
        let signer = Signer::generate().unwrap();
        let hint = signer.verifier().key_id();
        let bundle = Bundle::sign_message(&signer, b"artifact", hint.clone());
        let json = bundle.to_json();
        let v: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["mediaType"], BUNDLE_V03_MEDIA_TYPE);
        assert_eq!(
            v["verificationMaterial"],
            serde_json::json!({"publicKey": {"hint": hint}})
        );
        assert_eq!(
            v["messageSignature"]["messageDigest"]["algorithm"],
            "SHA2_256"
        );
        assert_eq!(
            v["messageSignature"]["messageDigest"]["digest"],
            b64::encode(&Sha256::digest(b"artifact"))
        );
        let back = Bundle::from_json(&json).unwrap();
        assert_eq!(back, bundle);
        back.verify_message(&signer.verifier(), b"artifact")
            .unwrap();
        assert!(
            back.verify_message(&signer.verifier(), b"artifacT")
                .is_err()
        );
        let stranger = Signer::generate().unwrap().verifier();
        assert!(matches!(
            back.verify_message(&stranger, b"artifact"),
            Err(Error::BadSignature)
        ));
        assert!(back.verify_envelope(&signer.verifier()).is_err());
    }

    #[test]
    fn dsse_bundle_round_trip() {
        let signer = Signer::generate().unwrap();
        let env = Envelope::sign("application/vnd.in-toto+json", b"{}".to_vec(), &signer, "");
        let bundle = Bundle::from_envelope(env.clone(), "");
        let back = Bundle::from_json(&bundle.to_json()).unwrap();
        assert_eq!(back.verify_envelope(&signer.verifier()).unwrap(), &env);
        assert!(back.verify_message(&signer.verifier(), b"{}").is_err());
    }

    #[test]
    fn unsupported_bundles_are_refused() {
        let signer = Signer::generate().unwrap();
        let good: Value =
            serde_json::from_slice(&Bundle::sign_message(&signer, b"a", "h").to_json()).unwrap();
        let try_with = |mutate: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            mutate(&mut v);
            Bundle::from_json(&serde_json::to_vec(&v).unwrap())
        };
        assert!(try_with(&|_| {}).is_ok());
        let cases: [&dyn Fn(&mut Value); 7] = [
            &|v| v["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1".into(),
            &|v| v["verificationMaterial"]["certificate"] = serde_json::json!({"rawBytes": "AA=="}),
            &|v| {
                v["verificationMaterial"]
                    .as_object_mut()
                    .unwrap()
                    .remove("publicKey");
            },
            &|v| v["messageSignature"]["messageDigest"]["algorithm"] = "SHA2_384".into(),
            &|v| v["messageSignature"]["messageDigest"]["digest"] = "AAAA".into(),
            &|v| {
                v.as_object_mut().unwrap().remove("messageSignature");
            },
            &|v| {
                v["dsseEnvelope"] =
                    serde_json::json!({"payloadType": "t", "payload": "", "signatures": []})
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            assert!(
                matches!(try_with(*case), Err(Error::Bundle { .. })),
                "case {i}"
            );
        }
    }

    #[test]
    fn tlog_entries_are_kept() {
        let signer = Signer::generate().unwrap();
        let mut v: Value =
            serde_json::from_slice(&Bundle::sign_message(&signer, b"a", "h").to_json()).unwrap();
        v["verificationMaterial"]["tlogEntries"] = serde_json::json!([{"logIndex": "1"}]);
        let bundle = Bundle::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(bundle.tlog_entries.len(), 1);
        let again: Value = serde_json::from_slice(&bundle.to_json()).unwrap();
        assert_eq!(again, v);
    }
}
