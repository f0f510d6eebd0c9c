//! What the commands that move artifacts share: where an artifact is (`oci:DIR:TAG` or a
//! registry reference), the registry options, and `copy`, `tags`, `inspect` and `login`.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::package::{oci_exit, report};
use super::{Exit, Printer};
use crate::oci::registry::{
    Credentials, PushOptions, PushOutcome, Reference, Registry, RegistryError, RegistryOptions,
};
use crate::oci::{
    Digest, Image, Layout, LayoutRef, ReadLimits, WriteOptions, WriteOutcome, media_type,
};

/// How to reach registries.
#[derive(Debug, Args, Clone, Default)]
pub struct RegistryArgs {
    /// Use plain HTTP instead of HTTPS (loopback hosts fall back to it by themselves).
    #[arg(long)]
    pub plain_http: bool,
    /// A PEM file of CA certificates to trust besides the system roots (repeatable).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Vec<PathBuf>,
    /// The user name (the password is read with `--password-stdin`); default: the Docker
    /// config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password from standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// How many times to retry a request that failed with a 5xx or 429 answer, a timeout or a
    /// broken connection (waits 0.5 s, 1 s, 2 s, … at most 8 s; twice that after a 429).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Upload blobs in 4 MiB chunks instead of one request each (for registries or proxies
    /// that cap request bodies).
    #[arg(long)]
    pub chunked_upload: bool,
    /// How many seconds a registry response may send nothing before the request counts as
    /// timed out and is retried (default 120).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
}

/// Where an artifact is.
#[derive(Debug, Clone)]
pub enum Place {
    /// An OCI image layout folder.
    Layout(LayoutRef),
    /// A registry.
    Registry(Reference),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Layout(l) => write!(f, "{l}"),
            Place::Registry(r) => write!(f, "{r}"),
        }
    }
}

/// Parses `oci:DIR[:TAG]` as a layout, anything else as a registry reference (the tag may be
/// missing when `tag_optional`).
pub fn parse_place(text: &str, tag_optional: bool, p: &Printer) -> Result<Place, Exit> {
    if text.starts_with("oci:") && !text.starts_with("oci://") {
        return LayoutRef::parse(text).map(Place::Layout).map_err(|e| {
            report(p, &e);
            Exit::Error
        });
    }
    let r = if tag_optional {
        Reference::parse_repo(text)
    } else {
        Reference::parse(text)
    };
    r.map(Place::Registry).map_err(|e| {
        report(p, &e);
        Exit::Error
    })
}

/// The exit code for a registry error.
pub fn registry_exit(e: &RegistryError) -> Exit {
    match e {
        RegistryError::Verify(o) => match oci_exit(o) {
            Exit::Error => Exit::Findings,
            x => x,
        },
        e if e.is_refusal() => Exit::Findings,
        _ => Exit::Error,
    }
}

/// Reports a registry error and returns its exit code.
pub fn fail(p: &Printer, e: &RegistryError) -> Exit {
    report(p, e);
    registry_exit(e)
}

/// Connects with these options (reading the password from stdin when asked).
pub fn connect(a: &RegistryArgs, p: &Printer) -> Result<Registry, Exit> {
    let credentials = match (&a.username, a.password_stdin) {
        (Some(u), true) => Some(Credentials {
            username: u.clone(),
            password: read_password(p)?,
        }),
        _ => None,
    };
    Registry::new(RegistryOptions {
        plain_http: a.plain_http,
        ca_files: a.ca_file.clone(),
        credentials,
        retries: a.retries,
        chunked_upload: a.chunked_upload,
        timeout: a.timeout.map(std::time::Duration::from_secs),
        ..RegistryOptions::default()
    })
    .map_err(|e| fail(p, &e))
}

fn read_password(p: &Printer) -> Result<String, Exit> {
    let mut s = String::new();
    if let Err(e) = std::io::stdin().take(64 * 1024).read_to_string(&mut s) {
        p.error(&format!(
            "cannot read the password from standard input: {e}"
        ));
        return Err(Exit::Error);
    }
    let pw = s.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        p.error("the password read from standard input is empty");
        return Err(Exit::Error);
    }
    Ok(pw)
}

/// Reads an artifact from a layout or a registry, verified.
pub fn read(
    place: &Place,
    reg: &mut Option<Registry>,
    ra: &RegistryArgs,
    p: &Printer,
) -> Result<Image, Exit> {
    match place {
        Place::Layout(l) => Layout::open(&l.dir)
            .and_then(|x| x.read(l.tag.as_deref(), &ReadLimits::default()))
            .map_err(|e| {
                report(p, &e);
                oci_exit(&e)
            }),
        Place::Registry(r) => registry(reg, ra, p)?.pull(r).map_err(|e| fail(p, &e)),
    }
}

/// The registry connection, made on first use.
pub fn registry<'a>(
    reg: &'a mut Option<Registry>,
    ra: &RegistryArgs,
    p: &Printer,
) -> Result<&'a Registry, Exit> {
    if reg.is_none() {
        *reg = Some(connect(ra, p)?);
    }
    match reg {
        Some(r) => Ok(r),
        None => Err(Exit::Error),
    }
}

/// Writes an artifact to a layout or a registry under `tag`; returns a JSON record.
pub fn write(
    image: &Image,
    place: &Place,
    tag: &str,
    force: bool,
    reg: &mut Option<Registry>,
    ra: &RegistryArgs,
    p: &Printer,
) -> Result<serde_json::Value, Exit> {
    match place {
        Place::Layout(l) => {
            let out = Layout::create(&l.dir)
                .and_then(|x| x.write(image, tag, &WriteOptions { force }))
                .map_err(|e| {
                    report(p, &e);
                    oci_exit(&e)
                })?;
            Ok(wrote(p, l, tag, out))
        }
        Place::Registry(r) => {
            let target = push_target(r, tag);
            let out = registry(reg, ra, p)?
                .push(image, &target, &PushOptions { force })
                .map_err(|e| fail(p, &e))?;
            Ok(pushed(p, &target, out))
        }
    }
}

/// Where a push to `r` under `tag` goes: `r` itself when it names a digest and no tag.
fn push_target(r: &Reference, tag: &str) -> Reference {
    if r.digest.is_some() && r.tag.is_none() {
        r.clone()
    } else {
        r.with_tag(tag)
    }
}

/// Reports a layout write; returns its JSON record.
fn wrote(p: &Printer, l: &LayoutRef, tag: &str, out: WriteOutcome) -> serde_json::Value {
    let place = LayoutRef {
        dir: l.dir.clone(),
        tag: Some(tag.to_string()),
    };
    p.status(&format!(
        "wrote `{}` to `{place}`: {} blobs written",
        out.digest, out.blobs_written
    ));
    json!({
        "layout": l.dir.display().to_string(),
        "tag": tag,
        "digest": out.digest.to_string(),
        "blobsWritten": out.blobs_written,
        "replaced": out.replaced.map(|d| d.to_string()),
    })
}

/// ` (the tag named `DIGEST` before)` when a push moved a tag (`--force`), else nothing.
pub(super) fn tag_moved(replaced: Option<&impl std::fmt::Display>) -> String {
    replaced
        .map(|d| format!(" (the tag named `{d}` before)"))
        .unwrap_or_default()
}

/// Reports a registry push; returns its JSON record.
fn pushed(p: &Printer, target: &Reference, out: PushOutcome) -> serde_json::Value {
    let moved = tag_moved(out.replaced.as_ref());
    p.status(&format!(
        "pushed `{}` to `{target}`: {} blobs uploaded, {} already there{}{moved}",
        out.digest,
        out.blobs_uploaded,
        out.blobs_present,
        if out.manifest_pushed {
            ""
        } else {
            ", manifest unchanged"
        }
    ));
    json!({
        "reference": target.to_string(),
        "digest": out.digest.to_string(),
        "blobsUploaded": out.blobs_uploaded,
        "blobsPresent": out.blobs_present,
        "manifestPushed": out.manifest_pushed,
        "replaced": out.replaced.map(|d| d.to_string()),
    })
}

/// Copies the artifact `src` names to `dst` under `tag`. Between a layout and a registry the
/// blobs are streamed (file to request, response to file) and a registry that already has the
/// manifest under the tag is sent nothing; other pairs go through memory. Returns the manifest
/// digest and the JSON record of the write.
fn copy_main(
    src: &Place,
    dst: &Place,
    tag: &str,
    force: bool,
    reg: &mut Option<Registry>,
    ra: &RegistryArgs,
    p: &Printer,
) -> Result<(Digest, serde_json::Value), Exit> {
    match (src, dst) {
        (Place::Layout(l), Place::Registry(r)) => {
            let layout = Layout::open(&l.dir).map_err(|e| {
                report(p, &e);
                oci_exit(&e)
            })?;
            let target = push_target(r, tag);
            let out = registry(reg, ra, p)?
                .push_layout(&layout, l.tag.as_deref(), &target, &PushOptions { force })
                .map_err(|e| fail(p, &e))?;
            Ok((out.digest.clone(), pushed(p, &target, out)))
        }
        (Place::Registry(r), Place::Layout(l)) => {
            let client = registry(reg, ra, p)?;
            let existed = std::fs::symlink_metadata(&l.dir).is_ok();
            let layout = Layout::create(&l.dir).map_err(|e| {
                report(p, &e);
                oci_exit(&e)
            })?;
            match client.pull_into_layout(r, &layout, tag, &WriteOptions { force }) {
                Ok(out) => Ok((out.digest.clone(), wrote(p, l, tag, out))),
                Err(e) => {
                    // Verified blobs may stay in a layout that was there; a new one goes.
                    if !existed {
                        let _ = std::fs::remove_dir_all(&l.dir);
                    }
                    Err(fail(p, &e))
                }
            }
        }
        _ => {
            let image = read(src, reg, ra, p)?;
            let main = write(&image, dst, tag, force, reg, ra, p)?;
            Ok((image.digest().clone(), main))
        }
    }
}

/// Every tag at a place.
fn list_tags(
    place: &Place,
    reg: &mut Option<Registry>,
    ra: &RegistryArgs,
    p: &Printer,
) -> Result<Vec<String>, Exit> {
    match place {
        Place::Layout(l) => Layout::open(&l.dir)
            .and_then(|x| x.tags())
            .map(|t| {
                let mut v: Vec<String> = t.into_iter().map(|(t, _)| t).collect();
                v.sort();
                v.dedup();
                v
            })
            .map_err(|e| {
                report(p, &e);
                oci_exit(&e)
            }),
        Place::Registry(r) => registry(reg, ra, p)?.tags(r).map_err(|e| fail(p, &e)),
    }
}

/// The tag a place names.
fn tag_of(place: &Place) -> Option<String> {
    match place {
        Place::Layout(l) => l.tag.clone(),
        Place::Registry(r) => r.tag.clone(),
    }
}

fn with_tag(place: &Place, tag: &str) -> Place {
    match place {
        Place::Layout(l) => Place::Layout(LayoutRef {
            dir: l.dir.clone(),
            tag: Some(tag.to_string()),
        }),
        Place::Registry(r) => Place::Registry(r.with_tag(tag)),
    }
}

/// Arguments of `bpkit copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Where from: `oci:DIR:TAG` or `HOST/REPO:TAG`.
    pub source: String,
    /// Where to: `oci:DIR[:TAG]` or `HOST/REPO[:TAG]` (the tag defaults to the source's).
    pub target: String,
    /// Move a tag that already names other content.
    #[arg(long)]
    pub force: bool,
    /// Registry options (for both ends).
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `bpkit copy`: the manifest byte for byte, its blobs, its cosign `.sig` / `.att`
/// tags when the source has them, and its OCI 1.1 referrers with their fallback index.
pub fn copy(a: &CopyArgs, p: &Printer) -> Exit {
    let run = || -> Result<serde_json::Value, Exit> {
        let src = parse_place(&a.source, false, p)?;
        let dst = parse_place(&a.target, true, p)?;
        let mut reg = None;
        let tag = tag_of(&dst).or_else(|| tag_of(&src)).ok_or_else(|| {
            p.error("the target names no tag and the source has none to copy; add `:TAG`");
            Exit::Error
        })?;
        let (digest, main) = copy_main(&src, &dst, &tag, a.force, &mut reg, &a.registry, p)?;
        let hex = digest.hex().to_string();
        let tags = list_tags(&src, &mut reg, &a.registry, p)?;
        let mut extra = Vec::new();
        for suffix in ["sig", "att"] {
            let t = format!("sha256-{hex}.{suffix}");
            if !tags.contains(&t) {
                continue;
            }
            let img = read(&with_tag(&src, &t), &mut reg, &a.registry, p)?;
            extra.push(write(&img, &dst, &t, true, &mut reg, &a.registry, p)?);
        }
        let referrers =
            super::trust::copy_referrers(&src, &dst, &digest, &mut reg, &a.registry, p)?;
        Ok(json!({
            "digest": digest.to_string(),
            "copied": main,
            "attached": extra,
            "referrers": referrers,
        }))
    };
    match run() {
        Ok(v) => {
            if p.json_mode() {
                p.json(&v);
            } else {
                p.data(v["digest"].as_str().unwrap_or_default());
            }
            Exit::Success
        }
        Err(code) => code,
    }
}

/// Arguments of `bpkit tags`.
#[derive(Debug, Args)]
pub struct TagsArgs {
    /// The repository: `HOST/REPO` or `oci:DIR`.
    pub repository: String,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `bpkit tags`: one tag a line, sorted.
pub fn tags(a: &TagsArgs, p: &Printer) -> Exit {
    let place = match parse_place(&a.repository, true, p) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let mut reg = None;
    match list_tags(&place, &mut reg, &a.registry, p) {
        Ok(t) => {
            if p.json_mode() {
                p.json(&json!({ "repository": a.repository, "tags": t }));
            } else {
                for x in &t {
                    p.data(x);
                }
            }
            Exit::Success
        }
        Err(c) => c,
    }
}

/// Arguments of `bpkit inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The artifact: `HOST/REPO:TAG`, `HOST/REPO@sha256:…` or `oci:DIR[:TAG]`.
    pub reference: String,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `bpkit inspect`: pulls and verifies the artifact, then prints its manifest and config.
pub fn inspect(a: &InspectArgs, p: &Printer) -> Exit {
    let place = match parse_place(&a.reference, false, p) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let mut reg = None;
    let image = match read(&place, &mut reg, &a.registry, p) {
        Ok(i) => i,
        Err(c) => return c,
    };
    let m = image.manifest();
    let config: serde_json::Value = serde_json::from_slice(image.config()).unwrap_or(json!(null));
    let layers: Vec<serde_json::Value> = m
        .layers
        .iter()
        .map(|d| {
            json!({
                "mediaType": d.media_type,
                "digest": d.digest.to_string(),
                "size": d.size,
                "title": d.title(),
            })
        })
        .collect();
    if p.json_mode() {
        p.json(&json!({
            "reference": place.to_string(),
            "digest": image.digest().to_string(),
            "mediaType": m.media_type,
            "artifactType": m.artifact_type,
            "config": {
                "mediaType": m.config.media_type,
                "digest": m.config.digest.to_string(),
                "size": m.config.size,
                "content": config,
            },
            "layers": layers,
            "annotations": m.annotations,
            "size": image.total_size(),
        }));
        return Exit::Success;
    }
    p.data(&format!("reference: {place}"));
    p.data(&format!("digest:    {}", image.digest()));
    p.data(&format!("size:      {} bytes", image.total_size()));
    p.data(&format!(
        "config:    {} ({} bytes)",
        m.config.media_type, m.config.size
    ));
    if m.config.media_type == media_type::HELM_CONFIG
        && let (Some(n), Some(v)) = (config.get("name"), config.get("version"))
    {
        p.data(&format!(
            "chart:     {} {}",
            n.as_str().unwrap_or_default(),
            v.as_str().unwrap_or_default()
        ));
    }
    p.data("layers:");
    for d in &m.layers {
        p.data(&format!(
            "  {} {} {} bytes{}",
            d.media_type,
            d.digest,
            d.size,
            d.title().map(|t| format!(" `{t}`")).unwrap_or_default()
        ));
    }
    if !m.annotations.is_empty() {
        p.data("annotations:");
        for (k, v) in &m.annotations {
            p.data(&format!("  {k}: {v}"));
        }
    }
    Exit::Success
}

/// Arguments of `bpkit login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry host (`ghcr.io`, `127.0.0.1:5000`).
    pub host: String,
    /// The user name.
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input (required: never on the command line).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Use plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
    /// A PEM file of CA certificates to trust besides the system roots (repeatable).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Vec<PathBuf>,
}

/// Runs `bpkit login`: checks the credentials against the registry, then stores them in the
/// Docker config (atomically, mode 0600).
pub fn login(a: &LoginArgs, p: &Printer) -> Exit {
    let host = a
        .host
        .strip_prefix("oci://")
        .or_else(|| a.host.strip_prefix("https://"))
        .or_else(|| a.host.strip_prefix("http://"))
        .unwrap_or(&a.host)
        .trim_end_matches('/')
        .to_string();
    if let Err(e) = Reference::parse(&format!("{host}/x:y")) {
        report(p, &e);
        return Exit::Error;
    }
    let ra = RegistryArgs {
        plain_http: a.plain_http,
        ca_file: a.ca_file.clone(),
        username: Some(a.username.clone()),
        password_stdin: true,
        retries: 3,
        chunked_upload: false,
        timeout: None,
    };
    let password = match read_password(p) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let creds = Credentials {
        username: a.username.clone(),
        password,
    };
    let reg = match Registry::new(RegistryOptions {
        plain_http: ra.plain_http,
        ca_files: ra.ca_file.clone(),
        credentials: Some(creds.clone()),
        retries: 3,
        ..RegistryOptions::default()
    }) {
        Ok(r) => r,
        Err(e) => return fail(p, &e),
    };
    if let Err(e) = reg.check_login(&host) {
        return fail(p, &e);
    }
    let Some(path) = crate::oci::registry::docker_config_path() else {
        p.error("cannot find the Docker config: set `DOCKER_CONFIG` or `HOME`");
        return Exit::Error;
    };
    match crate::oci::registry::store(&path, &host, &creds) {
        Ok(()) => {
            p.status(&format!(
                "logged in to `{host}`; credentials stored in `{}`",
                path.display()
            ));
            Exit::Success
        }
        Err(e) => fail(p, &e),
    }
}
