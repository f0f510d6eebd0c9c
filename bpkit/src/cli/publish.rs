//! `bpkit publish`: the whole catalog, checked, pushed, signed, attested and verified.

use std::path::PathBuf;

use clap::Args;

use super::package::report;
use super::progress::Bars;
use super::registry::{RegistryArgs, connect};
use super::{Exit, FindingFormat, Printer};
use crate::publish::{
    DEFAULT_TARGET, Event, LayoutRepos, Observer, PublishError, PublishOptions, RegistryRepos,
    Repos, Row, SourceInfo, Target, Trust, publish,
};

/// Arguments of `bpkit publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Blueprint folders or catalog trees (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Where to: `oci:DIR` (one OCI image layout per Blueprint, `DIR/<name>/`, tag = version)
    /// or a registry prefix `[oci://]HOST[/PREFIX]` (`HOST/PREFIX/<name>:<version>`).
    #[arg(long, value_name = "TARGET", default_value = DEFAULT_TARGET)]
    pub to: String,
    /// Publish only the Blueprints whose folder changed since this git revision, and the
    /// Blueprints that depend on them.
    #[arg(long, value_name = "GIT_REF")]
    pub changed_since: Option<String>,
    /// The cosign private key (`cosign.key`); default `$BPKIT_KEY`, else a project-local
    /// development key in `.bpkit/`, created on first use. Its password is read from
    /// `BPKIT_KEY_PASSWORD` (or `COSIGN_PASSWORD`).
    #[arg(long, value_name = "K", env = "BPKIT_KEY", conflicts_with = "no_sign")]
    pub key: Option<PathBuf>,
    /// Publish without signatures and attestations.
    #[arg(long)]
    pub no_sign: bool,
    /// How many Blueprints to publish at once (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Change a lint rule's severity: `RULE=off|info|warning|error` (repeatable).
    #[arg(long = "rule", value_name = "RULE=LEVEL")]
    pub rules: Vec<String>,
    /// Print each step of each Blueprint.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Progress on standard error: the shared bars on a terminal, step lines with `--verbose`.
struct Progress {
    bars: Bars,
    verbose: bool,
}

impl Progress {
    fn new(p: &Printer, verbose: bool) -> Progress {
        Progress {
            bars: Bars::new(p, "Blueprints"),
            verbose: verbose && !p.quiet,
        }
    }

    fn line(&self, text: &str) {
        self.bars.line(text);
    }

    fn finish(&self) {
        self.bars.finish();
    }
}

impl Observer for Progress {
    fn event(&self, e: &Event<'_>) {
        use crate::oci::copy::{Event as E, Progress as _};
        match e {
            Event::Planned { count } => {
                self.bars.event(E::Planned {
                    count: *count as u64,
                });
                if self.verbose {
                    self.line(&format!("publishing {count} Blueprints"));
                }
            }
            Event::Step { name, step } => {
                self.bars.event(E::Message {
                    text: &format!("{name}: {step}"),
                });
                if self.verbose {
                    self.line(&format!("{name}: {step}"));
                }
            }
            Event::Done(row) => {
                self.bars.event(E::Finished { what: &row.name });
                if self.verbose {
                    self.line(&format!(
                        "{}: {} ({} uploads)",
                        row.name,
                        row.status.word(),
                        row.uploaded
                    ));
                }
            }
        }
    }
}

/// Whether the run is a GitHub Actions job.
fn github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Appends to `$GITHUB_STEP_SUMMARY`.
fn step_summary(text: &str, p: &Printer) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) else {
        return;
    };
    use std::io::Write;
    let r = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = r {
        p.warn(&format!(
            "cannot append to `GITHUB_STEP_SUMMARY` (`{}`): {e}",
            PathBuf::from(&path).display()
        ));
    }
}

/// A GitHub annotation for a row that failed.
fn row_annotation(r: &Row) -> Option<String> {
    let why = match &r.status {
        crate::publish::Status::Failed(w) => w,
        _ => return None,
    };
    let esc = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let file = esc(&r.file.display().to_string())
        .replace(':', "%3A")
        .replace(',', "%2C");
    Some(format!(
        "::error file={file},line=1,col=1,title=bpkit publish::{}",
        esc(&format!(
            "`{}` {} was not published: {why}",
            r.name, r.version
        ))
    ))
}

/// Opens the target's repositories.
fn repos(a: &PublishArgs, target: Target, p: &Printer) -> Result<Box<dyn Repos>, Exit> {
    Ok(match target {
        Target::Layouts(dir) => Box::new(LayoutRepos::new(&dir)),
        t @ Target::Registry { .. } => Box::new(RegistryRepos::new(t, connect(&a.registry, p)?)),
    })
}

/// Runs `bpkit publish`.
pub fn run(a: &PublishArgs, p: &Printer) -> Exit {
    let gh = github_actions();
    let format = if gh {
        FindingFormat::Github
    } else {
        FindingFormat::Text
    };
    let target = match Target::parse(&a.to) {
        Ok(t) => t,
        Err(e) => {
            report(p, &e);
            return Exit::Error;
        }
    };
    let mut lint = crate::lint::LintOptions::default();
    for spec in &a.rules {
        if let Err(e) = lint.set(spec) {
            p.error(&e);
            return Exit::Error;
        }
    }
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        a.paths.clone()
    };
    let cwd = PathBuf::from(".");
    let source = SourceInfo::detect(paths.first().unwrap_or(&cwd));
    let jobs = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1)
    });
    let trust = match super::publish_trust::trust(a, &target, &source, p) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if a.to == DEFAULT_TARGET && source.root.is_some() {
        match crate::publish::ensure_gitignore(&cwd, &["/dist/"]) {
            Ok(added) if !added.is_empty() => {
                p.status(&format!("added {} to `.gitignore`", added.join(", ")));
            }
            Ok(_) => {}
            Err(e) => p.warn(&e.to_string()),
        }
    }
    let repos = match repos(a, target, p) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let opts = PublishOptions {
        paths,
        changed_since: a.changed_since.clone(),
        jobs: jobs.max(1),
        lint,
        source,
    };
    let progress = Progress::new(p, a.verbose);
    let result = publish(
        &opts,
        repos.as_ref(),
        trust.as_deref().map(|t| t as &dyn Trust),
        &progress,
    );
    progress.finish();
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            if let PublishError::Invalid { findings, .. } = &e {
                p.findings(findings, format);
            }
            report(p, &e);
            return match e {
                PublishError::Invalid { .. }
                | PublishError::Duplicate { .. }
                | PublishError::Cycle(_)
                | PublishError::Resolve { .. }
                | PublishError::Package { .. } => Exit::Findings,
                _ => Exit::Error,
            };
        }
    };
    p.findings(&r.findings, format);
    if gh {
        for row in &r.rows {
            if let Some(a) = row_annotation(row) {
                eprintln!("{a}");
            }
        }
        step_summary(&crate::publish::report::markdown(&r), p);
    }
    if p.json_mode() {
        p.json(&crate::publish::report::json(&r));
    } else {
        let table = crate::publish::report::table(&r);
        p.data(table.trim_end());
        let line = crate::publish::report::summary(&r);
        if r.ok() {
            p.status(&line);
        } else {
            p.error(&line);
        }
    }
    if r.ok() { Exit::Success } else { Exit::Error }
}
