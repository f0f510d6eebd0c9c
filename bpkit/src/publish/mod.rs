//! Publishing a catalog: every Blueprint of a monorepo checked, resolved, packaged, SBOMed,
//! pushed, signed, attested and verified, dependencies first.
//!
//! [`publish`] is the whole job. It stops before any upload when a Blueprint has an error
//! (validate, lint, resolution or packaging), then publishes in dependency order, so a
//! Blueprint appears only after the Blueprints it pins. Each Blueprint goes through:
//!
//! 1. package (deterministic: the digest depends only on the folder), SBOMs (CycloneDX and
//!    SPDX, with the dependencies' exact versions and digests from the lock the resolver
//!    plans for a default installation: `when` conditions evaluated with the configSchema
//!    defaults, ranges resolved together; a dependency whose `when` is false by default is
//!    listed in the SBOM as declared but not pinned);
//! 2. the tag `<version>` in its repository: missing → push; naming the same digest → nothing
//!    to do; naming other content → [`PublishError::VersionExists`] (versions are immutable);
//! 3. signing and attestations through a [`Trust`] (which skips a valid signature and
//!    attestations already attached);
//! 4. reading the tag back and checking the digest and every blob, and the signature, before
//!    the Blueprint is reported as published.
//!
//! Everything is checked against what the target holds, so a run that stopped half-way is
//! completed by the next one, and a catalog published twice uploads nothing the second time.
//! Signing lives behind the [`Trust`] trait so that this module needs no cryptography.

pub mod changed;
pub mod graph;
pub mod mirror;
pub mod report;
pub mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use crate::diag::{Finding, Severity};
use crate::lint::LintOptions;
use crate::model::{Blueprint, LoadOptions};
use crate::oci::Digest;
use crate::package::{Artifact, PackageOptions};
use crate::resolve::Lock;
use crate::sbom::{Format, SbomOptions};
use crate::validate::blueprint::{Checked, check_file};
use crate::version::{Constraint, Version};

#[cfg(feature = "oci")]
pub use target::RegistryRepos;
pub use target::{DEFAULT_TARGET, LayoutRepos, RepoLock, Repos, Target};

/// Why a publish run stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PublishError {
    /// No `blueprint.yaml` under the paths given.
    #[error("no blueprint.yaml found under {paths}")]
    #[diagnostic(
        code(bpkit::publish::empty),
        help("pass the folder that holds the Blueprints, e.g. `bpkit publish blueprints`")
    )]
    NoBlueprints {
        /// The paths searched.
        paths: String,
    },
    /// Blueprints have errors; nothing was uploaded.
    #[error("{errors} errors in the catalog; nothing was published")]
    #[diagnostic(
        code(bpkit::publish::invalid),
        help(
            "fix the findings above (`bpkit validate` and `bpkit lint` show the same), then publish again"
        )
    )]
    Invalid {
        /// How many findings are errors.
        errors: usize,
        /// Every finding (errors and warnings).
        findings: Vec<Finding>,
    },
    /// Two folders hold the same Blueprint version.
    #[error("`{name}` {version} is defined twice: `{first}` and `{second}`")]
    #[diagnostic(
        code(bpkit::publish::duplicate),
        help("a version is published once; remove one folder or bump its `metadata.version`")
    )]
    Duplicate {
        /// The Blueprint.
        name: String,
        /// The version.
        version: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// The Blueprints depend on each other in a cycle.
    #[error("the Blueprints depend on each other in a cycle: {}", .0.join(" -> "))]
    #[diagnostic(
        code(bpkit::publish::cycle),
        help("a Blueprint is published after its dependencies; break the cycle in `spec.depends`")
    )]
    Cycle(Vec<String>),
    /// A Blueprint does not resolve.
    #[error("`{name}` {version} does not resolve against the catalog: {message}")]
    #[diagnostic(
        code(bpkit::publish::resolve),
        help(
            "add the missing Blueprint to the catalog, or change the constraint in `spec.depends`"
        )
    )]
    Resolve {
        /// The Blueprint.
        name: String,
        /// Its version.
        version: String,
        /// The resolver's explanation.
        message: String,
    },
    /// A Blueprint could not be packaged or its SBOM written.
    #[error("`{name}` cannot be packaged: {message}")]
    #[diagnostic(code(bpkit::publish::package))]
    Package {
        /// The Blueprint (or its file).
        name: String,
        /// What went wrong.
        message: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// The target text is not a target.
    #[error("`{text}` is not a publish target: {reason}")]
    #[diagnostic(
        code(bpkit::publish::target),
        help("write `oci:DIR` for a folder of OCI image layouts, or `HOST/PREFIX` for a registry")
    )]
    BadTarget {
        /// The text given.
        text: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing the target failed.
    #[error("`{place}`: {message}")]
    #[diagnostic(code(bpkit::publish::store))]
    Store {
        /// The repository.
        place: String,
        /// What went wrong.
        message: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// The version is already published with other content.
    #[error(
        "`{reference}` already holds `{existing}`, not this content (`{new}`); a published version is never changed"
    )]
    #[diagnostic(code(bpkit::publish::version_exists))]
    VersionExists {
        /// Where.
        reference: String,
        /// The digest published.
        existing: String,
        /// The digest of the folder now.
        new: String,
        /// The Blueprint file.
        file: String,
        /// What to do.
        #[help]
        help: String,
    },
    /// What was read back is not what was published.
    #[error("`{reference}` read back as `{found}`, expected `{expected}`")]
    #[diagnostic(
        code(bpkit::publish::verify),
        help("the target changed while publishing; publish again")
    )]
    ReadBack {
        /// Where.
        reference: String,
        /// The digest expected.
        expected: String,
        /// The digest found.
        found: String,
    },
    /// Signing, attesting or verifying failed.
    #[error("`{reference}`: {message}")]
    #[diagnostic(code(bpkit::publish::trust))]
    Trust {
        /// Where.
        reference: String,
        /// What went wrong.
        message: String,
    },
    /// Another bpkit process holds a repository for longer than bpkit waits.
    #[error("`{}` is held by another bpkit publish", path.display())]
    #[diagnostic(
        code(bpkit::publish::locked),
        help("wait for the other run to end; if no bpkit runs any more, delete the lock file")
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// Git failed (`--changed-since`).
    #[error("`{command}` failed: {message}")]
    #[diagnostic(
        code(bpkit::publish::git),
        help(
            "`--changed-since` needs the Blueprints inside a git work tree and a revision it knows (fetch history in CI: `fetch-depth: 0`)"
        )
    )]
    Git {
        /// The command.
        command: String,
        /// Its error output.
        message: String,
    },
    /// A file could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    #[diagnostic(code(bpkit::publish::io))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl PublishError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> PublishError {
        PublishError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The message with its help, on one line, for tables and JSON.
    pub fn summary(&self) -> String {
        match miette::Diagnostic::help(self) {
            Some(h) => format!("{self}; {h}"),
            None => self.to_string(),
        }
    }
}

/// Where the source came from, for provenance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceInfo {
    /// The repository URL (`git remote get-url origin`, or the CI's).
    pub repository: Option<String>,
    /// The revision (`git rev-parse HEAD`, or the CI's).
    pub revision: Option<String>,
    /// The git top-level folder, for paths relative to it.
    pub root: Option<PathBuf>,
}

impl SourceInfo {
    /// Reads the repository and revision from the CI environment (GitHub Actions), else from
    /// git in `dir`; missing pieces stay `None`.
    pub fn detect(dir: &Path) -> SourceInfo {
        let git = |args: &[&str]| -> Option<String> {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .stderr(std::process::Stdio::null())
                .output()
                .ok()?;
            let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && !s.is_empty()).then_some(s)
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let gh_repo = match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY")) {
            (Some(s), Some(r)) => Some(format!("{s}/{r}")),
            _ => None,
        };
        SourceInfo {
            repository: gh_repo.or_else(|| git(&["remote", "get-url", "origin"])),
            revision: env("GITHUB_SHA").or_else(|| git(&["rev-parse", "HEAD"])),
            root: git(&["rev-parse", "--show-toplevel"]).map(PathBuf::from),
        }
    }
}

/// How to publish.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// Blueprint files, folders or trees (the catalog).
    pub paths: Vec<PathBuf>,
    /// Publish only Blueprints whose folder changed since this git revision, and the
    /// Blueprints whose lock pins them (directly or not; a dependency inactive by default is
    /// not pinned, so its change does not re-publish the dependent).
    pub changed_since: Option<String>,
    /// How many Blueprints to publish at once (at least 1).
    pub jobs: usize,
    /// Lint rule levels.
    pub lint: LintOptions,
    /// The source, for provenance.
    pub source: SourceInfo,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            paths: Vec::new(),
            changed_since: None,
            jobs: 1,
            lint: LintOptions::default(),
            source: SourceInfo::default(),
        }
    }
}

/// What the trust layer signs and attests: one published Blueprint.
#[derive(Debug)]
pub struct Subject<'a> {
    /// The Blueprint name (its repository's last segment).
    pub name: &'a str,
    /// The version.
    pub version: &'a str,
    /// The tag.
    pub tag: &'a str,
    /// `Target::reference(name, tag)`.
    pub reference: String,
    /// The manifest digest.
    pub digest: &'a Digest,
    /// The packaged artifact.
    pub artifact: &'a Artifact,
    /// The CycloneDX SBOM.
    pub cyclonedx: &'a [u8],
    /// The SPDX SBOM.
    pub spdx: &'a [u8],
    /// The resolved lock (dependencies' exact versions and digests).
    pub lock: &'a Lock,
    /// The Blueprint folder.
    pub dir: &'a Path,
    /// The source repository and revision.
    pub source: &'a SourceInfo,
}

/// What [`Trust::ensure`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrustOutcome {
    /// Whether a signature was added (false: a valid one was there).
    pub signed: bool,
    /// How many attestations were attached (0: all were there).
    pub attestations: usize,
}

/// Signing and attesting (the `bpkit` binary implements it with `bpkit::trust`).
pub trait Trust: Send + Sync {
    /// Makes sure the artifact has a valid signature by the key, and the provenance and SBOM
    /// attestations for exactly these predicates; writes only what is missing.
    fn ensure(&self, target: &Target, subject: &Subject<'_>) -> Result<TrustOutcome, PublishError>;
    /// Checks the signature and the attestations as a consumer would.
    fn verify(&self, target: &Target, subject: &Subject<'_>) -> Result<(), PublishError>;
}

/// What happened to one Blueprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Pushed now (and signed, attested and verified).
    Published,
    /// The artifact was there; signatures or attestations were added now.
    Completed,
    /// Everything was there already: nothing written.
    Unchanged,
    /// Not published: the reason.
    Failed(String),
    /// Not attempted: the reason (a dependency failed).
    Skipped(String),
}

impl Status {
    /// A short word: `published`, `completed`, `unchanged`, `failed`, `skipped`.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::Completed => "completed",
            Status::Unchanged => "unchanged",
            Status::Failed(_) => "failed",
            Status::Skipped(_) => "skipped",
        }
    }

    /// Whether the Blueprint is published and verified.
    pub fn ok(&self) -> bool {
        matches!(
            self,
            Status::Published | Status::Completed | Status::Unchanged
        )
    }
}

/// One line of the result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The Blueprint.
    pub name: String,
    /// The version.
    pub version: String,
    /// The manifest digest.
    pub digest: String,
    /// Where it is.
    pub reference: String,
    /// The Blueprint file.
    pub file: PathBuf,
    /// Whether a verified signature is there.
    pub signed: bool,
    /// Whether the SBOM attestations are there (verified).
    pub sbom: bool,
    /// Blobs, manifests, signatures and attestations written by this run.
    pub uploaded: usize,
    /// The outcome.
    pub status: Status,
}

/// The result of a run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// One row per Blueprint published (or attempted), in publish order.
    pub rows: Vec<Row>,
    /// Warnings found while checking (errors stop the run before this).
    pub findings: Vec<Finding>,
    /// How many Blueprints the catalog has.
    pub total: usize,
    /// The target.
    pub target: String,
}

impl Report {
    /// Whether every Blueprint attempted is published and verified.
    pub fn ok(&self) -> bool {
        self.rows.iter().all(|r| r.status.ok())
    }

    /// Everything written by the run.
    pub fn uploaded(&self) -> usize {
        self.rows.iter().map(|r| r.uploaded).sum()
    }
}

/// Progress, for bars and logs.
#[derive(Debug)]
pub enum Event<'a> {
    /// The catalog is checked; this many Blueprints will be published.
    Planned {
        /// How many.
        count: usize,
    },
    /// A Blueprint reached a step (`pushing`, `signing`, `verifying`, …).
    Step {
        /// The Blueprint.
        name: &'a str,
        /// The step.
        step: &'static str,
    },
    /// A Blueprint is done.
    Done(&'a Row),
}

/// Receives [`Event`]s (from several threads with `--jobs`).
pub trait Observer: Sync {
    /// One event.
    fn event(&self, event: &Event<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: &Event<'_>) {}
}

/// A Blueprint of the catalog, checked.
struct Node {
    file: PathBuf,
    checked: Checked,
    bp: Blueprint,
}

/// Checks, resolves and publishes the catalog under `opts.paths` to `repos`, signing and
/// attesting with `trust` (none: unsigned, without attestations).
pub fn publish(
    opts: &PublishOptions,
    repos: &dyn Repos,
    trust: Option<&dyn Trust>,
    observer: &dyn Observer,
) -> Result<Report, PublishError> {
    let (nodes, findings) = check(&opts.paths, &opts.lint)?;
    // The conservative graph (every `depends` edge, whatever its `when`) orders the work, so
    // that a Blueprint comes after anything an installation of it may pin; the resolved
    // plans decide what each lock pins and which dependents a change re-publishes.
    let graph = dependency_graph(&nodes);
    let resolved = resolved_locks(&nodes);
    let pinned = resolved_graph(&nodes, &resolved);
    let mut locks: Vec<Option<Result<Lock, PublishError>>> =
        resolved.into_iter().map(Some).collect();
    let order = graph.order().map_err(|cycle| {
        PublishError::Cycle(
            cycle
                .iter()
                .map(|&i| nodes[i].bp.name().to_string())
                .collect(),
        )
    })?;
    let selected: BTreeSet<usize> = match &opts.changed_since {
        None => (0..nodes.len()).collect(),
        Some(since) => {
            let base = opts
                .paths
                .first()
                .map_or_else(|| PathBuf::from("."), Clone::clone);
            let base = if base.is_file() {
                base.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            } else {
                base
            };
            let files = changed::changed_files(&base, since)?;
            let seeds: BTreeSet<usize> = (0..nodes.len())
                .filter(|&i| changed::touches(&nodes[i].checked.dir, &files))
                .collect();
            pinned.dependents_closure(&seeds)
        }
    };
    let order: Vec<usize> = order.into_iter().filter(|i| selected.contains(i)).collect();

    // Package everything a selected Blueprint may pin (in memory; only digests are kept for
    // the others), then resolve and write the SBOMs, all before the first upload.
    let artifacts = package_all(&nodes, opts.jobs)?;
    let digests: BTreeMap<(String, String), String> = artifacts
        .iter()
        .map(|a| {
            (
                (
                    a.blueprint.name().to_string(),
                    a.blueprint.version().to_string(),
                ),
                a.digest().to_string(),
            )
        })
        .collect();
    let mut prepared: BTreeMap<usize, Prepared> = BTreeMap::new();
    for &i in &order {
        let mut lock = locks[i]
            .take()
            .unwrap_or_else(|| dependency_lock(&nodes, i))?;
        for n in &mut lock.nodes {
            n.digest = digests
                .get(&(n.blueprint.clone(), n.version.clone()))
                .cloned();
        }
        let art = &artifacts[i];
        let sbom_opts = SbomOptions {
            repository: match repos.target() {
                Target::Registry { .. } => Some(repos.target().repository(art.blueprint.name())),
                Target::Layouts(_) => None,
            },
            ..SbomOptions::default()
        };
        let sbom = |format| {
            crate::sbom::generate(art, Some(&lock), format, &sbom_opts).map_err(|e| {
                PublishError::Package {
                    name: art.blueprint.name().to_string(),
                    message: format!("its SBOM cannot be written: {e}"),
                    help: miette::Diagnostic::help(&e).map(|h| h.to_string()),
                }
            })
        };
        let cyclonedx = sbom(Format::CycloneDx)?;
        let spdx = sbom(Format::Spdx)?;
        prepared.insert(
            i,
            Prepared {
                lock,
                cyclonedx,
                spdx,
            },
        );
    }
    observer.event(&Event::Planned { count: order.len() });

    let work = |i: usize| -> Row {
        let node = &nodes[i];
        let art = &artifacts[i];
        let tag = art.default_tag();
        let mut row = Row {
            name: node.bp.name().to_string(),
            version: node.bp.version().to_string(),
            digest: art.digest().to_string(),
            reference: repos.target().reference(node.bp.name(), &tag),
            file: node.file.clone(),
            signed: false,
            sbom: false,
            uploaded: 0,
            status: Status::Unchanged,
        };
        let Some(p) = prepared.get(&i) else {
            row.status = Status::Failed("not prepared".into());
            return row;
        };
        let subject = Subject {
            name: node.bp.name(),
            version: node.bp.version(),
            tag: &tag,
            reference: row.reference.clone(),
            digest: art.digest(),
            artifact: art,
            cyclonedx: &p.cyclonedx,
            spdx: &p.spdx,
            lock: &p.lock,
            dir: &node.checked.dir,
            source: &opts.source,
        };
        if let Err(e) = publish_one(repos, trust, observer, &subject, &mut row) {
            row.status = Status::Failed(e.summary());
        }
        row
    };
    let rows = schedule(&order, &graph, opts.jobs.max(1), &nodes, work, observer);
    Ok(Report {
        rows,
        findings,
        total: nodes.len(),
        target: repos.target().to_string(),
    })
}

/// What is ready before uploading: the lock and the SBOMs.
struct Prepared {
    lock: Lock,
    cyclonedx: Vec<u8>,
    spdx: Vec<u8>,
}

/// Reads, validates and lints every Blueprint; errors stop here.
fn check(paths: &[PathBuf], lint: &LintOptions) -> Result<(Vec<Node>, Vec<Finding>), PublishError> {
    let (files, errors) = crate::catalog::discover(paths);
    if let Some((p, e)) = errors.into_iter().next() {
        return Err(PublishError::Io { path: p, source: e });
    }
    if files.is_empty() {
        let names: Vec<String> = paths.iter().map(|x| format!("`{}`", x.display())).collect();
        return Err(PublishError::NoBlueprints {
            paths: names.join(", "),
        });
    }
    let load = LoadOptions::default();
    let checked: Vec<Checked> = files.iter().map(|f| check_file(f, &load)).collect();
    let names: BTreeSet<String> = checked
        .iter()
        .filter_map(|c| c.blueprint().map(|b| b.name().to_string()))
        .collect();
    let mut findings = Vec::new();
    let mut nodes = Vec::new();
    let mut seen: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    let mut duplicate = None;
    for (file, c) in files.into_iter().zip(checked) {
        findings.extend(c.findings().iter().cloned());
        let Some(bp) = c.blueprint().cloned() else {
            continue;
        };
        findings.extend(crate::lint::lint(
            &crate::lint::Target {
                blueprint: &bp,
                checked: &c,
                dir: &c.dir,
                catalog: &names,
            },
            lint,
        ));
        let key = (bp.name().to_string(), bp.version().to_string());
        if let Some(first) = seen.get(&key) {
            duplicate.get_or_insert(PublishError::Duplicate {
                name: key.0.clone(),
                version: key.1.clone(),
                first: first.display().to_string(),
                second: file.display().to_string(),
            });
        }
        seen.insert(key, file.clone());
        nodes.push(Node {
            file,
            checked: c,
            bp,
        });
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors > 0 {
        return Err(PublishError::Invalid { errors, findings });
    }
    if let Some(d) = duplicate {
        return Err(d);
    }
    Ok((nodes, findings))
}

/// Edges from each Blueprint to the catalog's versions its `depends` allow.
fn dependency_graph(nodes: &[Node]) -> graph::Graph {
    let mut g = graph::Graph::new(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        for d in &n.bp.spec.depends {
            let constraint = d.version.as_deref().and_then(|c| Constraint::parse(c).ok());
            for (j, m) in nodes.iter().enumerate() {
                if m.bp.name() != d.blueprint {
                    continue;
                }
                let fits = match (&constraint, Version::parse(m.bp.version())) {
                    (Some(c), Ok(v)) => c.matches(&v),
                    _ => true,
                };
                if fits {
                    g.add(i, j);
                }
            }
        }
    }
    g
}

/// Packages every Blueprint, `jobs` at a time.
fn package_all(nodes: &[Node], jobs: usize) -> Result<Vec<Artifact>, PublishError> {
    let opts = PackageOptions::default();
    let results: Vec<Mutex<Option<Result<Artifact, PublishError>>>> =
        nodes.iter().map(|_| Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, nodes.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(n) = nodes.get(i) else { break };
                    let r = crate::package::package(&n.file, &opts).map_err(|e| {
                        PublishError::Package {
                            name: n.file.display().to_string(),
                            message: e.to_string(),
                            help: miette::Diagnostic::help(&e).map(|h| h.to_string()),
                        }
                    });
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(PublishError::Package {
                    name: "a Blueprint".into(),
                    message: "packaging did not finish".into(),
                    help: None,
                })
            })
        })
        .collect()
}

/// The lock of every Blueprint, as the resolver plans a default installation of it (an
/// Application named after the Blueprint, its configSchema defaults, `required` settings left
/// out as `bpkit plan --partial` does): `when` conditions evaluated, ranges resolved to the
/// versions that satisfy every constraint together. A Blueprint the resolver cannot plan with
/// its defaults (its dependencies' values need settings that have no default) keeps the
/// conservative lock of [`dependency_lock`]. Digests are filled in after packaging.
fn resolved_locks(nodes: &[Node]) -> Vec<Result<Lock, PublishError>> {
    let mut catalog = crate::resolve::InMemoryCatalog::new();
    for n in nodes {
        let source = format!("{}@{}", n.bp.name(), n.bp.version());
        // Duplicates were refused by `check`; a version the catalog refuses is resolved by
        // the fallback, which reports it.
        let _ = catalog.insert_from(n.bp.clone(), source, None);
    }
    let opts = crate::resolve::ResolveOptions {
        require_complete_config: false,
        digests: false,
        ..crate::resolve::ResolveOptions::default()
    };
    (0..nodes.len())
        .map(|i| {
            let bp = &nodes[i].bp;
            let app = bp
                .name()
                .strip_prefix(crate::model::NAME_PREFIX)
                .unwrap_or(bp.name());
            let mut req = crate::resolve::Request::new(bp.name(), app);
            req.version = Constraint::parse(&format!("={}", bp.version())).ok();
            match crate::resolve::resolve(&catalog, &req, &opts) {
                Ok(plan) => Ok(Lock::from_plan(&plan)),
                Err(_) => dependency_lock(nodes, i),
            }
        })
        .collect()
}

/// Which Blueprint pins which, from the locks: `i → j` when the lock of `i` pins `j`.
fn resolved_graph(nodes: &[Node], locks: &[Result<Lock, PublishError>]) -> graph::Graph {
    let mut g = graph::Graph::new(nodes.len());
    let index: BTreeMap<(&str, &str), usize> = nodes
        .iter()
        .enumerate()
        .map(|(j, n)| ((n.bp.name(), n.bp.version()), j))
        .collect();
    for (i, lock) in locks.iter().enumerate() {
        let Ok(lock) = lock else { continue };
        for n in &lock.nodes {
            if let Some(&j) = index.get(&(n.blueprint.as_str(), n.version.as_str())) {
                g.add(i, j);
            }
        }
    }
    g
}

/// The conservative lock of a Blueprint: itself and every Blueprint its `depends` can reach,
/// each at the newest catalog version its constraint allows, whatever its `when` condition.
/// A dependency the catalog cannot satisfy is an error.
fn dependency_lock(nodes: &[Node], root: usize) -> Result<Lock, PublishError> {
    let bp = &nodes[root].bp;
    let mut seen: BTreeSet<usize> = BTreeSet::from([root]);
    let mut todo = vec![root];
    while let Some(i) = todo.pop() {
        let parent = &nodes[i].bp;
        for d in &parent.spec.depends {
            let constraint = match d.version.as_deref().map(Constraint::parse) {
                None => None,
                Some(Ok(c)) => Some(c),
                Some(Err(e)) => {
                    return Err(PublishError::Resolve {
                        name: parent.name().to_string(),
                        version: parent.version().to_string(),
                        message: format!("the constraint on `{}` does not parse: {e}", d.blueprint),
                    });
                }
            };
            let best = nodes
                .iter()
                .enumerate()
                .filter(|(_, m)| m.bp.name() == d.blueprint)
                .filter_map(|(j, m)| Version::parse(m.bp.version()).ok().map(|v| (v, j)))
                .filter(|(v, _)| constraint.as_ref().is_none_or(|c| c.matches(v)))
                .max();
            let Some((_, j)) = best else {
                return Err(PublishError::Resolve {
                    name: parent.name().to_string(),
                    version: parent.version().to_string(),
                    message: format!(
                        "no Blueprint `{}`{} in the catalog",
                        d.blueprint,
                        d.version
                            .as_deref()
                            .map(|c| format!(" matching `{c}`"))
                            .unwrap_or_default()
                    ),
                });
            };
            if seen.insert(j) {
                todo.push(j);
            }
        }
    }
    let name = bp.name();
    let app = name.strip_prefix(crate::model::NAME_PREFIX).unwrap_or(name);
    let mut nodes: Vec<crate::resolve::LockNode> = seen
        .iter()
        .map(|&j| {
            let b = &nodes[j].bp;
            let short = b
                .name()
                .strip_prefix(crate::model::NAME_PREFIX)
                .unwrap_or(b.name());
            crate::resolve::LockNode {
                name: short.to_string(),
                blueprint: b.name().to_string(),
                version: b.version().to_string(),
                source: format!("{}@{}", b.name(), b.version()),
                digest: None,
            }
        })
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Lock {
        version: crate::resolve::LOCK_VERSION,
        application: app.to_string(),
        blueprint: name.to_string(),
        nodes,
    })
}

/// Pushes, signs, attests and verifies one Blueprint, filling in `row`.
fn publish_one(
    repos: &dyn Repos,
    trust: Option<&dyn Trust>,
    observer: &dyn Observer,
    s: &Subject<'_>,
    row: &mut Row,
) -> Result<(), PublishError> {
    let _lock = repos.lock(s.name)?;
    observer.event(&Event::Step {
        name: s.name,
        step: "checking",
    });
    let mut pushed = false;
    match repos.resolve(s.name, s.tag)? {
        Some(d) if &d == s.digest => {}
        Some(d) => {
            let file = row.file.display().to_string();
            return Err(PublishError::VersionExists {
                reference: s.reference.clone(),
                existing: d.to_string(),
                new: s.digest.to_string(),
                help: format!(
                    "the content of `{}` changed since {} was published: bump `metadata.version` in `{file}`",
                    s.name, s.version
                ),
                file,
            });
        }
        None => {
            observer.event(&Event::Step {
                name: s.name,
                step: "pushing",
            });
            row.uploaded += repos.push(s.name, &s.artifact.image, s.tag)?.max(1);
            pushed = true;
        }
    }
    let mut completed = false;
    if let Some(t) = trust {
        observer.event(&Event::Step {
            name: s.name,
            step: "signing",
        });
        let out = t.ensure(repos.target(), s)?;
        row.uploaded += usize::from(out.signed) + out.attestations;
        completed = out.signed || out.attestations > 0;
    }
    observer.event(&Event::Step {
        name: s.name,
        step: "verifying",
    });
    let back = repos.pull(s.name, s.tag)?;
    if back.digest() != s.digest || back.manifest_json() != s.artifact.image.manifest_json() {
        return Err(PublishError::ReadBack {
            reference: s.reference.clone(),
            expected: s.digest.to_string(),
            found: back.digest().to_string(),
        });
    }
    if let Some(t) = trust {
        t.verify(repos.target(), s)?;
        row.signed = true;
        row.sbom = true;
    }
    row.status = if pushed {
        Status::Published
    } else if completed {
        Status::Completed
    } else {
        Status::Unchanged
    };
    Ok(())
}

/// Runs `work` on every node of `order` with up to `jobs` threads, each node after the
/// selected nodes it depends on; a node whose dependency failed is skipped.
fn schedule(
    order: &[usize],
    graph: &graph::Graph,
    jobs: usize,
    nodes: &[Node],
    work: impl Fn(usize) -> Row + Sync,
    observer: &dyn Observer,
) -> Vec<Row> {
    #[derive(Clone, PartialEq)]
    enum State {
        Waiting,
        Running,
        Done(bool),
    }
    let in_run: BTreeSet<usize> = order.iter().copied().collect();
    let state: Mutex<(BTreeMap<usize, State>, BTreeMap<usize, Row>)> = Mutex::new((
        order.iter().map(|&i| (i, State::Waiting)).collect(),
        BTreeMap::new(),
    ));
    let cv = Condvar::new();
    let skipped_row = |i: usize, dep: usize| Row {
        name: nodes[i].bp.name().to_string(),
        version: nodes[i].bp.version().to_string(),
        digest: String::new(),
        reference: String::new(),
        file: nodes[i].file.clone(),
        signed: false,
        sbom: false,
        uploaded: 0,
        status: Status::Skipped(format!(
            "its dependency `{}` was not published",
            nodes[dep].bp.name()
        )),
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.min(order.len().max(1)) {
            s.spawn(|| {
                let Ok(mut g) = state.lock() else { return };
                loop {
                    let mut pick = None;
                    let mut all_done = true;
                    for &i in order {
                        if g.0.get(&i) != Some(&State::Waiting) {
                            if g.0.get(&i) == Some(&State::Running) {
                                all_done = false;
                            }
                            continue;
                        }
                        all_done = false;
                        let deps: Vec<usize> = graph.deps[i]
                            .iter()
                            .copied()
                            .filter(|d| in_run.contains(d))
                            .collect();
                        if let Some(&bad) = deps
                            .iter()
                            .find(|d| g.0.get(d) == Some(&State::Done(false)))
                        {
                            let row = skipped_row(i, bad);
                            observer.event(&Event::Done(&row));
                            g.0.insert(i, State::Done(false));
                            g.1.insert(i, row);
                            pick = Some(None);
                            break;
                        }
                        if deps.iter().all(|d| g.0.get(d) == Some(&State::Done(true))) {
                            pick = Some(Some(i));
                            break;
                        }
                    }
                    match pick {
                        Some(Some(i)) => {
                            g.0.insert(i, State::Running);
                            drop(g);
                            let row = work(i);
                            observer.event(&Event::Done(&row));
                            let Ok(mut again) = state.lock() else { return };
                            again.0.insert(i, State::Done(row.status.ok()));
                            again.1.insert(i, row);
                            cv.notify_all();
                            g = again;
                        }
                        Some(None) => cv.notify_all(),
                        None if all_done => {
                            cv.notify_all();
                            return;
                        }
                        None => match cv.wait(g) {
                            Ok(x) => g = x,
                            Err(_) => return,
                        },
                    }
                }
            });
        }
    });
    let mut rows = state.into_inner().map(|(_, r)| r).unwrap_or_default();
    order.iter().filter_map(|i| rows.remove(i)).collect()
}

/// Adds `entries` (one a line, e.g. `/.bpkit/`) to `dir/.gitignore` when missing; returns
/// the entries added.
pub fn ensure_gitignore(dir: &Path, entries: &[&str]) -> Result<Vec<String>, PublishError> {
    let path = dir.join(".gitignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(PublishError::io(&path, e)),
    };
    let have: BTreeSet<&str> = text.lines().map(str::trim).collect();
    let missing: Vec<String> = entries
        .iter()
        .filter(|e| {
            let bare = e.trim_start_matches('/');
            let bare_dir = bare.trim_end_matches('/');
            !(have.contains(*e) || have.contains(bare) || have.contains(bare_dir))
        })
        .map(|e| (*e).to_string())
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut out = text;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for m in &missing {
        out.push_str(m);
        out.push('\n');
    }
    crate::atomic::write_file(&path, out.as_bytes()).map_err(|e| PublishError::io(&path, e))?;
    Ok(missing)
}

#[cfg(test)]
mod tests;
