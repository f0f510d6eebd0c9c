//! [`Store`] over one registry repository.

use super::{Reference, Registry, RegistryError, http_value};
use crate::oci::store::{MAX_MANIFEST_BYTES, Store, StoreError, manifest_descriptor};
use crate::oci::{Descriptor, Digest, OciError, media_type};

/// Media types asked for when reading a manifest: OCI and Docker manifests and indexes.
const ACCEPT: &[&str] = &[
    media_type::IMAGE_MANIFEST,
    media_type::IMAGE_INDEX,
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// One repository of a registry, as a [`Store`].
#[derive(Debug)]
pub struct RegistryStore<'a> {
    registry: &'a Registry,
    repo: Reference,
}

impl<'a> RegistryStore<'a> {
    /// The repository `r` names (its tag and digest are ignored).
    pub fn new(registry: &'a Registry, r: &Reference) -> RegistryStore<'a> {
        RegistryStore {
            registry,
            repo: Reference {
                host: r.host.clone(),
                repo: r.repo.clone(),
                tag: None,
                digest: None,
            },
        }
    }

    /// The repository.
    pub fn repository(&self) -> &Reference {
        &self.repo
    }

    /// The registry connection.
    pub fn registry(&self) -> &Registry {
        self.registry
    }

    fn fetch(&self, r: &Reference) -> Result<Option<Vec<u8>>, RegistryError> {
        let reg = self.registry;
        let (client, auth) = reg.client(r)?;
        let cr = r.to_client();
        match reg.call(r, "a manifest download", || {
            client.pull_manifest_raw(&cr, &auth, ACCEPT)
        }) {
            Ok((body, _)) => {
                if body.len() as u64 > MAX_MANIFEST_BYTES {
                    return Err(OciError::TooLarge {
                        what: format!("manifest of `{r}`"),
                        size: body.len() as u64,
                        limit: MAX_MANIFEST_BYTES,
                    }
                    .into());
                }
                Ok(Some(body.to_vec()))
            }
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Store for RegistryStore<'_> {
    fn location(&self) -> String {
        format!("{}/{}", self.repo.host, self.repo.repo)
    }

    fn resolve(&self, tag: &str) -> Result<Option<Descriptor>, StoreError> {
        let r = self.repo.with_tag(tag);
        Ok(self.fetch(&r)?.map(|body| {
            let mt = crate::oci::store::media_type_of(&body);
            manifest_descriptor(&body, &mt)
        }))
    }

    fn get_manifest(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let r = self.repo.with_digest(digest);
        let Some(body) = self.fetch(&r)? else {
            return Err(StoreError::NotFound {
                digest: digest.to_string(),
                location: self.location(),
            });
        };
        let actual = Digest::of(&body);
        if actual != *digest {
            return Err(OciError::DigestMismatch {
                what: format!("manifest `{r}`"),
                expected: digest.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
        Ok(body)
    }

    fn put_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<Descriptor, StoreError> {
        let d = manifest_descriptor(bytes, media_type);
        let r = match tag {
            Some(t) => self.repo.with_tag(t),
            None => self.repo.with_digest(&d.digest),
        };
        let reg = self.registry;
        let (client, auth) = reg.client(&r)?;
        reg.rt.block_on(client.store_auth_if_needed(&r.host, &auth));
        let cr = r.to_client();
        let ct = http_value(media_type);
        let body = bytes.to_vec();
        reg.call(&r, "the manifest upload", || {
            client.push_manifest_raw(&cr, body.clone(), ct.clone())
        })?;
        Ok(d)
    }

    fn has_blob(&self, d: &Descriptor) -> Result<bool, StoreError> {
        let r = &self.repo;
        let reg = self.registry;
        let (client, auth) = reg.client(r)?;
        reg.rt.block_on(client.store_auth_if_needed(&r.host, &auth));
        let cr = self.repo.with_digest(&d.digest).to_client();
        let ds = d.digest.to_string();
        Ok(reg.call(r, "a blob lookup", || client.blob_exists(&cr, &ds))?)
    }

    fn get_blob(&self, d: &Descriptor) -> Result<Vec<u8>, StoreError> {
        let r = self.repo.with_digest(&d.digest);
        let reg = self.registry;
        let limits = reg.opts.limits;
        if d.size > limits.max_blob_bytes {
            return Err(OciError::TooLarge {
                what: format!("blob `{}` of `{}`", d.digest, self.location()),
                size: d.size,
                limit: limits.max_blob_bytes,
            }
            .into());
        }
        let (client, auth) = reg.client(&r)?;
        reg.rt.block_on(client.store_auth_if_needed(&r.host, &auth));
        let cr = r.to_client();
        let bytes = match reg.pull_blob(&r, &client, &cr, d) {
            Err(RegistryError::NotFound { .. }) => {
                return Err(StoreError::NotFound {
                    digest: d.digest.to_string(),
                    location: self.location(),
                });
            }
            other => other?,
        };
        let what = format!("blob `{}` of `{}`", d.digest, self.location());
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

    fn put_blob(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let d = Descriptor::of(media_type::EMPTY, bytes);
        if self.has_blob(&d)? {
            return Ok(d.digest);
        }
        let r = &self.repo;
        let reg = self.registry;
        let (client, _) = reg.client(r)?;
        let cr = self.repo.with_digest(&d.digest).to_client();
        let ds = d.digest.to_string();
        let data = bytes.to_vec();
        reg.call(r, "a blob upload", || {
            client.push_blob(&cr, data.clone(), &ds)
        })?;
        Ok(d.digest)
    }

    fn tags(&self) -> Result<Vec<String>, StoreError> {
        match self.registry.tags(&self.repo.with_tag("latest")) {
            Ok(t) => Ok(t),
            Err(RegistryError::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    fn referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>, StoreError> {
        let r = self.repo.with_digest(subject);
        let reg = self.registry;
        let (client, auth) = reg.client(&r)?;
        reg.rt.block_on(client.store_auth_if_needed(&r.host, &auth));
        let cr = r.to_client();
        let index = match reg.call(&r, "listing referrers", || client.pull_referrers(&cr, None)) {
            Ok(i) => i,
            Err(RegistryError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for e in index.manifests {
            let digest = Digest::parse(&e.digest)?;
            out.push(Descriptor {
                media_type: e.media_type,
                digest,
                size: u64::try_from(e.size).unwrap_or(0),
                annotations: e.annotations.unwrap_or_default(),
                artifact_type: e.artifact_type,
            });
        }
        Ok(out)
    }
}
