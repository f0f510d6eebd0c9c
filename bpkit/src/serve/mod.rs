//! The catalog service: an HTTP JSON API over a catalog of Blueprints and the embedded
//! resolver (feature `serve`; `bpkit catalog serve` runs it).
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/blueprints?visibility=&category=&tag=` | the Blueprints (newest version of each) |
//! | `GET /v1/blueprints/{name}` | the newest version: card, configSchema, depends, overlays… |
//! | `GET /v1/blueprints/{name}/versions` | every version, ascending, and the newest release |
//! | `GET /v1/blueprints/{name}/versions/{version}` | one version (or the newest matching a constraint) |
//! | `POST /v1/validate` | a config checked against a configSchema, errors with JSON Pointers |
//! | `POST /v1/plan` | the install plan, as `bpkit plan -o json` prints it, or why there is none |
//! | `GET /healthz`, `GET /readyz` | liveness; readiness (`503` once shutting down) |
//! | `GET /metrics` | Prometheus text: requests by route and status, latency histograms |
//! | `GET /v1/openapi.yaml` | the OpenAPI 3.1 description (`docs/catalog-api.yaml`) |
//!
//! Every list, versions and Blueprint response is serialized once when the service starts
//! ([`Snapshot`]) and carries a strong `ETag`; `If-None-Match` gives `304`. Request bodies are
//! limited ([`ServeOptions::max_body_bytes`], `413`), slow bodies and slow work end with `408`
//! and `503` ([`ServeOptions::timeout`]), CPU work runs off the async threads and at most
//! [`ServeOptions::max_concurrent_work`] at once. Each request is logged as one JSON line
//! (method, path without the query, route, status, duration, size, peer; never a body).
//! Shutdown is graceful: readiness turns `503`, the listener closes, requests in flight finish.
//!
//! ```no_run
//! use bpkit::serve::{CatalogService, ServeOptions, Server};
//!
//! let service = CatalogService::open(&["blueprints".into()], ServeOptions::default())?;
//! let server = Server::start(service, "127.0.0.1:0".parse()?)?;
//! println!("listening on http://{}", server.local_addr());
//! server.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod api;
mod http;
mod index;
mod log;
mod metrics;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

pub use api::{ApiError, plan, validate};
pub use index::{ListFilter, Snapshot};
pub use log::{LogSink, stderr_sink};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ServeError {
    /// The catalog could not be read, or holds no Blueprint.
    #[error("{0}")]
    #[diagnostic(help("check the `--catalog` folder: `bpkit validate DIR` shows what is wrong"))]
    Catalog(String),
    /// The address could not be bound.
    #[error("cannot listen on `{addr}`: {source}")]
    #[diagnostic(help("choose another port with `--listen`, or stop what is using this one"))]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime or the server failed.
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Limits and logging of the service.
#[derive(Clone)]
pub struct ServeOptions {
    /// The largest request body accepted; larger ones get `413` (default 1 MiB).
    pub max_body_bytes: usize,
    /// How long reading a request body and answering it may take (default 10 s): a body not
    /// received by then gets `408`, work not finished by then `503`.
    pub timeout: Duration,
    /// How many validations and plans run at once (default: the number of CPUs); more wait
    /// for a slot within their timeout.
    pub max_concurrent_work: usize,
    /// Where the JSON log lines go (`None`: nowhere; default: standard error).
    pub log: Option<LogSink>,
    /// How long a graceful shutdown waits for requests in flight before it stops anyway
    /// (default 30 s).
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_body_bytes: 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_concurrent_work: std::thread::available_parallelism().map_or(2, usize::from),
            log: Some(stderr_sink()),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("timeout", &self.timeout)
            .field("max_concurrent_work", &self.max_concurrent_work)
            .field("log", &self.log.is_some())
            .field("drain_timeout", &self.drain_timeout)
            .finish()
    }
}

/// What every handler shares.
pub(crate) struct Shared {
    snap: Snapshot,
    opts: ServeOptions,
    metrics: metrics::Metrics,
    ready: AtomicBool,
    work: Arc<tokio::sync::Semaphore>,
}

/// The catalog service: a prepared catalog and its options, ready to be served.
#[derive(Clone)]
pub struct CatalogService {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CatalogService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogService")
            .field("snapshot", &self.shared.snap)
            .field("options", &self.shared.opts)
            .finish()
    }
}

impl CatalogService {
    /// A service over a prepared catalog.
    pub fn new(snapshot: Snapshot, opts: ServeOptions) -> Self {
        let slots = opts.max_concurrent_work.max(1);
        CatalogService {
            shared: Arc::new(Shared {
                snap: snapshot,
                metrics: metrics::Metrics::default(),
                ready: AtomicBool::new(true),
                work: Arc::new(tokio::sync::Semaphore::new(slots)),
                opts,
            }),
        }
    }

    /// Reads the Blueprint folders under `roots` (as `bpkit plan --catalog` does) and prepares
    /// every response.
    ///
    /// # Errors
    ///
    /// An unreadable root, or no valid Blueprint at all.
    pub fn open(roots: &[PathBuf], opts: ServeOptions) -> Result<Self, ServeError> {
        Ok(CatalogService::new(Snapshot::open(roots)?, opts))
    }

    /// The prepared catalog.
    pub fn snapshot(&self) -> &Snapshot {
        &self.shared.snap
    }

    /// The axum router of the API, to embed in another server. It expects
    /// `ConnectInfo<SocketAddr>` for the peer address in logs (optional).
    pub fn router(&self) -> axum::Router {
        http::router(self.shared.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then drains: readiness turns `503`,
    /// no new connection is accepted, requests in flight finish (for at most
    /// [`ServeOptions::drain_timeout`]).
    ///
    /// # Errors
    ///
    /// The listener failed.
    pub async fn serve<F>(
        self,
        listener: tokio::net::TcpListener,
        shutdown: F,
    ) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let shared = self.shared.clone();
        let addr = listener.local_addr()?;
        log::event(
            shared.opts.log.as_ref(),
            "info",
            "listening",
            json!({
                "address": addr.to_string(),
                "blueprints": shared.snap.len(),
                "versions": shared.snap.version_count(),
                "leftOut": shared.snap.left_out().len(),
            }),
        );
        let draining = Arc::new(tokio::sync::Notify::new());
        let signal = {
            let shared = shared.clone();
            let draining = draining.clone();
            async move {
                shutdown.await;
                shared.ready.store(false, Ordering::Release);
                log::event(shared.opts.log.as_ref(), "info", "shutting down", json!({}));
                draining.notify_one();
            }
        };
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(listener, app).with_graceful_shutdown(signal);
        let drain_timeout = shared.opts.drain_timeout;
        let result = tokio::select! {
            r = server.into_future() => r,
            () = async {
                draining.notified().await;
                tokio::time::sleep(drain_timeout).await;
            } => {
                log::event(
                    shared.opts.log.as_ref(),
                    "warn",
                    "requests still in flight after the drain timeout; stopping anyway",
                    json!({"drainTimeoutMs": drain_timeout.as_millis() as u64}),
                );
                Ok(())
            }
        };
        shared.work.close();
        log::event(shared.opts.log.as_ref(), "info", "stopped", json!({}));
        result
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ServeError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bpkit-serve")
        .build()?)
}

fn bind(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, ServeError> {
    let std_listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Bind { addr, source })?;
    let _guard = rt.enter();
    tokio::net::TcpListener::from_std(std_listener)
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves on `listen` in the calling thread until SIGTERM or ctrl-c, then shuts down
/// gracefully. `on_listening` is called with the bound address (useful with port `0`).
///
/// # Errors
///
/// The address cannot be bound, or the server failed.
pub fn run(
    service: CatalogService,
    listen: SocketAddr,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let rt = runtime()?;
    let listener = bind(&rt, listen)?;
    let signal = {
        let _guard = rt.enter();
        stop_signal()
    };
    on_listening(listener.local_addr()?);
    rt.block_on(service.serve(listener, signal))?;
    Ok(())
}

/// Completes on ctrl-c (SIGINT) or, on Unix, SIGTERM. SIGTERM is caught from the moment this
/// is called (inside a runtime), not only once the future is first polled.
fn stop_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
}

/// A server running on its own threads: for tests and for embedding in a program without
/// an async runtime. Dropping it shuts it down gracefully.
pub struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Binds `listen` (port `0` picks a free port) and serves in the background.
    ///
    /// # Errors
    ///
    /// The address cannot be bound, or the runtime cannot start.
    pub fn start(service: CatalogService, listen: SocketAddr) -> Result<Server, ServeError> {
        let rt = runtime()?;
        let listener = bind(&rt, listen)?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bpkit-serve-main".into())
            .spawn(move || {
                rt.block_on(service.serve(listener, async move {
                    let _ = rx.await;
                }))
            })?;
        Ok(Server {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts a graceful shutdown and returns at once.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down gracefully and waits until every request in flight is answered.
    ///
    /// # Errors
    ///
    /// The server had failed.
    pub fn shutdown(mut self) -> Result<(), ServeError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), ServeError> {
        self.begin_shutdown();
        match self.thread.take().map(std::thread::JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(ServeError::Io(e)),
            Some(Err(_)) => Err(ServeError::Io(std::io::Error::other(
                "the server thread panicked",
            ))),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
