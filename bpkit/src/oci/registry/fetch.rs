//! Reading single pieces of an artifact: its manifest alone, one blob (what a catalog needs to
//! read a Blueprint without downloading the chart).

use super::{Reference, Registry, RegistryError};
use crate::oci::{Descriptor, Digest, Manifest, OciError, media_type};

impl Registry {
    /// The manifest a reference names, with its digest: size-limited, digest-checked against
    /// the reference's digest when it has one, and parsed.
    pub fn manifest_of(&self, r: &Reference) -> Result<(Manifest, Digest), RegistryError> {
        let (body, manifest) = self.manifest_raw(r)?;
        Ok((manifest, Digest::of(&body)))
    }

    /// The manifest bytes a reference names, checked as [`Registry::manifest_of`] says, and
    /// parsed.
    pub(super) fn manifest_raw(&self, r: &Reference) -> Result<(Vec<u8>, Manifest), RegistryError> {
        let (client, auth) = self.client(r)?;
        let cr = r.to_client();
        let (body, _) = match self.call(r, "a manifest download", || {
            client.pull_manifest_raw(&cr, &auth, &[media_type::IMAGE_MANIFEST])
        }) {
            Err(RegistryError::NotFound { .. }) => return Err(self.not_found(r)),
            other => other?,
        };
        let digest = Digest::of(&body);
        let what = format!("manifest `{digest}` of `{r}`");
        let limit = self.opts.limits.max_manifest_bytes;
        if body.len() as u64 > limit {
            return Err(OciError::TooLarge {
                what,
                size: body.len() as u64,
                limit,
            }
            .into());
        }
        if let Some(want) = &r.digest
            && *want != digest
        {
            return Err(OciError::DigestMismatch {
                what,
                expected: want.to_string(),
                actual: digest.to_string(),
            }
            .into());
        }
        let manifest = Manifest::from_json(&what, &body)?;
        Ok((body.to_vec(), manifest))
    }

    /// One blob of the repository `r` names, checked against the descriptor's size and digest
    /// (and the blob size limit) before it is returned.
    pub fn blob_of(&self, r: &Reference, d: &Descriptor) -> Result<Vec<u8>, RegistryError> {
        let what = format!("blob `{}` of `{r}`", d.digest);
        let limit = self.opts.limits.max_blob_bytes;
        if d.size > limit {
            return Err(OciError::TooLarge {
                what,
                size: d.size,
                limit,
            }
            .into());
        }
        let (client, auth) = self.client(r)?;
        self.rt
            .block_on(client.store_auth_if_needed(&r.host, &auth));
        let bytes = self.pull_blob(r, &client, &r.to_client(), d)?;
        if bytes.len() as u64 != d.size {
            return Err(OciError::SizeMismatch {
                what,
                expected: d.size,
                actual: bytes.len() as u64,
            }
            .into());
        }
        let actual = Digest::of(&bytes);
        if actual != d.digest {
            return Err(OciError::DigestMismatch {
                what,
                expected: d.digest.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
        Ok(bytes)
    }

    /// Every repository of the registry at `host` (its `_catalog`, following pagination),
    /// sorted.
    pub fn repositories(&self, host: &str) -> Result<Vec<String>, RegistryError> {
        let r = Reference {
            host: host.to_string(),
            repo: "bpkit/catalog".into(),
            tag: Some("latest".into()),
            digest: None,
        };
        let (client, auth) = self.client(&r)?;
        let cr = r.to_client();
        let mut all = std::collections::BTreeSet::new();
        let mut last: Option<String> = None;
        for _ in 0..1000 {
            let page = self.call(&r, "listing repositories", || {
                client.catalog(&cr, &auth, Some(1000), last.as_deref())
            })?;
            let n = page.repositories.len();
            let before = all.len();
            last = page.repositories.iter().max().cloned();
            all.extend(page.repositories);
            if n < 1000 || all.len() == before {
                break;
            }
        }
        Ok(all.into_iter().collect())
    }
}
