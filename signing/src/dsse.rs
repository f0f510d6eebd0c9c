//! DSSE (Dead Simple Signing Envelope) v1, the envelope of in-toto attestations.
//!
//! The signature covers the pre-authentication encoding ([`pae`]) of the payload type and the
//! payload, never the JSON. The envelope is
//! `{"payloadType":…,"payload":<base64>,"signatures":[{"keyid":…,"sig":<base64>}]}`.

use crate::b64;
use crate::error::{Error, Result};
use crate::keys::{Signer, Verifier};
use serde::{Deserialize, Serialize};

/// The payload type of in-toto Statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The pre-authentication encoding of DSSE v1:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal bytes.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let head = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    );
    let mut out = Vec::with_capacity(head.len() + payload.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The type of `payload`, for example [`IN_TOTO_PAYLOAD_TYPE`].
    pub payload_type: String,
    /// The signed bytes (base64 in JSON).
    #[serde(with = "b64::serde_bytes")]
    pub payload: Vec<u8>,
    /// One or more signatures over `pae(payload_type, payload)`.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// An optional hint naming the key (`""` when unused, as cosign writes it).
    #[serde(default)]
    pub keyid: String,
    /// The DER ECDSA signature over the PAE (base64 in JSON).
    #[serde(with = "b64::serde_bytes")]
    pub sig: Vec<u8>,
}

impl Envelope {
    /// Signs `payload` of type `payload_type` into a new envelope with one signature.
    pub fn sign(
        payload_type: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        signer: &Signer,
        keyid: impl Into<String>,
    ) -> Self {
        let mut envelope = Self {
            payload_type: payload_type.into(),
            payload: payload.into(),
            signatures: Vec::new(),
        };
        envelope.add_signature(signer, keyid);
        envelope
    }

    /// Adds a signature by `signer`.
    pub fn add_signature(&mut self, signer: &Signer, keyid: impl Into<String>) {
        let sig = signer.sign(&pae(&self.payload_type, &self.payload));
        self.signatures.push(EnvelopeSignature {
            keyid: keyid.into(),
            sig,
        });
    }

    /// Checks that at least one signature verifies with `verifier`; returns the payload.
    pub fn verify(&self, verifier: &Verifier) -> Result<&[u8]> {
        if self.signatures.is_empty() {
            return Err(Error::dsse("the envelope has no signatures"));
        }
        let message = pae(&self.payload_type, &self.payload);
        if self
            .signatures
            .iter()
            .any(|s| verifier.verify(&message, &s.sig).is_ok())
        {
            Ok(&self.payload)
        } else {
            Err(Error::BadSignature)
        }
    }

    /// Like [`Envelope::verify`], and checks the payload type first.
    pub fn verify_typed(&self, verifier: &Verifier, payload_type: &str) -> Result<&[u8]> {
        if self.payload_type != payload_type {
            return Err(Error::dsse(format!(
                "`payloadType` is `{}`, expected `{payload_type}`",
                self.payload_type
            )));
        }
        self.verify(verifier)
    }

    /// The compact JSON form.
    pub fn to_json(&self) -> Vec<u8> {
        // Only strings: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an envelope from JSON (base64 fields in the standard or URL-safe alphabet).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| Error::dsse(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the DSSE v1 protocol description.
    #[test]
    fn pae_known_answer() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
        // Lengths are bytes, not characters.
        assert_eq!(pae("é", b"\xff"), b"DSSEv1 2 \xc3\xa9 1 \xff");
    }

    #[test]
    fn sign_verify_round_trip() {
        let signer = Signer::generate().unwrap();
        let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{}".to_vec(), &signer, "");
        let json = env.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.starts_with(r#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":""#));
        let back = Envelope::from_json(&json).unwrap();
        assert_eq!(back, env);
        assert_eq!(back.verify(&signer.verifier()).unwrap(), b"{}");
        back.verify_typed(&signer.verifier(), IN_TOTO_PAYLOAD_TYPE)
            .unwrap();
        assert!(back.verify_typed(&signer.verifier(), "text/plain").is_err());
    }

    #[test]
    fn tampering_is_detected() {
        let signer = Signer::generate().unwrap();
        let env = Envelope::sign("text/plain", b"hello".to_vec(), &signer, "k");
        let mut other_type = env.clone();
        other_type.payload_type = "text/html".into();
        assert!(matches!(
            other_type.verify(&signer.verifier()),
            Err(Error::BadSignature)
        ));
        let mut other_payload = env.clone();
        other_payload.payload = b"hellO".to_vec();
        assert!(matches!(
            other_payload.verify(&signer.verifier()),
            Err(Error::BadSignature)
        ));
        let stranger = Signer::generate().unwrap().verifier();
        assert!(matches!(env.verify(&stranger), Err(Error::BadSignature)));
        let mut unsigned = env.clone();
        unsigned.signatures.clear();
        assert!(matches!(
            unsigned.verify(&signer.verifier()),
            Err(Error::Dsse { .. })
        ));
    }

    #[test]
    fn any_signature_may_verify() {
        let a = Signer::generate().unwrap();
        let b = Signer::generate().unwrap();
        let mut env = Envelope::sign("t", b"x".to_vec(), &a, "a");
        env.add_signature(&b, "b");
        env.verify(&a.verifier()).unwrap();
        env.verify(&b.verifier()).unwrap();
    }

    #[test]
    fn bad_json_is_an_error() {
        for bad in [
            &b""[..],
            b"{}",
            b"{\"payloadType\":\"t\",\"payload\":\"*\",\"signatures\":[]}",
        ] {
            assert!(matches!(Envelope::from_json(bad), Err(Error::Dsse { .. })));
        }
    }
}
