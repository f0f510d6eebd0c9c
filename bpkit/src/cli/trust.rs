//! `bpkit key`, `sign`, `verify`, `attest` and `verify-attestation`: cosign-compatible
//! signatures and attestations on registries and OCI image layouts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::package::report;
use super::registry::{Place, RegistryArgs, parse_place, registry};
use super::{Exit, Printer};
use crate::oci::registry::RegistryStore;
use crate::oci::store::{Store, StoreError, manifest_descriptor, media_type_of};
use crate::oci::{Descriptor, Layout, ReadLimits};
use crate::trust::{
    self, AttestOptions, Change, SignOptions, Signer, TrustError, Verifier, predicate,
};

fn trust_exit(e: &TrustError) -> Exit {
    match e {
        e if e.is_verification_failure() => Exit::Findings,
        TrustError::Signing(_) => Exit::Findings,
        TrustError::Store(StoreError::Registry(r)) => super::registry::registry_exit(r),
        TrustError::Store(StoreError::Oci(o)) => super::package::oci_exit(o),
        _ => Exit::Error,
    }
}

fn fail(p: &Printer, e: &TrustError) -> Exit {
    report(p, e);
    trust_exit(e)
}

/// Opens the store a place names and resolves the subject manifest, then runs `f` with them
/// and the `docker-reference` to sign under.
fn with_subject<T>(
    text: &str,
    ra: &RegistryArgs,
    p: &Printer,
    f: impl FnOnce(&dyn Store, &Descriptor, &str) -> Result<T, Exit>,
) -> Result<T, Exit> {
    let place = parse_place(text, false, p)?;
    match &place {
        Place::Layout(l) => {
            let layout = Layout::open(&l.dir).map_err(|e| {
                report(p, &e);
                super::package::oci_exit(&e)
            })?;
            let mut d = layout
                .resolve(l.tag.as_deref(), &ReadLimits::default())
                .map_err(|e| {
                    report(p, &e);
                    super::package::oci_exit(&e)
                })?;
            d.annotations.clear();
            f(&layout, &d, &place.to_string())
        }
        Place::Registry(r) => {
            let mut reg = None;
            let registry = registry(&mut reg, ra, p)?;
            let store = RegistryStore::new(registry, r);
            let found = match &r.digest {
                Some(digest) => match store.get_manifest(digest) {
                    Ok(b) => Some(manifest_descriptor(&b, &media_type_of(&b))),
                    Err(StoreError::NotFound { .. }) => None,
                    Err(e) => return Err(fail(p, &e.into())),
                },
                None => store
                    .resolve(r.tag.as_deref().unwrap_or("latest"))
                    .map_err(|e| fail(p, &e.into()))?,
            };
            let Some(mut d) = found else {
                p.error(&format!("`{r}` was not found in the registry"));
                return Err(Exit::Error);
            };
            d.annotations.clear();
            d.artifact_type = None;
            f(&store, &d, &r.to_string())
        }
    }
}

fn parse_annotations(list: &[String], p: &Printer) -> Result<BTreeMap<String, String>, Exit> {
    let mut out = BTreeMap::new();
    for a in list {
        let Some((k, v)) = a.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            p.error(&format!("`{a}` is not an annotation: expected `KEY=VALUE`"));
            return Err(Exit::Error);
        };
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

fn load_signer(path: &Path, p: &Printer) -> Result<Signer, Exit> {
    trust::load_signer(path).map_err(|e| fail(p, &e))
}

fn load_verifier(path: &Path, p: &Printer) -> Result<Verifier, Exit> {
    trust::load_verifier(path).map_err(|e| fail(p, &e))
}

fn change(c: Change) -> &'static str {
    match c {
        Change::Written => "written",
        Change::Unchanged => "unchanged",
        Change::Skipped => "skipped",
    }
}

/// Arguments of `bpkit key`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeyCommand,
}

/// `bpkit key` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a cosign key pair: `PREFIX.key` (encrypted, mode 0600) and `PREFIX.pub`.
    Generate {
        /// The file name prefix.
        #[arg(long, default_value = "cosign")]
        output_key_prefix: String,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Import an unencrypted PKCS#8 PEM private key (`openssl genpkey`) as a cosign key pair.
    Import {
        /// The PEM file (`-----BEGIN PRIVATE KEY-----`, ECDSA P-256).
        file: PathBuf,
        /// The file name prefix.
        #[arg(long, default_value = "import-cosign")]
        output_key_prefix: String,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key of a cosign private key.
    Public {
        /// The private key file.
        #[arg(long)]
        key: PathBuf,
    },
}

fn write_pair(signer: &Signer, prefix: &str, force: bool, p: &Printer) -> Result<Value, Exit> {
    let key_path = PathBuf::from(format!("{prefix}.key"));
    let pub_path = PathBuf::from(format!("{prefix}.pub"));
    if !force {
        for path in [&key_path, &pub_path] {
            if path.exists() {
                p.error(&format!(
                    "`{}` exists already; pass `--force` to overwrite it",
                    path.display()
                ));
                return Err(Exit::Error);
            }
        }
    }
    let password = trust::read_password("password for the new private key: ", true)
        .map_err(|e| fail(p, &e))?;
    let pem = signer
        .to_encrypted_pem(password.as_bytes())
        .map_err(|e| fail(p, &e.into()))?;
    let pub_pem = signer.verifier().to_pem();
    // Written through a temporary file created with mode 0600, then renamed.
    for (path, body) in [(&key_path, pem.as_bytes()), (&pub_path, pub_pem.as_bytes())] {
        if let Err(e) = crate::atomic::write_file(path, body) {
            p.error(&format!("cannot write `{}`: {e}", path.display()));
            return Err(Exit::Error);
        }
    }
    p.status(&format!(
        "wrote the private key `{}` and the public key `{}` (key id `{}`)",
        key_path.display(),
        pub_path.display(),
        signer.verifier().key_id()
    ));
    Ok(json!({
        "privateKey": key_path.display().to_string(),
        "publicKey": pub_path.display().to_string(),
        "keyId": signer.verifier().key_id(),
    }))
}

/// Runs `bpkit key`.
pub fn key(a: &KeyArgs, p: &Printer) -> Exit {
    let run = || -> Result<Value, Exit> {
        match &a.command {
            KeyCommand::Generate {
                output_key_prefix,
                force,
            } => {
                let signer = Signer::generate().map_err(|e| fail(p, &e.into()))?;
                write_pair(&signer, output_key_prefix, *force, p)
            }
            KeyCommand::Import {
                file,
                output_key_prefix,
                force,
            } => {
                let pem = std::fs::read(file).map_err(|e| {
                    p.error(&format!("cannot read `{}`: {e}", file.display()));
                    Exit::Error
                })?;
                let signer = Signer::from_pkcs8_pem(&pem).map_err(|e| fail(p, &e.into()))?;
                write_pair(&signer, output_key_prefix, *force, p)
            }
            KeyCommand::Public { key } => {
                let signer = load_signer(key, p)?;
                let pem = signer.verifier().to_pem();
                if !p.json_mode() {
                    print!("{pem}");
                }
                Ok(json!({ "publicKey": pem, "keyId": signer.verifier().key_id() }))
            }
        }
    };
    finish(run(), p)
}

/// Arguments of `bpkit sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The artifact: `HOST/REPO:TAG`, `HOST/REPO@sha256:…` or `oci:DIR[:TAG]`.
    pub reference: String,
    /// The cosign private key (password from `BPKIT_KEY_PASSWORD`, `COSIGN_PASSWORD` or a
    /// prompt).
    #[arg(long)]
    pub key: PathBuf,
    /// An annotation to sign with the payload, `KEY=VALUE` (repeatable).
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// Sign again even when this key's valid signature is there.
    #[arg(long)]
    pub force: bool,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `bpkit sign`.
pub fn sign(a: &SignArgs, p: &Printer) -> Exit {
    let run = || -> Result<Value, Exit> {
        let annotations = parse_annotations(&a.annotations, p)?;
        let signer = load_signer(&a.key, p)?;
        with_subject(&a.reference, &a.registry, p, |store, subject, reference| {
            let opts = SignOptions {
                annotations,
                force: a.force,
                ..SignOptions::default()
            };
            let out =
                trust::sign(store, subject, reference, &signer, &opts).map_err(|e| fail(p, &e))?;
            let msg = if out.tag_layout == Change::Unchanged && out.referrer == Change::Unchanged {
                format!(
                    "`{}` is already signed with key `{}`; nothing written (pass `--force` to sign again)",
                    out.digest, out.key_id
                )
            } else {
                format!(
                    "signed `{}` in `{}` with key `{}`: `{}` {}, bundle referrer {}",
                    out.digest,
                    store.location(),
                    out.key_id,
                    trust::signature_tag(&out.digest),
                    change(out.tag_layout),
                    change(out.referrer)
                )
            };
            p.status(&msg);
            Ok(json!({
                "digest": out.digest.to_string(),
                "keyId": out.key_id,
                "signatureTag": trust::signature_tag(&out.digest),
                "tagLayout": change(out.tag_layout),
                "signatureManifest": out.signature_manifest.map(|d| d.to_string()),
                "referrer": change(out.referrer),
                "referrerManifest": out.referrer_manifest.map(|d| d.to_string()),
            }))
        })
    };
    finish(run(), p)
}

fn finish(r: Result<Value, Exit>, p: &Printer) -> Exit {
    match r {
        Ok(v) => {
            if p.json_mode() {
                p.json(&v);
            }
            Exit::Success
        }
        Err(c) => c,
    }
}

/// Arguments of `bpkit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The artifact: `HOST/REPO:TAG`, `HOST/REPO@sha256:…` or `oci:DIR[:TAG]`.
    pub reference: String,
    /// The public key (`cosign.pub`).
    #[arg(long)]
    pub key: PathBuf,
    /// An annotation the signature must carry, `KEY=VALUE` (repeatable).
    #[arg(long = "annotations", short = 'a', value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `bpkit verify`: exit 0 when a signature by the key verifies, 1 when none does.
pub fn verify(a: &VerifyArgs, p: &Printer) -> Exit {
    let run = || -> Result<Value, Exit> {
        let annotations = parse_annotations(&a.annotations, p)?;
        let verifier = load_verifier(&a.key, p)?;
        with_subject(&a.reference, &a.registry, p, |store, subject, _| {
            let out = trust::verify(store, &subject.digest, &verifier, &annotations)
                .map_err(|e| fail(p, &e))?;
            let sources: Vec<String> = out
                .signatures
                .iter()
                .map(|s| s.source.to_string())
                .collect();
            p.status(&format!(
                "verified `{}` in `{}` with key `{}`: {} signature(s) ({})",
                out.digest,
                store.location(),
                verifier.key_id(),
                out.signatures.len(),
                sources.join(", ")
            ));
            for r in &out.rejected {
                p.warn(&format!("also found a signature that does not verify: {r}"));
            }
            if !p.json_mode() {
                p.data(&out.digest.to_string());
            }
            Ok(json!({
                "digest": out.digest.to_string(),
                "keyId": verifier.key_id(),
                "signatures": out.signatures.iter().map(|s| json!({
                    "source": s.source.to_string(),
                    "manifest": s.manifest.to_string(),
                    "dockerReference": s.docker_reference,
                    "annotations": s.annotations,
                })).collect::<Vec<_>>(),
                "rejected": out.rejected,
            }))
        })
    };
    finish(run(), p)
}

/// Arguments of `bpkit attest`.
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The artifact: `HOST/REPO:TAG`, `HOST/REPO@sha256:…` or `oci:DIR[:TAG]`.
    pub reference: String,
    /// The cosign private key.
    #[arg(long)]
    pub key: PathBuf,
    /// The predicate: a JSON file (an SBOM, a SLSA provenance predicate, …).
    #[arg(long)]
    pub predicate: PathBuf,
    /// The predicate type: `slsaprovenance`, `cyclonedx`, `spdx`, or a URI.
    #[arg(long = "type", default_value = "slsaprovenance")]
    pub predicate_type: String,
    /// Attest again when this key's identical attestation is there.
    #[arg(long)]
    pub force: bool,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `bpkit attest`.
pub fn attest(a: &AttestArgs, p: &Printer) -> Exit {
    let run = || -> Result<Value, Exit> {
        let ptype = predicate::predicate_type(&a.predicate_type).map_err(|e| fail(p, &e))?;
        let text = std::fs::read(&a.predicate).map_err(|e| {
            p.error(&format!("cannot read `{}`: {e}", a.predicate.display()));
            Exit::Error
        })?;
        let pred: Value = serde_json::from_slice(&text).map_err(|e| {
            p.error(&format!(
                "`{}` is not JSON: {e} (line {}, column {})",
                a.predicate.display(),
                e.line(),
                e.column()
            ));
            Exit::Error
        })?;
        predicate::check_predicate(&ptype, &pred).map_err(|e| fail(p, &e))?;
        let signer = load_signer(&a.key, p)?;
        with_subject(&a.reference, &a.registry, p, |store, subject, reference| {
            let opts = AttestOptions {
                subject_name: Some(repository_name(reference)),
                force: a.force,
                ..AttestOptions::default()
            };
            let out = trust::attest(store, subject, &signer, &ptype, &pred, &opts)
                .map_err(|e| fail(p, &e))?;
            p.status(&format!(
                "attested `{}` ({ptype}) in `{}`: `{}` {}, bundle referrer {}",
                out.digest,
                store.location(),
                trust::attestation_tag(&out.digest),
                change(out.tag_layout),
                change(out.referrer)
            ));
            Ok(json!({
                "digest": out.digest.to_string(),
                "predicateType": ptype,
                "tagLayout": change(out.tag_layout),
                "attestationManifest": out.attestation_manifest.map(|d| d.to_string()),
                "referrer": change(out.referrer),
                "referrerManifest": out.referrer_manifest.map(|d| d.to_string()),
            }))
        })
    };
    finish(run(), p)
}

/// `HOST/REPO` of a registry reference, or the place itself for a layout.
fn repository_name(reference: &str) -> String {
    if reference.starts_with("oci:") {
        return reference.to_string();
    }
    let r = reference.split('@').next().unwrap_or(reference);
    match r.rsplit_once(':') {
        Some((head, tail)) if !tail.contains('/') => head.to_string(),
        _ => r.to_string(),
    }
}

/// Arguments of `bpkit verify-attestation`.
#[derive(Debug, Args)]
pub struct VerifyAttestationArgs {
    /// The artifact: `HOST/REPO:TAG`, `HOST/REPO@sha256:…` or `oci:DIR[:TAG]`.
    pub reference: String,
    /// The public key (`cosign.pub`).
    #[arg(long)]
    pub key: PathBuf,
    /// The predicate type: `slsaprovenance`, `cyclonedx`, `spdx`, or a URI.
    #[arg(long = "type", default_value = "slsaprovenance")]
    pub predicate_type: String,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `bpkit verify-attestation`: prints the predicate after verifying it.
pub fn verify_attestation(a: &VerifyAttestationArgs, p: &Printer) -> Exit {
    let run = || -> Result<Value, Exit> {
        let ptype = predicate::predicate_type(&a.predicate_type).map_err(|e| fail(p, &e))?;
        let verifier = load_verifier(&a.key, p)?;
        with_subject(&a.reference, &a.registry, p, |store, subject, _| {
            let v = trust::verify_attestation(store, &subject.digest, &verifier, &ptype)
                .map_err(|e| fail(p, &e))?;
            p.status(&format!(
                "verified the `{ptype}` attestation of `{}` with key `{}` ({})",
                subject.digest,
                verifier.key_id(),
                v.source
            ));
            if !p.json_mode() {
                p.data(&serde_json::to_string_pretty(v.predicate()).unwrap_or_default());
            }
            Ok(json!({
                "digest": subject.digest.to_string(),
                "predicateType": ptype,
                "source": v.source.to_string(),
                "manifest": v.manifest.to_string(),
                "predicate": v.predicate(),
            }))
        })
    };
    finish(run(), p)
}

/// The store a place names: a layout (created when `create`), or a registry repository.
pub(super) fn open_store<'a>(
    place: &Place,
    registry: Option<&'a crate::oci::registry::Registry>,
    create: bool,
    p: &Printer,
) -> Result<Box<dyn Store + 'a>, Exit> {
    match (place, registry) {
        (Place::Layout(l), _) => {
            let layout = if create {
                Layout::create(&l.dir)
            } else {
                Layout::open(&l.dir)
            };
            layout.map(|x| Box::new(x) as Box<dyn Store>).map_err(|e| {
                report(p, &e);
                super::package::oci_exit(&e)
            })
        }
        (Place::Registry(r), Some(reg)) => Ok(Box::new(RegistryStore::new(reg, r))),
        (Place::Registry(_), None) => Err(Exit::Error),
    }
}

/// Copies the OCI 1.1 referrers of `digest` (signature bundles, attestations, SBOMs, …) from
/// `src` to `dst`, each manifest and blob byte for byte, and the fallback index
/// `sha256-<hex>` too (as is when the source has one). Returns a JSON record per referrer.
pub(super) fn copy_referrers(
    src: &Place,
    dst: &Place,
    digest: &crate::oci::Digest,
    reg: &mut Option<crate::oci::registry::Registry>,
    ra: &RegistryArgs,
    p: &Printer,
) -> Result<Vec<Value>, Exit> {
    let needs = matches!(src, Place::Registry(_)) || matches!(dst, Place::Registry(_));
    let registry = if needs {
        Some(registry(reg, ra, p)?)
    } else {
        None
    };
    let s = open_store(src, registry, false, p)?;
    let d = open_store(dst, registry, true, p)?;
    let fail_store = |e: StoreError| fail(p, &e.into());
    let refs = s.referrers(digest).map_err(fail_store)?;
    let mut out = Vec::new();
    for r in &refs {
        if r.media_type != crate::oci::media_type::IMAGE_MANIFEST {
            p.warn(&format!(
                "skipped the referrer `{}`: it is a `{}`, not an image manifest",
                r.digest, r.media_type
            ));
            continue;
        }
        let img = crate::oci::store::read_image(s.as_ref(), &r.digest).map_err(fail_store)?;
        crate::oci::store::write_image(d.as_ref(), &img, None).map_err(fail_store)?;
        out.push(json!({
            "digest": r.digest.to_string(),
            "artifactType": r.artifact_type,
        }));
    }
    if refs.is_empty() {
        return Ok(out);
    }
    let tag = crate::oci::store::referrers_tag(digest);
    match s.resolve(&tag).map_err(fail_store)? {
        Some(idx) if idx.media_type == crate::oci::media_type::IMAGE_INDEX => {
            let bytes = s.get_manifest(&idx.digest).map_err(fail_store)?;
            d.put_manifest(&bytes, &idx.media_type, Some(&tag))
                .map_err(fail_store)?;
        }
        _ => {
            for r in &refs {
                d.add_referrer(digest, r).map_err(fail_store)?;
            }
        }
    }
    p.status(&format!(
        "copied {} referrer(s) of `{digest}` to `{}`",
        out.len(),
        d.location()
    ));
    Ok(out)
}
