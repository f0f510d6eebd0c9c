//! `bpkit catalog serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{Exit, Printer};
use crate::serve::{CatalogService, ServeOptions, Snapshot};

/// Arguments of `bpkit catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// What to do with the catalog.
    #[command(subcommand)]
    pub command: CatalogCommand,
}

/// The `catalog` subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Serve the catalog's HTTP JSON API: Blueprints, versions, config validation, install
    /// plans, health and metrics (see docs/catalog-api.yaml).
    Serve(ServeArgs),
}

/// Arguments of `bpkit catalog serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The catalog, read once at start: folders of Blueprints (repeatable), or
    /// `oci://HOST[/PREFIX]` for the Blueprints pushed to a registry under that prefix (names
    /// from the registry's `_catalog`, versions from the tags).
    #[arg(long, default_value = ".", value_name = "DIR|REF")]
    pub catalog: Vec<PathBuf>,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The largest request body accepted, in bytes (larger: 413).
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,
    /// How long reading and answering one request may take, in seconds.
    /// (`--timeout` is the registry's, for an `oci://` catalog.)
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub request_timeout: f64,
    /// How many validations and plans run at once (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Do not write the one-JSON-line-per-request log to standard error.
    #[arg(long)]
    pub no_request_log: bool,
    /// Registry options (for an `oci://` catalog).
    #[command(flatten)]
    pub registry: super::registry::RegistryArgs,
}

/// Runs `bpkit catalog …`.
pub fn run(a: &CatalogArgs, p: &Printer) -> Exit {
    match &a.command {
        CatalogCommand::Serve(s) => serve(s, p),
    }
}

fn serve(a: &ServeArgs, p: &Printer) -> Exit {
    let Some(timeout) = Duration::try_from_secs_f64(a.request_timeout)
        .ok()
        .filter(|d| !d.is_zero())
    else {
        p.error(&format!(
            "`--request-timeout {}` is not a positive number of seconds",
            a.request_timeout
        ));
        return Exit::Error;
    };
    let mut opts = ServeOptions {
        max_body_bytes: a.max_body,
        timeout,
        ..ServeOptions::default()
    };
    if let Some(n) = a.workers {
        opts.max_concurrent_work = n.max(1);
    }
    if a.no_request_log {
        opts.log = None;
    }
    let opened = match a.catalog.as_slice() {
        [one] if one.to_str().is_some_and(|s| s.starts_with("oci://")) => {
            let base = one.to_string_lossy();
            let reg = match super::registry::connect(&a.registry, p) {
                Ok(r) => r,
                Err(code) => return code,
            };
            crate::catalog::OciCatalog::open(
                reg,
                &base,
                Vec::new(),
                crate::catalog::default_cache_dir(),
            )
            .map_err(|e| crate::serve::ServeError::Catalog(e.to_string()))
            .and_then(|cat| Snapshot::from_any(&cat, &base))
            .map(|snap| CatalogService::new(snap, opts))
        }
        _ => CatalogService::open(&a.catalog, opts),
    };
    let service = match opened {
        Ok(s) => s,
        Err(e) => {
            p.error(&e.to_string());
            return Exit::Error;
        }
    };
    for f in service.snapshot().left_out() {
        p.warn(&format!("left out of the catalog: {f}"));
    }
    let (names, versions) = (service.snapshot().len(), service.snapshot().version_count());
    match crate::serve::run(service, a.listen, |addr| {
        p.status(&format!(
            "serving {names} Blueprints ({versions} versions) on http://{addr} (ctrl-c or SIGTERM stops)"
        ));
    }) {
        Ok(()) => Exit::Success,
        Err(e) => {
            p.error(&e.to_string());
            Exit::Error
        }
    }
}
