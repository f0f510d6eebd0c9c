//! cosign's "simple signing" payload: the JSON document whose bytes are signed and stored as
//! the layer of a `sha256-<hex>.sig` manifest.
//!
//! ```json
//! {"critical":{"identity":{"docker-reference":"registry/repo:tag"},"image":{"docker-manifest-digest":"sha256:…"},"type":"cosign container image signature"},"optional":null}
//! ```
//!
//! Written compactly with exactly this key order; read strictly (no unknown keys in
//! `critical`, the `type` must match, the digest must be well-formed).

use crate::error::{Error, Result};
use crate::keys::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `critical.type` of every cosign image signature payload.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// A cosign simple-signing payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimpleSigning {
    /// What the signature vouches for.
    pub critical: Critical,
    /// Free-form annotations (`null` when absent).
    #[serde(default)]
    pub optional: Option<Map<String, Value>>,
}

/// The `critical` section of a [`SimpleSigning`] payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Critical {
    /// The reference the image was signed under.
    pub identity: Identity,
    /// The signed manifest.
    pub image: Image,
    /// Always [`SIMPLE_SIGNING_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The image reference (`registry/repo:tag` or `registry/repo`).
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// The manifest digest, `sha256:<64 hex>`.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

impl SimpleSigning {
    /// A payload for the manifest `digest` signed under `docker_reference`, with no
    /// `optional` annotations.
    pub fn new(docker_reference: impl Into<String>, digest: impl Into<String>) -> Result<Self> {
        let digest = digest.into();
        check_digest_syntax(&digest)?;
        Ok(Self {
            critical: Critical {
                identity: Identity {
                    docker_reference: docker_reference.into(),
                },
                image: Image {
                    docker_manifest_digest: digest,
                },
                kind: SIMPLE_SIGNING_TYPE.to_owned(),
            },
            optional: None,
        })
    }

    /// Sets the `optional` annotations.
    #[must_use]
    pub fn with_optional(mut self, optional: Map<String, Value>) -> Self {
        self.optional = Some(optional);
        self
    }

    /// The compact JSON bytes to sign.
    pub fn to_json(&self) -> Vec<u8> {
        // Only strings and a JSON map: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a payload strictly.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let payload: Self =
            serde_json::from_slice(bytes).map_err(|e| Error::payload(e.to_string()))?;
        if payload.critical.kind != SIMPLE_SIGNING_TYPE {
            return Err(Error::payload(format!(
                "`critical.type` is `{}`, expected `{SIMPLE_SIGNING_TYPE}`",
                payload.critical.kind
            )));
        }
        check_digest_syntax(&payload.critical.image.docker_manifest_digest)?;
        Ok(payload)
    }

    /// The signed manifest digest.
    pub fn manifest_digest(&self) -> &str {
        &self.critical.image.docker_manifest_digest
    }

    /// The reference the image was signed under.
    pub fn docker_reference(&self) -> &str {
        &self.critical.identity.docker_reference
    }

    /// Signs the payload: returns the exact payload bytes (the `.sig` layer) and the base64
    /// signature (the `dev.cosignproject.cosign/signature` annotation).
    pub fn sign(&self, signer: &Signer) -> (Vec<u8>, String) {
        let payload = self.to_json();
        let signature = signer.sign_base64(&payload);
        (payload, signature)
    }

    /// Checks that the payload signs the manifest `expected` (`sha256:<hex>`).
    pub fn check_digest(&self, expected: &str) -> Result<()> {
        if self.manifest_digest() == expected {
            Ok(())
        } else {
            Err(Error::DigestMismatch {
                found: self.manifest_digest().to_owned(),
                expected: expected.to_owned(),
            })
        }
    }
}

/// Verifies a cosign image signature: the base64 DER `signature_b64` over the `payload`
/// bytes with `verifier`, then that the payload names `expected_digest`. Returns the payload.
pub fn verify_simple_signing(
    verifier: &Verifier,
    payload: &[u8],
    signature_b64: &str,
    expected_digest: &str,
) -> Result<SimpleSigning> {
    verifier.verify_base64(payload, signature_b64)?;
    let parsed = SimpleSigning::parse(payload)?;
    parsed.check_digest(expected_digest)?;
    Ok(parsed)
}

/// Checks `algorithm:hex` with a known algorithm and the right number of lower-case hex digits.
fn check_digest_syntax(digest: &str) -> Result<()> {
    let bad = |why: String| {
        Err(Error::payload(format!(
            "`docker-manifest-digest` `{digest}` is not a digest: {why}"
        )))
    };
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return bad("expected `sha256:<64 hex digits>`".to_owned());
    };
    let len = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        other => {
            return bad(format!(
                "unknown algorithm `{other}`, expected `sha256` or `sha512`"
            ));
        }
    };
    if hex.len() != len
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return bad(format!(
            "expected {len} lower-case hex digits after `{algorithm}:`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn exact_bytes() {
        let p = SimpleSigning::new("127.0.0.1:5000/bp/demo:0.1.0", DIGEST).unwrap();
        assert_eq!(
            String::from_utf8(p.to_json()).unwrap(),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"127.0.0.1:5000/bp/demo:0.1.0"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
        );
        assert_eq!(SimpleSigning::parse(&p.to_json()).unwrap(), p);
    }

    #[test]
    fn optional_round_trips() {
        let mut map = Map::new();
        map.insert("creator".into(), Value::String("bpkit".into()));
        let p = SimpleSigning::new("r/x", DIGEST)
            .unwrap()
            .with_optional(map);
        let json = p.to_json();
        assert!(String::from_utf8_lossy(&json).ends_with(r#""optional":{"creator":"bpkit"}}"#));
        assert_eq!(SimpleSigning::parse(&json).unwrap(), p);
    }

    #[test]
    fn strict_parsing() {
        let good = SimpleSigning::new("r/x", DIGEST).unwrap().to_json();
        let text = String::from_utf8(good).unwrap();
        let cases = [
            text.replace("\"type\":\"cosign", "\"type\":\"other"),
            text.replace("\"identity\"", "\"extra\":1,\"identity\""),
            text.replace("sha256:0123", "sha256:0124X"),
            text.replace("sha256:", "md5:"),
            text.replace("\"critical\"", "\"critical\":{},\"crit\""),
            "[]".to_owned(),
            String::new(),
        ];
        for case in cases {
            assert!(
                matches!(
                    SimpleSigning::parse(case.as_bytes()),
                    Err(Error::Payload { .. })
                ),
                "{case}"
            );
        }
        // `optional` may be missing.
        let no_optional = text.replace(",\"optional\":null", "");
        assert!(SimpleSigning::parse(no_optional.as_bytes()).is_ok());
    }

    #[test]
    fn digest_check() {
        let p = SimpleSigning::new("r/x", DIGEST).unwrap();
        p.check_digest(DIGEST).unwrap();
        let other = DIGEST.replace("0123", "3210");
        let err = p.check_digest(&other).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("signature is for another digest"),
            "{err}"
        );
    }
}
