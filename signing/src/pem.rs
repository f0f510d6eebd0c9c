//! A small PEM (RFC 7468) reader and writer with precise errors.
//!
//! Text before the `BEGIN` line and after the `END` line is ignored, like Go's `pem.Decode`.
//! Lines may end in `\n` or `\r\n`. Only the first block is read.

use crate::b64;
use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// A decoded PEM block.
pub(crate) struct Block {
    /// The label of the `BEGIN` line, one of those accepted.
    pub label: &'static str,
    /// The decoded body.
    pub body: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("label", &self.label)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Reads the first PEM block of `input`, which must have one of the `accepted` labels.
pub(crate) fn decode(input: &[u8], what: &'static str, accepted: &[&'static str]) -> Result<Block> {
    let text = String::from_utf8_lossy(input);
    let expected = accepted.first().copied().unwrap_or("");
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate();
    let (begin_line, found) = lines
        .by_ref()
        .find_map(|(i, line)| {
            let label = line
                .trim_end()
                .strip_prefix("-----BEGIN ")?
                .strip_suffix("-----")?;
            Some((i + 1, label.to_owned()))
        })
        .ok_or(Error::NotPem { what, expected })?;
    let Some(label) = accepted.iter().copied().find(|l| *l == found) else {
        return Err(Error::WrongPemType {
            hint: wrong_type_hint(&found, expected),
            found,
            expected: accepted
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(" or "),
            line: begin_line,
        });
    };
    let end = format!("-----END {label}-----");
    let mut body = Zeroizing::new(String::new());
    let mut ended = false;
    for (_, line) in lines {
        let line = line.trim();
        if line == end {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(Error::TruncatedPem {
            label: label.to_owned(),
            line: begin_line,
        });
    }
    let body = b64::decode_secret(&body).map_err(|detail| Error::PemBase64 {
        label: label.to_owned(),
        line: begin_line + 1,
        detail,
    })?;
    Ok(Block { label, body })
}

/// Writes one PEM block: base64 in lines of 64 characters, `\n` line endings.
pub(crate) fn encode(label: &str, body: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(b64::encode(body));
    let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 64));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

fn wrong_type_hint(found: &str, expected: &str) -> String {
    let found_private = found.contains("PRIVATE KEY");
    let expected_private = expected.contains("PRIVATE KEY");
    if expected_private && !found_private && found.contains("PUBLIC KEY") {
        "this is a public key: pass the private key (`cosign.key`)".to_owned()
    } else if !expected_private && found_private {
        "this is a private key: pass the public key (`cosign.pub`)".to_owned()
    } else if expected_private && (found == "PRIVATE KEY" || found == "EC PRIVATE KEY") {
        "this key is not encrypted: cosign keys are encrypted with a password (`cosign generate-key-pair`)"
            .to_owned()
    } else if expected_private && found == "ENCRYPTED PRIVATE KEY" {
        "PKCS#8 password-based encryption is not supported: use a cosign-format key".to_owned()
    } else {
        format!("expected a `{expected}` PEM file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &[&str] = &["TEST BLOCK", "OLD TEST BLOCK"];

    #[test]
    fn round_trip_with_long_body() {
        let body: Vec<u8> = (0..=255u8).collect();
        let pem = encode("TEST BLOCK", &body);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let block = decode(pem.as_bytes(), "test", LABELS).unwrap();
        assert_eq!(block.label, "TEST BLOCK");
        assert_eq!(*block.body, body);
    }

    #[test]
    fn crlf_and_surrounding_text_are_accepted() {
        let pem = "preamble\r\n-----BEGIN OLD TEST BLOCK-----\r\naGVs\r\nbG8=\r\n-----END OLD TEST BLOCK-----\r\ntrailer";
        let block = decode(pem.as_bytes(), "test", LABELS).unwrap();
        assert_eq!(block.label, "OLD TEST BLOCK");
        assert_eq!(*block.body, b"hello");
    }

    #[test]
    fn errors_are_distinct() {
        assert!(matches!(
            decode(b"just text", "test", LABELS),
            Err(Error::NotPem { .. })
        ));
        let err = decode(b"\n-----BEGIN TEST BLOCK-----\naGVs\n", "test", LABELS).unwrap_err();
        assert!(matches!(err, Error::TruncatedPem { line: 2, .. }), "{err}");
        let err = decode(
            b"-----BEGIN OTHER-----\n-----END OTHER-----\n",
            "test",
            LABELS,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "PEM block on line 1 is `OTHER`, expected `TEST BLOCK` or `OLD TEST BLOCK`"
        );
        let err = decode(
            b"-----BEGIN TEST BLOCK-----\n*!*\n-----END TEST BLOCK-----\n",
            "test",
            LABELS,
        )
        .unwrap_err();
        assert!(matches!(err, Error::PemBase64 { line: 2, .. }), "{err}");
    }

    #[test]
    fn end_label_must_match() {
        let err = decode(
            b"-----BEGIN TEST BLOCK-----\naGVs\n-----END OLD TEST BLOCK-----\n",
            "test",
            LABELS,
        )
        .unwrap_err();
        assert!(matches!(err, Error::TruncatedPem { .. }), "{err}");
    }
}
