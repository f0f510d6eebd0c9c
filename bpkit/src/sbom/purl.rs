//! Package URLs (purl, ECMA-427): building the canonical string.
//!
//! Only what bpkit writes is built here: a type, an optional namespace, a name, an optional
//! version and qualifiers. Per the specification's character-encoding rules, alphanumerics,
//! the punctuation `.-_~` and the colon `:` are never percent-encoded; every other byte of a
//! component is written as `%XX` (upper-case hex) of its UTF-8 encoding. Qualifier values
//! additionally keep `/` as is, as the `oci` type's own examples do
//! (`repository_url=docker.io/library/debian`). Qualifiers with empty values are dropped and
//! the rest are sorted by key.

use std::collections::BTreeMap;

/// A package URL under construction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purl {
    /// The package type (`oci`, `helm`), lower-case.
    pub ty: String,
    /// The namespace segments (none for `oci` and `helm`).
    pub namespace: Vec<String>,
    /// The name.
    pub name: String,
    /// The version.
    pub version: Option<String>,
    /// The qualifiers, by key (keys are lower-case ASCII).
    pub qualifiers: BTreeMap<String, String>,
}

impl Purl {
    /// A purl of this type and name, without version or qualifiers.
    pub fn new(ty: &str, name: &str) -> Purl {
        Purl {
            ty: ty.to_ascii_lowercase(),
            name: name.to_string(),
            ..Purl::default()
        }
    }

    /// Sets the version (an empty one is none).
    pub fn with_version(mut self, version: Option<&str>) -> Purl {
        self.version = version.filter(|v| !v.is_empty()).map(str::to_string);
        self
    }

    /// Adds a qualifier (an empty value is none).
    pub fn with_qualifier(mut self, key: &str, value: Option<&str>) -> Purl {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.qualifiers
                .insert(key.to_ascii_lowercase(), v.to_string());
        }
        self
    }
}

impl std::fmt::Display for Purl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        for seg in self.namespace.iter().filter(|s| !s.is_empty()) {
            write!(f, "{}/", encode(seg, false))?;
        }
        f.write_str(&encode(self.name.trim_matches('/'), false))?;
        if let Some(v) = &self.version {
            write!(f, "@{}", encode(v, false))?;
        }
        let mut sep = '?';
        for (k, v) in &self.qualifiers {
            write!(f, "{sep}{k}={}", encode(v, true))?;
            sep = '&';
        }
        Ok(())
    }
}

/// Percent-encodes one component; `keep_slash` keeps `/` (qualifier values).
pub fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'-' | b'_' | b'~' | b':')
            || (keep_slash && b == b'/');
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_examples_of_the_specification() {
        let p = Purl::new("oci", "debian")
            .with_version(Some("sha256:244fd47e07d10"))
            .with_qualifier("tag", Some("latest"))
            .with_qualifier("repository_url", Some("docker.io/library/debian"))
            .with_qualifier("arch", Some("amd64"));
        assert_eq!(
            p.to_string(),
            "pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io/library/debian&tag=latest"
        );
        let p = Purl::new("oci", "hello-wasm").with_qualifier("tag", Some("v1"));
        assert_eq!(p.to_string(), "pkg:oci/hello-wasm?tag=v1");
    }

    #[test]
    fn encodes_what_is_not_permitted() {
        assert_eq!(encode("1.0.0+build.1", false), "1.0.0%2Bbuild.1");
        assert_eq!(encode("a b/c", false), "a%20b%2Fc");
        assert_eq!(encode("a b/c", true), "a%20b/c");
        assert_eq!(encode("é", false), "%C3%A9");
        let p = Purl::new("helm", "bp-x")
            .with_version(Some("1.0.0+meta"))
            .with_qualifier("empty", Some(""));
        assert_eq!(p.to_string(), "pkg:helm/bp-x@1.0.0%2Bmeta");
    }
}
