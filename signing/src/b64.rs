//! Base64 as Sigstore formats use it: written in the standard alphabet with padding; read in
//! the standard or the URL-safe alphabet, with or without padding (DSSE allows both).

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use zeroize::Zeroizing;

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Encodes in the standard alphabet with padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}

/// Decodes the standard or the URL-safe alphabet; the error is the decoder's message.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, String> {
    STANDARD_LENIENT
        .decode(text)
        .or_else(|first| URL_SAFE_LENIENT.decode(text).map_err(|_| first.to_string()))
}

/// Like [`decode`], for secrets: the buffers are wiped when dropped.
pub(crate) fn decode_secret(text: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    decode(text).map(Zeroizing::new)
}

/// Serde adapter for `Vec<u8>` fields stored as base64 strings.
pub(crate) mod serde_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::decode(&text).map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_alphabets_with_or_without_padding() {
        let bytes = [0xfb, 0xff, 0xfe, 0x01];
        assert_eq!(encode(&bytes), "+//+AQ==");
        for text in ["+//+AQ==", "+//+AQ", "-__-AQ==", "-__-AQ"] {
            assert_eq!(decode(text).unwrap(), bytes, "{text}");
        }
        assert!(decode("+//+A*==").is_err());
    }
}
