//! Content digests (`sha256:<64 hex>`), the only algorithm bpkit writes or accepts.

use std::fmt;
use std::io::Read;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use super::OciError;

/// The algorithm prefix.
pub const SHA256: &str = "sha256";

/// A SHA-256 content digest. Parsing is strict (lower-case hex of exactly 64 digits), so a
/// digest is always safe to use as a file name under `blobs/sha256/`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// The digest of everything `r` yields, reading at most `limit` bytes; also returns the
    /// number of bytes read (`limit + 1` means there was more).
    pub fn of_reader(r: impl Read, limit: u64) -> std::io::Result<(Digest, u64)> {
        let mut h = Sha256::new();
        let mut r = r.take(limit.saturating_add(1));
        let mut buf = [0u8; 64 * 1024];
        let mut n = 0u64;
        loop {
            let k = r.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            n += k as u64;
        }
        Ok((
            Digest {
                hex: hex::encode(h.finalize()),
            },
            n,
        ))
    }

    /// Parses `sha256:<64 lower-case hex digits>`.
    pub fn parse(s: &str) -> Result<Digest, OciError> {
        let bad = |reason: &str| OciError::BadDigest {
            digest: s.chars().take(100).collect(),
            reason: reason.to_string(),
        };
        let Some((alg, hex)) = s.split_once(':') else {
            return Err(bad("it has no `algorithm:` prefix"));
        };
        if alg != SHA256 {
            return Err(if alg.is_empty() {
                bad("the algorithm is empty")
            } else {
                bad(&format!(
                    "the algorithm `{}` is not supported (only `sha256`)",
                    alg.chars().take(20).collect::<String>()
                ))
            });
        }
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("a sha256 digest is 64 lower-case hexadecimal digits"));
        }
        Ok(Digest {
            hex: hex.to_string(),
        })
    }

    /// The hexadecimal part (the blob's file name in a layout).
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The algorithm (always `sha256`).
    pub fn algorithm(&self) -> &'static str {
        SHA256
    }
}

/// A SHA-256 digest computed piece by piece (for content streamed to or from a file).
#[derive(Clone, Default)]
pub struct Hasher {
    inner: Sha256,
}

impl Hasher {
    /// A hasher that has seen nothing yet.
    pub fn new() -> Hasher {
        Hasher::default()
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
    }

    /// The digest of everything added.
    pub fn finish(self) -> Digest {
        Digest {
            hex: hex::encode(self.inner.finalize()),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SHA256}:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl std::str::FromStr for Digest {
    type Err = OciError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            Digest::of(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let (d, n) = Digest::of_reader(&b"{}"[..], 10).unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            d.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
    }

    #[test]
    fn hasher_matches_one_shot() {
        let mut h = Hasher::new();
        h.update(b"ab");
        h.update(b"cdef");
        assert_eq!(h.finish(), Digest::of(b"abcdef"));
    }

    #[test]
    fn reader_limit_reports_more() {
        let (_, n) = Digest::of_reader(&b"abcdef"[..], 3).unwrap();
        assert_eq!(n, 4);
    }

    #[test]
    fn strict_parsing() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert!(Digest::parse(&ok).is_ok());
        for (bad, why) in [
            ("abc", "no `algorithm:`"),
            (":abc", "algorithm is empty"),
            ("sha512:abc", "`sha512` is not supported"),
            ("sha256:ABC", "64 lower-case"),
            (&format!("sha256:{}", "A".repeat(64)), "64 lower-case"),
            (&format!("sha256:../../{}", "a".repeat(58)), "64 lower-case"),
        ] {
            let e = Digest::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
