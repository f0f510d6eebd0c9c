//! Container image references: parsing, normalising, and their `pkg:oci` purls.
//!
//! A reference is `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`, read the way Docker and containerd
//! read it: the first path component is a registry when it contains a `.` or a `:` or is
//! `localhost`; otherwise the registry is `docker.io`, and a single-component repository
//! there is under `library/` (`nginx` is `docker.io/library/nginx`). `index.docker.io` and
//! `registry-1.docker.io` are written `docker.io`. Repository components are lower-case
//! alphanumerics joined by `.`, `_`, `__` or dashes; a tag is at most 128 word characters, dots
//! and dashes, not starting with either; a digest is `ALGORITHM:HEX`.

use std::fmt;

use super::purl::Purl;

/// The default registry of a reference without one.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A normalised container image reference.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ImageRef {
    /// The registry host (and port), e.g. `docker.io`, `ghcr.io`, `localhost:5000`.
    pub registry: String,
    /// The repository path, e.g. `library/nginx`.
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest (`sha256:…`), if any.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses and normalises a reference; the error says what is wrong.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        let s = text.trim();
        if s.is_empty() {
            return Err("is empty".to_string());
        }
        if s.len() > 1024 {
            return Err("is longer than 1024 characters".to_string());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains white space".to_string());
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(parse_digest(d)?)),
            None => (s, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(t) = tag {
            check_tag(t)?;
        }
        let (registry, repository) = split_registry(name)?;
        Ok(ImageRef {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The image name: the last component of the repository, lower-case.
    pub fn name(&self) -> String {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
            .to_ascii_lowercase()
    }

    /// `registry/repository`.
    pub fn location(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The component version: the tag, else the digest.
    pub fn version(&self) -> Option<&str> {
        self.tag.as_deref().or(self.digest.as_deref())
    }

    /// The `pkg:oci` purl: the version is the digest (the type requires a digest there, so
    /// without one there is no version), with `repository_url` and `tag` qualifiers.
    pub fn purl(&self) -> Purl {
        let location = self.location();
        Purl::new("oci", &self.name())
            .with_version(self.digest.as_deref())
            .with_qualifier("repository_url", Some(&location))
            .with_qualifier("tag", self.tag.as_deref())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn parse_digest(d: &str) -> Result<String, String> {
    let (alg, hex) = d
        .split_once(':')
        .ok_or_else(|| format!("has digest `{d}` without `ALGORITHM:`"))?;
    let alg_ok = !alg.is_empty()
        && alg.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'.' | b'_' | b'-')
        });
    let hex_ok = hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !alg_ok || !hex_ok {
        return Err(format!("has digest `{d}`, not `ALGORITHM:HEX`"));
    }
    if alg == "sha256" && hex.len() != 64 {
        return Err(format!("has sha256 digest `{d}` that is not 64 hex digits"));
    }
    Ok(format!("{alg}:{}", hex.to_ascii_lowercase()))
}

fn check_tag(t: &str) -> Result<(), String> {
    let ok = !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "has tag `{t}`, not 1-128 letters, digits, `_`, `.` or `-`"
        ))
    }
}

fn is_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn split_registry(name: &str) -> Result<(String, String), String> {
    let (registry, repo) = match name.split_once('/') {
        Some((first, rest)) if is_registry(first) => (first.to_ascii_lowercase(), rest),
        _ => (DEFAULT_REGISTRY.to_string(), name),
    };
    let registry = match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DEFAULT_REGISTRY.to_string()
        }
        _ => registry,
    };
    if registry.is_empty()
        || !registry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return Err(format!("has registry `{registry}` that is not a host name"));
    }
    for c in repo.split('/') {
        if !repo_component_ok(c) {
            return Err(format!(
                "has repository component `{c}`, not lower-case letters and digits joined by `.`, `_`, `__` or `-`"
            ));
        }
    }
    let repository = if registry == DEFAULT_REGISTRY && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo.to_string()
    };
    Ok((registry, repository))
}

fn repo_component_ok(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: &u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(&b[0]) || !b.last().is_some_and(alnum) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(&b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(&b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        ImageRef::parse(s).expect("parses").to_string()
    }

    #[test]
    fn docker_defaults() {
        assert_eq!(norm("nginx"), "docker.io/library/nginx");
        assert_eq!(norm("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(norm("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(
            norm("index.docker.io/library/busybox:1"),
            "docker.io/library/busybox:1"
        );
        assert_eq!(norm("docker.io/busybox"), "docker.io/library/busybox");
        assert_eq!(norm("localhost:5000/x:y"), "localhost:5000/x:y");
        assert_eq!(norm("localhost/x"), "localhost/x");
        assert_eq!(
            norm("quay.io/jetstack/cert-manager-controller:v1.16.2"),
            "quay.io/jetstack/cert-manager-controller:v1.16.2"
        );
        assert_eq!(norm("ghcr.io/a/b/c"), "ghcr.io/a/b/c");
    }

    #[test]
    fn digests_and_purls() {
        let d = format!("sha256:{}", "A".repeat(64));
        let r = ImageRef::parse(&format!("registry.k8s.io/pause:3.9@{d}")).expect("parses");
        assert_eq!(r.digest.as_deref(), Some(&*d.to_ascii_lowercase()));
        assert_eq!(
            r.purl().to_string(),
            format!(
                "pkg:oci/pause@sha256:{}?repository_url=registry.k8s.io/pause&tag=3.9",
                "a".repeat(64)
            )
        );
        let r = ImageRef::parse("wordpress:6.6").expect("parses");
        assert_eq!(
            r.purl().to_string(),
            "pkg:oci/wordpress?repository_url=docker.io/library/wordpress&tag=6.6"
        );
        assert_eq!(r.version(), Some("6.6"));
        assert_eq!(r.name(), "wordpress");
    }

    #[test]
    fn refuses_bad_references() {
        for bad in [
            "",
            "UPPER/case",
            "a//b",
            "x:",
            "x:-bad",
            "x@sha256:1234",
            "x@nocolon",
            "with space",
            "a/b-/c",
            "{{ .Values.image }}",
            "-x",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(ImageRef::parse("a__b/c-d.e_f:1.0").is_ok());
        assert!(ImageRef::parse("a___b").is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parsing_never_panics(s in "\\PC{0,80}") {
                let _ = ImageRef::parse(&s);
            }

            #[test]
            fn normalising_is_idempotent(
                reg in prop::option::of("(quay\\.io|localhost:5000|docker\\.io|index\\.docker\\.io)"),
                path in "[a-z0-9]{1,6}(/[a-z0-9]{1,6}([._-][a-z0-9]{1,3})?){0,3}",
                tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
                digest in prop::option::of("[0-9a-f]{64}"),
            ) {
                let mut text = match &reg { Some(r) => format!("{r}/{path}"), None => path.clone() };
                if let Some(t) = &tag { text.push(':'); text.push_str(t); }
                if let Some(d) = &digest { text.push_str("@sha256:"); text.push_str(d); }
                let once = ImageRef::parse(&text).expect("valid by construction");
                let twice = ImageRef::parse(&once.to_string()).expect("reparses");
                prop_assert_eq!(&once, &twice);
                prop_assert_eq!(once.tag, tag);
                let purl = twice.purl().to_string();
                prop_assert!(purl.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_~:/@?=&%".contains(&b)), "{}", purl);
            }
        }
    }
}
