//! `bpkit package`, and what `digest` and `push` share with it: the build options and how
//! packaging errors are reported.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Exit, FindingFormat, Printer};
use crate::oci::{Layout, LayoutRef, OciError, WriteOptions};
use crate::package::{Artifact, PackageError, PackageOptions};

/// The environment variable that fixes the build time (reproducible-builds.org).
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// Options that change the artifact (and so its digest).
#[derive(Debug, Args, Clone, Default)]
pub struct BuildArgs {
    /// The source repository URL, recorded as `org.opencontainers.image.source`.
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// The source revision (e.g. `$(git rev-parse HEAD)`), recorded as
    /// `org.opencontainers.image.revision`.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// First pull the chart's `oci://` dependencies that are missing from `charts/` (like
    /// `helm dependency build`), verified against and recorded in `charts.lock`.
    #[arg(long)]
    pub vendor: bool,
}

/// Arguments of `bpkit package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The Blueprint folder (or its blueprint.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write the chart `.tgz` (Kustomize: the manifests `.tar.gz`); default
    /// `./<name>-<version>.tgz` unless `--layout` is given.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the whole artifact into an OCI image layout, `oci:DIR[:TAG]` (the tag
    /// defaults to the Blueprint version).
    #[arg(long, value_name = "oci:DIR[:TAG]")]
    pub layout: Option<String>,
    /// Move a tag that already names other content.
    #[arg(long)]
    pub force: bool,
    /// Options recorded in the artifact.
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Reads `SOURCE_DATE_EPOCH` and the flags into package options.
pub(crate) fn options(b: &BuildArgs) -> Result<PackageOptions, String> {
    let mut opts = PackageOptions {
        source: b.source.clone(),
        revision: b.revision.clone(),
        require_vendored: true,
        ..PackageOptions::default()
    };
    if let Some(v) = std::env::var_os(SOURCE_DATE_EPOCH) {
        let text = v.to_string_lossy();
        let t = text.trim();
        if !t.is_empty() {
            opts.epoch = t
                .parse::<u64>()
                .ok()
                .filter(|_| t.bytes().all(|c| c.is_ascii_digit()))
                .ok_or_else(|| {
                    format!(
                        "`{SOURCE_DATE_EPOCH}` is `{}`, not a number of seconds since 1970",
                        t.chars().take(40).collect::<String>()
                    )
                })?;
        }
    }
    Ok(opts)
}

/// Prints a diagnostic's message and help on stderr.
pub(crate) fn report(p: &Printer, e: &dyn miette::Diagnostic) {
    p.error(&e.to_string());
    if let Some(h) = e.help().filter(|_| !p.quiet) {
        eprintln!("  help: {h}");
    }
}

/// The exit code for a packaging error: I/O is an error, everything else a finding.
fn package_exit(e: &PackageError) -> Exit {
    match e {
        PackageError::Io { .. } | PackageError::Epoch { .. } | PackageError::Fetch { .. } => {
            Exit::Error
        }
        PackageError::Oci(o) => oci_exit(o),
        _ => Exit::Findings,
    }
}

/// The exit code for an OCI error.
pub(crate) fn oci_exit(e: &OciError) -> Exit {
    match e {
        OciError::Io { .. }
        | OciError::BadReference { .. }
        | OciError::BadTag { .. }
        | OciError::TagNotFound { .. }
        | OciError::TagConflict { .. }
        | OciError::NotALayout { .. } => Exit::Error,
        _ => Exit::Findings,
    }
}

/// Packages a folder, printing warnings and errors.
pub(crate) fn build(dir: &std::path::Path, b: &BuildArgs, p: &Printer) -> Result<Artifact, Exit> {
    let opts = options(b).map_err(|e| {
        p.error(&e);
        Exit::Error
    })?;
    if b.vendor {
        vendor(dir, p)?;
    }
    match crate::package::package(dir, &opts) {
        Ok(a) => {
            p.findings(&a.warnings, FindingFormat::Text);
            Ok(a)
        }
        Err(e) => {
            if let PackageError::Invalid { findings, .. } | PackageError::Chart { findings, .. } =
                &e
            {
                p.findings(findings, FindingFormat::Text);
            }
            report(p, &e);
            Err(package_exit(&e))
        }
    }
}

/// Pulls the missing `oci://` sub-charts of the Blueprint in `dir` into its chart.
fn vendor(dir: &std::path::Path, p: &Printer) -> Result<(), Exit> {
    let fail = |e: PackageError| {
        if let PackageError::Invalid { findings, .. } = &e {
            p.findings(findings, FindingFormat::Text);
        }
        report(p, &e);
        package_exit(&e)
    };
    let Some(chart) = crate::package::vendor::chart_folder(dir).map_err(fail)? else {
        return Ok(());
    };
    let args = super::registry::RegistryArgs {
        retries: 3,
        ..Default::default()
    };
    let reg = super::registry::connect(&args, p)?;
    for f in crate::package::vendor::vendor(&chart, &reg).map_err(fail)? {
        p.status(&format!(
            "vendored `{}` {} ({}) into `{}`",
            f.dependency.name,
            f.dependency.version,
            f.manifest,
            f.path.display()
        ));
    }
    Ok(())
}

/// Writes an artifact into a layout; returns the JSON record of what happened.
pub(crate) fn write_layout(
    a: &Artifact,
    target: &str,
    force: bool,
    p: &Printer,
) -> Result<serde_json::Value, Exit> {
    let r = LayoutRef::parse(target).map_err(|e| {
        report(p, &e);
        Exit::Error
    })?;
    let tag = r.tag.clone().unwrap_or_else(|| a.default_tag());
    let result =
        Layout::create(&r.dir).and_then(|l| l.write(&a.image, &tag, &WriteOptions { force }));
    match result {
        Ok(out) => {
            let place = LayoutRef {
                dir: r.dir.clone(),
                tag: Some(tag.clone()),
            };
            if out.index_updated || out.blobs_written > 0 {
                let moved = super::registry::tag_moved(out.replaced.as_ref());
                p.status(&format!(
                    "wrote `{}` {} to `{place}`{moved}",
                    a.blueprint.name(),
                    a.blueprint.version()
                ));
            } else {
                p.status(&format!(
                    "`{place}` already holds this artifact; nothing written"
                ));
            }
            Ok(json!({
                "layout": r.dir.display().to_string(),
                "tag": tag,
                "digest": out.digest.to_string(),
                "blobsWritten": out.blobs_written,
                "indexUpdated": out.index_updated,
                "replaced": out.replaced.map(|d| d.to_string()),
            }))
        }
        Err(e) => {
            report(p, &e);
            Err(oci_exit(&e))
        }
    }
}

/// Runs `bpkit package`.
pub fn run(a: &PackageArgs, p: &Printer) -> Exit {
    let art = match build(&a.dir, &a.build, p) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut record = json!({
        "name": art.blueprint.name(),
        "version": art.blueprint.version(),
        "digest": art.digest().to_string(),
    });
    let out = match (&a.out, &a.layout) {
        (Some(o), _) => Some(o.clone()),
        (None, None) => Some(PathBuf::from(&art.content_name)),
        (None, Some(_)) => None,
    };
    if let Some(out) = out {
        let bytes = art.content();
        if let Err(e) = crate::atomic::write_file(&out, bytes) {
            p.error(&format!("cannot write `{}`: {e}", out.display()));
            return Exit::Error;
        }
        p.status(&format!(
            "packaged `{}` {} into `{}`",
            art.blueprint.name(),
            art.blueprint.version(),
            out.display()
        ));
        record["file"] = json!({
            "path": out.display().to_string(),
            "digest": crate::oci::Digest::of(bytes).to_string(),
            "size": bytes.len(),
        });
        if !p.json_mode() {
            p.data(&out.display().to_string());
        }
    }
    if let Some(target) = &a.layout {
        match write_layout(&art, target, a.force, p) {
            Ok(v) => record["layout"] = v,
            Err(code) => return code,
        }
        if !p.json_mode() {
            p.data(&art.digest().to_string());
        }
    }
    if p.json_mode() {
        p.json(&record);
    }
    Exit::Success
}
