//! The `bpkit` command line: argument definitions, output modes and exit codes. Each command
//! is a file here that reads its arguments and calls the library.

mod bundle;
mod catalog;
mod digest;
mod doctor;
mod init;
mod lint;
mod migrate;
mod mirror;
mod output;
mod package;
mod plan;
mod progress;
mod publish;
mod publish_trust;
mod pull;
mod push;
mod registry;
mod sbom;
mod trust;
mod validate;
mod validate_config;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub use output::{ColorChoice, Printer};

/// What a command ended with; mapped to the process exit code in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything is fine (0).
    Success,
    /// The input has problems that were reported (1).
    Findings,
    /// Usage or I/O error (2).
    Error,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        match e {
            Exit::Success => ExitCode::SUCCESS,
            Exit::Findings => ExitCode::from(1),
            Exit::Error => ExitCode::from(2),
        }
    }
}

/// `bpkit`: author, validate, resolve, package, sign and publish Catalyst Blueprints.
#[derive(Debug, Parser)]
#[command(name = "bpkit", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// How to print results: for people, or as JSON for programs.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputMode::Human)]
    pub output: OutputMode,
    /// When to use colors (`NO_COLOR` is honoured by `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only errors.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

/// Output modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputMode {
    /// Text for people, with the offending snippet.
    Human,
    /// One JSON document on standard output.
    Json,
    /// YAML on standard output (`plan`).
    Yaml,
    /// Flux Kustomizations with `dependsOn` (`plan`).
    Flux,
}

/// How findings are formatted in human mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FindingFormat {
    /// Snippets with labels.
    #[default]
    Text,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
}

/// Severities that fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    /// Warnings fail the run as well as errors.
    Warnings,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check Blueprints: a blueprint.yaml, a Blueprint folder, or a whole catalog tree.
    Validate(validate::ValidateArgs),
    /// Create a new canonical Blueprint folder that passes validate and lint.
    Init(init::InitArgs),
    /// Lint Blueprints and their charts with rules learned from real incidents.
    Lint(lint::LintArgs),
    /// Resolve a Blueprint into an install plan (Applications in order, with dependsOn).
    Plan(plan::PlanArgs),
    /// Draw the dependency graph of an install plan.
    Graph(plan::GraphArgs),
    /// Refresh bpkit.lock.
    Update(plan::UpdateArgs),
    /// Rewrite Blueprints into the canonical v1alpha1 form, keeping comments.
    Migrate(migrate::MigrateArgs),
    /// Validate configuration values against a Blueprint's configSchema (Helm's merge order).
    ValidateConfig(validate_config::ValidateConfigArgs),
    /// Package a Blueprint reproducibly: the chart archive, or the whole OCI artifact.
    Package(package::PackageArgs),
    /// Print the manifest digest a push would produce, without writing anything.
    Digest(digest::DigestArgs),
    /// Package a Blueprint and push it to a registry or an OCI image layout (`oci:DIR[:TAG]`).
    Push(push::PushArgs),
    /// Read a Blueprint artifact from a registry or a layout, verify it, and unpack it safely.
    Pull(pull::PullArgs),
    /// Copy an artifact byte for byte between registries and layouts, with its signatures.
    Copy(registry::CopyArgs),
    /// List the tags of a repository (`HOST/REPO` or `oci:DIR`).
    Tags(registry::TagsArgs),
    /// Show an artifact's manifest and config.
    Inspect(registry::InspectArgs),
    /// Store registry credentials in the Docker config (`--password-stdin`).
    Login(registry::LoginArgs),
    /// Write a CycloneDX or SPDX SBOM of a Blueprint: its charts, images and dependencies.
    Sbom(sbom::SbomArgs),
    /// Publish a catalog: check, package, push, sign, attest and verify every Blueprint.
    Publish(publish::PublishArgs),
    /// Check what publishing needs: credentials, registry, key, git.
    Doctor(doctor::DoctorArgs),
    /// Copy Blueprints with signatures, attestations, referrers and dependencies, byte for byte.
    Mirror(mirror::MirrorArgs),
    /// Export Blueprints to one tarball of OCI layouts, or import one and verify it.
    Bundle(bundle::BundleArgs),
    /// Generate, import or show cosign key pairs.
    Key(trust::KeyArgs),
    /// Sign an artifact (cosign `.sig` tag layout and a Sigstore bundle referrer).
    Sign(trust::SignArgs),
    /// Verify an artifact's signatures with a public key.
    Verify(trust::VerifyArgs),
    /// Attach a signed in-toto attestation (SLSA provenance, SBOM, …) to an artifact.
    Attest(trust::AttestArgs),
    /// Verify an attestation with a public key and print its predicate.
    VerifyAttestation(trust::VerifyAttestationArgs),
    /// Work with a whole catalog: `bpkit catalog serve` serves its HTTP JSON API.
    Catalog(catalog::CatalogArgs),
    /// Print the Blueprint JSON Schema (for editors: `# yaml-language-server: $schema=…`).
    Schema,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages into a folder.
    #[command(hide = true)]
    Man {
        /// The folder.
        dir: std::path::PathBuf,
    },
}

/// Runs `bpkit` with these arguments and returns the exit code.
pub fn main<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Success
            };
            let _ = e.print();
            return code.into();
        }
    };
    let printer = Printer::new(&cli.global);
    run(cli, &printer).into()
}

fn run(cli: Cli, p: &Printer) -> Exit {
    match cli.command {
        Command::Validate(a) => validate::run(&a, p),
        Command::Init(a) => init::run(&a, p),
        Command::Lint(a) => lint::run(&a, p),
        Command::Plan(a) => plan::run(&a, p),
        Command::Graph(a) => plan::graph(&a, p),
        Command::Update(a) => plan::update(&a, p),
        Command::Migrate(a) => migrate::run(&a, p),
        Command::ValidateConfig(a) => validate_config::run(&a, p),
        Command::Package(a) => package::run(&a, p),
        Command::Digest(a) => digest::run(&a, p),
        Command::Push(a) => push::run(&a, p),
        Command::Pull(a) => pull::run(&a, p),
        Command::Copy(a) => registry::copy(&a, p),
        Command::Tags(a) => registry::tags(&a, p),
        Command::Inspect(a) => registry::inspect(&a, p),
        Command::Login(a) => registry::login(&a, p),
        Command::Sbom(a) => sbom::run(&a, p),
        Command::Publish(a) => publish::run(&a, p),
        Command::Doctor(a) => doctor::run(&a, p),
        Command::Mirror(a) => mirror::run(&a, p),
        Command::Bundle(a) => bundle::run(&a, p),
        Command::Key(a) => trust::key(&a, p),
        Command::Sign(a) => trust::sign(&a, p),
        Command::Verify(a) => trust::verify(&a, p),
        Command::Attest(a) => trust::attest(&a, p),
        Command::VerifyAttestation(a) => trust::verify_attestation(&a, p),
        Command::Catalog(a) => catalog::run(&a, p),
        Command::Schema => {
            p.data(crate::model::BLUEPRINT_SCHEMA.trim_end());
            Exit::Success
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut cmd, "bpkit", &mut out);
            Exit::Success
        }
        Command::Man { dir } => match write_man_pages(&dir) {
            Ok(n) => {
                p.status(&format!("wrote {n} man pages to {}", dir.display()));
                Exit::Success
            }
            Err(e) => {
                p.error(&format!(
                    "cannot write man pages to `{}`: {e}",
                    dir.display()
                ));
                Exit::Error
            }
        },
    }
}

/// Writes `bpkit.1` and one page per subcommand (`bpkit-validate.1`, …) into `dir`.
pub fn write_man_pages(dir: &std::path::Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let cmd = Cli::command();
    let mut n = 0;
    let mut write = |name: String, c: clap::Command| -> std::io::Result<()> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        crate::atomic::write_file(&dir.join(format!("{name}.1")), &buf)?;
        n += 1;
        Ok(())
    };
    write("bpkit".into(), cmd.clone())?;
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        let name = format!("bpkit-{}", sub.get_name());
        write(name.clone(), sub.clone().name(name))?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks over every subcommand: unique argument names and short flags, valid
    /// `requires`/`conflicts_with` targets (a clash makes every parse panic at run time).
    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
