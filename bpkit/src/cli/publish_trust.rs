//! The signing side of `bpkit publish`: the key (given, or a project-local development key)
//! and the [`Trust`] that signs and attests with it through `bpkit::trust`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::publish::PublishArgs;
use super::registry::connect;
use super::{Exit, Printer};
use crate::oci::registry::{Reference, Registry};
use crate::oci::store::Store;
use crate::oci::{Digest, Layout};
use crate::publish::{PublishError, SourceInfo, Subject, Target, Trust, TrustOutcome};
use crate::trust::predicate::{
    CYCLONEDX, ProvenanceInput, SLSA_PROVENANCE_V1, SPDX, provenance, provenance_predicate,
};
use crate::trust::{
    AttestOptions, Change, PASSWORD_ENV, PASSWORD_ENV_COSIGN, SignOptions, Signer, Verifier,
    attest, load_signer, sign, signer_from_pem, verify, verify_attestation,
};

/// The folder of the project-local development key.
pub const DEV_KEY_DIR: &str = ".bpkit";

/// Signs and attests with one key.
struct KeyTrust {
    signer: Signer,
    verifier: Verifier,
    registry: Option<Registry>,
}

impl KeyTrust {
    fn with_store<T>(
        &self,
        target: &Target,
        s: &Subject<'_>,
        f: impl FnOnce(&dyn Store) -> Result<T, PublishError>,
    ) -> Result<T, PublishError> {
        let fail = |message: String| PublishError::Trust {
            reference: s.reference.clone(),
            message,
        };
        match target {
            Target::Layouts(dir) => {
                let layout = Layout::open(&dir.join(s.name)).map_err(|e| fail(e.to_string()))?;
                f(&layout)
            }
            Target::Registry { .. } => {
                let r = Reference::parse(&s.reference).map_err(|e| fail(e.to_string()))?;
                let Some(reg) = &self.registry else {
                    return Err(fail("no registry connection".into()));
                };
                let store = crate::oci::registry::RegistryStore::new(reg, &r);
                f(&store)
            }
        }
    }
}

fn trust_error(s: &Subject<'_>, what: &str, e: &crate::trust::TrustError) -> PublishError {
    let mut message = format!("{what}: {e}");
    if let Some(h) = miette::Diagnostic::help(e) {
        message.push_str(&format!("; {h}"));
    }
    PublishError::Trust {
        reference: s.reference.clone(),
        message,
    }
}

/// The three predicates attached to a Blueprint: SLSA provenance and both SBOMs.
fn predicates(s: &Subject<'_>) -> Result<Vec<(&'static str, Value)>, PublishError> {
    let parse = |what: &str, bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes).map_err(|e| PublishError::Trust {
            reference: s.reference.clone(),
            message: format!("the {what} SBOM is not JSON: {e}"),
        })
    };
    let path = s.source.root.as_ref().and_then(|root| {
        let dir = std::fs::canonicalize(s.dir).ok()?;
        let root = std::fs::canonicalize(root).ok()?;
        dir.strip_prefix(&root)
            .ok()
            .map(|p| p.display().to_string())
    });
    let dependencies: Vec<(String, Digest)> = s
        .lock
        .nodes
        .iter()
        .filter(|n| n.blueprint != s.name)
        .filter_map(|n| {
            let d = Digest::parse(n.digest.as_deref()?).ok()?;
            Some((format!("pkg:oci/{}@{}", n.blueprint, n.version), d))
        })
        .collect();
    let input = ProvenanceInput {
        source_repository: s.source.repository.clone(),
        revision: s.source.revision.clone(),
        path,
        source_digest: Some(Digest::of(s.artifact.content())),
        dependencies,
        bpkit_version: Some(env!("CARGO_PKG_VERSION").to_string()),
    };
    let env = |k: &str| std::env::var(k).ok();
    Ok(vec![
        (
            SLSA_PROVENANCE_V1,
            provenance_predicate(&provenance(&input, &env)),
        ),
        (CYCLONEDX, parse("CycloneDX", s.cyclonedx)?),
        (SPDX, parse("SPDX", s.spdx)?),
    ])
}

impl Trust for KeyTrust {
    fn ensure(&self, target: &Target, s: &Subject<'_>) -> Result<TrustOutcome, PublishError> {
        let predicates = predicates(s)?;
        self.with_store(target, s, |store| {
            let desc = s.artifact.image.descriptor();
            let signed = sign(
                store,
                &desc,
                &s.reference,
                &self.signer,
                &SignOptions::default(),
            )
            .map_err(|e| trust_error(s, "signing failed", &e))?;
            let mut out = TrustOutcome {
                signed: signed.tag_layout == Change::Written || signed.referrer == Change::Written,
                attestations: 0,
            };
            let opts = AttestOptions {
                subject_name: Some(target.repository(s.name)),
                ..AttestOptions::default()
            };
            for (ty, predicate) in &predicates {
                let a = attest(store, &desc, &self.signer, ty, predicate, &opts)
                    .map_err(|e| trust_error(s, &format!("attesting `{ty}` failed"), &e))?;
                if a.tag_layout == Change::Written || a.referrer == Change::Written {
                    out.attestations += 1;
                }
            }
            Ok(out)
        })
    }

    fn verify(&self, target: &Target, s: &Subject<'_>) -> Result<(), PublishError> {
        self.with_store(target, s, |store| {
            verify(store, s.digest, &self.verifier, &Default::default())
                .map_err(|e| trust_error(s, "the signature does not verify", &e))?;
            for ty in [SLSA_PROVENANCE_V1, CYCLONEDX, SPDX] {
                verify_attestation(store, s.digest, &self.verifier, ty).map_err(|e| {
                    trust_error(s, &format!("the `{ty}` attestation does not verify"), &e)
                })?;
            }
            Ok(())
        })
    }
}

/// The password of the development key: `BPKIT_KEY_PASSWORD`, else `COSIGN_PASSWORD`, else
/// empty.
fn dev_password() -> String {
    [PASSWORD_ENV, PASSWORD_ENV_COSIGN]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .unwrap_or_default()
}

/// Opens the development key in `dir/.bpkit/`, creating it first when it is missing (written
/// so that two runs at once end up with one key). Returns the signer and whether it was
/// created now.
pub fn dev_key(dir: &Path) -> Result<(Signer, bool, PathBuf), String> {
    let folder = dir.join(DEV_KEY_DIR);
    let key = folder.join("cosign.key");
    let public = folder.join("cosign.pub");
    let password = dev_password();
    let mut created = false;
    if !key.exists() {
        std::fs::create_dir_all(&folder)
            .map_err(|e| format!("cannot create `{}`: {e}", folder.display()))?;
        let signer = Signer::generate().map_err(|e| format!("cannot generate a key: {e}"))?;
        let pem = signer
            .to_encrypted_pem(password.as_bytes())
            .map_err(|e| format!("cannot encrypt the key: {e}"))?;
        let tmp = tempfile::NamedTempFile::new_in(&folder)
            .map_err(|e| format!("cannot write in `{}`: {e}", folder.display()))?;
        std::fs::write(tmp.path(), pem.as_bytes())
            .map_err(|e| format!("cannot write `{}`: {e}", tmp.path().display()))?;
        // A hard link is created only when the name is free: a key another run wrote at the
        // same time wins, and this one is dropped with the temporary file.
        match std::fs::hard_link(tmp.path(), &key) {
            Ok(()) => created = true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot write `{}`: {e}", key.display())),
        }
    }
    let pem = std::fs::read(&key).map_err(|e| format!("cannot read `{}`: {e}", key.display()))?;
    let signer = signer_from_pem(&pem, password.as_bytes()).map_err(|e| {
        format!(
            "`{}` does not open with the password in `{PASSWORD_ENV}` (or the empty one): {e}",
            key.display()
        )
    })?;
    let pub_pem = signer.verifier().to_pem();
    if std::fs::read_to_string(&public).ok().as_deref() != Some(pub_pem.as_str()) {
        crate::atomic::write_file(&public, pub_pem.as_bytes())
            .map_err(|e| format!("cannot write `{}`: {e}", public.display()))?;
    }
    Ok((signer, created, public))
}

/// The trust layer for a run: `None` with `--no-sign`.
pub fn trust(
    a: &PublishArgs,
    target: &Target,
    source: &SourceInfo,
    p: &Printer,
) -> Result<Option<Box<dyn Trust>>, Exit> {
    if a.no_sign {
        p.warn("`--no-sign`: the Blueprints are published without signatures and attestations");
        return Ok(None);
    }
    let signer = match &a.key {
        Some(path) => match load_signer(path) {
            Ok(s) => s,
            Err(e) => {
                super::package::report(p, &e);
                return Err(Exit::Error);
            }
        },
        None => {
            let cwd = PathBuf::from(".");
            let (signer, created, public) = match dev_key(&cwd) {
                Ok(x) => x,
                Err(e) => {
                    p.error(&e);
                    return Err(Exit::Error);
                }
            };
            if created {
                p.warn(&format!(
                    "no signing key configured (`--key`, `BPKIT_KEY`): created a DEVELOPMENT key in `{DEV_KEY_DIR}/` (public key `{}`); do not use it for releases",
                    public.display()
                ));
                if source.root.is_some() {
                    match crate::publish::ensure_gitignore(&cwd, &["/.bpkit/"]) {
                        Ok(added) if !added.is_empty() => {
                            p.warn(&format!("added {} to `.gitignore`", added.join(", ")));
                        }
                        Ok(_) => {}
                        Err(e) => p.warn(&e.to_string()),
                    }
                }
            } else if !p.quiet {
                p.status(&format!(
                    "signing with the development key in `{DEV_KEY_DIR}/` (set `BPKIT_KEY` for releases)"
                ));
            }
            signer
        }
    };
    let registry = match target {
        Target::Registry { .. } => Some(connect(&a.registry, p)?),
        Target::Layouts(_) => None,
    };
    Ok(Some(Box::new(KeyTrust {
        verifier: signer.verifier(),
        signer,
        registry,
    })))
}

/// Whether a private key file opens (with `BPKIT_KEY_PASSWORD` or `COSIGN_PASSWORD`, else the
/// empty password); its key id.
pub fn check_key(bytes: &[u8]) -> Result<Option<String>, String> {
    let signer = signer_from_pem(bytes, dev_password().as_bytes()).map_err(|e| e.to_string())?;
    Ok(Some(signer.verifier().key_id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_key_is_created_once_and_reopened() {
        let d = tempfile::tempdir().unwrap();
        let (a, created, public) = dev_key(d.path()).unwrap();
        assert!(created);
        let pem = std::fs::read_to_string(&public).unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
        let (b, created, _) = dev_key(d.path()).unwrap();
        assert!(!created);
        assert_eq!(a.verifier().key_id(), b.verifier().key_id());
        let key = std::fs::read(d.path().join(".bpkit/cosign.key")).unwrap();
        assert_eq!(check_key(&key).unwrap(), Some(a.verifier().key_id()));
        assert!(check_key(b"-----BEGIN PUBLIC KEY-----\n").is_err());
    }
}
