//! Registry references: `oci://host/repo:tag`, `host/repo:tag`, `host/repo@sha256:…`.

use std::fmt;

use crate::oci::{Digest, layout::validate_tag};

use super::RegistryError;

/// A manifest in a registry: a host (with an optional port), a repository, and a tag, a
/// digest, or both (`repo:tag@sha256:…`, where the digest wins).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The registry host, with its port when given (`127.0.0.1:5000`, `ghcr.io`).
    pub host: String,
    /// The repository path (`bp/postgres`).
    pub repo: String,
    /// The tag, when given.
    pub tag: Option<String>,
    /// The manifest digest, when given.
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses a reference. The host is required (there is no default registry): the first path
    /// segment must contain a `.` or a `:`, or be `localhost`. Repository segments are
    /// lower-case `[a-z0-9]` separated by `.`, `_`, `__` or `-`.
    pub fn parse(text: &str) -> Result<Reference, RegistryError> {
        let bad = |reason: &str| RegistryError::BadReference {
            text: text.chars().take(300).collect(),
            reason: reason.to_string(),
        };
        let rest = text.strip_prefix("oci://").unwrap_or(text);
        if rest.contains("://") {
            return Err(bad("only the `oci://` scheme is understood"));
        }
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) => (r, Some(Digest::parse(d).map_err(|e| bad(&e.to_string()))?)),
            None => (rest, None),
        };
        let Some((host, path)) = rest.split_once('/') else {
            return Err(bad("it has no repository; write `HOST/REPO:TAG`"));
        };
        if host.is_empty() || !(host.contains(['.', ':']) || host == "localhost") {
            return Err(bad(
                "it does not start with a registry host (a name with a `.` or a port, or `localhost`)",
            ));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return Err(bad("the host has characters a host name cannot have"));
        }
        let (repo, tag) = match path.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, Some(t)),
            _ => (path, None),
        };
        if let Some(t) = tag {
            validate_tag(t).map_err(|e| bad(&e.to_string()))?;
        }
        if repo.is_empty() || repo.len() > 255 {
            return Err(bad("the repository is empty or longer than 255 characters"));
        }
        for seg in repo.split('/') {
            if !valid_segment(seg) {
                return Err(bad(&format!(
                    "the repository segment `{seg}` is not lower-case letters and digits separated by `.`, `_`, `__` or `-`"
                )));
            }
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad("it names no tag or digest; write `HOST/REPO:TAG`"));
        }
        Ok(Reference {
            host: host.to_string(),
            repo: repo.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// Parses `HOST/REPO` (no tag needed), as `bpkit tags` takes it; a tag or digest is
    /// allowed and kept.
    pub fn parse_repo(text: &str) -> Result<Reference, RegistryError> {
        match Reference::parse(text) {
            Ok(r) => Ok(r),
            Err(RegistryError::BadReference { reason, .. }) if reason.contains("no tag") => {
                let mut r = Reference::parse(&format!("{}:latest", text.trim_end_matches('/')))?;
                r.tag = None;
                Ok(r)
            }
            Err(e) => Err(e),
        }
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            host: self.host.clone(),
            repo: self.repo.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }

    /// The same repository at a digest (and no tag).
    pub fn with_digest(&self, digest: &Digest) -> Reference {
        Reference {
            host: self.host.clone(),
            repo: self.repo.clone(),
            tag: None,
            digest: Some(digest.clone()),
        }
    }

    /// Whether the host is this machine (`localhost`, `127.0.0.1`, `[::1]`, with any port).
    pub fn is_loopback(&self) -> bool {
        let h = match self.host.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
            _ => self.host.as_str(),
        };
        matches!(h, "localhost" | "127.0.0.1" | "[::1]" | "::1") || h.starts_with("127.")
    }

    /// What the registry is asked for: the digest when there is one, else the tag.
    pub fn object(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    pub(crate) fn to_client(&self) -> oci_client::Reference {
        match &self.digest {
            Some(d) => oci_client::Reference::with_digest(
                self.host.clone(),
                self.repo.clone(),
                d.to_string(),
            ),
            None => oci_client::Reference::with_tag(
                self.host.clone(),
                self.repo.clone(),
                self.tag.clone().unwrap_or_else(|| "latest".into()),
            ),
        }
    }
}

fn valid_segment(seg: &str) -> bool {
    let b = seg.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            i += 1;
            continue;
        }
        // separators: `.`, `_`, `__`, or one or more `-`
        let start = i;
        while i < b.len() && !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
            i += 1;
        }
        let sep = &seg[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.repo)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        let r = Reference::parse("oci://127.0.0.1:5000/bp/postgres:1.2.0").unwrap();
        assert_eq!(r.host, "127.0.0.1:5000");
        assert_eq!(r.repo, "bp/postgres");
        assert_eq!(r.tag.as_deref(), Some("1.2.0"));
        assert!(r.is_loopback());
        assert_eq!(r.to_string(), "127.0.0.1:5000/bp/postgres:1.2.0");
        let r = Reference::parse("ghcr.io/openova/postgres:1.2.0_build.1").unwrap();
        assert!(!r.is_loopback());
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("localhost/x@{d}")).unwrap();
        assert_eq!(r.object(), d);
        assert_eq!(r.tag, None);
        let r = Reference::parse(&format!("localhost:1/x/y:t@{d}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("t"));
        assert_eq!(r.object(), d);
    }

    #[test]
    fn refuses_bad_references() {
        for (text, want) in [
            ("postgres:1.0", "no repository"),
            ("library/postgres:1.0", "registry host"),
            ("ghcr.io/Org/x:1", "`Org`"),
            ("ghcr.io/x", "no tag or digest"),
            ("ghcr.io/x:1+2", "`+`"),
            ("ghcr.io/x@sha256:12", "64"),
            ("https://ghcr.io/x:1", "`oci://`"),
            ("ghcr.io/a..b:1", "`a..b`"),
            ("gh cr.io/a:1", "host"),
        ] {
            let e = Reference::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let r = Reference::parse_repo("ghcr.io/x/y").unwrap();
        assert_eq!((r.repo.as_str(), r.tag), ("x/y", None));
    }
}
